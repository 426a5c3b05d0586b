/* Encoding on demand; see include/mjpegd/demand.h. */
#include "mjpegd/clock.h"
#include "mjpegd/demand.h"

bool demand_encode(const struct demand_inputs *in)
{
	return !in->on_demand || in->viewers || in->one_wanted || in->probation;
}

bool demand_fresh(uint64_t at_ns, uint64_t now_ns, unsigned fps)
{
	if (fps == 0)
		fps = 1;
	uint64_t limit = 2 * NSEC_PER_SEC / fps + 20 * NSEC_PER_MSEC;
	return now_ns >= at_ns ? now_ns - at_ns <= limit : true;
}

bool standby_due(uint64_t last_request_ns, uint64_t now_ns, unsigned after_s, unsigned clients)
{
	if (after_s == 0 || clients > 0 || now_ns < last_request_ns)
		return false;
	return now_ns - last_request_ns >= (uint64_t)after_s * NSEC_PER_SEC;
}
