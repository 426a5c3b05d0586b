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

#endif
