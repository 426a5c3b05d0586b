/* The sliding-window longest gap (src/gapwin.c): a gap is seen for GAPWIN_SECONDS seconds after it
 * ended, then forgotten; the open gap since the last event counts; no events, no gap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mjpegd/gapwin.h"

#define MS 1000000ull
#define S 1000000000ull

static void test_window(void **state)
{
	(void)state;
	struct gapwin g = { 0 };
	uint64_t t = 1000 * S;
	assert_int_equal(gapwin_max_ns(&g, t), 0);
	/* 30 fps for 5 s */
	for (int i = 0; i < 150; i++, t += 33 * MS)
		gapwin_event(&g, t);
	uint64_t last = t - 33 * MS;
	assert_true(gapwin_max_ns(&g, last) == 33 * MS);
	/* a 700 ms gap (an encoder reopen), then 30 fps again */
	t = last + 700 * MS;
	for (int i = 0; i < 30; i++, t += 33 * MS)
		gapwin_event(&g, t);
	last = t - 33 * MS;
	assert_true(gapwin_max_ns(&g, last) == 700 * MS);
	/* 8 s later, still within the window (events keep coming) */
	for (int i = 0; i < 210; i++, t += 33 * MS)
		gapwin_event(&g, t);
	last = t - 33 * MS;
	assert_true(gapwin_max_ns(&g, last) == 700 * MS);
	/* 12 s after it: forgotten */
	for (int i = 0; i < 100; i++, t += 33 * MS)
		gapwin_event(&g, t);
	last = t - 33 * MS;
	assert_true(gapwin_max_ns(&g, last) == 33 * MS);
	/* the gap still open counts */
	assert_true(gapwin_max_ns(&g, last + 2 * S) == 2 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
