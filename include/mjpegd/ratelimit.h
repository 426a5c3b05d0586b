/* A token-window rate limiter: pure (the caller passes the clock), so tests use a fake clock. */
#ifndef MJPEGD_RATELIMIT_H
#define MJPEGD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t interval_ns; /* window length */
	unsigned burst;       /* events allowed per window */
	/* state */
	uint64_t window_start_ns;
	unsigned in_window;
	unsigned suppressed; /* events refused since the last allowed one */
};

#define RATELIMIT_INIT(interval, n) { .interval_ns = (interval), .burst = (n) }

/* True when the event at now_ns may pass. A refused event increments ->suppressed. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns);

/* Returns and clears the number of refused events (call after an allowed one to report it). */
unsigned ratelimit_take_suppressed(struct ratelimit *rl);

/* A frame-rate cap on a schedule (a stream's ?fps=N): the average rate stays at one event per
 * interval_ns; an event may come a quarter interval early, and the next is due one interval
 * after the schedule, not after the event, so jitter costs nothing when the cap equals the
 * producer's rate, and a late event earns no burst. */
struct rate_cap {
	uint64_t interval_ns; /* 0: no cap */
	uint64_t due_ns;      /* when the next event may pass */
	bool started;
};

/* True (and the schedule advanced) when an event at now_ns may pass. */
bool rate_cap_take(struct rate_cap *rc, uint64_t now_ns);

#endif
