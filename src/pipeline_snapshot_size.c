/* --snapshot-size (include/mjpegd/pipeline.h): a source with a second, full-size stream lends its
 * frames too; the newest is held and encoded in software, on its worker thread, only when a
 * snapshot asks for one. */
#include <errno.h>

#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/select.h"

#include "pipeline_internal.h"

/* Output frames of the full-size encoder (see pipeline_create()) */
#define PIPELINE_FULL_POOL 8
/* The same for the full-size frame held. */
void pipeline_release_full_held(struct pipeline *pl)
{
	if (!pl->full_held)
		return;
	pl->full_skipped++;
	pipeline_release_raw(pl, pl->full_held);
	pl->full_held = NULL;
}

/* ---------------------------------------------------------------- full size (--snapshot-size) */

/* The full-size frame held goes to the full encoder (software, on its worker thread: never
 * encoded here) if it is idle; refused: given back, and the next one is tried. */
static void submit_full(struct pipeline *pl)
{
	if (!pl->full_encoder || pl->full_in_flight || !pl->full_held)
		return;
	struct raw_frame *raw = pl->full_held;
	pl->full_held = NULL;
	int r = encoder_submit(pl->full_encoder, raw);
	if (r < 0) {
		log_debug_errno(r, "full-size frame %llu dropped", (unsigned long long)raw->sequence);
		pl->full_skipped++;
		pipeline_release_raw(pl, raw);
		pl->full_wanted = true;
		return;
	}
	pl->full_in_flight = true;
	pl->full_wanted = false;
}

/* The source's full-size frames since the last readiness: the newest is kept, older ones go
 * back at once (at most one of --snapshot-buffers is held here, one more in the encoder). */
void pipeline_take_full(struct pipeline *pl, struct source *src)
{
	struct raw_frame *raw;
	while (pl->source == src && source_dequeue_full(src, &raw) == 0) {
		raw->owner = src;
		src->lent++;
		pipeline_release_full_held(pl);
		pl->full_held = raw;
		if (pl->full_wanted)
			submit_full(pl);
	}
}

static void full_ready(struct loop_poll *p)
{
	struct pipeline *pl = container_of(p, struct pipeline, full_poll);
	while (pl->full_encoder) {
		struct frame *f = NULL;
		int r = encoder_collect(pl->full_encoder, &f);
		if (r == -EAGAIN)
			return;
		pl->full_in_flight = false;
		if (r < 0) {
			pl->full_errors++; /* the encoder logged why; the next request tries again */
			if (r == -ENODEV)
				return;
			continue;
		}
		pl->full_encoded++;
		f->sequence = pl->full_encoded;
		f->exif_orientation = pl->exif_orientation;
		if (pl->on_full_frame && f->fourcc == V4L2_PIX_FMT_JPEG)
			pl->on_full_frame(pl->on_frame_ctx, f);
		frame_unref(f);
		if (pl->full_wanted)
			submit_full(pl);
	}
}

static void full_poll_error(struct loop_poll *p, int err, const char *reason)
{
	struct pipeline *pl = container_of(p, struct pipeline, full_poll);
	if (err)
		log_err_errno(err, "full-size snapshot encoder: %s", reason);
	else
		log_err("full-size snapshot encoder: %s", reason);
	pl->full_in_flight = false;
	pl->full_errors++;
}

int pipeline_full_init(struct pipeline *pl)
{
	loop_poll_init(&pl->full_poll, pl->loop, full_ready, full_poll_error);
	/* the full encoder's results: one in it, one with the server, one per snapshot client
	 * sending an older one (a frame still referenced is simply not reused) */
	return frame_pool_init(&pl->full_pool, PIPELINE_FULL_POOL);
}

/* The full-size encoder for src's second stream (made again when its size or format changed;
 * the old one is waited for, at most one encode). No second stream while one was configured:
 * said once, snapshots keep the stream's size. */
void pipeline_setup_full(struct pipeline *pl, struct source *src)
{
	const struct devices_options *o = &pl->opt.devices;
	bool wanted = o->snapshot_width &&
		      (o->snapshot_width != o->width || o->snapshot_height != o->height);
	bool fits = wanted && src->full_width && select_software_takes(src->fourcc);
	if (pl->full_encoder && (!fits || pl->full_fourcc != src->fourcc ||
				 pl->full_width != src->full_width ||
				 pl->full_height != src->full_height)) {
		loop_poll_set_fd(&pl->full_poll, -1);
		encoder_destroy(pl->full_encoder);
		pl->full_encoder = NULL;
		pl->full_in_flight = false;
	}
	if (wanted && !fits) {
		if (!pl->full_warned)
			log_warn("--snapshot-size %ux%u: the source (%s) gives one stream only; "
				 "snapshots are the stream's size %ux%u (see /status)",
				 o->snapshot_width, o->snapshot_height, src->description,
				 src->width, src->height);
		pl->full_warned = true;
		return;
	}
	if (!fits || pl->full_encoder)
		return;
	struct encoder_params ep = {
		.in_fourcc = src->fourcc, .width = src->full_width, .height = src->full_height,
		.quality = pl->opt.quality, .pool = &pl->full_pool,
		.release_raw = pipeline_release_raw, .release_ctx = pl,
		.worker_nice = 10, /* a snapshot yields the CPU to the stream's encoder */
	};
	if (encoder_software_create(&ep, &pl->full_encoder) < 0) {
		pl->full_encoder = NULL; /* logged by the encoder; snapshots keep the stream's size */
		return;
	}
	pl->full_fourcc = src->fourcc;
	pl->full_width = src->full_width;
	pl->full_height = src->full_height;
	loop_poll_set_fd(&pl->full_poll, encoder_fd(pl->full_encoder));
	log_info("snapshots: %ux%u from the camera's second stream, encoded on request (%zu bytes "
		 "of full-size buffers)", src->full_width, src->full_height, src->full_bytes);
}

int pipeline_want_full(struct pipeline *pl)
{
	if (pl->stopping || !pl->full_encoder || !pl->source || !pl->source->full_width)
		return -EOPNOTSUPP;
	if (pl->full_in_flight)
		return 0; /* its result answers this request too */
	pl->full_wanted = true;
	submit_full(pl);
	return 0;
}

bool pipeline_snapshot_size(const struct pipeline *pl, unsigned *width, unsigned *height)
{
	if (pl->full_encoder && pl->source && pl->source->full_width) {
		*width = pl->full_width;
		*height = pl->full_height;
		return true;
	}
	*width = pl->source ? pl->source->width : pl->opt.devices.width;
	*height = pl->source ? pl->source->height : pl->opt.devices.height;
	return false;
}
