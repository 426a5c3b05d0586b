/* Frame pacing (src/timer.c) and the loop's paced watch (loop_poll_set_paced() in src/loop.c):
 * the ticks counted from the loop's clock, the timerfd disarmed while the loop paces and armed
 * again when handed back, and a real io_uring waking the owner at the pace with timeouts alone
 * (skipped where io_uring_setup is refused: qemu-user has no io_uring). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "mjpegd/clock.h"
#include "mjpegd/loop.h"
#include "mjpegd/macro.h"
#include "mjpegd/timer.h"

#include "ring_fixture.h"

#define MS NSEC_PER_MSEC

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, timeout_ms) > 0;
}

static void test_fire_counts_ticks_late_ones_together(void **state)
{
	(void)state;
	struct pacing_timer t;
	assert_int_equal(pacing_timer_init(&t, 100), 0); /* 10 ms */
	assert_int_equal(t.interval_ns, 10 * MS);
	assert_int_equal(pacing_timer_to_loop(&t, 1000 * MS), 0);
	uint64_t n = 0;
	assert_int_equal(pacing_timer_take(&t, &n), -EAGAIN); /* nothing due before the first */

	assert_int_equal(pacing_timer_fire(&t, 999 * MS), 0); /* woken early: nothing */
	assert_int_equal(pacing_timer_fire(&t, 1000 * MS), 1);  /* the first, at once */
	assert_int_equal(t.next_ns, 1010 * MS);
	assert_int_equal(pacing_timer_take(&t, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pacing_timer_take(&t, &n), -EAGAIN); /* once per wake-up */

	/* 25 ms late: that tick and the two whole intervals since, counted together */
	assert_int_equal(pacing_timer_fire(&t, 1035 * MS), 3);
	assert_int_equal(t.next_ns, 1040 * MS); /* the grid is kept: no drift */
	/* not taken yet (no free buffer): a later deadline adds to them */
	assert_int_equal(pacing_timer_fire(&t, 1040 * MS), 1);
	assert_int_equal(pacing_timer_take(&t, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(pacing_timer_take(&t, &n), -EAGAIN);
	pacing_timer_close(&t);
	assert_int_equal(t.fd, -1);
}

static void test_loop_pacing_disarms_the_timerfd_and_back(void **state)
{
	(void)state;
	struct pacing_timer t;
	assert_int_equal(pacing_timer_init(&t, 200), 0);
	assert_true(readable(t.fd, 1000)); /* armed: fires at once */

	assert_int_equal(pacing_timer_to_loop(&t, now_mono_ns()), 0);
	assert_false(readable(t.fd, 30)); /* six intervals: disarmed, nothing to read */

	assert_int_equal(pacing_timer_to_fd(&t), 0);
	assert_false(t.by_loop);
	assert_true(readable(t.fd, 1000));
	uint64_t n = 0;
	assert_int_equal(pacing_timer_take(&t, &n), 0);
	assert_true(n >= 1);
	assert_int_equal(pacing_timer_take(&t, &n), -EAGAIN); /* read once per readiness */
	pacing_timer_close(&t);
}

/* ---------------------------------------------------------------- through a real io_uring */

struct owner {
	struct loop_poll poll;
	struct pacing_timer *t;
	unsigned wakeups;
	uint64_t ticks;
	int error;
};

static void owner_ready(struct loop_poll *p)
{
	struct owner *o = container_of(p, struct owner, poll);
	o->wakeups++;
	uint64_t n;
	/* as a source does: take until -EAGAIN */
	while (pacing_timer_take(o->t, &n) == 0)
		o->ticks += n;
}

static void owner_error(struct loop_poll *p, int err, const char *reason)
{
	(void)reason;
	container_of(p, struct owner, poll)->error = err;
}

static void test_loop_paces_with_timeouts(void **state)
{
	(void)state;
	struct loop loop;
	if (!ring(&loop)) {
		skip();
		return;
	}
	struct pacing_timer t;
	assert_int_equal(pacing_timer_init(&t, 100), 0); /* 10 ms */
	struct owner o = { .t = &t };
	loop_poll_init(&o.poll, &loop, owner_ready, owner_error);
	uint64_t start = now_mono_ns();
	loop_poll_set_paced(&o.poll, t.fd, &t);
	assert_true(t.by_loop);
	assert_true(o.poll.pending && o.poll.pending_timeout);

	while (o.wakeups < 6 && now_mono_ns() - start < 2000 * MS)
		assert_int_equal(loop_run_once(&loop, 1000), 0);
	uint64_t elapsed = now_mono_ns() - start;
	assert_int_equal(o.error, 0);
	assert_int_equal(o.wakeups, 6);
	/* the first at once, then one per interval: at least five intervals passed */
	assert_true(elapsed >= 50 * MS);
	/* a tick per interval, however the wake-ups fell (a late one counts several) */
	assert_true(o.ticks >= 6 && o.ticks <= 1 + elapsed / (10 * MS) + 1);
	/* woken by timeouts only: one io_uring_enter per wake-up, the timerfd never armed */
	assert_true(loop.stats.enters <= 6 + 1);
	assert_false(readable(t.fd, 0));

	/* replaced by nothing (the source detached): the pending timeout is cancelled */
	loop_poll_set_fd(&o.poll, -1);
	unsigned before = o.wakeups;
	for (int i = 0; i < 5; i++)
		assert_int_equal(loop_run_once(&loop, 20), 0);
	assert_int_equal(o.wakeups, before);
	assert_false(loop_poll_pending(&o.poll));
	assert_null(o.poll.pacer);

	/* paced again (a source reopened), then stopped (shutdown): cancelled, never re-armed */
	loop_poll_set_paced(&o.poll, t.fd, &t);
	while (o.wakeups == before && now_mono_ns() - start < 4000 * MS)
		assert_int_equal(loop_run_once(&loop, 1000), 0);
	assert_int_equal(o.wakeups, before + 1);
	loop_poll_stop(&o.poll);
	for (int i = 0; i < 5 && loop_poll_pending(&o.poll); i++)
		assert_int_equal(loop_run_once(&loop, 100), 0);
	assert_false(loop_poll_pending(&o.poll));
	assert_int_equal(o.wakeups, before + 1);

	pacing_timer_close(&t);
	loop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fire_counts_ticks_late_ones_together),
		cmocka_unit_test(test_loop_pacing_disarms_the_timerfd_and_back),
		cmocka_unit_test(test_loop_paces_with_timeouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
