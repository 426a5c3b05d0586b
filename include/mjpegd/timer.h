/* Frame pacing with a timerfd: the sources without a clock of their own (test pattern, file). */
#ifndef MJPEGD_TIMER_H
#define MJPEGD_TIMER_H

#include <stdint.h>

/* A nonblocking CLOCK_MONOTONIC timerfd firing at once, then every 1/fps s. 0 or -errno. */
int pacing_timer_open(unsigned fps, int *out_fd);

/* Ticks since the last read (>= 1) in *expirations, -EAGAIN when none, other -errno on error. */
int pacing_timer_read(int fd, uint64_t *expirations);

#endif
