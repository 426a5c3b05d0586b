/* --standby-after (include/mjpegd/pipeline.h): the camera and the encoder closed with no request
 * for a while, and opened again by the next one. */
#include "mjpegd/log.h"

#include "pipeline_internal.h"

/* Frames a libcamera camera gives after a wake-up before one is encoded: its auto exposure and
 * white balance start again from their defaults (include/mjpegd/pipeline.h). */
#define STANDBY_SETTLE_FRAMES_LIBCAMERA 5

bool pipeline_in_standby(const struct pipeline *pl)
{
	return pl->standby;
}

void pipeline_standby(struct pipeline *pl, uint64_t now)
{
	if (pl->standby || pl->stopping)
		return;
	pl->standby = true;
	pl->standby_entered++;
	pl->wake_ns = 0;
	pl->one_wanted = false;
	if (pl->opening.active)
		/* destroyed when its thread is done (opening_ready() in pipeline_open.c) */
		pl->opening.stale = true;
	pipeline_stop_fallback(pl);
	pipeline_detach_encoder(pl);
	pipeline_detach_source(pl);
	supervisor_standby(&pl->source_sup, now);
	supervisor_standby(&pl->encoder_sup, now);
	log_notice("standby: no request for %u s: the camera and the encoder are closed until the "
		   "next one", pl->opt.standby_after);
}

/* The next request after standby: the camera opens (by its configured name: one unplugged and
 * plugged in meanwhile is found again), then the encoder for it; the request waits for the first
 * good frame (settle_frames). A camera that cannot open is retried with backoff as any. */
void pipeline_wake(struct pipeline *pl, uint64_t now)
{
	pl->standby = false;
	pl->wake_ns = now;
	pl->last_live_ns = now; /* no "no signal" picture while they open */
	pl->newest_unencoded = true;
	/* both go STANDBY → STARTING as they open; the encoder once the camera is (pipeline_tick()) */
	log_notice("standby: a request: opening the camera and the encoder");
	pipeline_retry_source(pl, now);
	if (!pl->source)
		return; /* retried with backoff; the encoder follows it */
	pl->settle_frames = pl->source_kind == SOURCE_LIBCAMERA ? STANDBY_SETTLE_FRAMES_LIBCAMERA : 0;
	if (!pl->encoder && !pl->first_encoder_pending)
		pipeline_retry_encoder(pl, now);
}
