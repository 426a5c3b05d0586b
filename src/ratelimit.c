/* Fixed-window rate limiter; see include/mjpegd/ratelimit.h. */
#include "mjpegd/ratelimit.h"

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ns)
{
	/* interval 0 means "no limit", like systemd's RATELIMIT: lets callers switch it off. */
	if (rl->interval_ns == 0)
		return true;

	/* A clock that went backwards (a fake clock in tests, or a caller mixing clocks) starts a
	 * fresh window rather than refusing everything until the old window's end comes round. */
	if (rl->in_window == 0 || now_ns < rl->window_start_ns ||
	    now_ns - rl->window_start_ns >= rl->interval_ns) {
		rl->window_start_ns = now_ns;
		rl->in_window = 0;
	}

	if (rl->in_window < rl->burst) {
		rl->in_window++;
		return true;
	}
	rl->suppressed++;
	return false;
}

unsigned ratelimit_take_suppressed(struct ratelimit *rl)
{
	unsigned n = rl->suppressed;
	rl->suppressed = 0;
	return n;
}

bool rate_cap_take(struct rate_cap *rc, uint64_t now_ns)
{
	if (!rc->interval_ns)
		return true;
	uint64_t slack = rc->interval_ns / 4;
	if (rc->started && now_ns + slack < rc->due_ns)
		return false;
	uint64_t base = rc->started && rc->due_ns + slack > now_ns ? rc->due_ns : now_ns - slack;
	rc->due_ns = base + rc->interval_ns;
	rc->started = true;
	return true;
}
