/* Fault-injection plans: parsing and when a rule fires. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mjpegd/fault.h"

static void test_parse(void **state)
{
	(void)state;
	struct fault_plan p;
	char err[256] = "";
	assert_int_equal(fault_plan_parse("source:fail-every=90,encoder:stall-after=5,loop:wedge=3000",
					  &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_rules, 3);
	const struct fault_rule *r = fault_plan_find(&p, FAULT_SOURCE, FAULT_FAIL_EVERY);
	assert_non_null(r);
	assert_int_equal(r->n, 90);
	r = fault_plan_find(&p, FAULT_ENCODER, FAULT_STALL_AFTER);
	assert_non_null(r);
	assert_int_equal(r->n, 5);
	r = fault_plan_find(&p, FAULT_LOOP, FAULT_WEDGE);
	assert_non_null(r);
	assert_int_equal(r->n, 3000);
	assert_null(fault_plan_find(&p, FAULT_SOURCE, FAULT_STALL_AFTER));
	assert_int_equal(fault_plan_parse("", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_rules, 0);
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct fault_plan p;
	char err[256];
	const char *bad[] = {"source:explode=1", "source:fail-every", "source:fail-every=",
			     "source:fail-every=0", "source:fail-every=-3", "source:fail-every=3x",
			     "encoder:fail-every=99999999999", "x",
			     "loop:wedge=1,loop:wedge=1,loop:wedge=1,loop:wedge=1,loop:wedge=1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(fault_plan_parse(bad[i], &p, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
	}
	fault_plan_parse("source:explode=1", &p, err, sizeof(err));
	assert_non_null(strstr(err, "source:explode=1"));
}

static void test_fires(void **state)
{
	(void)state;
	struct fault_rule every = {FAULT_SOURCE, FAULT_FAIL_EVERY, 3};
	struct fault_rule stall = {FAULT_ENCODER, FAULT_STALL_AFTER, 2};
	int fired[8] = {0};
	for (unsigned c = 1; c <= 7; c++)
		fired[c] = fault_fires(&every, c);
	assert_int_equal(fired[1] + fired[2] + fired[4] + fired[5] + fired[7], 0);
	assert_true(fired[3] && fired[6]);
	assert_false(fault_fires(&stall, 1));
	assert_false(fault_fires(&stall, 2));
	assert_true(fault_fires(&stall, 3));
	assert_true(fault_fires(&stall, 100));
	assert_false(fault_fires(NULL, 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_fires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
