#ifndef MJPEGD_CLOCK_H
#define MJPEGD_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define USEC_PER_SEC 1000000ULL

static inline uint64_t clock_now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Monotonic time for deadlines and rates. */
static inline uint64_t now_mono_ns(void) { return clock_now_ns(CLOCK_MONOTONIC); }
/* Wall-clock microseconds for X-Timestamp (what clients compare against their own clock). */
static inline uint64_t now_wall_us(void) { return clock_now_ns(CLOCK_REALTIME) / 1000; }

#endif
