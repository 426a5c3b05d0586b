/* Source → encoder → consumer, with each device supervised on its own; see
 * include/mjpegd/pipeline.h and include/mjpegd/supervisor.h. The core: the frame flow, failures,
 * the software stand-in, retiring; the other rooms are listed in src/pipeline_internal.h.
 *
 * Recovery: a failed source or encoder is retired (it stops being watched and fed), its
 * supervisor schedules a reopen, and the other device carries on untouched. A retired device is
 * destroyed only once nothing points into its memory any more: a source when every raw frame it
 * lent came back (source->lent), an encoder when no output frame it lent is referenced
 * (frames_lent), since a slow client may still be sending from it. While the configured encoder
 * is down, a software encoder stands in (--encoder-fallback software). While frames cannot flow,
 * clients get the "no signal" picture at 1 fps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/demand.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/select.h"

#include "pipeline_internal.h"

/* This many frames in a row back from the encoder with an error: it has failed (one is dropped). */
#define ENCODER_ERRORS_FAIL 3

void pipeline_release_raw(void *ctx, struct raw_frame *raw)
{
	(void)ctx;
	struct source *src = raw->owner;
	if (!MJPEGD_BUG(src->lent == 0, "%s: a raw frame came back twice", src->description))
		src->lent--;
	source_release(src, raw);
}

/* What every encoder of this pipeline is created with for src: its output frames come from the
 * pool, its raw frames go back through pipeline_release_raw. */
struct encoder_params pipeline_encoder_params(struct pipeline *pl, const struct source *src)
{
	return (struct encoder_params){
		.in_fourcc = src->fourcc, .width = src->width, .height = src->height,
		.quality = pl->opt.quality, .pool = &pl->pool,
		.release_raw = pipeline_release_raw, .release_ctx = pl,
	};
}

/* ---------------------------------------------------------------- retiring */

static unsigned encoder_frames_lent(struct encoder *enc)
{
	return enc->ops->frames_lent ? enc->ops->frames_lent(enc) : 0;
}

/* Destroys the retired devices nothing points into any more: encoders first, since destroying
 * one gives its raw frames back to their sources. */
static void collect_retired(struct pipeline *pl)
{
	for (unsigned i = 0; i < pl->n_retired_encoders;) {
		struct encoder *enc = pl->retired_encoders[i];
		if (encoder_frames_lent(enc) > 0) {
			i++;
			continue;
		}
		add_stats_encoder(&pl->encoder_stats_retired, &enc->stats);
		encoder_destroy(enc);
		pl->retired_encoders[i] = pl->retired_encoders[--pl->n_retired_encoders];
	}
	for (unsigned i = 0; i < pl->n_retired_sources;) {
		struct source *src = pl->retired_sources[i];
		if (src->lent > 0) {
			i++;
			continue;
		}
		add_stats_source(&pl->source_stats_retired, &src->stats);
		source_destroy(src);
		pl->retired_sources[i] = pl->retired_sources[--pl->n_retired_sources];
	}
}

static void retire_encoder(struct pipeline *pl, struct encoder *enc)
{
	/* Cannot happen with the backoff (each retry waits for the last to drain); if it does,
	 * leaking beats freeing memory a client still sends from. */
	if (MJPEGD_BUG(pl->n_retired_encoders == MAX_RETIRED,
		       "encoder %s: too many retired encoders still referenced; leaking it",
		       enc->description))
		return;
	pl->retired_encoders[pl->n_retired_encoders++] = enc;
	collect_retired(pl);
}

static void retire_source(struct pipeline *pl, struct source *src)
{
	if (MJPEGD_BUG(pl->n_retired_sources == MAX_RETIRED,
		       "source %s: too many retired sources still referenced; leaking it",
		       src->description))
		return;
	pl->retired_sources[pl->n_retired_sources++] = src;
	collect_retired(pl);
}

/* ---------------------------------------------------------------- publishing */

static void publish(struct pipeline *pl, struct frame *f)
{
	f->sequence = ++pl->publish_sequence;
	/* the "no signal" pictures stay upright: their text is to be read */
	f->exif_orientation = f->placeholder ? EXIF_ORIENTATION_NORMAL : pl->exif_orientation;
	/* Clients are sent image/jpeg: anything else (the test bed's FWHT) is only counted. */
	if (f->fourcc != V4L2_PIX_FMT_JPEG)
		pl->frames_not_published++;
	else if (pl->on_frame)
		pl->on_frame(pl->on_frame_ctx, f);
}

static enum placeholder_reason outage_reason(const struct pipeline *pl)
{
	return placeholder_reason_for(pl->source_sup.state == DEVICE_FAILED,
				      pl->source_sup.last_errno, pl->source != NULL,
				      active_encoder(pl) != NULL);
}

static void publish_placeholder(struct pipeline *pl, uint64_t now)
{
	struct frame *f = placeholders_frame(&pl->placeholders, &pl->pool, outage_reason(pl), now);
	if (!f)
		return;
	publish(pl, f);
	frame_unref(f);
}

/* ---------------------------------------------------------------- failures */

void pipeline_start_fallback(struct pipeline *pl)
{
	struct source *src = pl->source;
	if (!pl->opt.encoder_fallback || pl->fallback || !src ||
	    pl->encoder_kind == ENCODER_SOFTWARE || !select_software_takes(src->fourcc))
		return;
	struct encoder_params ep = pipeline_encoder_params(pl, src);
	if (encoder_software_create(&ep, &pl->fallback) < 0)
		return; /* the software encoder logged why */
	log_warn("encoding in software until the %s encoder is back", pl->encoder_description);
	loop_poll_set_fd(&pl->fallback_poll, encoder_fd(pl->fallback));
}

void pipeline_stop_fallback(struct pipeline *pl)
{
	if (!pl->fallback)
		return;
	pl->wanted_in_flight = false;
	loop_poll_set_fd(&pl->fallback_poll, -1);
	retire_encoder(pl, pl->fallback);
	pl->fallback = NULL;
}

/* Stops watching and feeding the configured encoder; it is destroyed once unreferenced. */
void pipeline_detach_encoder(struct pipeline *pl)
{
	if (!pl->encoder)
		return;
	loop_poll_set_fd(&pl->encoder_poll, -1);
	retire_encoder(pl, pl->encoder);
	pl->encoder = NULL;
	pl->in_flight = 0;
	pl->wanted_in_flight = false;
}

/* The same for the source. */
void pipeline_detach_source(struct pipeline *pl)
{
	if (!pl->source)
		return;
	loop_poll_set_fd(&pl->source_poll, -1);
	pipeline_release_held(pl);
	pipeline_release_full_held(pl);
	struct source *src = pl->source;
	pl->source = NULL;
	retire_source(pl, src);
}

static void encoder_failed(struct pipeline *pl, int err, const char *reason)
{
	uint64_t now = now_mono_ns();
	if (!pl->encoder)
		return;
	pipeline_detach_encoder(pl);
	supervisor_failed(&pl->encoder_sup, now, err, reason);
	pipeline_start_fallback(pl);
}

static void source_failed(struct pipeline *pl, int err, const char *reason)
{
	if (!pl->source)
		return;
	uint64_t now = now_mono_ns();
	supervisor_failed(&pl->source_sup, now, err, reason);
	pipeline_detach_source(pl);
	if (!pl->outage_since_ns)
		pl->outage_since_ns = now;
}

static void source_poll_error(struct loop_poll *p, int err, const char *reason)
{
	source_failed(container_of(p, struct pipeline, source_poll), err, reason);
}

static void encoder_poll_error(struct loop_poll *p, int err, const char *reason)
{
	encoder_failed(container_of(p, struct pipeline, encoder_poll), err, reason);
}

/* The stand-in itself failed: frames are dropped until the encoder is back. */
static void fallback_failed(struct pipeline *pl, int err, const char *reason)
{
	if (!pl->fallback)
		return;
	if (err)
		log_err_errno(err, "software fallback encoder: %s", reason);
	else
		log_err("software fallback encoder: %s", reason);
	pipeline_stop_fallback(pl);
}

/* ---------------------------------------------------------------- frames */

static void drop_raw(struct pipeline *pl, struct raw_frame *raw)
{
	pl->frames_dropped++;
	pipeline_release_raw(pl, raw);
}

/* A frame in the encoder for longer than --encoder-timeout-ms: the encoder has failed. Checked
 * every tick and at every camera frame, so a stall is noticed within a frame interval of the
 * timeout, not a tick (250 ms) later: the stand-in then serves the very frame that noticed it. */
static void collect_frames(struct pipeline *pl, struct encoder *enc);

/* A frame in the encoder for longer than --encoder-timeout-ms at now (progress may be later than
 * now: a result collected since now was read). */
static bool encoder_late(const struct pipeline *pl, uint64_t now)
{
	uint64_t encoder_timeout = (uint64_t)pl->opt.encoder_timeout_ms * NSEC_PER_MSEC;
	return pl->encoder && pl->in_flight > 0 && now > pl->encoder_progress_ns + encoder_timeout;
}

static void check_encoder_timeout(struct pipeline *pl, uint64_t now)
{
	if (!encoder_late(pl, now))
		return;
	/* Results may be done and their wake-up not handled yet (its completion later in the same
	 * batch as this one): take them before calling the encoder late. */
	collect_frames(pl, pl->encoder);
	if (!encoder_late(pl, now))
		return;
	char why[112];
	snprintf(why, sizeof(why), "a frame not back after %u ms", pl->opt.encoder_timeout_ms);
	/* Not one frame since it opened, and it was importing the camera's dma-bufs: on a Pi a
	 * dma-buf the VPU cannot import is logged by the driver and its buffer never completes
	 * (bcm2835-codec's device_run). Retry copying. Once an import worked for these buffers,
	 * a stall is the device's (stalled firmware), not the import's: copying would not help. */
	if (pl->encoder_sup.state == DEVICE_STARTING && pl->encoder->imports && !pl->import_worked &&
	    !pl->encoder_force_copy) {
		pl->encoder_force_copy = true;
		snprintf(why, sizeof(why), "no frame back within %u ms of importing the camera's "
			 "dma-bufs; copying them from now on", pl->opt.encoder_timeout_ms);
	} else if (pl->encoder_force_copy && !pl->encoder->imports) {
		/* Copying, it is late all the same: a slow or stalled device, not the import (a
		 * loaded board's first frame can take that long). Import again at the reopen. */
		pl->encoder_force_copy = false;
		snprintf(why, sizeof(why), "a frame not back after %u ms while copying too; importing "
			 "again", pl->opt.encoder_timeout_ms);
	}
	encoder_failed(pl, -ETIMEDOUT, why);
}

/* Gives raw to the encoder that takes frames now; false when it was refused (and dropped). */
bool pipeline_encode_raw(struct pipeline *pl, struct raw_frame *raw, uint64_t now)
{
	/* A reopened encoder is on probation until its first frame: the stand-in keeps
	 * serving, and the encoder is given one frame at a time to prove itself. */
	struct encoder *enc = pl->encoder;
	if (pl->fallback && (!enc || (pl->encoder_sup.state == DEVICE_STARTING && pl->in_flight > 0)))
		enc = pl->fallback;
	if (!enc) {
		drop_raw(pl, raw);
		pl->newest_unencoded = true;
		return false;
	}
	int r = encoder_submit(enc, raw);
	if (r < 0) {
		/* The encoder is still busy with earlier frames: newest-wins, drop this one. */
		if (r == -EBUSY || r == -ENOBUFS)
			log_debug("frame %llu dropped: encoder %s", (unsigned long long)raw->sequence,
				  r == -EBUSY ? "busy" : "has no free output frame");
		else
			log_debug_errno(r, "frame %llu dropped: encoder",
					(unsigned long long)raw->sequence);
		drop_raw(pl, raw);
		pl->newest_unencoded = true;
		return false;
	}
	if (enc == pl->encoder && pl->in_flight++ == 0)
		pl->encoder_progress_ns = now;
	pl->newest_unencoded = false;
	/* Its result is there already: no wake-up to wait for (encoder.h). */
	if (enc->synchronous)
		collect_frames(pl, enc);
	return true;
}

static void source_ready(struct loop_poll *p)
{
	struct pipeline *pl = container_of(p, struct pipeline, source_poll);
	struct source *src = pl->source;
	while (src && pl->source == src) {
		struct raw_frame *raw = NULL;
		int r = source_dequeue(src, &raw);
		if (r == -EAGAIN) {
			pipeline_take_full(pl, src);
			return;
		}
		if (r < 0) {
			source_failed(pl, r, "capture failed");
			return;
		}
		raw->owner = src;
		src->lent++;
		uint64_t now = loop_now(pl->loop); /* once per loop iteration (its wake-up) */
		pl->source_frame_ns = now;
		if (pl->source_sup.state == DEVICE_STARTING)
			supervisor_running(&pl->source_sup, now);
		check_encoder_timeout(pl, now);
		pl->fps_window_captured++;
		if (pl->settle_frames > 0) {
			/* just woken: the camera's exposure settles first (pipeline.h) */
			pl->settle_frames--;
			pl->frames_skipped_idle++;
			pipeline_release_raw(pl, raw);
			pl->last_live_ns = now;
			continue;
		}
		struct demand_inputs d = {
			.on_demand = pl->opt.on_demand, .one_wanted = pl->one_wanted,
			.probation = pl->encoder && pl->encoder_sup.state == DEVICE_STARTING &&
				     pl->in_flight == 0,
		};
		/* asked only when the answer matters: it walks no list, but it is a call per frame */
		d.viewers = d.on_demand && !d.one_wanted && !d.probation && pipeline_viewers_now(pl);
		if (!demand_encode(&d)) {
			pipeline_hold_raw(pl, raw, now);
			continue;
		}
		pipeline_release_held(pl); /* older than this one */
		/* set first: a synchronous encoder's result is collected inside pipeline_encode_raw() */
		if (d.one_wanted)
			pl->wanted_in_flight = true;
		if (!pipeline_encode_raw(pl, raw, now) && d.one_wanted)
			pl->wanted_in_flight = false;
		pl->one_wanted = false;
	}
}

/* Takes what enc (the configured encoder or the stand-in) has finished and publishes it. */
static void collect_frames(struct pipeline *pl, struct encoder *enc)
{
	while (enc && (enc == pl->encoder || enc == pl->fallback)) {
		struct frame *f = NULL;
		int r = encoder_collect(enc, &f);
		if (r == -EAGAIN)
			return;
		if (r == -ENODEV) {
			if (enc == pl->encoder)
				encoder_failed(pl, r, "the encoder stopped");
			else
				fallback_failed(pl, r, "the encoder stopped");
			return;
		}
		uint64_t now = loop_now(pl->loop);
		pl->wanted_in_flight = false;
		if (enc == pl->encoder) {
			if (pl->in_flight > 0)
				pl->in_flight--;
			pl->encoder_progress_ns = now;
		}
		if (r < 0) {
			/* One frame failed: counted by the encoder, logged there. Several in a
			 * row (a codec whose firmware flags every buffer as an error): the encoder
			 * has failed, and is reset as a whole. */
			if (enc == pl->encoder && ++pl->encoder_errors_in_row >= ENCODER_ERRORS_FAIL) {
				char why[64];
				snprintf(why, sizeof(why), "%u frames in a row came back with an error",
					 pl->encoder_errors_in_row);
				encoder_failed(pl, r, why);
				return;
			}
			continue;
		}
		if (enc == pl->encoder) {
			pl->encoder_errors_in_row = 0;
			pl->import_worked |= enc->imports;
		}
		if (enc == pl->encoder && pl->encoder_sup.state == DEVICE_STARTING) {
			supervisor_running(&pl->encoder_sup, now);
			if (pl->fallback) {
				log_notice("the %s encoder is back; the software fallback stops",
					   enc->description);
				pipeline_stop_fallback(pl);
			}
		}
		pl->fps_window_frames++;
		gapwin_event(&pl->live_gaps, now);
		pl->bytes_encoded += f->len;
		pl->last_live_ns = now;
		pl->outage_since_ns = 0;
		placeholders_live(&pl->placeholders);
		if (pl->wake_ns && !f->placeholder) {
			pl->wake_ms = (double)(now_mono_ns() - pl->wake_ns) / 1e6;
			log_info("standby: the first frame %.0f ms after the request that woke the "
				 "camera", pl->wake_ms);
			pl->wake_ns = 0;
		}
		publish(pl, f);
		frame_unref(f);
	}
}

static void encoder_ready(struct loop_poll *p)
{
	struct pipeline *pl = container_of(p, struct pipeline, encoder_poll);
	collect_frames(pl, pl->encoder);
}

static void fallback_ready(struct loop_poll *p)
{
	struct pipeline *pl = container_of(p, struct pipeline, fallback_poll);
	collect_frames(pl, pl->fallback);
}

static void fallback_poll_error(struct loop_poll *p, int err, const char *reason)
{
	fallback_failed(container_of(p, struct pipeline, fallback_poll), err, reason);
}

/* ---------------------------------------------------------------- public */

int pipeline_create(const struct pipeline_params *p, struct pipeline **out)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->loop = p->loop;
	pl->opt = *p->options;
	pl->exif_orientation = EXIF_ORIENTATION_NORMAL;
	pl->on_frame = p->on_frame;
	pl->on_frame_ctx = p->on_frame_ctx;
	pl->on_full_frame = p->on_full_frame;
	pl->viewers = p->viewers;
	pl->openers = p->openers;
	pipeline_controls_init(pl);
	supervisor_init(&pl->source_sup, "source");
	supervisor_init(&pl->encoder_sup, "encoder");
	loop_poll_init(&pl->source_poll, p->loop, source_ready, source_poll_error);
	loop_poll_init(&pl->encoder_poll, p->loop, encoder_ready, encoder_poll_error);
	loop_poll_init(&pl->fallback_poll, p->loop, fallback_ready, fallback_poll_error);
	pipeline_opening_init(pl);
	pl->wake_ms = -1;
	int r = pipeline_full_init(pl);
	if (r < 0)
		goto fail;
	r = frame_pool_init(&pl->pool, p->frame_pool_capacity);
	if (r < 0)
		goto fail;
	r = devices_init(&pl->dev, &pl->opt.devices);
	if (r < 0)
		goto fail;
	uint64_t now = now_mono_ns();
	struct source *src = NULL;
	supervisor_starting(&pl->source_sup, now);
	r = pipeline_open_source(pl, pl->opt.devices.source, &src, &pl->source_kind);
	bool wait = select_wait_for_camera(pl->opt.devices.source, pl->opt.devices.source_path, r);
	if (wait) {
		/* Another program or mjpegd instance holds the camera, or the USB camera named by its
		 * stable link is unplugged (the source said which): exiting would have systemd restart
		 * us in a loop, then give up. Clients get the placeholder meanwhile; the camera is
		 * retried with backoff and the encoder chosen once it opens. */
		bool busy = r == -EBUSY;
		supervisor_failed(&pl->source_sup, now, r, busy ? "camera busy" : "camera not there");
		log_warn("pipeline: the camera is %s; serving the placeholder until it %s",
			 busy ? "busy" : "not connected", busy ? "is free" : "is plugged in");
	} else if (r == -ELIBACC) {
		/* --source libcamera and the libcamera plugin cannot be loaded (the loader logged why,
		 * once; /status says it in libcamera_plugin): exiting would only make systemd restart
		 * us into the same failure, with nothing to see. Serve the placeholder that says so,
		 * /status and /metrics; a reload to another source opens it (pipeline_retry_source()). */
		supervisor_gave_up(&pl->source_sup, now, r, "the libcamera plugin cannot be loaded "
							    "(see libcamera_plugin in /status)");
		log_info("pipeline: no source (the libcamera plugin cannot be loaded): clients are "
			 "shown the placeholder");
	}
	if (wait || r == -ELIBACC) {
		pl->first_encoder_pending = true; /* opened with the first source (pipeline_retry_source()) */
		pl->encoder_kind = pl->opt.devices.encoder;
		placeholders_render(&pl->placeholders, pl->opt.devices.width,
				    pl->opt.devices.height);
		*out = pl;
		return 0;
	}
	if (r < 0)
		goto fail; /* the source logged why */
	pipeline_remember_source(pl, src, now);
	devices_warn_ignored(&pl->dev, src);
	struct encoder *enc = NULL;
	supervisor_starting(&pl->encoder_sup, now);
	r = pipeline_open_encoder(pl, pl->opt.devices.encoder, true, &enc, &pl->encoder_kind);
	if (r < 0)
		goto fail;
	pipeline_remember_encoder(pl, enc);
	placeholders_render(&pl->placeholders, pl->opt.devices.width,
				    pl->opt.devices.height);
	log_info("pipeline: %s → %s", pl->source->description, pl->encoder->description);
	*out = pl;
	return 0;
fail:
	pipeline_destroy(pl);
	return r;
}

int pipeline_start(struct pipeline *pl)
{
	uint64_t now = now_mono_ns();
	pl->fps_window_start_ns = now;
	pl->source_frame_ns = now;
	pl->last_live_ns = now;
	if (pl->source) /* none while a camera busy at start is waited for */
		loop_poll_set_paced(&pl->source_poll, source_fd(pl->source),
				    source_pacer(pl->source));
	if (pl->encoder)
		loop_poll_set_fd(&pl->encoder_poll, encoder_fd(pl->encoder));
	return 0;
}

void pipeline_tick(struct pipeline *pl, uint64_t now)
{
	uint64_t dt = now - pl->fps_window_start_ns;
	if (dt >= NSEC_PER_SEC) {
		pl->fps = (double)pl->fps_window_frames * (double)NSEC_PER_SEC / (double)dt;
		pl->fps_captured = (double)pl->fps_window_captured * (double)NSEC_PER_SEC / (double)dt;
		pl->fps_window_frames = 0;
		pl->fps_window_captured = 0;
		pl->fps_window_start_ns = now;
	}
	if (pl->stopping)
		return;
	collect_retired(pl); /* also in standby: what a client still sent from is closed once free */
	if (pl->standby)
		return; /* nothing is open, nothing retried, no placeholder: nobody is connected */
	/* the camera open, no encoder and none being opened, none failed: woken with the camera
	 * failing at first, or a reopen on a thread made stale meanwhile (opening_ready() in
	 * pipeline_open.c) */
	if (pl->source && !pl->encoder && !pl->opening.active && !pl->first_encoder_pending &&
	    (pl->encoder_sup.state == DEVICE_STANDBY || pl->encoder_sup.state == DEVICE_STOPPED))
		pipeline_retry_encoder(pl, now);
	char why[96];
	uint64_t source_timeout = (uint64_t)pl->opt.source_timeout_ms * NSEC_PER_MSEC;
	if (pl->source && now - pl->source_frame_ns > source_timeout) {
		snprintf(why, sizeof(why), "no frame for %u ms", pl->opt.source_timeout_ms);
		source_failed(pl, -ETIMEDOUT, why);
	}
	check_encoder_timeout(pl, now);
	collect_retired(pl);
	if (supervisor_retry_due(&pl->source_sup, now))
		pipeline_retry_source(pl, now);
	/* An encoder is opened for a source: with none, it waits. */
	/* not while an M2M encoder's teardown holds its device (encoder_m2m_teardown_pending()) */
	if (pl->source && supervisor_retry_due(&pl->encoder_sup, now) &&
	    !encoder_m2m_teardown_pending())
		pipeline_retry_encoder(pl, now);

	/* Frames cannot flow: clients see why, once a second, until they do again. */
	bool outage = !pl->source || !active_encoder(pl) || now - pl->last_live_ns > source_timeout;
	if (outage && placeholders_due(&pl->placeholders, now, pl->last_live_ns))
		publish_placeholder(pl, now);
}

int pipeline_set_quality(struct pipeline *pl, unsigned quality)
{
	if (pl->full_encoder && pl->full_encoder->ops->set_quality)
		pl->full_encoder->ops->set_quality(pl->full_encoder, quality);
	struct encoder *enc = active_encoder(pl);
	if (!enc)
		return 0; /* applied when the encoder is reopened (it reads the config) */
	if (!enc->ops->set_quality)
		return -EOPNOTSUPP;
	int r = enc->ops->set_quality(enc, quality);
	if (r != -ESTALE || enc != pl->encoder)
		return r;
	/* The encoder takes a new quality only when it starts (m2m_set_quality()): the stand-in
	 * serves while it is reopened, until the reopened one's first frame. */
	char why[64];
	snprintf(why, sizeof(why), "JPEG quality %u", quality);
	pipeline_start_fallback(pl);
	pipeline_reopen_encoder(pl, now_mono_ns(), why);
	return 0;
}

void pipeline_stop(struct pipeline *pl)
{
	pl->stopping = true;
	pipeline_release_held(pl);
	pipeline_release_full_held(pl);
	loop_poll_stop(&pl->full_poll);
	loop_poll_stop(&pl->source_poll);
	loop_poll_stop(&pl->encoder_poll);
	loop_poll_stop(&pl->fallback_poll);
}

bool pipeline_drained(const struct pipeline *pl)
{
	return !loop_poll_pending(&pl->source_poll) && !loop_poll_pending(&pl->encoder_poll) &&
	       !loop_poll_pending(&pl->fallback_poll) && !loop_poll_pending(&pl->full_poll) &&
	       !pl->opening.active;
}

void pipeline_destroy(struct pipeline *pl)
{
	if (!pl)
		return;
	/* A reopen still on its thread is waited for (bounded by the device's own timeouts). */
	if (pl->opening.active) {
		pipeline_opening_finish(&pl->opening, false);
		if (pl->opening.r == 0)
			encoder_destroy(pl->opening.enc);
	}
	pipeline_release_held(pl);
	pipeline_release_full_held(pl);
	/* Encoders give their raw frames back to the sources, so they go first; every consumer
	 * dropped its frames before this. */
	encoder_destroy(pl->full_encoder);
	encoder_destroy(pl->encoder);
	encoder_destroy(pl->fallback);
	for (unsigned i = 0; i < pl->n_retired_encoders; i++)
		encoder_destroy(pl->retired_encoders[i]);
	source_destroy(pl->source);
	for (unsigned i = 0; i < pl->n_retired_sources; i++)
		source_destroy(pl->retired_sources[i]);
	frame_pool_destroy(&pl->pool);
	frame_pool_destroy(&pl->full_pool);
	placeholders_free(&pl->placeholders);
	devices_destroy(&pl->dev);
	free(pl);
}
