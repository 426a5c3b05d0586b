/* --on-demand (include/mjpegd/demand.h, include/mjpegd/pipeline.h): with nobody watching, the
 * newest camera frame is held instead of encoded, and encoded when pipeline_want_frame() asks. */
#include "mjpegd/clock.h"
#include "mjpegd/demand.h"

#include "pipeline_internal.h"

/* The held frame goes back to its source: a newer one came, or the source goes. */
void pipeline_release_held(struct pipeline *pl)
{
	if (!pl->held)
		return;
	pl->frames_skipped_idle++;
	pipeline_release_raw(pl, pl->held);
	pl->held = NULL;
}

bool pipeline_viewers_now(const struct pipeline *pl)
{
	return pl->viewers && pl->viewers(pl->on_frame_ctx);
}

/* Nobody will receive raw now: it is kept as the newest frame (the one before goes back), or,
 * from a pass-through camera, given back at once. The camera delivering counts as live: no
 * "no signal" picture while it does. */
void pipeline_hold_raw(struct pipeline *pl, struct raw_frame *raw, uint64_t now)
{
	pipeline_release_held(pl);
	pl->newest_unencoded = true;
	if (pl->encoder_kind == ENCODER_PASSTHROUGH) {
		pl->frames_skipped_idle++;
		pipeline_release_raw(pl, raw);
	} else {
		pl->held = raw;
		pl->held_ns = now;
	}
	pl->last_live_ns = now;
	pl->outage_since_ns = 0;
	placeholders_live(&pl->placeholders);
}

bool pipeline_frame_current(const struct pipeline *pl)
{
	return !pl->standby && !pl->wake_ns && !pl->newest_unencoded && !pl->wanted_in_flight;
}

void pipeline_want_frame(struct pipeline *pl)
{
	if (pl->stopping)
		return;
	uint64_t now = now_mono_ns();
	if (pl->standby)
		pipeline_wake(pl, now);
	if (pl->wanted_in_flight)
		return;
	if (pl->held && demand_fresh(pl->held_ns, now, pl->opt.devices.fps)) {
		struct raw_frame *raw = pl->held;
		pl->held = NULL;
		pl->wanted_in_flight = true; /* first: see source_ready() in pipeline.c */
		if (pipeline_encode_raw(pl, raw, now))
			return;
		pl->wanted_in_flight = false;
	}
	pl->one_wanted = true;
}
