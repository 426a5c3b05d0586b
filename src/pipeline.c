/* Source → encoder → consumer; see include/mjpegd/pipeline.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/multipart.h"
#include "mjpegd/pipeline.h"

struct watch {
	struct pipeline *pl;
	struct loop_op op;
	int fd;
	bool pending;
	void (*ready)(struct pipeline *pl);
};

struct pipeline {
	struct loop *loop;
	struct source *source;
	struct encoder *encoder;
	struct frame_pool pool;
	pipeline_frame_fn on_frame;
	void *on_frame_ctx;
	struct watch source_watch, encoder_watch;
	bool stopping;

	uint64_t frames_dropped; /* refused by the encoder (busy, no free output frame) */
	uint64_t fps_window_start_ns, fps_window_frames, frames_encoded_seen;
	double fps;
};

static void pipeline_release_raw(void *ctx, struct raw_frame *raw)
{
	struct pipeline *pl = ctx;
	source_release(pl->source, raw);
}

static void watch_complete(struct loop_op *op, int res, unsigned flags);

static void watch_arm(struct watch *w)
{
	if (w->fd < 0 || w->pending || w->pl->stopping)
		return;
	struct io_uring_sqe *sqe = loop_sqe(w->pl->loop, &w->op);
	io_uring_prep_poll_add(sqe, w->fd, POLLIN);
	w->pending = true;
}

static void watch_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct watch *w = (struct watch *)((char *)op - offsetof(struct watch, op));
	w->pending = false;
	if (w->pl->stopping || res == -ECANCELED)
		return;
	if (res < 0)
		log_err("polling fd %d failed: %s", w->fd, strerror(-res));
	else
		w->ready(w->pl);
	watch_arm(w);
}

static void source_ready(struct pipeline *pl)
{
	for (;;) {
		struct raw_frame *raw = NULL;
		int r = source_dequeue(pl->source, &raw);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			log_err("source %s: %s", pl->source->description, strerror(-r));
			return;
		}
		r = encoder_submit(pl->encoder, raw);
		if (r < 0) {
			/* The encoder is still busy with earlier frames: newest-wins, drop this one. */
			pl->frames_dropped++;
			log_debug("frame %llu dropped: encoder %s", (unsigned long long)raw->sequence,
				  r == -EBUSY ? "busy" : r == -ENOBUFS ? "has no free output frame"
								     : strerror(-r));
			source_release(pl->source, raw);
		}
	}
}

static void encoder_ready(struct pipeline *pl)
{
	for (;;) {
		struct frame *f = NULL;
		int r = encoder_collect(pl->encoder, &f);
		if (r == -EAGAIN)
			return;
		if (r < 0)
			continue; /* counted by the encoder, logged there */
		int n = multipart_part_header(f->part_header, sizeof(f->part_header), f->len,
					      f->timestamp_us);
		f->part_header_len = n > 0 ? (size_t)n : 0;
		pl->fps_window_frames++;
		if (pl->on_frame)
			pl->on_frame(pl->on_frame_ctx, f);
		frame_unref(f);
	}
}

static bool is_jpeg(uint32_t fourcc)
{
	return fourcc == V4L2_PIX_FMT_JPEG || fourcc == V4L2_PIX_FMT_MJPEG;
}

static int open_source(const struct config *cfg, struct source **out)
{
	struct source_params sp = {
		.width = cfg->width, .height = cfg->height, .fps = cfg->fps,
		.path = cfg->source_path,
	};
	switch (cfg->source) {
	case SOURCE_FILE:
		return source_file_create(&sp, out);
	case SOURCE_TESTPATTERN:
		return source_testpattern_create(&sp, out);
	case SOURCE_AUTO:
	default:
		/* Cameras are probed here once their back ends exist; until one is found the
		 * built-in pattern keeps the stream alive. */
		log_warn("no camera found: serving the built-in test pattern");
		return source_testpattern_create(&sp, out);
	}
}

static int open_encoder(const struct config *cfg, struct pipeline *pl)
{
	struct source *src = pl->source;
	struct encoder_params ep = {
		.in_fourcc = src->fourcc, .width = src->width, .height = src->height,
		.quality = cfg->quality, .pool = &pl->pool,
		.release_raw = pipeline_release_raw, .release_ctx = pl,
	};
	enum encoder_kind kind = cfg->encoder;
	if (kind == ENCODER_AUTO)
		kind = is_jpeg(src->fourcc) ? ENCODER_PASSTHROUGH : ENCODER_SOFTWARE;
	if (kind == ENCODER_PASSTHROUGH && !is_jpeg(src->fourcc)) {
		log_err("--encoder passthrough: the source (%s) gives raw frames, not JPEG; "
			"use --encoder software or auto", src->description);
		return -EINVAL;
	}
	if (kind == ENCODER_SOFTWARE && is_jpeg(src->fourcc)) {
		log_err("--encoder software: the source (%s) already gives JPEG; use --encoder "
			"passthrough or auto", src->description);
		return -EINVAL;
	}
	int r = kind == ENCODER_PASSTHROUGH ? encoder_passthrough_create(&ep, &pl->encoder)
					    : encoder_software_create(&ep, &pl->encoder);
	if (r < 0)
		log_err("cannot start the %s encoder: %s", encoder_kind_name(kind), strerror(-r));
	return r;
}

int pipeline_create(const struct pipeline_params *p, struct pipeline **out)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->loop = p->loop;
	pl->on_frame = p->on_frame;
	pl->on_frame_ctx = p->on_frame_ctx;
	int r = frame_pool_init(&pl->pool, p->frame_pool_capacity);
	if (r < 0)
		goto fail;
	r = open_source(p->cfg, &pl->source);
	if (r < 0) {
		log_err("cannot open the source: %s", strerror(-r));
		goto fail;
	}
	r = open_encoder(p->cfg, pl);
	if (r < 0)
		goto fail;
	pl->source_watch = (struct watch){.pl = pl, .op.complete = watch_complete,
					  .fd = source_fd(pl->source), .ready = source_ready};
	pl->encoder_watch = (struct watch){.pl = pl, .op.complete = watch_complete,
					   .fd = encoder_fd(pl->encoder), .ready = encoder_ready};
	log_info("pipeline: %s → %s", pl->source->description, pl->encoder->description);
	*out = pl;
	return 0;
fail:
	pipeline_destroy(pl);
	return r;
}

int pipeline_start(struct pipeline *pl)
{
	pl->fps_window_start_ns = now_mono_ns();
	watch_arm(&pl->source_watch);
	watch_arm(&pl->encoder_watch);
	return 0;
}

void pipeline_tick(struct pipeline *pl, uint64_t now)
{
	uint64_t dt = now - pl->fps_window_start_ns;
	if (dt >= NSEC_PER_SEC) {
		pl->fps = (double)pl->fps_window_frames * (double)NSEC_PER_SEC / (double)dt;
		pl->fps_window_frames = 0;
		pl->fps_window_start_ns = now;
	}
}

void pipeline_fill_status(struct pipeline *pl, struct status_snapshot *s)
{
	const struct encoder_stats *es = &pl->encoder->stats;
	s->source = pl->source->description;
	s->encoder = pl->encoder->description;
	s->width = pl->source->width;
	s->height = pl->source->height;
	s->fps_target = pl->source->fps;
	s->fps_measured = pl->fps;
	s->frames_captured = pl->source->stats.frames_captured;
	s->frames_encoded = es->frames_encoded;
	s->frames_dropped = pl->source->stats.frames_dropped + pl->frames_dropped;
	s->encode_errors = es->encode_errors;
	s->bytes_copied = es->bytes_copied;
	s->bytes_copied_per_frame =
		es->frames_encoded ? (double)es->bytes_copied / (double)es->frames_encoded : 0.0;
	s->frame_pool_capacity = pl->pool.capacity;
	s->frame_pool_in_use = pl->pool.in_use;
	s->frame_pool_bytes = pl->pool.bytes_reserved;
}

int pipeline_set_quality(struct pipeline *pl, unsigned quality)
{
	if (!pl->encoder->ops->set_quality)
		return -EOPNOTSUPP;
	return pl->encoder->ops->set_quality(pl->encoder, quality);
}

static void watch_cancel(struct watch *w)
{
	if (!w->pending)
		return;
	struct io_uring_sqe *sqe = loop_sqe(w->pl->loop, NULL);
	io_uring_prep_poll_remove(sqe, (__u64)(uintptr_t)&w->op);
}

void pipeline_stop(struct pipeline *pl)
{
	pl->stopping = true;
	watch_cancel(&pl->source_watch);
	watch_cancel(&pl->encoder_watch);
}

bool pipeline_drained(const struct pipeline *pl)
{
	return !pl->source_watch.pending && !pl->encoder_watch.pending;
}

void pipeline_destroy(struct pipeline *pl)
{
	if (!pl)
		return;
	/* The encoder gives its raw frames back to the source, so it goes first. */
	encoder_destroy(pl->encoder);
	source_destroy(pl->source);
	frame_pool_destroy(&pl->pool);
	free(pl);
}
