/* Unit tests for the rate limiter (src/ratelimit.c), on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mjpegd/ratelimit.h"

#define SEC 1000000000ULL

static void test_burst_then_refuse(void **state)
{
	(void)state;
	struct ratelimit rl = RATELIMIT_INIT(10 * SEC, 3);
	uint64_t t = 1000 * SEC;
	assert_true(ratelimit_allow(&rl, t));
	assert_true(ratelimit_allow(&rl, t + 1));
	assert_true(ratelimit_allow(&rl, t + 2));
	assert_false(ratelimit_allow(&rl, t + 3));
	assert_false(ratelimit_allow(&rl, t + 10 * SEC - 1));
	assert_int_equal(rl.suppressed, 2);
}

static void test_window_rolls_over(void **state)
{
	(void)state;
	struct ratelimit rl = RATELIMIT_INIT(10 * SEC, 2);
	uint64_t t = 5 * SEC;
	assert_true(ratelimit_allow(&rl, t));
	assert_true(ratelimit_allow(&rl, t + SEC));
	assert_false(ratelimit_allow(&rl, t + 9 * SEC));
	/* The window is measured from its first event, not from the last one. */
	assert_true(ratelimit_allow(&rl, t + 10 * SEC));
	assert_true(ratelimit_allow(&rl, t + 11 * SEC));
	assert_false(ratelimit_allow(&rl, t + 12 * SEC));
	/* A long silence: a fresh burst. */
	assert_true(ratelimit_allow(&rl, t + 100 * SEC));
	assert_true(ratelimit_allow(&rl, t + 100 * SEC));
	assert_false(ratelimit_allow(&rl, t + 100 * SEC));
}

static void test_clock_starting_at_zero(void **state)
{
	(void)state;
	struct ratelimit rl = RATELIMIT_INIT(SEC, 1);
	assert_true(ratelimit_allow(&rl, 0));
	assert_false(ratelimit_allow(&rl, SEC - 1));
	assert_true(ratelimit_allow(&rl, SEC));
}

static void test_suppressed_count(void **state)
{
	(void)state;
	struct ratelimit rl = RATELIMIT_INIT(SEC, 1);
	assert_int_equal(ratelimit_take_suppressed(&rl), 0);
	assert_true(ratelimit_allow(&rl, 0));
	for (int i = 0; i < 7; i++)
		assert_false(ratelimit_allow(&rl, 10 + (uint64_t)i));
	/* The count survives the window change and is reported after the next allowed event. */
	assert_true(ratelimit_allow(&rl, 2 * SEC));
	assert_int_equal(ratelimit_take_suppressed(&rl), 7);
	assert_int_equal(ratelimit_take_suppressed(&rl), 0);
	assert_false(ratelimit_allow(&rl, 2 * SEC + 1));
	assert_int_equal(ratelimit_take_suppressed(&rl), 1);
}

static void test_clock_going_backwards(void **state)
{
	(void)state;
	struct ratelimit rl = RATELIMIT_INIT(10 * SEC, 1);
	assert_true(ratelimit_allow(&rl, 100 * SEC));
	assert_false(ratelimit_allow(&rl, 101 * SEC));
	/* Not stuck until 110 s comes round again. */
	assert_true(ratelimit_allow(&rl, 50 * SEC));
}

static void test_zero_interval_disables(void **state)
{
	(void)state;
	struct ratelimit rl = RATELIMIT_INIT(0, 1);
	for (int i = 0; i < 100; i++)
		assert_true(ratelimit_allow(&rl, 0));
	assert_int_equal(ratelimit_take_suppressed(&rl), 0);
}

#define MS 1000000ULL

/* Frames of a 30 fps source with +-6 ms jitter through a 30 fps cap: none lost (a rule on the
 * gap to the last frame lost every early one). */
static void test_rate_cap_jitter_at_source_rate(void **state)
{
	(void)state;
	struct rate_cap rc = { .interval_ns = 1000 * MS / 30 };
	static const int jitter_ms[] = { 0, 6, -6, 5, -5, 6, -6, 0, 4, -4 };
	unsigned passed = 0;
	for (unsigned i = 0; i < 300; i++) {
		uint64_t t = 1000 * MS + i * (1000 * MS / 30) + (int64_t)jitter_ms[i % 10] * (int64_t)MS;
		passed += rate_cap_take(&rc, t);
	}
	assert_int_equal(passed, 300);
}

/* A 60 fps source through a 30 fps cap: 30 per second on average, never two frames less than
 * three quarters of an interval apart. */
static void test_rate_cap_halves_a_faster_source(void **state)
{
	(void)state;
	struct rate_cap rc = { .interval_ns = 1000 * MS / 30 };
	unsigned passed = 0;
	uint64_t last = 0;
	for (unsigned i = 0; i < 600; i++) {
		uint64_t t = 1000 * MS + i * (1000 * MS / 60);
		if (rate_cap_take(&rc, t)) {
			if (passed)
				assert_true(t - last >= 3 * (1000 * MS / 30) / 4);
			last = t;
			passed++;
		}
	}
	assert_true(passed >= 295 && passed <= 305);
}

/* A late frame earns no burst: after a 500 ms gap the next may come half an interval later at the
 * soonest (a quarter of slack for it, a quarter for the next), not at once. */
static void test_rate_cap_no_burst_after_gap(void **state)
{
	(void)state;
	struct rate_cap rc = { .interval_ns = 100 * MS };
	assert_true(rate_cap_take(&rc, 1000 * MS));
	assert_true(rate_cap_take(&rc, 1500 * MS));
	assert_false(rate_cap_take(&rc, 1510 * MS));
	assert_false(rate_cap_take(&rc, 1549 * MS));
	assert_true(rate_cap_take(&rc, 1550 * MS));
	assert_false(rate_cap_take(&rc, 1600 * MS));
	assert_true(rate_cap_take(&rc, 1650 * MS));
	/* no cap */
	struct rate_cap none = { 0 };
	for (unsigned i = 0; i < 10; i++)
		assert_true(rate_cap_take(&none, 1000 * MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refuse),
		cmocka_unit_test(test_rate_cap_jitter_at_source_rate),
		cmocka_unit_test(test_rate_cap_halves_a_faster_source),
		cmocka_unit_test(test_rate_cap_no_burst_after_gap),
		cmocka_unit_test(test_window_rolls_over),
		cmocka_unit_test(test_clock_starting_at_zero),
		cmocka_unit_test(test_suppressed_count),
		cmocka_unit_test(test_clock_going_backwards),
		cmocka_unit_test(test_zero_interval_disables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
