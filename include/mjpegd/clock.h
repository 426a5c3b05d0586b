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

/*
 * Capture times (CLOCK_MONOTONIC, as V4L2 and libcamera stamp buffers) as wall-clock
 * microseconds for X-Timestamp, without reading both clocks for every frame: the offset between
 * them is read once every MONO_WALL_REFRESH conversions (about a second at 30 fps). A step of the
 * wall clock (the first NTP sync of a Pi, which has no RTC) shows in X-Timestamp at the next
 * refresh. One per source; not thread-safe.
 */
#define MONO_WALL_REFRESH 32

struct mono_wall {
	int64_t offset_us; /* wall − monotonic */
	unsigned left;     /* conversions before the offset is read again (0: read it now) */
};

/* mono_us 0 (no capture time) gives the current wall time. */
static inline uint64_t mono_wall_us(struct mono_wall *m, uint64_t mono_us)
{
	if (m->left == 0 || mono_us == 0) {
		uint64_t wall = now_wall_us(), mono = now_mono_ns() / 1000;
		m->offset_us = (int64_t)(wall - mono);
		m->left = MONO_WALL_REFRESH;
		if (mono_us == 0 || mono_us > mono)
			return wall;
	}
	m->left--;
	return (uint64_t)((int64_t)mono_us + m->offset_us);
}

#endif
