/* Supervisor state machine and backoff timing, on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "mjpegd/supervisor.h"

#define MS 1000000ULL
#define S 1000000000ULL

static void test_initial_state(void **state)
{
	(void)state;
	struct supervised_device d;
	supervisor_init(&d, "source");
	assert_int_equal(d.state, DEVICE_STOPPED);
	assert_string_equal(device_state_name(d.state), "stopped");
	assert_false(supervisor_retry_due(&d, 0));
	supervisor_starting(&d, 0);
	assert_int_equal(d.state, DEVICE_STARTING);
	assert_int_equal(d.restarts, 0);
	supervisor_running(&d, 10 * MS);
	assert_int_equal(d.state, DEVICE_RUNNING);
	assert_int_equal(d.since_ns, 10 * MS);
}

static void test_backoff_doubles_to_cap(void **state)
{
	(void)state;
	struct supervised_device d;
	supervisor_init(&d, "encoder");
	uint64_t now = 1 * S;
	supervisor_starting(&d, now);
	uint64_t want[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1600 * MS, 3200 * MS,
			   5000 * MS, 5000 * MS, 5000 * MS};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t delay = supervisor_failed(&d, now, -EIO, "dequeue");
		assert_int_equal(delay, want[i]);
		assert_int_equal(d.state, DEVICE_FAILED);
		assert_false(supervisor_retry_due(&d, now + delay - 1));
		assert_true(supervisor_retry_due(&d, now + delay));
		now += delay;
		supervisor_starting(&d, now);
		assert_int_equal(d.restarts, i + 1);
	}
	assert_int_equal(d.failures, 9);
	assert_int_equal(d.last_errno, EIO);
	assert_string_equal(d.last_error, "dequeue: Input/output error");
}

static void test_healthy_minute_resets_backoff(void **state)
{
	(void)state;
	struct supervised_device d;
	supervisor_init(&d, "source");
	uint64_t now = 0;
	supervisor_starting(&d, now);
	for (int i = 0; i < 5; i++) {
		now += supervisor_failed(&d, now, -ENODEV, "gone");
		supervisor_starting(&d, now);
	}
	/* running for 59 s is not enough */
	supervisor_running(&d, now);
	now += 59 * S;
	assert_int_equal(supervisor_failed(&d, now, -EIO, "x"), 3200 * MS);
	now += 3200 * MS;
	supervisor_starting(&d, now);
	supervisor_running(&d, now);
	now += 60 * S;
	assert_int_equal(supervisor_failed(&d, now, -EIO, "x"), 100 * MS);
	/* and the next failure doubles from there */
	now += 100 * MS;
	supervisor_starting(&d, now);
	assert_int_equal(supervisor_failed(&d, now, -EIO, "x"), 200 * MS);
}

static void test_failure_while_starting_keeps_doubling(void **state)
{
	(void)state;
	struct supervised_device d;
	supervisor_init(&d, "source");
	supervisor_starting(&d, 0);
	assert_int_equal(supervisor_failed(&d, 0, 0, "no frame for 2000 ms"), 100 * MS);
	assert_string_equal(d.last_error, "no frame for 2000 ms");
	assert_int_equal(d.last_errno, 0);
	supervisor_starting(&d, 100 * MS);
	/* a long STARTING is not a healthy RUNNING: no reset */
	assert_int_equal(supervisor_failed(&d, 100 * S, -EBUSY, "open"), 200 * MS);
	supervisor_stopped(&d, 101 * S);
	assert_int_equal(d.state, DEVICE_STOPPED);
	assert_false(supervisor_retry_due(&d, 1000 * S));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_state),
		cmocka_unit_test(test_backoff_doubles_to_cap),
		cmocka_unit_test(test_healthy_minute_resets_backoff),
		cmocka_unit_test(test_failure_while_starting_keeps_doubling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
