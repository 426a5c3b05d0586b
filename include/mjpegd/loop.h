/* The io_uring event loop: one ring on the main thread owns every socket, timer and wake-up.
 *
 * Every submission carries a pointer to a struct loop_op embedded in its owner (a client, the
 * pipeline, main's tick); the completion is dispatched to op->complete. user_data 0 marks
 * fire-and-forget submissions (cancellations) whose completions are ignored.
 * SQEs prepared while completions are handled go to the kernel together, in the one
 * io_uring_enter at the top of the next iteration, so a new frame wakes every client with one
 * system call. */
#ifndef MJPEGD_LOOP_H
#define MJPEGD_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

#include "mjpegd/clock.h"

struct loop_op;
typedef void (*loop_complete_fn)(struct loop_op *op, int res, unsigned cqe_flags);

struct loop_op {
	loop_complete_fn complete;
};

struct loop_stats {
	uint64_t enters;      /* io_uring_enter calls made by the loop (submit + wait) */
	uint64_t submitted;   /* SQEs submitted */
	uint64_t completions; /* CQEs handled */
	uint64_t expected;    /* completions announced with loop_expect_inline() */
	uint64_t bounded;     /* waits that loop_expect_inline() made end at LOOP_EXPECT_BOUND_MS */
};

/* How long a wait may go on once it has the completions loop_expect_inline() announced and
 * nothing else: a send announced as finishing at its submission that did not finish delays the
 * next wake-up by at most this. Above 33 ms so that at 30 fps the next frame, not the bound, ends
 * the wait; below 20 fps the bound ends it, which costs the wake-up the announcement saved. */
#define LOOP_EXPECT_BOUND_MS 50

struct loop {
	struct io_uring ring;
	bool multishot_accept; /* Linux >= 5.19 */
	uint64_t now_ns;       /* CLOCK_MONOTONIC of the current iteration, read at its first
				* loop_now(); 0 until then */
	uint64_t clock_reads;  /* how often loop_now() read the clock (for the unit tests) */
	bool initialised;
	unsigned expect; /* completions the SQEs queued for the next wait will post at their
			  * submission (loop_expect_inline()); reset by every wait */
	struct loop_stats stats;
};

/* Creates the ring and probes features. On failure logs the cause (io_uring disabled by
 * sysctl, blocked by seccomp/container policy, kernel too old, memlock limit) and returns the
 * negative errno. */
int loop_init(struct loop *loop, unsigned entries);
void loop_destroy(struct loop *loop);

/* A zeroed SQE whose user_data is op (NULL → ignored completion). When the submission queue is
 * full the queued SQEs are submitted first, so this never fails. */
struct io_uring_sqe *loop_sqe(struct loop *loop, struct loop_op *op);

/* Submits what is queued, waits for at least one completion (or timeout_ms when >= 0), then
 * dispatches every completion available. Returns 0 or a negative errno from io_uring_enter.
 * With completions announced (loop_expect_inline()) it waits for one more than those, at most
 * LOOP_EXPECT_BOUND_MS (or timeout_ms when shorter). */
int loop_run_once(struct loop *loop, int timeout_ms);

/* Announces that an SQE just queued will complete during its own submission: a send to a socket
 * with room, whose completion nobody needs before the next event. The next wait then counts it
 * and does not end for it alone, so a frame's sends go to the kernel in the wait for the next
 * frame instead of in an io_uring_enter of their own that returns at once with their completions
 * (one system call per frame fewer; docs/performance.md). A wrong announcement costs at most
 * LOOP_EXPECT_BOUND_MS of delay to the next wake-up. */
static inline void loop_expect_inline(struct loop *loop)
{
	loop->expect++;
	loop->stats.expected++;
}

/* The time of the current iteration: at most one clock read per wake-up rather than one per
 * client (in a guest without a vDSO clock, and on a Pi Zero or Pi 1, each read is a system
 * call), and none in an iteration that never asks (one that only takes a send's completion). */
static inline uint64_t loop_now(struct loop *loop)
{
	if (!loop->now_ns) {
		loop->now_ns = now_mono_ns();
		loop->clock_reads++;
	}
	return loop->now_ns;
}

/* The time of the current iteration if something in it asked already (loop_now()), else 0; never
 * reads the clock. */
static inline uint64_t loop_now_if_read(const struct loop *loop) { return loop->now_ns; }

/* An absolute CLOCK_MONOTONIC deadline that ends the loop's wait: an IORING_OP_TIMEOUT
 * (IORING_TIMEOUT_ABS) in the ring, so that the wait itself needs no timeout and an iteration no
 * clock read to compute one (main.c's tick). Moving it queues an update SQE
 * (io_uring_prep_timeout_update(), Linux 5.11) that goes to the kernel with the next wait: no
 * system call of its own. Embedded in its owner, which reads rang after each iteration.
 *
 * States: idle (nothing in the ring) → armed (pending) → rang (expired; idle again), and
 * refused once the kernel refuses a timeout or its update (an older or filtered io_uring): the
 * owner then waits with loop_run_once()'s timeout instead, as before the alarm existed. */
struct loop_alarm {
	struct loop *loop;
	struct loop_op op;        /* the timeout's completion */
	struct loop_op update_op; /* an update's completion */
	struct __kernel_timespec ts; /* read by the kernel at the SQE's submission */
	uint64_t at_ns;
	bool pending; /* the timeout is in the ring (or queued for it) */
	bool rang;    /* it expired; cleared by loop_alarm_set() */
	bool refused; /* the kernel refused it: never armed again */
};

void loop_alarm_init(struct loop_alarm *a, struct loop *loop);
/* Rings at at_ns (CLOCK_MONOTONIC): arms the timeout, or moves the pending one. */
void loop_alarm_set(struct loop_alarm *a, uint64_t at_ns);

struct pacing_timer;

/* A re-armed POLL_ADD (POLLIN) on one fd: a device the loop watches (a V4L2 node, a timerfd, an
 * eventfd). The fd can be swapped when its device is replaced: a poll still pending on the old
 * one is cancelled first. Embedded in its owner, which finds itself with container_of().
 * Or, for a source paced by a clock (loop_poll_set_paced()), a re-armed IORING_OP_TIMEOUT at its
 * pacing timer's next deadline (absolute, CLOCK_MONOTONIC): the SQE goes to the kernel with the
 * frame's sends, and no timerfd is read. */
struct loop_poll {
	struct loop *loop;
	struct loop_op op;
	int fd;         /* -1: not watching */
	struct pacing_timer *pacer; /* non-NULL: paced with timeouts (fd is its timerfd) */
	bool pending;
	bool pending_timeout; /* the pending operation is a timeout, not a poll */
	bool retarget;  /* the pending poll was cancelled to move to next_fd */
	bool stopped;   /* loop_poll_stop(): never armed again */
	int next_fd;
	struct pacing_timer *next_pacer;
	struct __kernel_timespec deadline; /* the pending timeout's (read at its submission) */
	/* The fd is readable: handle it (ready may move or stop the poll). */
	void (*ready)(struct loop_poll *p);
	/* Polling failed, or the fd reported POLLERR/POLLHUP/POLLNVAL (a V4L2 queue in error, an
	 * unplugged camera) after ready() ran: err is a negative errno. Not re-armed. */
	void (*error)(struct loop_poll *p, int err, const char *reason);
};

void loop_poll_init(struct loop_poll *p, struct loop *loop,
		    void (*ready)(struct loop_poll *p),
		    void (*error)(struct loop_poll *p, int err, const char *reason));
/* Watches fd from now on (-1: nothing). */
void loop_poll_set_fd(struct loop_poll *p, int fd);
/* Watches a source paced by pacer (its timerfd is fd) with timeouts from now on, the first at
 * once: pacer's ticks are counted at each (pacing_timer_fire()) before ready() runs. When the
 * kernel refuses a timeout, fd is polled instead (pacing_timer_to_fd()). pacer NULL: as
 * loop_poll_set_fd(p, fd). */
void loop_poll_set_paced(struct loop_poll *p, int fd, struct pacing_timer *pacer);
/* Cancels a pending poll and never arms again (shutdown); loop_poll_pending() turns false when
 * the cancellation completed. */
void loop_poll_stop(struct loop_poll *p);
static inline bool loop_poll_pending(const struct loop_poll *p) { return p->pending; }

/* Compares "major.minor" of the running kernel: true when >= major.minor. */
bool loop_kernel_at_least(unsigned major, unsigned minor);

#endif
