/* Source → encoder → consumer; see include/mjpegd/pipeline.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/clock.h"
#include "mjpegd/libcamera_source.h"
#include "mjpegd/log.h"
#include "mjpegd/multipart.h"
#include "mjpegd/pipeline.h"
#include "mjpegd/v4l2_device.h"
#include "mjpegd/v4l2_discover.h"

struct watch {
	struct pipeline *pl;
	struct loop_op op;
	int fd;
	bool pending;
	const char *what;
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
	/* every /dev/video* probed when an M2M encoder may be used (auto, m2m), for
	 * capture_request_for() and encoder_choose() */
	struct v4l2_device_info *devs;
	int n_devs;
	uint64_t frames_not_published, bytes_encoded;

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
	if (res < 0) {
		log_err("polling fd %d failed: %s", w->fd, strerror(-res));
	} else {
		w->ready(w->pl);
		/* A V4L2 queue in error (a fatal streaming error, an unplugged camera) stays
		 * readable with POLLERR: polling it again would spin. */
		if (res & (POLLERR | POLLHUP | POLLNVAL)) {
			log_err("the %s reported an error (poll events 0x%x): no more frames from it; "
				"restart mjpegd once it is back", w->what, (unsigned)res);
			return;
		}
	}
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
		pl->bytes_encoded += f->len;
		/* Clients are sent image/jpeg: anything else (the test bed's FWHT) is only counted. */
		if (f->fourcc != V4L2_PIX_FMT_JPEG)
			pl->frames_not_published++;
		else if (pl->on_frame)
			pl->on_frame(pl->on_frame_ctx, f);
		frame_unref(f);
	}
}

static bool is_jpeg(uint32_t fourcc)
{
	return fourcc == V4L2_PIX_FMT_JPEG || fourcc == V4L2_PIX_FMT_MJPEG;
}

static uint32_t m2m_out_fourcc(const struct config *cfg)
{
	return cfg->m2m_format == M2M_FORMAT_FWHT ? V4L2_PIX_FMT_FWHT : V4L2_PIX_FMT_JPEG;
}

/* req: the formats the configured encoder takes, best first (software: YUV420, YUYV, then RGB,
 * its slow path for sensors such as vimc's that give only RGB; see capture_request_for()). */
static int open_source(const struct config *cfg, const struct capture_request *req,
		       struct source **out)
{
	struct source_params sp = {
		.width = cfg->width, .height = cfg->height, .fps = cfg->fps,
		.path = cfg->source_path,
		.formats = req->fourccs, .n_formats = req->n,
		.stride_align = req->stride_align, .height_align = req->height_align,
		.rotation = cfg->rotation, .hflip = cfg->hflip, .vflip = cfg->vflip,
		.buffers = cfg->camera_buffers,
	};
	int r;
	switch (cfg->source) {
	case SOURCE_FILE:
		return source_file_create(&sp, out);
	case SOURCE_TESTPATTERN:
		return source_testpattern_create(&sp, out);
	case SOURCE_LIBCAMERA:
		sp.camera = cfg->source_path;
		return source_libcamera_create(&sp, out);
	case SOURCE_V4L2:
		sp.device = cfg->source_path; /* "": the first usable capture device */
		return source_v4l2_create(&sp, out);
	case SOURCE_AUTO:
	default:
		/* libcamera first, but only when it has a camera (USB ones are left to V4L2): one
		 * that is there and fails to open is an error, not a reason to show a pattern. */
		r = source_libcamera_try_create(&sp, out);
		if (r != -ENODEV && r != -EOPNOTSUPP)
			return r;
		/* then the first V4L2 camera (UVC webcams and the like) */
		if (source_v4l2_create(&sp, out) == 0)
			return 0;
		/* Until a camera is found the built-in pattern keeps the stream alive. */
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
	/* auto: an M2M encoder that takes the source's format, passthrough for JPEG, software
	 * otherwise (encoder_choose()) */
	char f[5], o[5];
	int m2m_index = -1;
	int kind = encoder_choose(cfg->encoder, src->fourcc, pl->devs, (size_t)pl->n_devs,
				  m2m_out_fourcc(cfg), &m2m_index);
	if (kind < 0) {
		if (cfg->encoder == ENCODER_PASSTHROUGH)
			log_err("--encoder passthrough: the source (%s) gives raw frames, not JPEG; "
				"use --encoder software or auto", src->description);
		else if (is_jpeg(src->fourcc))
			log_err("--encoder %s: the source (%s) already gives JPEG; use --encoder "
				"passthrough or auto", encoder_kind_name(cfg->encoder),
				src->description);
		else if (cfg->encoder == ENCODER_M2M)
			log_err("--encoder m2m: no M2M device turns the source's %s into %s "
				"(mjpegd --list-devices says why)", fourcc_str(src->fourcc, f),
				fourcc_str(m2m_out_fourcc(cfg), o));
		else
			log_err("no encoder takes the source's format %s (%s)",
				fourcc_str(src->fourcc, f), src->description);
		return kind;
	}
	if (kind == ENCODER_M2M) {
		ep.device = pl->devs[m2m_index].path;
		ep.out_fourcc = m2m_out_fourcc(cfg);
		ep.in_bytesperline = src->bytesperline;
		ep.in_dmabuf = src->dmabuf;
	}
	int r = kind == ENCODER_PASSTHROUGH ? encoder_passthrough_create(&ep, &pl->encoder)
		: kind == ENCODER_M2M	    ? encoder_m2m_create(&ep, &pl->encoder)
					    : encoder_software_create(&ep, &pl->encoder);
	if (r < 0)
		log_err("cannot start the %s encoder: %s", encoder_kind_name((enum encoder_kind)kind),
			strerror(-r));
	return r;
}

/* --encoder auto or m2m: the nodes an M2M encoder may be among (all of /dev/video*, or the one
 * named). --encoder m2m with none that fits is an error before any camera is opened. */
static int find_m2m_devices(const struct config *cfg, struct pipeline *pl)
{
	if (cfg->encoder != ENCODER_AUTO && cfg->encoder != ENCODER_M2M)
		return 0;
	if (cfg->encoder == ENCODER_M2M && cfg->encoder_path[0]) {
		pl->devs = calloc(1, sizeof(*pl->devs));
		if (!pl->devs)
			return -ENOMEM;
		pl->n_devs = 1;
		v4l2_probe(cfg->encoder_path, &pl->devs[0]);
	} else {
		pl->n_devs = v4l2_scan(&pl->devs);
		if (pl->n_devs < 0) {
			log_warn("cannot list /dev/video*: %s", strerror(-pl->n_devs));
			pl->n_devs = 0;
		}
	}
	if (cfg->encoder != ENCODER_M2M ||
	    m2m_discover(pl->devs, (size_t)pl->n_devs, 0, m2m_out_fourcc(cfg)) >= 0)
		return 0;
	char o[5], why[256];
	log_err("--encoder m2m: no memory-to-memory device produces %s",
		fourcc_str(m2m_out_fourcc(cfg), o));
	for (int i = 0; i < pl->n_devs; i++) {
		if (m2m_encoder_check(&pl->devs[i], 0, m2m_out_fourcc(cfg), why, sizeof(why)) != -ENODEV ||
		    cfg->encoder_path[0])
			log_err("  %s (%s): %s", pl->devs[i].path, pl->devs[i].card, why);
	}
	return -ENODEV;
}

/* Asks each M2M encoder (VIDIOC_TRY_FMT) how it would lay out the formats the camera is to be
 * asked for, so that one it can import without a copy is asked first. */
static void prefer_importable_formats(const struct config *cfg, struct pipeline *pl,
				      struct capture_request *req)
{
	unsigned padded[CAPTURE_REQUEST_MAX] = { 0 };
	for (unsigned k = 0; k < req->m2m_count; k++) {
		unsigned i = req->m2m_first + k;
		int d = m2m_discover(pl->devs, (size_t)pl->n_devs, req->fourccs[i],
				     m2m_out_fourcc(cfg));
		struct v4l2_pixfmt f = { .fourcc = req->fourccs[i], .width = cfg->width,
					 .height = cfg->height };
		if (d >= 0 && v4l2_try_output_format(pl->devs[d].path, &f) == 0 &&
		    f.fourcc == req->fourccs[i])
			padded[i] = f.height;
	}
	capture_request_prefer_import(req, padded, cfg->height);
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
	struct capture_request req;
	r = find_m2m_devices(p->cfg, pl);
	if (r < 0)
		goto fail;
	capture_request_for(p->cfg->encoder, pl->devs, (size_t)pl->n_devs, m2m_out_fourcc(p->cfg),
			    &req);
	prefer_importable_formats(p->cfg, pl, &req);
	r = open_source(p->cfg, &req, &pl->source);
	if (r < 0) {
		log_err("cannot open the source: %s", strerror(-r));
		goto fail;
	}
	r = open_encoder(p->cfg, pl);
	if (r < 0)
		goto fail;
	pl->source_watch = (struct watch){.pl = pl, .op.complete = watch_complete,
					  .fd = source_fd(pl->source), .ready = source_ready};
	pl->source_watch.what = "source";
	pl->encoder_watch = (struct watch){.pl = pl, .op.complete = watch_complete,
					   .fd = encoder_fd(pl->encoder), .what = "encoder",
					   .ready = encoder_ready};
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
	s->frames_not_published = pl->frames_not_published;
	s->bytes_encoded = pl->bytes_encoded;
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
	free(pl->devs);
	free(pl);
}
