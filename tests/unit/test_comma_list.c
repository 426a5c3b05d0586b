/* The one comma-list walk (include/mjpegd/comma_list.h): empty lists, empty items, the last item. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mjpegd/comma_list.h"

/* The items of list joined by '|'. */
static const char *walk(const char *list)
{
	static char out[128];
	size_t used = 0;
	const char *item;
	size_t n;
	out[0] = '\0';
	for (struct comma_list l = COMMA_LIST(list); comma_list_next(&l, &item, &n);)
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s[%.*s]", used ? "|" : "",
					 (int)n, item);
	return out;
}

static void test_walk(void **state)
{
	(void)state;
	assert_string_equal(walk(NULL), "");
	assert_string_equal(walk(""), "");
	assert_string_equal(walk("a"), "[a]");
	assert_string_equal(walk("a,bc"), "[a]|[bc]");
	assert_string_equal(walk("a,,b"), "[a]|[]|[b]");
	assert_string_equal(walk("a,"), "[a]|[]");
	assert_string_equal(walk(","), "[]|[]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
