/* Source → encoder → consumer, with each device supervised on its own; see
 * include/mjpegd/pipeline.h and include/mjpegd/supervisor.h.
 *
 * Recovery: a failed source or encoder is retired (it stops being watched and fed), its
 * supervisor schedules a reopen, and the other device carries on untouched. A retired device is
 * destroyed only once nothing points into its memory any more: a source when every raw frame it
 * lent came back (source->lent), an encoder when no output frame it lent is referenced
 * (frames_lent), since a slow client may still be sending from it. While the configured encoder
 * is down, a software encoder stands in (--encoder-fallback software). While frames cannot flow,
 * clients get the "no signal" picture at 1 fps. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/fault.h"
#include "mjpegd/libcamera_source.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/multipart.h"
#include "mjpegd/pipeline.h"
#include "mjpegd/placeholder.h"
#include "mjpegd/supervisor.h"
#include "mjpegd/v4l2_device.h"
#include "mjpegd/v4l2_discover.h"

#define MAX_RETIRED 8
#define PLACEHOLDER_INTERVAL_NS NSEC_PER_SEC
/* An outage shorter than this (a quick reopen) shows no placeholder. */
#define PLACEHOLDER_AFTER_NS (NSEC_PER_SEC / 2)
/* This many frames in a row back from the encoder with an error: it has failed (one is dropped). */
#define ENCODER_ERRORS_FAIL 3

enum placeholder_reason {
	PH_STARTING,
	PH_DISCONNECTED,
	PH_NOT_RESPONDING,
	PH_CAMERA_ERROR,
	PH_ENCODER_FAILED,
	PH_COUNT,
};

static const char *const placeholder_text[PH_COUNT] = {
	[PH_STARTING] = "waiting for the camera",
	[PH_DISCONNECTED] = "camera disconnected - retrying",
	[PH_NOT_RESPONDING] = "camera not responding - retrying",
	[PH_CAMERA_ERROR] = "camera error - retrying",
	[PH_ENCODER_FAILED] = "encoder failed - retrying",
};

/* Watches one fd with a re-armed io_uring poll. The fd can be swapped (a device was replaced):
 * a poll still pending on the old one is cancelled first. */
struct watch {
	struct pipeline *pl;
	struct loop_op op;
	int fd;       /* -1: not watching */
	bool pending;
	bool retarget; /* the pending poll was cancelled to move to next_fd */
	int next_fd;
	void (*ready)(struct pipeline *pl);
	void (*error)(struct pipeline *pl, int err, const char *reason);
};

struct pipeline {
	struct loop *loop;
	const struct config *cfg; /* the application's; reload changes quality in place */
	struct frame_pool pool;
	pipeline_frame_fn on_frame;
	void *on_frame_ctx;
	bool stopping;
	struct capture_request req;

	/* the source */
	struct source *source;        /* NULL while failed */
	enum source_kind source_kind; /* what auto resolved to, reopened as such */
	struct supervised_device source_sup;
	struct watch source_watch;
	uint64_t source_frame_ns;     /* last frame (or open) of this instance */
	uint64_t source_instance_frames;
	char source_description[128];
	struct source_stats source_stats_retired;

	/* the encoder */
	struct encoder *encoder;       /* the configured one; NULL while failed */
	struct encoder *fallback;      /* software stand-in while it is failed */
	enum encoder_kind encoder_kind;
	struct supervised_device encoder_sup;
	struct watch encoder_watch;    /* on the active encoder: encoder, else fallback */
	unsigned in_flight;            /* submitted to the active encoder, not collected */
	uint64_t encoder_progress_ns;  /* last submit into an idle encoder, or last collect */
	uint64_t encoder_instance_frames;
	unsigned encoder_errors_in_row; /* frames back with an error since the last good one */
	/* what the configured encoder was opened for: a source that comes back different needs
	 * another encoder */
	uint32_t encoder_in_fourcc;
	unsigned encoder_in_width, encoder_in_height;
	size_t encoder_in_bytesperline;
	char encoder_description[128];
	struct encoder_stats encoder_stats_retired;

	struct source *retired_sources[MAX_RETIRED];
	unsigned n_retired_sources;
	struct encoder *retired_encoders[MAX_RETIRED];
	unsigned n_retired_encoders;

	/* every /dev/video* probed when an M2M encoder may be used (auto, m2m), for
	 * capture_request_for() and encoder_choose() */
	struct v4l2_device_info *devs;
	int n_devs;

	/* publishing */
	uint64_t publish_sequence;
	uint64_t last_live_ns, last_placeholder_ns, outage_since_ns;
	uint8_t *placeholder_jpeg[PH_COUNT];
	size_t placeholder_len[PH_COUNT];
	bool showing_placeholder;
	uint64_t frames_not_published, bytes_encoded;
	uint64_t frames_dropped; /* refused by the encoder (busy, no free output frame) or none open */
	uint64_t fps_window_start_ns, fps_window_frames;
	double fps;

	struct fault_plan faults; /* empty unless built with MJPEGD_FAULT_INJECTION */
};

static struct encoder *active_encoder(const struct pipeline *pl)
{
	return pl->encoder ? pl->encoder : pl->fallback;
}

static void pipeline_release_raw(void *ctx, struct raw_frame *raw)
{
	(void)ctx;
	struct source *src = raw->owner;
	if (!MJPEGD_BUG(src->lent == 0, "%s: a raw frame came back twice", src->description))
		src->lent--;
	source_release(src, raw);
}

/* ---------------------------------------------------------------- watches */

static void watch_arm(struct watch *w)
{
	if (w->fd < 0 || w->pending || w->pl->stopping)
		return;
	struct io_uring_sqe *sqe = loop_sqe(w->pl->loop, &w->op);
	io_uring_prep_poll_add(sqe, w->fd, POLLIN);
	w->pending = true;
}

static void watch_cancel(struct watch *w)
{
	if (!w->pending)
		return;
	struct io_uring_sqe *sqe = loop_sqe(w->pl->loop, NULL);
	io_uring_prep_poll_remove(sqe, (__u64)(uintptr_t)&w->op);
}

/* Watches fd from now on (-1: nothing). */
static void watch_set_fd(struct watch *w, int fd)
{
	if (w->pending) {
		w->retarget = true;
		w->next_fd = fd;
		watch_cancel(w);
		return;
	}
	w->fd = fd;
	watch_arm(w);
}

static void watch_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct watch *w = container_of(op, struct watch, op);
	struct pipeline *pl = w->pl;
	w->pending = false;
	if (pl->stopping)
		return;
	if (w->retarget) {
		w->retarget = false;
		w->fd = w->next_fd;
		watch_arm(w);
		return;
	}
	if (res == -ECANCELED || w->fd < 0)
		return;
	if (res < 0) {
		w->error(pl, res, "polling it failed");
		return;
	}
	int fd = w->fd;
	w->ready(pl);
	if (w->fd != fd || w->pending)
		return; /* ready() replaced or stopped the device */
	/* A V4L2 queue in error (a fatal streaming error, an unplugged camera) stays readable
	 * with POLLERR: polling it again would spin. */
	if (res & (POLLERR | POLLHUP | POLLNVAL)) {
		w->error(pl, res & POLLHUP ? -ENODEV : -EIO, "the device reported an error");
		return;
	}
	watch_arm(w);
}

/* ---------------------------------------------------------------- retiring */

static void add_stats_source(struct source_stats *to, const struct source_stats *from)
{
	to->frames_captured += from->frames_captured;
	to->frames_dropped += from->frames_dropped;
}

static void add_stats_encoder(struct encoder_stats *to, const struct encoder_stats *from)
{
	to->frames_encoded += from->frames_encoded;
	to->encode_errors += from->encode_errors;
	to->bytes_copied += from->bytes_copied;
	to->encode_ns += from->encode_ns;
}

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
	int n = multipart_part_header(f->part_header, sizeof(f->part_header), f->len,
				      f->timestamp_us);
	f->part_header_len = n > 0 ? (size_t)n : 0;
	/* Clients are sent image/jpeg: anything else (the test bed's FWHT) is only counted. */
	if (f->fourcc != V4L2_PIX_FMT_JPEG)
		pl->frames_not_published++;
	else if (pl->on_frame)
		pl->on_frame(pl->on_frame_ctx, f);
}

static enum placeholder_reason outage_reason(const struct pipeline *pl)
{
	if (pl->source_sup.state == DEVICE_FAILED) {
		int e = pl->source_sup.last_errno;
		if (e == ENODEV || e == ENOENT || e == ENXIO)
			return PH_DISCONNECTED;
		if (e == ETIMEDOUT)
			return PH_NOT_RESPONDING;
		return PH_CAMERA_ERROR;
	}
	if (!pl->source)
		return PH_STARTING;
	if (!active_encoder(pl))
		return PH_ENCODER_FAILED;
	return PH_STARTING;
}

static void publish_placeholder(struct pipeline *pl, uint64_t now)
{
	enum placeholder_reason why = outage_reason(pl);
	if (!pl->placeholder_jpeg[why])
		return;
	struct frame *f = frame_pool_acquire(&pl->pool);
	if (!f)
		return;
	/* Zero copy: the frame points at the picture rendered at start, which outlives it. */
	frame_set_external(f, pl->placeholder_jpeg[why], pl->placeholder_len[why], NULL, NULL);
	f->placeholder = true;
	f->width = pl->cfg->width;
	f->height = pl->cfg->height;
	f->timestamp_us = now_wall_us();
	if (!pl->showing_placeholder)
		log_notice("clients are shown the placeholder: %s", placeholder_text[why]);
	pl->showing_placeholder = true;
	pl->last_placeholder_ns = now;
	publish(pl, f);
	frame_unref(f);
}

static void render_placeholders(struct pipeline *pl)
{
	for (int i = 0; i < PH_COUNT; i++) {
		int r = placeholder_render(pl->cfg->width, pl->cfg->height, "NO SIGNAL",
					   placeholder_text[i], 70, &pl->placeholder_jpeg[i],
					   &pl->placeholder_len[i]);
		if (r < 0)
			log_warn("cannot render the '%s' placeholder: %s", placeholder_text[i],
				 strerror(-r));
	}
}

/* ---------------------------------------------------------------- failures */

static bool software_takes(uint32_t fourcc)
{
	return fourcc == V4L2_PIX_FMT_YUV420 || fourcc == V4L2_PIX_FMT_YUYV ||
	       fourcc == V4L2_PIX_FMT_RGB24 || fourcc == V4L2_PIX_FMT_BGR24;
}

static void start_fallback(struct pipeline *pl)
{
	struct source *src = pl->source;
	if (!pl->cfg->encoder_fallback || pl->fallback || !src || pl->encoder_kind == ENCODER_SOFTWARE ||
	    !software_takes(src->fourcc))
		return;
	struct encoder_params ep = {
		.in_fourcc = src->fourcc, .width = src->width, .height = src->height,
		.quality = pl->cfg->quality, .pool = &pl->pool,
		.release_raw = pipeline_release_raw, .release_ctx = pl,
	};
	int r = encoder_software_create(&ep, &pl->fallback);
	if (r < 0) {
		log_err("cannot start the software fallback encoder: %s", strerror(-r));
		return;
	}
	log_warn("encoding in software until the %s encoder is back", pl->encoder_description);
	pl->in_flight = 0;
	watch_set_fd(&pl->encoder_watch, encoder_fd(pl->fallback));
}

static void stop_fallback(struct pipeline *pl)
{
	if (!pl->fallback)
		return;
	retire_encoder(pl, pl->fallback);
	pl->fallback = NULL;
}

/* Stops watching and feeding the configured encoder; it is destroyed once unreferenced. */
static void detach_encoder(struct pipeline *pl)
{
	if (!pl->encoder)
		return;
	watch_set_fd(&pl->encoder_watch, -1);
	retire_encoder(pl, pl->encoder);
	pl->encoder = NULL;
	pl->in_flight = 0;
}

/* The same for the source. */
static void detach_source(struct pipeline *pl)
{
	if (!pl->source)
		return;
	watch_set_fd(&pl->source_watch, -1);
	struct source *src = pl->source;
	pl->source = NULL;
	retire_source(pl, src);
}

static void encoder_failed(struct pipeline *pl, int err, const char *reason)
{
	uint64_t now = now_mono_ns();
	if (!pl->encoder) {
		/* the stand-in itself failed: frames are dropped until the encoder is back */
		if (pl->fallback) {
			log_err("software fallback encoder: %s%s%s", reason, err ? ": " : "",
				err ? strerror(-err) : "");
			watch_set_fd(&pl->encoder_watch, -1);
			stop_fallback(pl);
		}
		return;
	}
	detach_encoder(pl);
	supervisor_failed(&pl->encoder_sup, now, err, reason);
	start_fallback(pl);
}

static void source_failed(struct pipeline *pl, int err, const char *reason)
{
	if (!pl->source)
		return;
	uint64_t now = now_mono_ns();
	supervisor_failed(&pl->source_sup, now, err, reason);
	detach_source(pl);
	if (!pl->outage_since_ns)
		pl->outage_since_ns = now;
}

static void source_watch_error(struct pipeline *pl, int err, const char *reason)
{
	source_failed(pl, err, reason);
}

static void encoder_watch_error(struct pipeline *pl, int err, const char *reason)
{
	encoder_failed(pl, err, reason);
}

/* ---------------------------------------------------------------- frames */

static void drop_raw(struct pipeline *pl, struct raw_frame *raw)
{
	pl->frames_dropped++;
	pipeline_release_raw(pl, raw);
}

static void source_ready(struct pipeline *pl)
{
	struct source *src = pl->source;
	while (src && pl->source == src) {
		struct raw_frame *raw = NULL;
		int r = source_dequeue(src, &raw);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			source_failed(pl, r, "capture failed");
			return;
		}
		raw->owner = src;
		src->lent++;
		pl->source_instance_frames++;
#ifdef MJPEGD_FAULT_INJECTION
		if (fault_fires(fault_plan_find(&pl->faults, FAULT_SOURCE, FAULT_STALL_AFTER),
				pl->source_instance_frames)) {
			drop_raw(pl, raw);
			continue; /* as if nothing came: the source timeout notices */
		}
		if (fault_fires(fault_plan_find(&pl->faults, FAULT_SOURCE, FAULT_FAIL_EVERY),
				pl->source_instance_frames)) {
			drop_raw(pl, raw);
			source_failed(pl, -EIO, "injected fault");
			return;
		}
#endif
		uint64_t now = now_mono_ns();
		pl->source_frame_ns = now;
		if (pl->source_sup.state == DEVICE_STARTING)
			supervisor_running(&pl->source_sup, now);
		struct encoder *enc = active_encoder(pl);
		if (!enc) {
			drop_raw(pl, raw);
			continue;
		}
		r = encoder_submit(enc, raw);
		if (r < 0) {
			/* The encoder is still busy with earlier frames: newest-wins, drop this one. */
			log_debug("frame %llu dropped: encoder %s", (unsigned long long)raw->sequence,
				  r == -EBUSY ? "busy" : r == -ENOBUFS ? "has no free output frame"
								     : strerror(-r));
			drop_raw(pl, raw);
			continue;
		}
		if (pl->in_flight++ == 0)
			pl->encoder_progress_ns = now;
	}
}

static void encoder_ready(struct pipeline *pl)
{
	struct encoder *enc = active_encoder(pl);
	while (enc && active_encoder(pl) == enc) {
		struct frame *f = NULL;
		int r = encoder_collect(enc, &f);
		if (r == -EAGAIN)
			return;
		if (r == -ENODEV) {
			encoder_failed(pl, r, "the encoder stopped");
			return;
		}
		if (enc == pl->encoder)
			pl->encoder_instance_frames++;
#ifdef MJPEGD_FAULT_INJECTION
		if (enc == pl->encoder &&
		    fault_fires(fault_plan_find(&pl->faults, FAULT_ENCODER, FAULT_STALL_AFTER),
				pl->encoder_instance_frames)) {
			frame_unref(f); /* as if it never came back: the encoder timeout notices */
			continue;
		}
		if (enc == pl->encoder &&
		    fault_fires(fault_plan_find(&pl->faults, FAULT_ENCODER, FAULT_FAIL_EVERY),
				pl->encoder_instance_frames)) {
			frame_unref(f);
			encoder_failed(pl, -ENODEV, "injected fault");
			return;
		}
#endif
		uint64_t now = now_mono_ns();
		if (pl->in_flight > 0)
			pl->in_flight--;
		pl->encoder_progress_ns = now;
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
		if (enc == pl->encoder)
			pl->encoder_errors_in_row = 0;
		if (enc == pl->encoder && pl->encoder_sup.state == DEVICE_STARTING)
			supervisor_running(&pl->encoder_sup, now);
		pl->fps_window_frames++;
		pl->bytes_encoded += f->len;
		pl->last_live_ns = now;
		pl->outage_since_ns = 0;
		if (pl->showing_placeholder) {
			log_notice("live frames are back");
			pl->showing_placeholder = false;
		}
		publish(pl, f);
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
static int open_source(const struct config *cfg, enum source_kind kind,
		       const struct capture_request *req, struct source **out,
		       enum source_kind *opened)
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
	*opened = kind;
	switch (kind) {
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
		*opened = SOURCE_LIBCAMERA;
		r = source_libcamera_try_create(&sp, out);
		if (r != -ENODEV && r != -EOPNOTSUPP)
			return r;
		/* then the first V4L2 camera (UVC webcams and the like) */
		*opened = SOURCE_V4L2;
		if (source_v4l2_create(&sp, out) == 0)
			return 0;
		/* Until a camera is found the built-in pattern keeps the stream alive. */
		log_warn("no camera found: serving the built-in test pattern");
		*opened = SOURCE_TESTPATTERN;
		return source_testpattern_create(&sp, out);
	}
}

/* Opens an encoder of kind for the current source into *out and says which kind it became
 * (auto resolves to m2m, passthrough or software). */
static int open_encoder(const struct config *cfg, struct pipeline *pl, enum encoder_kind want,
			struct encoder **out, enum encoder_kind *opened)
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
	int kind = encoder_choose(want, src->fourcc, pl->devs, (size_t)pl->n_devs,
				  m2m_out_fourcc(cfg), &m2m_index);
	if (kind < 0) {
		if (want == ENCODER_PASSTHROUGH)
			log_err("--encoder passthrough: the source (%s) gives raw frames, not JPEG; "
				"use --encoder software or auto", src->description);
		else if (is_jpeg(src->fourcc))
			log_err("--encoder %s: the source (%s) already gives JPEG; use --encoder "
				"passthrough or auto", encoder_kind_name(want),
				src->description);
		else if (want == ENCODER_M2M)
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
	*opened = (enum encoder_kind)kind;
	int r = kind == ENCODER_PASSTHROUGH ? encoder_passthrough_create(&ep, out)
		: kind == ENCODER_M2M	    ? encoder_m2m_create(&ep, out)
					    : encoder_software_create(&ep, out);
	if (r < 0)
		log_err("cannot start the %s encoder: %s", encoder_kind_name((enum encoder_kind)kind),
			strerror(-r));
	return r;
}

/* --encoder auto or m2m: the nodes an M2M encoder may be among (all of /dev/video*, or the one
 * named). --encoder m2m with none that fits is an error before any camera is opened. */
static int find_m2m_devices(const struct config *cfg, struct pipeline *pl)
{
	free(pl->devs);
	pl->devs = NULL;
	pl->n_devs = 0;
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


/* What the camera is to be asked for (pl->req): what the encoder takes, those it can import
 * first, only format when it is not 0 (--format). -EINVAL when the encoder does not take it. */
static int plan_capture(const struct config *cfg, struct pipeline *pl, uint32_t format)
{
	capture_request_for(cfg->encoder, pl->devs, (size_t)pl->n_devs, m2m_out_fourcc(cfg),
			    &pl->req);
	prefer_importable_formats(cfg, pl, &pl->req);
	if (!format || capture_request_only(&pl->req, format) == 0)
		return 0;
	char f[5], list[CAPTURE_REQUEST_MAX * 5 + 1] = "";
	for (unsigned i = 0; i < pl->req.n; i++) {
		strcat(list, i ? " " : "");
		strcat(list, fourcc_str(pl->req.fourccs[i], f));
	}
	log_err("--format %s: the %s encoder does not take it (it takes %s)",
		fourcc_str(format, f), encoder_kind_name(cfg->encoder),
		list[0] ? list : "nothing here");
	return -EINVAL;
}

/* ---------------------------------------------------------------- (re)opening */

static void remember_encoder(struct pipeline *pl, struct encoder *enc)
{
	struct source *src = pl->source;
	pl->encoder = enc;
	pl->in_flight = 0;
	pl->encoder_instance_frames = 0;
	pl->encoder_errors_in_row = 0;
	pl->encoder_in_fourcc = src->fourcc;
	pl->encoder_in_width = src->width;
	pl->encoder_in_height = src->height;
	pl->encoder_in_bytesperline = src->bytesperline;
	snprintf(pl->encoder_description, sizeof(pl->encoder_description), "%s", enc->description);
}

static void remember_source(struct pipeline *pl, struct source *src, uint64_t now)
{
	pl->source = src;
	pl->source_frame_ns = now;
	pl->source_instance_frames = 0;
	snprintf(pl->source_description, sizeof(pl->source_description), "%s", src->description);
}

static void retry_encoder(struct pipeline *pl, uint64_t now);

/* A clean restart, not a failure: the supervisor goes through STOPPED, no backoff, no count. */
static void reopen_encoder(struct pipeline *pl, uint64_t now, const char *why)
{
	log_notice("encoder: reopening for %s", why);
	detach_encoder(pl);
	supervisor_stopped(&pl->encoder_sup, now);
	retry_encoder(pl, now);
}

static void retry_source(struct pipeline *pl, uint64_t now)
{
	supervisor_starting(&pl->source_sup, now);
	struct source *src = NULL;
	enum source_kind kind;
	int r = open_source(pl->cfg, pl->source_kind, &pl->req, &src, &kind);
	if (r < 0) {
		supervisor_failed(&pl->source_sup, now, r, "reopening failed");
		return;
	}
	remember_source(pl, src, now);
	watch_set_fd(&pl->source_watch, source_fd(src));
	/* The encoder stays as it is unless the camera came back with another format. */
	if (pl->encoder && (src->fourcc != pl->encoder_in_fourcc || src->width != pl->encoder_in_width ||
			    src->height != pl->encoder_in_height ||
			    src->bytesperline != pl->encoder_in_bytesperline)) {
		/* Not a failure of the encoder: it is reopened for the new format at once. */
		reopen_encoder(pl, now, "the camera's new format");
	}
	/* A stand-in made for the old instance may not fit the new one: make it again. */
	if (pl->fallback) {
		stop_fallback(pl);
		start_fallback(pl);
	}
}

static void retry_encoder(struct pipeline *pl, uint64_t now)
{
	supervisor_starting(&pl->encoder_sup, now);
	if (pl->encoder_kind == ENCODER_M2M)
		find_m2m_devices(pl->cfg, pl); /* the device may come back under another number */
	struct encoder *enc = NULL;
	enum encoder_kind kind;
	int r = open_encoder(pl->cfg, pl, pl->encoder_kind, &enc, &kind);
	if (r < 0) {
		supervisor_failed(&pl->encoder_sup, now, r, "reopening failed");
		if (!pl->fallback)
			start_fallback(pl);
		return;
	}
	if (pl->fallback) {
		log_notice("the %s encoder is back; the software fallback stops", enc->description);
		stop_fallback(pl);
	}
	remember_encoder(pl, enc);
	watch_set_fd(&pl->encoder_watch, encoder_fd(enc));
}

/* ---------------------------------------------------------------- public */

int pipeline_create(const struct pipeline_params *p, struct pipeline **out)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->loop = p->loop;
	pl->cfg = p->cfg;
	pl->on_frame = p->on_frame;
	pl->on_frame_ctx = p->on_frame_ctx;
	supervisor_init(&pl->source_sup, "source");
	supervisor_init(&pl->encoder_sup, "encoder");
	pl->source_watch = (struct watch){.pl = pl, .op.complete = watch_complete, .fd = -1,
					  .ready = source_ready,
					  .error = source_watch_error};
	pl->encoder_watch = (struct watch){.pl = pl, .op.complete = watch_complete, .fd = -1,
					   .ready = encoder_ready,
					   .error = encoder_watch_error};
	int r = frame_pool_init(&pl->pool, p->frame_pool_capacity);
	if (r < 0)
		goto fail;
#ifdef MJPEGD_FAULT_INJECTION
	char err[256];
	r = fault_plan_parse(p->cfg->inject_fault, &pl->faults, err, sizeof(err));
	if (r < 0) {
		log_err("--inject-fault: %s", err);
		goto fail;
	}
	if (pl->faults.n_rules)
		log_warn("fault injection on: %s", p->cfg->inject_fault);
#endif
	r = find_m2m_devices(p->cfg, pl);
	if (r < 0)
		goto fail;
	r = plan_capture(p->cfg, pl, p->cfg->capture_format);
	if (r < 0)
		goto fail;
	uint64_t now = now_mono_ns();
	struct source *src = NULL;
	supervisor_starting(&pl->source_sup, now);
	r = open_source(p->cfg, p->cfg->source, &pl->req, &src, &pl->source_kind);
	if (r < 0) {
		log_err("cannot open the source: %s", strerror(-r));
		goto fail;
	}
	remember_source(pl, src, now);
	if ((p->cfg->rotation || p->cfg->hflip || p->cfg->vflip) &&
	    pl->source_kind != SOURCE_LIBCAMERA)
		log_warn("--rotation/--hflip/--vflip apply to libcamera cameras only; %s ignores them",
			 src->description);
	if (p->cfg->capture_format && src->fourcc != p->cfg->capture_format) {
		char a[5], b[5];
		log_warn("--format %s: %s gives only %s; --format is ignored",
			 fourcc_str(p->cfg->capture_format, a), src->description,
			 fourcc_str(src->fourcc, b));
	}
	struct encoder *enc = NULL;
	supervisor_starting(&pl->encoder_sup, now);
	r = open_encoder(p->cfg, pl, p->cfg->encoder, &enc, &pl->encoder_kind);
	if (r < 0 && p->cfg->encoder == ENCODER_AUTO && pl->encoder_kind == ENCODER_M2M &&
	    software_takes(src->fourcc)) {
		/* auto chose a hardware encoder that will not open (a size it refuses, firmware
		 * without JPEG): software serves rather than no stream at all. */
		log_warn("the M2M encoder did not open (%s): encoding in software", strerror(-r));
		r = open_encoder(p->cfg, pl, ENCODER_SOFTWARE, &enc, &pl->encoder_kind);
	}
	if (r < 0)
		goto fail;
	char why[256];
	int unusable = m2m_unusable_encoder(pl->devs, (size_t)pl->n_devs, src->fourcc,
					    m2m_out_fourcc(p->cfg), why, sizeof(why));
	if (p->cfg->encoder == ENCODER_AUTO && pl->encoder_kind == ENCODER_SOFTWARE && unusable >= 0)
		log_warn("--encoder auto: %s (%s) %s: encoding in software", pl->devs[unusable].path,
			 pl->devs[unusable].card, why);
	remember_encoder(pl, enc);
	render_placeholders(pl);
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
	watch_set_fd(&pl->source_watch, source_fd(pl->source));
	watch_set_fd(&pl->encoder_watch, encoder_fd(pl->encoder));
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
	if (pl->stopping)
		return;
	char why[96];
	uint64_t source_timeout = (uint64_t)pl->cfg->source_timeout_ms * NSEC_PER_MSEC;
	if (pl->source && now - pl->source_frame_ns > source_timeout) {
		snprintf(why, sizeof(why), "no frame for %u ms", pl->cfg->source_timeout_ms);
		source_failed(pl, -ETIMEDOUT, why);
	}
	uint64_t encoder_timeout = (uint64_t)pl->cfg->encoder_timeout_ms * NSEC_PER_MSEC;
	if (pl->encoder && pl->in_flight > 0 && now - pl->encoder_progress_ns > encoder_timeout) {
		snprintf(why, sizeof(why), "a frame not back after %u ms", pl->cfg->encoder_timeout_ms);
		encoder_failed(pl, -ETIMEDOUT, why);
	}
	collect_retired(pl);
	if (supervisor_retry_due(&pl->source_sup, now))
		retry_source(pl, now);
	/* An encoder is opened for a source: with none, it waits. */
	if (pl->source && supervisor_retry_due(&pl->encoder_sup, now))
		retry_encoder(pl, now);

	/* Frames cannot flow: clients see why, once a second, until they do again. */
	bool outage = !pl->source || !active_encoder(pl) || now - pl->last_live_ns > source_timeout;
	if (outage && now - pl->last_live_ns >= PLACEHOLDER_AFTER_NS &&
	    now - pl->last_placeholder_ns >= PLACEHOLDER_INTERVAL_NS)
		publish_placeholder(pl, now);
}

static void fill_device(struct status_device *d, const struct supervised_device *sup)
{
	d->state = device_state_name(sup->state);
	d->restarts = sup->restarts;
	d->failures = sup->failures;
	d->last_error = sup->last_error;
}

void pipeline_fill_status(struct pipeline *pl, struct status_snapshot *s)
{
	struct encoder_stats es = pl->encoder_stats_retired;
	struct source_stats ss = pl->source_stats_retired;
	for (unsigned i = 0; i < pl->n_retired_encoders; i++)
		add_stats_encoder(&es, &pl->retired_encoders[i]->stats);
	if (pl->encoder)
		add_stats_encoder(&es, &pl->encoder->stats);
	if (pl->fallback)
		add_stats_encoder(&es, &pl->fallback->stats);
	for (unsigned i = 0; i < pl->n_retired_sources; i++)
		add_stats_source(&ss, &pl->retired_sources[i]->stats);
	if (pl->source)
		add_stats_source(&ss, &pl->source->stats);
	/* While a device is down, say so rather than name the instance that failed. */
	s->source = pl->source ? pl->source_description : "none (failed: see devices.source)";
	s->encoder = pl->encoder ? pl->encoder_description
		     : pl->fallback ? pl->fallback->description
				    : "none (failed: see devices.encoder)";
	s->width = pl->source ? pl->source->width : pl->cfg->width;
	s->height = pl->source ? pl->source->height : pl->cfg->height;
	s->fps_target = pl->cfg->fps;
	s->fps_measured = pl->fps;
	s->frames_captured = ss.frames_captured;
	s->frames_encoded = es.frames_encoded;
	s->frames_dropped = ss.frames_dropped + pl->frames_dropped;
	s->encode_errors = es.encode_errors;
	s->frames_not_published = pl->frames_not_published;
	s->bytes_encoded = pl->bytes_encoded;
	s->bytes_copied = es.bytes_copied;
	s->bytes_copied_per_frame =
		es.frames_encoded ? (double)es.bytes_copied / (double)es.frames_encoded : 0.0;
	s->frame_pool_capacity = pl->pool.capacity;
	s->frame_pool_in_use = pl->pool.in_use;
	s->frame_pool_bytes = pl->pool.bytes_reserved;
	fill_device(&s->source_device, &pl->source_sup);
	fill_device(&s->encoder_device, &pl->encoder_sup);
	s->encoder_fallback = pl->fallback != NULL;
	s->placeholder = pl->showing_placeholder;
}

void pipeline_describe(const struct pipeline *pl, char *buf, size_t len)
{
	snprintf(buf, len, "source %s, encoder %s%s", device_state_name(pl->source_sup.state),
		 device_state_name(pl->encoder_sup.state), pl->fallback ? " (software fallback)" : "");
}

int pipeline_set_quality(struct pipeline *pl, unsigned quality)
{
	struct encoder *enc = active_encoder(pl);
	if (!enc)
		return 0; /* applied when the encoder is reopened (it reads the config) */
	if (!enc->ops->set_quality)
		return -EOPNOTSUPP;
	return enc->ops->set_quality(enc, quality);
}

void pipeline_reconfigure(struct pipeline *pl, const struct config *old)
{
	const struct config *cfg = pl->cfg;
	uint64_t now = now_mono_ns();
	bool encoder_changed = cfg->encoder != old->encoder ||
			       strcmp(cfg->encoder_path, old->encoder_path) ||
			       cfg->m2m_format != old->m2m_format;
	bool source_changed = cfg->source != old->source || cfg->capture_format != old->capture_format ||
			      strcmp(cfg->source_path, old->source_path) ||
			      cfg->width != old->width || cfg->height != old->height ||
			      cfg->fps != old->fps || cfg->rotation != old->rotation ||
			      cfg->hflip != old->hflip || cfg->vflip != old->vflip ||
			      cfg->camera_buffers != old->camera_buffers;
	if (cfg->width != old->width || cfg->height != old->height) {
		for (int i = 0; i < PH_COUNT; i++) {
			free(pl->placeholder_jpeg[i]);
			pl->placeholder_jpeg[i] = NULL;
		}
		render_placeholders(pl);
	}
	if (encoder_changed) {
		pl->encoder_kind = cfg->encoder;
		find_m2m_devices(cfg, pl);
	}
	if ((encoder_changed || source_changed) && plan_capture(cfg, pl, cfg->capture_format) < 0) {
		log_warn("--format: the camera's format is chosen as with auto");
		plan_capture(cfg, pl, 0);
	}
	if (source_changed) {
		log_notice("source: reopening for the new configuration");
		detach_source(pl);
		supervisor_stopped(&pl->source_sup, now);
		pl->source_kind = cfg->source;
		retry_source(pl, now);
	}
	if (encoder_changed && pl->source) {
		stop_fallback(pl);
		reopen_encoder(pl, now, "the new configuration");
	}
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
	/* Encoders give their raw frames back to the sources, so they go first; every consumer
	 * dropped its frames before this. */
	encoder_destroy(pl->encoder);
	encoder_destroy(pl->fallback);
	for (unsigned i = 0; i < pl->n_retired_encoders; i++)
		encoder_destroy(pl->retired_encoders[i]);
	source_destroy(pl->source);
	for (unsigned i = 0; i < pl->n_retired_sources; i++)
		source_destroy(pl->retired_sources[i]);
	frame_pool_destroy(&pl->pool);
	for (int i = 0; i < PH_COUNT; i++)
		free(pl->placeholder_jpeg[i]);
	free(pl->devs);
	free(pl);
}
