/* Frame pacing for the sources without a clock of their own (test pattern, file).
 *
 * Two ways to be woken, one owner each time:
 *  - the timerfd (pacing_timer_open()): polled, then read once per readiness (a read returns
 *    every expiration at once), what a caller without an io_uring (the unit tests) does;
 *  - the loop (loop_poll_set_paced(), include/mjpegd/loop.h): io_uring timeouts at absolute
 *    CLOCK_MONOTONIC deadlines, re-armed per tick in the same io_uring_enter as the frame's
 *    sends, the ticks counted here from the loop's clock (pacing_timer_fire()): no system call
 *    of the timer's own per frame. The timerfd is disarmed meanwhile and armed again if the
 *    kernel refuses the timeouts (pacing_timer_to_fd()).
 * Either way the source calls pacing_timer_take() until -EAGAIN. */
#ifndef MJPEGD_TIMER_H
#define MJPEGD_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* A nonblocking CLOCK_MONOTONIC timerfd firing at once, then every 1/fps s. 0 or -errno. */
int pacing_timer_open(unsigned fps, int *out_fd);

/* Ticks since the last read (>= 1) in *expirations, -EAGAIN when none, other -errno on error. */
int pacing_timer_read(int fd, uint64_t *expirations);

struct pacing_timer {
	int fd;
	uint64_t interval_ns; /* 1/fps */
	/* Read once per readiness (the timerfd): after a read that found ticks a second one in the
	 * same readiness finds none, so the call after one that read ticks answers -EAGAIN without
	 * a system call. A readiness that finds no tick (or a source that stops before asking
	 * again) is fine: the flag only skips the read that would have found nothing. */
	bool taken;
	/* Paced by the loop: the timerfd is disarmed, take() answers from due. */
	bool by_loop;
	uint64_t next_ns; /* the next tick's deadline (CLOCK_MONOTONIC) */
	uint64_t due;     /* ticks counted by pacing_timer_fire() and not taken yet */
};

/* Opens t's timerfd at fps (pacing_timer_open()); 0 or -errno. */
int pacing_timer_init(struct pacing_timer *t, unsigned fps);

/* The ticks since the last call: 0 with *expirations >= 1, -EAGAIN when none, other -errno. */
int pacing_timer_take(struct pacing_timer *t, uint64_t *expirations);

/* The loop paces t from now on, first tick at once (now): disarms the timerfd. 0 or -errno
 * (the timerfd could not be disarmed: t stays on it). */
int pacing_timer_to_loop(struct pacing_timer *t, uint64_t now_ns);
/* The loop's deadline came (now >= next_ns, the loop's clock when it woke): counts the ticks
 * due since (1 + the whole intervals it was late by, which the source counts as dropped
 * images) and moves next_ns past now. Returns the ticks counted (0 when now is early). */
uint64_t pacing_timer_fire(struct pacing_timer *t, uint64_t now_ns);
/* Back to the timerfd (the kernel refused the loop's timeouts): armed again, firing at once.
 * 0 or -errno. */
int pacing_timer_to_fd(struct pacing_timer *t);

void pacing_timer_close(struct pacing_timer *t);

#endif
