/* The loop's alarm (loop_alarm_set() in src/loop.c), on a real io_uring: a wait with no timeout
 * of its own ends at the alarm's absolute deadline, a moved alarm rings at its new deadline (earlier
 * or later), an iteration that nobody asks the time reads no clock, and loop_now_if_read() never
 * reads it (skipped where io_uring_setup is refused: qemu-user has no io_uring). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/loop.h"
#include "mjpegd/macro.h"

#include "ring_fixture.h"

#define MS NSEC_PER_MSEC

/* Waits with no timeout until the alarm rings (at most 20 iterations); the time it rang. */
static uint64_t wait_ring(struct loop *loop, struct loop_alarm *a)
{
	for (int i = 0; i < 20 && !a->rang; i++)
		assert_int_equal(loop_run_once(loop, -1), 0);
	assert_true(a->rang);
	return now_mono_ns();
}

static void test_alarm_ends_a_wait_without_timeout(void **state)
{
	(void)state;
	struct loop loop;
	if (!ring(&loop)) {
		skip();
		return;
	}
	struct loop_alarm a;
	loop_alarm_init(&a, &loop);
	assert_false(a.rang || a.pending || a.refused);

	/* armed: the wait ends at its deadline, not before */
	uint64_t t0 = now_mono_ns();
	loop_alarm_set(&a, t0 + 30 * MS);
	assert_true(a.pending);
	uint64_t reads = loop.clock_reads;
	uint64_t rang = wait_ring(&loop, &a);
	assert_true(rang >= t0 + 30 * MS);
	assert_true(rang < t0 + 2000 * MS);
	assert_false(a.pending);
	assert_false(a.refused);
	/* nobody asked the time in those iterations: no clock read */
	assert_int_equal(loop.clock_reads, reads);
	assert_int_equal(loop_now_if_read(&loop), 0);
	assert_int_equal(loop.clock_reads, reads);
	uint64_t now = loop_now(&loop);
	assert_int_equal(loop_now_if_read(&loop), now);
	assert_int_equal(loop.clock_reads, reads + 1);

	/* moved earlier while pending: rings at the new deadline, once */
	t0 = now_mono_ns();
	loop_alarm_set(&a, t0 + 10000 * MS);
	assert_false(a.rang);
	assert_int_equal(loop_run_once(&loop, 0), 0); /* the timeout reaches the kernel */
	assert_true(a.pending);
	loop_alarm_set(&a, t0 + 40 * MS);
	rang = wait_ring(&loop, &a);
	assert_true(rang >= t0 + 40 * MS);
	assert_true(rang < t0 + 5000 * MS);

	/* moved later while pending: does not ring at the first deadline */
	t0 = now_mono_ns();
	loop_alarm_set(&a, t0 + 20 * MS);
	assert_int_equal(loop_run_once(&loop, 0), 0);
	loop_alarm_set(&a, t0 + 120 * MS);
	rang = wait_ring(&loop, &a);
	assert_true(rang >= t0 + 120 * MS);

	/* a deadline already past rings at once */
	loop_alarm_set(&a, now_mono_ns() - 5 * MS);
	t0 = now_mono_ns();
	rang = wait_ring(&loop, &a);
	assert_true(rang - t0 < 1000 * MS);
	assert_false(a.refused);
	loop_destroy(&loop);
}

/* Moved after it expired in the kernel but before its completion was seen: the update finds
 * nothing (-ENOENT), the expiry is still reported, and nothing is refused. */
static void test_alarm_update_racing_its_expiry(void **state)
{
	(void)state;
	struct loop loop;
	if (!ring(&loop)) {
		skip();
		return;
	}
	struct loop_alarm a;
	loop_alarm_init(&a, &loop);
	loop_alarm_set(&a, now_mono_ns() + 5 * MS);
	assert_int_equal(loop_run_once(&loop, 0), 0); /* submitted, not yet expired */
	struct timespec d = { .tv_nsec = 30 * 1000 * 1000 };
	nanosleep(&d, NULL);                         /* expired in the kernel, not yet seen */
	loop_alarm_set(&a, now_mono_ns() + 10000 * MS); /* an update that finds nothing */
	for (int i = 0; i < 5 && !a.rang; i++)
		assert_int_equal(loop_run_once(&loop, 100), 0);
	assert_true(a.rang);
	assert_false(a.pending);
	assert_false(a.refused);
	/* set again: armed anew */
	uint64_t t0 = now_mono_ns();
	loop_alarm_set(&a, t0 + 20 * MS);
	assert_true(a.pending);
	assert_true(wait_ring(&loop, &a) >= t0 + 20 * MS);
	loop_destroy(&loop);
}

struct counted_op {
	struct loop_op op;
	int calls, res;
};

static void counted_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct counted_op *c = container_of(op, struct counted_op, op);
	c->calls++;
	c->res = res;
}

static void queue_send(struct loop *loop, struct counted_op *c, int fd, const void *buf,
		       size_t len)
{
	struct io_uring_sqe *sqe = loop_sqe(loop, &c->op);
	io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
}

/* loop_expect_inline(): a send announced as finishing at its submission goes to the kernel in the
 * wait for the next event, which does not end for the send's completion alone (one
 * io_uring_enter for both); a wrong announcement (the socket is full) ends the wait at
 * LOOP_EXPECT_BOUND_MS, and the send completes later as usual. */
static void test_expected_send_waits_for_the_next_event(void **state)
{
	(void)state;
	struct loop loop;
	if (!ring(&loop)) {
		skip();
		return;
	}
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	static char part[1000];
	struct loop_alarm a;
	loop_alarm_init(&a, &loop);

	/* announced right: the wait ends at the alarm, with the send's completion in it */
	struct counted_op sent = { .op.complete = counted_complete };
	uint64_t t0 = now_mono_ns();
	loop_alarm_set(&a, t0 + 30 * MS);
	queue_send(&loop, &sent, sv[0], part, sizeof(part));
	loop_expect_inline(&loop);
	uint64_t enters = loop.stats.enters;
	assert_int_equal(loop_run_once(&loop, -1), 0);
	assert_true(now_mono_ns() >= t0 + 30 * MS);
	assert_int_equal(loop.stats.enters, enters + 1);
	assert_true(a.rang);
	assert_int_equal(sent.calls, 1);
	assert_int_equal(sent.res, (int)sizeof(part));
	assert_int_equal(loop.stats.bounded, 0);
	assert_int_equal(loop.expect, 0);

	/* not announced: the same send ends the wait at once (the alarm is 10 s away) */
	loop_alarm_set(&a, now_mono_ns() + 10000 * MS);
	t0 = now_mono_ns();
	queue_send(&loop, &sent, sv[0], part, sizeof(part));
	assert_int_equal(loop_run_once(&loop, -1), 0);
	assert_int_equal(sent.calls, 2);
	assert_true(now_mono_ns() < t0 + 5000 * MS);

	/* announced wrong: the peer reads nothing and the socket is full; the wait ends at the
	 * bound, and the send completes once the peer reads */
	while (send(sv[0], part, sizeof(part), MSG_DONTWAIT) > 0)
		;
	struct counted_op stuck = { .op.complete = counted_complete };
	queue_send(&loop, &stuck, sv[0], part, sizeof(part));
	loop_expect_inline(&loop);
	t0 = now_mono_ns();
	assert_int_equal(loop_run_once(&loop, -1), 0);
	uint64_t waited = now_mono_ns() - t0;
	assert_true(waited >= (LOOP_EXPECT_BOUND_MS - 5) * MS);
	assert_true(waited < 5000 * MS);
	assert_int_equal(stuck.calls, 0);
	assert_int_equal(loop.stats.bounded, 1);
	char sink[4096];
	while (read(sv[1], sink, sizeof(sink)) > 0)
		;
	for (int i = 0; i < 20 && !stuck.calls; i++)
		assert_int_equal(loop_run_once(&loop, 100), 0);
	assert_int_equal(stuck.calls, 1);
	assert_true(stuck.res > 0);
	close(sv[0]);
	close(sv[1]);
	loop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alarm_ends_a_wait_without_timeout),
		cmocka_unit_test(test_alarm_update_racing_its_expiry),
		cmocka_unit_test(test_expected_send_waits_for_the_next_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
