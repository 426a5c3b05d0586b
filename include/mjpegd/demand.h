/* Encoding on demand (--on-demand on, the default): which camera frames are given to the encoder.
 * Pure: the pipeline asks at every camera frame and at every request for one; unit-tested
 * without devices.
 *
 * The rules: every frame is encoded while a stream client watches (or with --on-demand off); a
 * snapshot or a new stream client asks for one frame, which is the newest camera frame if it is
 * fresh (the pipeline holds it, see include/mjpegd/pipeline.h), else the next one; an encoder on
 * probation (just opened, STARTING) is given one frame at a time so that its first frame proves
 * it (and the first frame after start reaches the server) even with nobody watching. Any other
 * frame goes back to the camera at once, counted as skipped for want of viewers. */
#ifndef MJPEGD_DEMAND_H
#define MJPEGD_DEMAND_H

#include <stdbool.h>
#include <stdint.h>

struct demand_inputs {
	bool on_demand;   /* --on-demand on */
	bool viewers;     /* a stream client watches now */
	bool one_wanted;  /* a snapshot or a new stream client asked for a frame, not yet given */
	bool probation;   /* the configured encoder awaits its first frame and holds none now */
};

/* Whether a frame the camera just delivered is encoded (else held or given back). */
bool demand_encode(const struct demand_inputs *in);

/* Whether the newest camera frame, held since at_ns, is recent enough at now_ns to be encoded for
 * a request, at fps frames a second: within two frame intervals (a camera a little slower than
 * asked still counts), plus 20 ms for the loop's own latency. Anything older (a camera that
 * stalled): the next frame is waited for. */
bool demand_fresh(uint64_t at_ns, uint64_t now_ns, unsigned fps);

/* Standby (--standby-after SECONDS, after_s; 0: never): whether the camera and the encoder are
 * to be closed at now_ns, the last HTTP request (or connection) having come at last_request_ns,
 * with clients connected now (any: a stream, a snapshot waiting, a keep-alive connection). */
bool standby_due(uint64_t last_request_ns, uint64_t now_ns, unsigned after_s, unsigned clients);

#endif
