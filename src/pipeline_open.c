/* Opening the devices: at start, after a failure (with backoff), at a wake-up from standby, and
 * for new options (SIGHUP: src/pipeline_apply.c decides which). An M2M encoder is reopened on a
 * thread of its own (below). What a camera just opened gets: the orientation split, the controls
 * wanted, the full-size encoder. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"

#include "pipeline_internal.h"

/* src/devices.c opens what select.c chose, unless a test passed fakes. */
int pipeline_open_source(struct pipeline *pl, enum source_kind kind, struct source **out,
		       enum source_kind *opened)
{
	if (!pl->openers)
		return devices_open_source(&pl->dev, kind, out, opened);
	*opened = kind;
	return pl->openers->source(pl->openers->ctx, kind, out);
}

/* An encoder for the current source; first: at start, where auto may still settle for software. */
int pipeline_open_encoder(struct pipeline *pl, enum encoder_kind want, bool first,
			struct encoder **out, enum encoder_kind *opened)
{
	struct encoder_params ep = pipeline_encoder_params(pl, pl->source);
	if (pl->encoder_force_copy)
		ep.copy_reason = "an earlier import of the camera's dma-bufs never completed";
	if (pl->openers) {
		*opened = want;
		return pl->openers->encoder(pl->openers->ctx, want, &ep, out);
	}
	if (first)
		return devices_open_first_encoder(&pl->dev, pl->source, &ep, out, opened);
	return devices_open_encoder(&pl->dev, want, pl->source, &ep, out, opened);
}

void pipeline_remember_encoder(struct pipeline *pl, struct encoder *enc)
{
	struct source *src = pl->source;
	pl->encoder = enc;
	pl->in_flight = 0;
	pl->encoder_errors_in_row = 0;
	pl->encoder_in_fourcc = src->fourcc;
	pl->encoder_in_width = src->width;
	pl->encoder_in_height = src->height;
	pl->encoder_in_bytesperline = src->bytesperline;
	snprintf(pl->encoder_description, sizeof(pl->encoder_description), "%s", enc->description);
}

/* The split of --rotation/--hflip/--vflip for the open camera: its sensor's part where it applied
 * it, the whole orientation in EXIF where it cannot (orientation.h). Said once when it changes. */
void pipeline_update_orientation(struct pipeline *pl, const struct source *src)
{
	const struct devices_options *o = &pl->opt.devices;
	struct orientation_plan plan;
	orientation_plan(o->rotation, o->hflip, o->vflip, &plan);
	struct sensor_transform sensor = { 0 };
	enum exif_orientation exif = plan.exif_alone;
	if (src->sensor_transformed) {
		sensor = plan.sensor;
		exif = plan.exif_after_sensor;
	}
	if (exif == pl->exif_orientation && sensor_transform_equal(&sensor, &pl->orientation_sensor))
		return;
	pl->exif_orientation = exif;
	pl->orientation_sensor = sensor;
	if (!o->rotation && !o->hflip && !o->vflip && exif == EXIF_ORIENTATION_NORMAL)
		return;
	if (src->sensor_transformed)
		log_info("orientation: rotation %u%s%s: the sensor of %s: %s; EXIF Orientation %d (%s)",
			 o->rotation, o->hflip ? ", hflip" : "", o->vflip ? ", vflip" : "",
			 src->description,
			 sensor.rotation ? "180°" : sensor.hflip ? "hflip" : sensor.vflip ? "vflip"
			 : "nothing", (int)exif, exif_orientation_name(exif));
	else
		log_info("orientation: rotation %u%s%s: %s cannot turn or mirror its pictures; EXIF "
			 "Orientation %d (%s)", o->rotation, o->hflip ? ", hflip" : "",
			 o->vflip ? ", vflip" : "", src->description, (int)exif,
			 exif_orientation_name(exif));
}

void pipeline_remember_source(struct pipeline *pl, struct source *src, uint64_t now)
{
	pipeline_update_orientation(pl, src);
	pipeline_apply_controls(pl, src);
	pl->source = src;
	pl->import_worked = false; /* other buffers: whether they import is to be seen */
	pl->source_frame_ns = now;
	snprintf(pl->source_description, sizeof(pl->source_description), "%s", src->description);
	pipeline_setup_full(pl, src);
}


/* The encoder chosen and opened as at start (auto may settle for software), for a camera that
 * was busy at start and opened since; a failure is retried with backoff. */
static void open_deferred_encoder(struct pipeline *pl, uint64_t now)
{
	if (!pl->source)
		return; /* opened with the camera (pipeline_retry_source()) */
	struct encoder *enc = NULL;
	supervisor_starting(&pl->encoder_sup, now);
	int r = pipeline_open_encoder(pl, pl->opt.devices.encoder, true, &enc, &pl->encoder_kind);
	if (r < 0) {
		pl->encoder_kind = pl->opt.devices.encoder;
		supervisor_failed(&pl->encoder_sup, now, r, "opening failed");
		return;
	}
	pl->first_encoder_pending = false;
	pipeline_remember_encoder(pl, enc);
	loop_poll_set_fd(&pl->encoder_poll, encoder_fd(enc));
	log_info("pipeline: %s → %s", pl->source->description, pl->encoder->description);
}

/* A clean restart, not a failure: the supervisor goes through STOPPED, no backoff, no count. */
void pipeline_reopen_encoder(struct pipeline *pl, uint64_t now, const char *why)
{
	log_notice("encoder: reopening for %s", why);
	if (pl->opening.active)
		pl->opening.stale = true; /* opened for what was: thrown away when it is done */
	pipeline_detach_encoder(pl);
	supervisor_stopped(&pl->encoder_sup, now);
	pipeline_retry_encoder(pl, now);
}

void pipeline_retry_source(struct pipeline *pl, uint64_t now)
{
	supervisor_starting(&pl->source_sup, now);
	struct source *src = NULL;
	enum source_kind kind;
	int r = pipeline_open_source(pl, pl->source_kind, &src, &kind);
	if (r == -ELIBACC) {
		supervisor_gave_up(&pl->source_sup, now, r, "the libcamera plugin cannot be loaded "
							    "(see libcamera_plugin in /status)");
		return;
	}
	if (r < 0) {
		supervisor_failed(&pl->source_sup, now, r, "reopening failed");
		return;
	}
	pipeline_remember_source(pl, src, now);
	loop_poll_set_paced(&pl->source_poll, source_fd(src), source_pacer(src));
	if (pl->first_encoder_pending) {
		open_deferred_encoder(pl, now);
		return;
	}
	/* The encoder stays as it is unless the camera came back with another format. */
	if (pl->encoder && (src->fourcc != pl->encoder_in_fourcc || src->width != pl->encoder_in_width ||
			    src->height != pl->encoder_in_height ||
			    src->bytesperline != pl->encoder_in_bytesperline)) {
		/* Not a failure of the encoder: it is reopened for the new format at once. */
		pipeline_reopen_encoder(pl, now, "the camera's new format");
	}
	/* A stand-in made for the old instance may not fit the new one: make it again. */
	if (pl->fallback) {
		pipeline_stop_fallback(pl);
		pipeline_start_fallback(pl);
	}
}

static void reopened(struct pipeline *pl, uint64_t now, int r, struct encoder *enc)
{
	if (r < 0) {
		supervisor_failed(&pl->encoder_sup, now, r, "reopening failed");
		if (!pl->fallback)
			pipeline_start_fallback(pl);
		return;
	}
	/* The stand-in serves on until the reopened encoder's first frame (collect_frames() in
	 * pipeline.c). */
	pipeline_remember_encoder(pl, enc);
	loop_poll_set_fd(&pl->encoder_poll, encoder_fd(enc));
}

/*
 * An M2M encoder is reopened on a thread of its own: on a Pi, opening bcm2835-codec creates the
 * VPU's component over VCHIQ and allocates 16 MiB of CMA for the JPEG buffers (measured ~90 ms
 * on the test bed), which would hold every viewer and /status meanwhile. The choice and its
 * parameters are made here (they read the device list and the source); the thread only creates;
 * the loop adopts the result when the thread's eventfd fires (opening_ready()), unless the
 * source changed or a reconfiguration made it stale meanwhile. Owner of *o: the pipeline
 * (pl->opening) from spawn to adoption; the thread writes o->enc and o->r, then the eventfd.
 */

static void *opening_thread(void *arg)
{
	struct encoder_opening *o = arg;
	o->r = devices_create_encoder(&o->pl->dev, o->kind, &o->ep, &o->enc);
	uint64_t one = 1;
	ssize_t n = write(o->efd, &one, sizeof(one));
	(void)n; /* an eventfd write of 1 cannot fail short of overflow */
	return NULL;
}

/* The thread is done (or is waited for): joined, its eventfd closed. from_loop: also stops
 * watching the eventfd (not at destroy, when the loop is gone). */
void pipeline_opening_finish(struct encoder_opening *o, bool from_loop)
{
	pthread_join(o->thread, NULL);
	if (from_loop)
		loop_poll_set_fd(&o->poll, -1);
	close(o->efd);
	o->efd = -1;
	o->active = false;
}

static void opening_ready(struct loop_poll *p)
{
	struct encoder_opening *o = container_of(p, struct encoder_opening, poll);
	struct pipeline *pl = o->pl;
	pipeline_opening_finish(o, true);
	uint64_t now = now_mono_ns();
	if (o->stale || pl->stopping || pl->source != o->src || pl->encoder) {
		if (o->r == 0)
			encoder_destroy(o->enc);
		if (!pl->stopping && !pl->encoder && !pl->standby)
			supervisor_stopped(&pl->encoder_sup, now); /* opened again at the next tick */
	} else {
		reopened(pl, now, o->r, o->enc);
	}
	o->enc = NULL;
}

static void opening_error(struct loop_poll *p, int err, const char *reason)
{
	/* an eventfd poll does not fail; if it did, the thread's result is still waited for */
	(void)err;
	log_err("encoder: waiting for the reopen: %s", reason);
	opening_ready(p);
}

void pipeline_opening_init(struct pipeline *pl)
{
	loop_poll_init(&pl->opening.poll, pl->loop, opening_ready, opening_error);
	pl->opening.efd = -1;
}

/* 0 when a thread took the creation over; a negative errno when none could start (the caller
 * then opens here). ep: devices_plan_encoder()'s, for an M2M encoder. */
static int open_encoder_async(struct pipeline *pl, const struct encoder_params *ep)
{
	struct encoder_opening *o = &pl->opening;
	o->pl = pl;
	o->src = pl->source;
	o->kind = ENCODER_M2M;
	o->ep = *ep;
	o->enc = NULL;
	o->r = 0;
	o->stale = false;
	if (o->ep.device) {
		snprintf(o->device, sizeof(o->device), "%s", o->ep.device);
		o->ep.device = o->device;
	}
	if (o->ep.in_unfit) {
		snprintf(o->unfit, sizeof(o->unfit), "%s", o->ep.in_unfit);
		o->ep.in_unfit = o->unfit;
	}
	int efd _cleanup_close_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	o->efd = efd; /* the thread writes to it */
	int r = -pthread_create(&o->thread, NULL, opening_thread, o);
	if (r < 0) {
		o->efd = -1;
		return r;
	}
	efd = -1; /* the opening's now: closed by pipeline_opening_finish() */
	o->active = true;
	loop_poll_set_fd(&o->poll, o->efd);
	return 0;
}

void pipeline_retry_encoder(struct pipeline *pl, uint64_t now)
{
	if (pl->opening.active)
		return; /* one reopen at a time */
	if (pl->first_encoder_pending) {
		open_deferred_encoder(pl, now);
		return;
	}
	supervisor_starting(&pl->encoder_sup, now);
	if (pl->encoder_kind == ENCODER_M2M)
		devices_probe(&pl->dev); /* the device may come back under another number */
	struct encoder *enc = NULL;
	int r;
	if (!pl->openers && pl->loop) {
		struct encoder_params base = pipeline_encoder_params(pl, pl->source), ep;
		if (pl->encoder_force_copy)
			base.copy_reason = "an earlier import of the camera's dma-bufs never completed";
		int kind = devices_plan_encoder(&pl->dev, pl->encoder_kind, pl->source, &base, &ep);
		if (kind == ENCODER_M2M && open_encoder_async(pl, &ep) == 0)
			return;
		r = kind < 0 ? kind
			     : devices_create_encoder(&pl->dev, (enum encoder_kind)kind, &ep, &enc);
	} else {
		enum encoder_kind kind;
		r = pipeline_open_encoder(pl, pl->encoder_kind, false, &enc, &kind);
	}
	reopened(pl, now, r, enc);
}
