/* Frame pacing with a timerfd: the sources without a clock of their own (test pattern, file). */
#ifndef MJPEGD_TIMER_H
#define MJPEGD_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* A nonblocking CLOCK_MONOTONIC timerfd firing at once, then every 1/fps s. 0 or -errno. */
int pacing_timer_open(unsigned fps, int *out_fd);

/* Ticks since the last read (>= 1) in *expirations, -EAGAIN when none, other -errno on error. */
int pacing_timer_read(int fd, uint64_t *expirations);

/* A pacing timer read once per readiness. A timerfd read returns every expiration at once, so
 * after one that found ticks a second read in the same readiness finds none: the source's caller
 * dequeues until -EAGAIN (include/mjpegd/source.h), and that second call is answered here without
 * a system call. A readiness that finds no tick (or a source that stops before asking again) is
 * fine: the flag only skips the read that would have found nothing. */
struct pacing_timer {
	int fd;
	bool taken; /* the last call read ticks: the next one answers -EAGAIN without reading */
};

int pacing_timer_take(struct pacing_timer *t, uint64_t *expirations);
void pacing_timer_close(struct pacing_timer *t);

#endif
