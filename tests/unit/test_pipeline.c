/* The pipeline's recovery (src/pipeline.c) with a fake source, a fake encoder and a stubbed loop:
 * a failed source is reopened alone after its backoff, a failed encoder is replaced by the software
 * stand-in until it is back, frames in error fail the encoder only when several come in a row, an
 * outage shows the placeholder. Encoding on demand (--on-demand, include/mjpegd/demand.h): with
 * nobody watching the camera's frames are held and given back, not encoded, and a request
 * encodes the newest one at once. Also the fault-injection wrappers (src/source/faulty.c,
 * src/encoder/faulty.c) around the same fakes.
 *
 * The loop is stubbed at link time: the pipeline's only use of it is loop_poll_*(), defined
 * below, so src/loop.c (io_uring) is never linked in; the test fires a poll's ready() itself.
 * Devices are opened through the pipeline's test seam (struct pipeline_openers). Time is the
 * real monotonic clock, and the test passes later instants to pipeline_tick(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/demand.h"
#include "mjpegd/fault.h"
#include "mjpegd/loop.h"
#include "mjpegd/pipeline.h"
#include "mjpegd/placeholder.h"

#define MS (1000ULL * 1000ULL)

/* ---------------------------------------------------------------- the stubbed loop */

#define MAX_POLLS 5
static struct loop_poll *polls[MAX_POLLS];
static unsigned n_polls;
static struct loop stub_loop; /* only its clock (loop_now()) is read */

void loop_poll_init(struct loop_poll *p, struct loop *loop, void (*ready)(struct loop_poll *p),
		    void (*error)(struct loop_poll *p, int err, const char *reason))
{
	*p = (struct loop_poll){ .loop = loop, .fd = -1, .next_fd = -1, .ready = ready,
				 .error = error };
	assert_true(n_polls < MAX_POLLS);
	polls[n_polls++] = p;
}

void loop_poll_set_fd(struct loop_poll *p, int fd)
{
	p->fd = fd;
}

void loop_poll_set_paced(struct loop_poll *p, int fd, struct pacing_timer *pacer)
{
	assert_null(pacer); /* the fake sources are polled */
	p->fd = fd;
}

void loop_poll_stop(struct loop_poll *p)
{
	p->stopped = true;
}

/* The loop saw fd readable: the poll watching it handles it. False when nothing watches fd. */
static bool fire(int fd)
{
	for (unsigned i = 0; i < n_polls; i++) {
		if (polls[i]->fd == fd && fd >= 0 && !polls[i]->stopped) {
			stub_loop.now_ns = now_mono_ns(); /* as loop_run_once() does per wake-up */
			polls[i]->ready(polls[i]);
			return true;
		}
	}
	return false;
}

/* ---------------------------------------------------------------- fakes */

#define W 64
#define H 48
#define FAKE_BUFFERS 4
#define FW 128
#define FH 96
#define FULL_BUFFERS 2

struct world;

struct fake_source {
	struct source src;
	struct world *w;
	char description[32];
	uint8_t buf[FAKE_BUFFERS][W * H * 3 / 2];
	struct raw_frame frames[FAKE_BUFFERS];
	bool lent[FAKE_BUFFERS];
	unsigned ready;  /* frames that dequeue may return now */
	/* --snapshot-size: a second stream of FW x FH (world.full_stream) */
	uint8_t full_buf[FULL_BUFFERS][FW * FH * 3 / 2];
	struct raw_frame full_frames[FULL_BUFFERS];
	bool full_lent[FULL_BUFFERS];
	unsigned full_ready; /* full-size frames dequeue_full may return now (the newest counts) */
	int fail_next;   /* dequeue returns this once (0: none) */
	uint64_t sequence;
};

#define SCRIPT_MAX 8
struct fake_encoder {
	struct encoder enc;
	struct world *w;
	char description[32];
	struct encoder_params p;
	struct raw_frame *held[2];
	unsigned n_held;
	int script[SCRIPT_MAX]; /* what the next collects return instead of a frame (0: a frame) */
	unsigned n_script, script_pos;
};

struct world {
	struct pipeline_options opt; /* what pipeline_create() and apply() give the pipeline */
	struct pipeline *pl;
	struct pipeline_openers openers;
	unsigned source_opens, encoder_opens;
	unsigned sources_destroyed, encoders_destroyed;
	int source_open_error; /* the next opens fail with this (0: they succeed) */
	struct fake_source *source;   /* the last one opened */
	struct fake_encoder *encoder; /* the last one opened */
	unsigned published, placeholders;
	bool last_was_placeholder;
	unsigned last_exif; /* the EXIF Orientation of the last frame published */
	bool sources_flip;  /* sources opened from now on apply the sensor's part of --rotation */
	/* encoders opened from now on take the camera's dma-bufs (unless told to copy), and hang:
	 * hold every frame, give none back (an import the device never completes) */
	bool encoders_import, encoders_hang;
	bool copies_hang; /* with encoders_hang: copying encoders hang too (a slow device) */
	char last_copy_reason[128]; /* encoder_params.copy_reason of the last open ("" : none) */
	bool viewers; /* what the pipeline's viewers() answers (--on-demand) */
	bool full_stream; /* sources opened from now on give a second, FW x FH stream */
	unsigned full_published; /* full-size frames the pipeline handed on */
	unsigned full_w, full_h; /* the last one's size, from its JPEG */
	unsigned submitted; /* frames the fake encoders took */
};

static const uint8_t jpeg_bytes[] = { 0xFF, 0xD8, 0xFF, 0xD9 };

static int fake_source_fd(struct source *src)
{
	struct fake_source *fs = src->priv;
	return 1000 + (int)fs->w->source_opens;
}

static int fake_source_dequeue(struct source *src, struct raw_frame **out)
{
	struct fake_source *fs = src->priv;
	if (fs->fail_next) {
		int r = fs->fail_next;
		fs->fail_next = 0;
		return r;
	}
	if (fs->ready == 0)
		return -EAGAIN;
	for (unsigned i = 0; i < FAKE_BUFFERS; i++) {
		if (fs->lent[i])
			continue;
		fs->lent[i] = true;
		fs->ready--;
		fs->frames[i].sequence = ++fs->sequence;
		src->stats.frames_captured++;
		*out = &fs->frames[i];
		return 0;
	}
	fail_msg("fake source: every buffer is lent");
	return -EIO;
}

static int fake_source_dequeue_full(struct source *src, struct raw_frame **out)
{
	struct fake_source *fs = src->priv;
	if (fs->full_ready == 0)
		return -EAGAIN;
	for (unsigned i = 0; i < FULL_BUFFERS; i++) {
		if (fs->full_lent[i])
			continue;
		fs->full_lent[i] = true;
		fs->full_ready--;
		fs->full_frames[i].sequence = fs->sequence;
		*out = &fs->full_frames[i];
		return 0;
	}
	fs->full_ready = 0; /* all lent: the camera drops it */
	return -EAGAIN;
}

static unsigned full_lent(const struct fake_source *fs)
{
	unsigned n = 0;
	for (unsigned i = 0; i < FULL_BUFFERS; i++)
		n += fs->full_lent[i];
	return n;
}

static void fake_source_release(struct source *src, struct raw_frame *f)
{
	struct fake_source *fs = src->priv;
	if (f->index < FULL_BUFFERS && f == &fs->full_frames[f->index]) {
		assert_true(fs->full_lent[f->index]);
		fs->full_lent[f->index] = false;
		return;
	}
	assert_true(f->index < FAKE_BUFFERS && f == &fs->frames[f->index]);
	assert_true(fs->lent[f->index]); /* back once */
	fs->lent[f->index] = false;
}

static void fake_source_destroy(struct source *src)
{
	struct fake_source *fs = src->priv;
	for (unsigned i = 0; i < FAKE_BUFFERS; i++)
		assert_false(fs->lent[i]); /* destroyed only once every frame came back */
	assert_int_equal(full_lent(fs), 0);
	fs->w->sources_destroyed++;
	if (fs->w->source == fs)
		fs->w->source = NULL;
	free(fs);
}

static const struct source_ops fake_source_ops = {
	.name = "fake", .fd = fake_source_fd, .dequeue = fake_source_dequeue,
	.release = fake_source_release, .destroy = fake_source_destroy,
	.dequeue_full = fake_source_dequeue_full,
};

static int open_fake_source(void *ctx, enum source_kind kind, struct source **out)
{
	(void)kind;
	struct world *w = ctx;
	w->source_opens++;
	if (w->source_open_error)
		return w->source_open_error;
	struct fake_source *fs = calloc(1, sizeof(*fs));
	assert_non_null(fs);
	fs->w = w;
	snprintf(fs->description, sizeof(fs->description), "fake source %u", w->source_opens);
	for (unsigned i = 0; i < FAKE_BUFFERS; i++) {
		struct raw_frame *f = &fs->frames[i];
		uint8_t *y = fs->buf[i];
		memset(y, 0x80, sizeof(fs->buf[i]));
		*f = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_YUV420, .width = W, .height = H,
					 .n_planes = 3, .index = i };
		f->planes[0] = (struct raw_plane){ .data = y, .bytesperline = W,
						   .length = W * H, .dmabuf_fd = -1 };
		f->planes[1] = (struct raw_plane){ .data = y + W * H, .bytesperline = W / 2,
						   .length = W * H / 4, .dmabuf_fd = -1 };
		f->planes[2] = (struct raw_plane){ .data = y + W * H * 5 / 4, .bytesperline = W / 2,
						   .length = W * H / 4, .dmabuf_fd = -1 };
	}
	fs->src = (struct source){ .ops = &fake_source_ops, .description = fs->description,
				   .fourcc = V4L2_PIX_FMT_YUV420, .width = W, .height = H,
				   .fps = 30, .bytesperline = W, .priv = fs,
				   .sensor_transformed = w->sources_flip };
	if (w->full_stream) {
		for (unsigned i = 0; i < FULL_BUFFERS; i++) {
			struct raw_frame *f = &fs->full_frames[i];
			uint8_t *y = fs->full_buf[i];
			memset(y, 0x40, sizeof(fs->full_buf[i]));
			*f = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_YUV420, .width = FW,
						 .height = FH, .n_planes = 3, .index = i };
			f->planes[0] = (struct raw_plane){ .data = y, .bytesperline = FW,
							   .length = FW * FH, .dmabuf_fd = -1 };
			f->planes[1] = (struct raw_plane){ .data = y + FW * FH,
							   .bytesperline = FW / 2,
							   .length = FW * FH / 4, .dmabuf_fd = -1 };
			f->planes[2] = (struct raw_plane){ .data = y + FW * FH * 5 / 4,
							   .bytesperline = FW / 2,
							   .length = FW * FH / 4, .dmabuf_fd = -1 };
		}
		fs->src.full_width = FW;
		fs->src.full_height = FH;
		fs->src.full_bytes = sizeof(fs->full_buf);
	}
	w->source = fs;
	*out = &fs->src;
	return 0;
}

static int fake_encoder_fd(struct encoder *enc)
{
	struct fake_encoder *fe = enc->priv;
	return 2000 + (int)fe->w->encoder_opens;
}

static int fake_encoder_submit(struct encoder *enc, struct raw_frame *raw)
{
	struct fake_encoder *fe = enc->priv;
	if (fe->n_held == 2)
		return -EBUSY;
	fe->held[fe->n_held++] = raw;
	fe->w->submitted++;
	return 0;
}

static struct raw_frame *take_held(struct fake_encoder *fe)
{
	struct raw_frame *raw = fe->held[0];
	fe->held[0] = fe->held[1];
	fe->n_held--;
	return raw;
}

static int fake_encoder_collect(struct encoder *enc, struct frame **out)
{
	struct fake_encoder *fe = enc->priv;
	if (fe->n_held == 0 || (fe->w->encoders_hang && (enc->imports || fe->w->copies_hang)))
		return -EAGAIN;
	int r = fe->script_pos < fe->n_script ? fe->script[fe->script_pos++] : 0;
	if (r == -ENODEV)
		return r; /* stopped: the raw frames it holds go back at destroy */
	struct raw_frame *raw = take_held(fe);
	if (r < 0) {
		enc->stats.encode_errors++;
		fe->p.release_raw(fe->p.release_ctx, raw);
		return r;
	}
	struct frame *f = frame_pool_acquire(fe->p.pool);
	assert_non_null(f);
	frame_set_external(f, jpeg_bytes, sizeof(jpeg_bytes), NULL, NULL);
	f->fourcc = V4L2_PIX_FMT_JPEG;
	f->width = W;
	f->height = H;
	fe->p.release_raw(fe->p.release_ctx, raw);
	enc->stats.frames_encoded++;
	*out = f;
	return 0;
}

static void fake_encoder_destroy(struct encoder *enc)
{
	struct fake_encoder *fe = enc->priv;
	while (fe->n_held)
		fe->p.release_raw(fe->p.release_ctx, take_held(fe));
	fe->w->encoders_destroyed++;
	if (fe->w->encoder == fe)
		fe->w->encoder = NULL;
	free(fe);
}

static const struct encoder_ops fake_encoder_ops = {
	.name = "fake", .fd = fake_encoder_fd, .submit = fake_encoder_submit,
	.collect = fake_encoder_collect, .destroy = fake_encoder_destroy,
};

static int open_fake_encoder(void *ctx, enum encoder_kind kind, const struct encoder_params *p,
			     struct encoder **out)
{
	(void)kind;
	struct world *w = ctx;
	w->encoder_opens++;
	assert_int_equal(p->in_fourcc, V4L2_PIX_FMT_YUV420);
	assert_int_equal(p->width, W);
	assert_int_equal(p->quality, w->opt.quality);
	struct fake_encoder *fe = calloc(1, sizeof(*fe));
	assert_non_null(fe);
	fe->w = w;
	fe->p = *p;
	snprintf(fe->description, sizeof(fe->description), "fake encoder %u", w->encoder_opens);
	fe->enc = (struct encoder){ .ops = &fake_encoder_ops, .description = fe->description,
				    .imports = w->encoders_import && !p->copy_reason, .priv = fe };
	snprintf(w->last_copy_reason, sizeof(w->last_copy_reason), "%s",
		 p->copy_reason ? p->copy_reason : "");
	w->encoder = fe;
	*out = &fe->enc;
	return 0;
}

static void on_frame(void *ctx, struct frame *f)
{
	struct world *w = ctx;
	w->published++;
	w->last_was_placeholder = f->placeholder;
	w->last_exif = f->exif_orientation;
	if (f->placeholder)
		w->placeholders++;
}

/* The size in a JPEG's SOF0 (the software encoder's baseline JPEG) */
static void jpeg_size(const uint8_t *d, size_t len, unsigned *w, unsigned *h)
{
	*w = *h = 0;
	for (size_t i = 2; i + 9 < len && d[i] == 0xFF; i += 2 + (size_t)(d[i + 2] << 8 | d[i + 3])) {
		if (d[i + 1] == 0xC0) {
			*h = (unsigned)(d[i + 5] << 8 | d[i + 6]);
			*w = (unsigned)(d[i + 7] << 8 | d[i + 8]);
			return;
		}
	}
}

static void on_full_frame(void *ctx, struct frame *f)
{
	struct world *w = ctx;
	w->full_published++;
	jpeg_size(f->data, f->len, &w->full_w, &w->full_h);
}

static bool viewers(void *ctx)
{
	struct world *w = ctx;
	return w->viewers;
}

/* ---------------------------------------------------------------- helpers */

/* The fakes alone (for the wrappers' tests). */
static int setup_fakes(void **state)
{
	n_polls = 0;
	struct world *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	/* The daemon's defaults (docs/configuration.md) but for the source, a "hardware" encoder
	 * kind (so that the software stand-in may take over) and the size. The recovery tests
	 * encode every frame, as with a viewer always there; the on-demand tests turn it on. */
	w->opt = (struct pipeline_options){
		.devices = { .source = SOURCE_TESTPATTERN, .encoder = ENCODER_PASSTHROUGH,
			     .width = W, .height = H, .fps = 30, .camera_buffers = 4,
			     .snapshot_buffers = 2 },
		.quality = 80,
		.encoder_fallback = true,
		.source_timeout_ms = 2000,
		.encoder_timeout_ms = 1000,
		.on_demand = false,
	};
	w->openers = (struct pipeline_openers){ .source = open_fake_source,
						 .encoder = open_fake_encoder, .ctx = w };
	*state = w;
	return 0;
}

static int teardown_fakes(void **state)
{
	free(*state);
	return 0;
}

/* pipeline_create() over the fakes, with every callback of the world (viewers() and
 * on_full_frame() only matter with --on-demand and --snapshot-size, which the tests that need them
 * turn on). */
static int create_pipeline(struct world *w)
{
	struct pipeline_params pp = { .loop = &stub_loop, .options = &w->opt,
				      .frame_pool_capacity = 8,
				      .on_frame = on_frame, .on_frame_ctx = w, .viewers = viewers,
				      .openers = &w->openers, .on_full_frame = on_full_frame };
	return pipeline_create(&pp, &w->pl);
}

/* The same, started. */
static void start_pipeline(struct world *w)
{
	assert_int_equal(create_pipeline(w), 0);
	assert_int_equal(pipeline_start(w->pl), 0);
}

/* The options changed as after a SIGHUP: given to the running pipeline. */
static void apply(struct world *w)
{
	pipeline_apply(w->pl, &w->opt);
}

/* A pipeline over the fakes, started; with importing encoders that hang (an import the device
 * never completes) when asked. */
static int setup_with(void **state, bool encoders_import_and_hang)
{
	setup_fakes(state);
	struct world *w = *state;
	w->encoders_import = w->encoders_hang = encoders_import_and_hang;
	start_pipeline(w);
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

/* On demand, with an encoder that is neither software nor pass-through (auto, as the fakes open
 * it: frames are held), or a
 * pass-through one (frames go back at once). */
static int setup_demand_with(void **state, enum encoder_kind kind, bool importing_hang,
			     unsigned fps)
{
	setup_fakes(state);
	struct world *w = *state;
	w->opt.on_demand = true;
	w->opt.devices.fps = fps;
	w->opt.devices.encoder = kind;
	w->encoders_import = w->encoders_hang = importing_hang;
	start_pipeline(w);
	return 0;
}

/* On demand, --snapshot-size FWxFH, a camera with a second stream (or without: one_stream) */
static int setup_full_with(void **state, bool one_stream)
{
	setup_fakes(state);
	struct world *w = *state;
	w->opt.on_demand = true;
	w->opt.devices.encoder = ENCODER_AUTO;
	w->opt.devices.snapshot_width = FW;
	w->opt.devices.snapshot_height = FH;
	w->full_stream = !one_stream;
	start_pipeline(w);
	return 0;
}

static int setup_full(void **state)
{
	return setup_full_with(state, false);
}

static int setup_full_one_stream(void **state)
{
	return setup_full_with(state, true);
}

static int setup_demand(void **state)
{
	return setup_demand_with(state, ENCODER_AUTO, false, 30);
}

static int setup_demand_passthrough(void **state)
{
	return setup_demand_with(state, ENCODER_PASSTHROUGH, false, 30);
}

static int setup_demand_importing_hang(void **state)
{
	return setup_demand_with(state, ENCODER_AUTO, true, 30);
}

/* --fps 120: a held frame is fresh within 2 × 8.3 ms + 20 ms */
static int setup_demand_fps120(void **state)
{
	return setup_demand_with(state, ENCODER_AUTO, false, 120);
}

static int setup_importing_hang(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct world *w = *state;
	pipeline_stop(w->pl);
	assert_true(pipeline_drained(w->pl));
	pipeline_destroy(w->pl);
	free(w);
	return 0;
}

static int source_fd_now(struct world *w)
{
	return w->source ? 1000 + (int)w->source_opens : -1;
}

static int encoder_fd_now(struct world *w)
{
	return 2000 + (int)w->encoder_opens;
}

/* One frame from the camera through the configured encoder. */
static void one_frame(struct world *w)
{
	assert_non_null(w->source);
	w->source->ready++;
	assert_true(fire(source_fd_now(w)));
	fire(encoder_fd_now(w));
}

static struct status_snapshot status(struct world *w)
{
	struct status_snapshot s;
	memset(&s, 0, sizeof(s));
	pipeline_fill_status(w->pl, &s);
	return s;
}

static void fail_source(struct world *w, int err)
{
	w->source->fail_next = err;
	assert_true(fire(source_fd_now(w)));
}

/* ---------------------------------------------------------------- tests */

/* The camera fails: it alone is reopened after 100 ms, the next failure waits 200 ms; the encoder
 * is never touched. */
static void test_source_failure_reopens_source_alone(void **state)
{
	struct world *w = *state;
	one_frame(w);
	one_frame(w);
	assert_int_equal(w->published, 2);
	assert_int_equal(status(w).source_device.state, DEVICE_RUNNING);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);

	fail_source(w, -EIO);
	assert_int_equal(status(w).source_device.state, DEVICE_FAILED);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);
	assert_int_equal(w->sources_destroyed, 1); /* nothing was lent: destroyed at once */
	uint64_t failed_at = now_mono_ns();
	pipeline_tick(w->pl, failed_at + 50 * MS);
	assert_int_equal(w->source_opens, 1); /* backoff */
	pipeline_tick(w->pl, failed_at + 150 * MS);
	assert_int_equal(w->source_opens, 2);
	assert_int_equal(status(w).source_device.state, DEVICE_STARTING);
	one_frame(w);
	assert_int_equal(w->published, 3);
	assert_int_equal(status(w).source_device.state, DEVICE_RUNNING);
	assert_int_equal(status(w).source_device.restarts, 1);
	assert_int_equal(w->encoder_opens, 1);
	assert_int_equal(w->encoders_destroyed, 0);

	fail_source(w, -EIO);
	failed_at = now_mono_ns();
	pipeline_tick(w->pl, failed_at + 150 * MS);
	assert_int_equal(w->source_opens, 2); /* the backoff doubled */
	pipeline_tick(w->pl, failed_at + 250 * MS);
	assert_int_equal(w->source_opens, 3);
	assert_int_equal(status(w).source_device.failures, 2);
	assert_int_equal(w->encoder_opens, 1);
}

/* A camera that does not come back: every reopen fails, the clients see why. */
static void test_outage_shows_placeholder(void **state)
{
	struct world *w = *state;
	one_frame(w);
	fail_source(w, -ENODEV);
	w->source_open_error = -ENODEV;
	uint64_t t = now_mono_ns();
	pipeline_tick(w->pl, t + 150 * MS);
	assert_int_equal(w->source_opens, 2);
	assert_int_equal(status(w).source_device.state, DEVICE_FAILED);
	assert_int_equal(w->placeholders, 0); /* too early */
	pipeline_tick(w->pl, t + 600 * MS);
	assert_int_equal(w->placeholders, 1);
	assert_true(w->last_was_placeholder);
	assert_true(status(w).placeholder);
	pipeline_tick(w->pl, t + 700 * MS);
	assert_int_equal(w->placeholders, 1); /* one a second */

	w->source_open_error = 0;
	pipeline_tick(w->pl, t + 2000 * MS);
	assert_int_equal(w->source_opens, 4); /* 2 at 150 ms, 3 at 600 ms (failed), 4 now */
	one_frame(w);
	assert_false(w->last_was_placeholder);
	assert_false(status(w).placeholder);
}

/* Issue 20: the camera is held by another instance at start: no exit (systemd would restart
 * the daemon in a loop); the placeholder is served, the camera retried with backoff, and the
 * encoder opened once the camera is. */
static void test_camera_busy_at_start(void **state)
{
	setup_fakes(state);
	struct world *w = *state;
	w->source_open_error = -EBUSY;
	start_pipeline(w);
	assert_int_equal(w->source_opens, 1);
	assert_int_equal(w->encoder_opens, 0);
	assert_int_equal(status(w).source_device.state, DEVICE_FAILED);
	assert_string_equal(status(w).source_device.last_error, "camera busy: Device or resource busy");
	uint64_t t = now_mono_ns();
	pipeline_tick(w->pl, t + 600 * MS);
	assert_int_equal(w->source_opens, 2); /* retried (still busy) */
	assert_int_equal(w->placeholders, 1);
	assert_true(status(w).placeholder);
	assert_int_equal(w->encoder_opens, 0);

	w->source_open_error = 0; /* the other instance let go */
	pipeline_tick(w->pl, t + 2000 * MS);
	assert_int_equal(w->source_opens, 3);
	assert_int_equal(w->encoder_opens, 1);
	one_frame(w);
	assert_false(w->last_was_placeholder);
	assert_false(status(w).placeholder);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);
	assert_int_equal(status(w).source_device.state, DEVICE_RUNNING);
	teardown(state);
}

/* --source libcamera and a libcamera plugin that cannot be loaded (-ELIBACC): the pipeline starts
 * without a source or encoder, the source failed for good (never reopened: the plugin cannot come
 * back without a restart), and the clients get the placeholder that says so, once a second. */
static void test_libcamera_unusable_at_start(void **state)
{
	setup_fakes(state);
	struct world *w = *state;
	w->source_open_error = -ELIBACC;
	start_pipeline(w);
	struct status_snapshot s = status(w);
	assert_int_equal(s.source_device.state, DEVICE_FAILED);
	assert_non_null(strstr(s.source_device.last_error, "libcamera plugin cannot be loaded"));
	assert_int_equal(w->encoder_opens, 0);
	assert_int_equal(placeholder_reason_for(true, ELIBACC, false, false), PH_LIBCAMERA_UNUSABLE);
	uint64_t t = now_mono_ns();
	pipeline_tick(w->pl, t + 600 * MS);
	assert_int_equal(w->placeholders, 1);
	assert_true(status(w).placeholder);
	for (unsigned i = 1; i <= 30; i++)
		pipeline_tick(w->pl, t + 600 * MS + i * 1000 * MS);
	assert_int_equal(w->source_opens, 1); /* not retried */
	assert_int_equal(w->encoder_opens, 0);
	assert_int_equal(w->placeholders, 31);
	assert_int_equal(status(w).source_device.restarts, 0);
	teardown(state);
}

/* Any other error opening the camera at start still fails the start (exit 2, logged). */
static void test_camera_missing_at_start(void **state)
{
	setup_fakes(state);
	struct world *w = *state;
	w->source_open_error = -ENOENT;
	assert_int_equal(create_pipeline(w), -ENOENT);
	teardown_fakes(state);
}

/* SIGHUP's decision (pipeline_options_changes()): each option touches only what it concerns;
 * the rest change in place (read where they are used). */
static void test_options_changes(void **state)
{
	(void)state;
	const struct pipeline_options base = {
		.devices = { .source = SOURCE_V4L2, .source_path = "/dev/video0",
			     .encoder = ENCODER_M2M, .width = 640, .height = 480, .fps = 30,
			     .camera_buffers = 4, .snapshot_buffers = 2 },
		.quality = 80, .encoder_fallback = true, .source_timeout_ms = 2000,
		.encoder_timeout_ms = 1000, .on_demand = true,
		.controls = { .n = 1, .a = { { "AfMode", "Continuous" } } },
	};
	struct pipeline_options n;
	struct pipeline_changes c;
	const struct pipeline_changes none = { 0 };

	n = base;
	pipeline_options_changes(&base, &n, &c);
	assert_memory_equal(&c, &none, sizeof(c));

	/* in place: nothing reopens */
	n = base;
	n.on_demand = false;
	n.source_timeout_ms = 5000;
	n.encoder_timeout_ms = 3000;
	n.encoder_fallback = false;
	n.standby_after = 60;
	snprintf(n.state_dir, sizeof(n.state_dir), "/var/lib/mjpegd"); /* read at create only */
	pipeline_options_changes(&base, &n, &c);
	assert_memory_equal(&c, &none, sizeof(c));

	n = base;
	n.quality = 50;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.quality);
	assert_false(c.source || c.encoder || c.controls || c.size || c.sensor);

	n = base;
	snprintf(n.devices.encoder_path, sizeof(n.devices.encoder_path), "/dev/video11");
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.encoder);
	assert_false(c.source || c.quality);
	n = base;
	n.devices.m2m_format = M2M_FORMAT_FWHT;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.encoder);
	assert_false(c.source);

	n = base;
	n.devices.width = 1280;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.source && c.size);
	assert_false(c.encoder || c.snapshot_size);
	n = base;
	n.devices.fps = 15;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.source);
	assert_false(c.size);
	n = base;
	n.devices.snapshot_width = 1920;
	n.devices.snapshot_height = 1080;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.source && c.snapshot_size);
	assert_false(c.size);
	n = base;
	snprintf(n.devices.source_path, sizeof(n.devices.source_path), "/dev/video2");
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.source);
	assert_false(c.encoder);

	/* orientation: a 90° turn is EXIF's whatever the camera; 180° and mirrors the sensor's */
	n = base;
	n.devices.rotation = 90;
	pipeline_options_changes(&base, &n, &c);
	assert_memory_equal(&c, &none, sizeof(c));
	n.devices.rotation = 180;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.sensor);
	assert_false(c.source);
	n = base;
	n.devices.hflip = true;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.sensor);

	/* controls: compared as words, not as bytes (left behind a shorter value) */
	n = base;
	memset(n.controls.a[0].value, 'x', sizeof(n.controls.a[0].value));
	snprintf(n.controls.a[0].value, sizeof(n.controls.a[0].value), "Continuous");
	pipeline_options_changes(&base, &n, &c);
	assert_false(c.controls);
	snprintf(n.controls.a[0].value, sizeof(n.controls.a[0].value), "Manual");
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.controls);
	assert_false(c.source || c.encoder);
	n = base;
	n.controls.n = 0;
	pipeline_options_changes(&base, &n, &c);
	assert_true(c.controls);
}

/* pipeline_apply(): a new encoder path reopens the encoder alone, a new size the camera alone;
 * the pipeline keeps its own copy, so the caller's options may go at once. */
static void test_apply_reopens_only_what_changed(void **state)
{
	struct world *w = *state;
	one_frame(w);
	unsigned sources = w->source_opens, encoders = w->encoder_opens;
	struct pipeline_options *n = malloc(sizeof(*n));
	assert_non_null(n);
	*n = w->opt;
	n->source_timeout_ms = 60000;
	n->on_demand = false;
	pipeline_apply(w->pl, n);
	memset(n, 0, sizeof(*n));
	assert_int_equal(w->source_opens, sources);
	assert_int_equal(w->encoder_opens, encoders);
	/* the copy stands: the source timeout is 60 s, not 0 */
	pipeline_tick(w->pl, now_mono_ns() + 5000 * MS);
	assert_int_equal(status(w).source_device.failures, 0);

	*n = w->opt;
	n->source_timeout_ms = 60000;
	snprintf(n->devices.encoder_path, sizeof(n->devices.encoder_path), "/dev/video11");
	pipeline_apply(w->pl, n);
	assert_int_equal(w->source_opens, sources);
	assert_int_equal(w->encoder_opens, encoders + 1);

	n->devices.width = W * 2;
	n->devices.height = H * 2;
	pipeline_apply(w->pl, n);
	assert_int_equal(w->source_opens, sources + 1);
	free(n);
}

/* --rotation by SIGHUP: a camera that cannot flip is not reopened, the next frames carry the
 * whole orientation in EXIF (90 + vflip: 5), the "no signal" pictures none; a camera that flips
 * is reopened when the sensor's part changes and then leaves EXIF the plain turn. */
static void test_rotation_reload(void **state)
{
	struct world *w = *state;
	one_frame(w);
	assert_int_equal(w->last_exif, 1);
	w->opt.devices.rotation = 90;
	w->opt.devices.vflip = true;
	apply(w);
	assert_int_equal(w->source_opens, 1); /* nothing to ask of this camera: not reopened */
	one_frame(w);
	assert_int_equal(w->last_exif, 5);
	struct status_snapshot s = status(w);
	assert_int_equal(s.exif_orientation, 5);
	assert_int_equal(s.rotation, 90);
	assert_true(sensor_transform_is_identity(&s.sensor_transform));

	/* a camera that flips: reopened for the new sensor part, EXIF keeps only the turn */
	w->sources_flip = true;
	w->source->src.sensor_transformed = true;
	w->opt.devices.vflip = false;
	w->opt.devices.hflip = true;
	apply(w);
	assert_int_equal(w->source_opens, 2);
	one_frame(w);
	assert_int_equal(w->last_exif, 6);
	s = status(w);
	assert_true(s.sensor_transform.hflip && !s.sensor_transform.vflip);
	/* only the turn changes (90 → 270): the camera stays */
	w->opt.devices.rotation = 270;
	apply(w);
	assert_int_equal(w->source_opens, 2);
	one_frame(w);
	assert_int_equal(w->last_exif, 8);

	/* the "no signal" picture stays upright */
	fail_source(w, -ENODEV);
	w->source_open_error = -ENODEV;
	uint64_t t = now_mono_ns();
	pipeline_tick(w->pl, t + 150 * MS);
	pipeline_tick(w->pl, t + 600 * MS);
	assert_true(w->last_was_placeholder);
	assert_int_equal(w->last_exif, 1);
}

/* No frame for --source-timeout-ms: the camera has failed (not responding). */
static void test_source_timeout(void **state)
{
	struct world *w = *state;
	one_frame(w);
	pipeline_tick(w->pl, now_mono_ns() + 1000 * MS);
	assert_int_equal(status(w).source_device.state, DEVICE_RUNNING);
	pipeline_tick(w->pl, now_mono_ns() + (w->opt.source_timeout_ms + 100) * MS);
	/* failed, and, that instant being past the backoff too, reopened in the same tick */
	struct status_snapshot s = status(w);
	assert_int_equal(s.source_device.failures, 1);
	assert_non_null(strstr(s.source_device.last_error, "no frame for"));
	assert_int_equal(w->source_opens, 2);
	assert_int_equal(w->encoder_opens, 1);
}

/* Waits for the software stand-in's result and lets the pipeline collect it. */
static void collect_fallback(struct world *w)
{
	int fd = -1;
	for (unsigned i = 0; i < n_polls; i++)
		if (polls[i]->fd >= 0 && polls[i]->fd != source_fd_now(w))
			fd = polls[i]->fd;
	assert_true(fd >= 0);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(fire(fd));
}

/* The encoder stops: software encodes until it is back, then stands down. */
static void test_encoder_failure_falls_back_to_software(void **state)
{
	struct world *w = *state;
	one_frame(w);
	w->encoder->script[w->encoder->n_script++] = -ENODEV;
	one_frame(w);
	struct status_snapshot s = status(w);
	assert_int_equal(s.encoder_device.state, DEVICE_FAILED);
	assert_int_equal(s.source_device.state, DEVICE_RUNNING);
	assert_true(s.encoder_fallback);
	assert_int_equal(w->encoders_destroyed, 1);

	unsigned before = w->published;
	w->source->ready++;
	assert_true(fire(source_fd_now(w)));
	collect_fallback(w);
	assert_int_equal(w->published, before + 1); /* encoded in software */

	uint64_t failed_at = now_mono_ns();
	pipeline_tick(w->pl, failed_at + 150 * MS);
	assert_int_equal(w->encoder_opens, 2);
	s = status(w);
	/* On probation: the stand-in serves until the reopened encoder's first frame. */
	assert_true(s.encoder_fallback);
	assert_string_equal(s.encoder, "fake encoder 2");
	one_frame(w);
	assert_int_equal(w->published, before + 2);
	s = status(w);
	assert_int_equal(s.encoder_device.state, DEVICE_RUNNING);
	assert_false(s.encoder_fallback);
	assert_int_equal(w->source_opens, 1); /* the camera was never touched */
}

/* A reopened encoder that fails again before its first frame (a VPU that stays wedged) never
 * left the clients without the stand-in. */
static void test_encoder_probation(void **state)
{
	struct world *w = *state;
	one_frame(w);
	w->encoder->script[w->encoder->n_script++] = -ENODEV;
	one_frame(w);
	assert_true(status(w).encoder_fallback);
	pipeline_tick(w->pl, now_mono_ns() + 150 * MS);
	assert_int_equal(w->encoder_opens, 2);
	assert_true(status(w).encoder_fallback);
	w->encoder->script[w->encoder->n_script++] = -ENODEV;
	one_frame(w); /* the frame went to the reopened encoder, which fails at once */
	struct status_snapshot s = status(w);
	assert_int_equal(s.encoder_device.state, DEVICE_FAILED);
	assert_true(s.encoder_fallback);
	unsigned before = w->published;
	w->source->ready++;
	assert_true(fire(source_fd_now(w)));
	collect_fallback(w);
	assert_int_equal(w->published, before + 1); /* still served, in software */
}


/* An encoder that imports and never gives a frame back (on a Pi: a dma-buf the VPU cannot import
 * is logged and its buffer never completes): after the encoder timeout it is reopened copying,
 * which works; the stand-in served meanwhile. */
static void test_import_never_completes(void **state)
{
	struct world *w = *state;
	w->opt.source_timeout_ms = 60000; /* the camera keeps up; only the encoder is late */
	apply(w);
	assert_true(w->encoder->enc.imports);
	one_frame(w);
	assert_int_equal(w->published, 0);
	/* the tick is past the timeout and past the backoff: failed and reopened in one go */
	uint64_t t = now_mono_ns() + (w->opt.encoder_timeout_ms + 10) * MS;
	pipeline_tick(w->pl, t);
	struct status_snapshot s = status(w);
	assert_int_equal(s.encoder_device.failures, 1);
	assert_non_null(strstr(s.encoder_device.last_error, "importing the camera's dma-bufs"));
	assert_true(s.encoder_fallback);
	assert_int_equal(w->encoder_opens, 2);
	assert_non_null(strstr(w->last_copy_reason, "never completed"));
	assert_false(w->encoder->enc.imports);
	one_frame(w);
	assert_int_equal(w->published, 1);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);
	assert_false(status(w).encoder_fallback);

	/* The copying encoder is late too (a slow device, not the import): import again. */
	w->copies_hang = true;
	w->source->ready++;
	assert_true(fire(source_fd_now(w))); /* submitted, never given back */
	uint64_t t2 = now_mono_ns() + (w->opt.encoder_timeout_ms + 10) * MS;
	pipeline_tick(w->pl, t2);
	assert_non_null(strstr(status(w).encoder_device.last_error, "while copying too"));
	assert_int_equal(w->encoder_opens, 3);
	assert_string_equal(w->last_copy_reason, "");
	assert_true(w->encoder->enc.imports);
}

/* A result that is done but whose wake-up has not been handled yet (its completion later in the
 * same batch) is taken before the encoder is called late. */
static void test_late_check_collects_first(void **state)
{
	struct world *w = *state;
	w->source->ready++;
	assert_true(fire(source_fd_now(w))); /* submitted; the encoder's fd not handled yet */
	unsigned before = w->published;
	pipeline_tick(w->pl, now_mono_ns() + (w->opt.encoder_timeout_ms + 10) * MS);
	assert_int_equal(status(w).encoder_device.failures, 0);
	assert_int_equal(w->published, before + 1);
}

/* Imports worked, then the device stalls: a stalled device, not an import problem. Reopened
 * importing. */
static void test_stall_after_imports_worked(void **state)
{
	struct world *w = *state;
	w->opt.source_timeout_ms = 60000;
	apply(w);
	w->encoders_import = true;
	w->encoders_hang = false;
	/* the first encoder was opened before: reopen it as an importing one */
	w->encoder->enc.imports = true;
	one_frame(w);
	assert_int_equal(w->published, 1);
	w->encoders_hang = true;
	one_frame(w);
	uint64_t t = now_mono_ns() + (w->opt.encoder_timeout_ms + 10) * MS;
	pipeline_tick(w->pl, t);
	assert_int_equal(status(w).encoder_device.failures, 1);
	assert_null(strstr(status(w).encoder_device.last_error, "importing"));
	assert_int_equal(w->encoder_opens, 2);
	assert_string_equal(w->last_copy_reason, "");
	assert_true(w->encoder->enc.imports);
	/* the reopened one hangs before its first frame: still not blamed on the import */
	one_frame(w);
	pipeline_tick(w->pl, t + 10000 * MS);
	assert_int_equal(status(w).encoder_device.failures, 2);
	assert_null(strstr(status(w).encoder_device.last_error, "importing"));
	assert_string_equal(w->last_copy_reason, "");
	w->encoders_hang = false;
}

/* One or two frames back with an error are the encoder's to count; the third in a row means it
 * has failed. */
static void test_encoder_errors_in_a_row(void **state)
{
	struct world *w = *state;
	struct fake_encoder *fe = w->encoder;
	fe->script[fe->n_script++] = -EIO;
	fe->script[fe->n_script++] = -EIO;
	fe->script[fe->n_script++] = 0;
	fe->script[fe->n_script++] = -EIO;
	fe->script[fe->n_script++] = -EIO;
	for (int i = 0; i < 5; i++)
		one_frame(w);
	assert_int_equal(w->published, 1);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);
	assert_false(status(w).encoder_fallback);
	assert_int_equal(status(w).encode_errors, 4);

	fe->script[fe->n_script++] = -EIO;
	one_frame(w);
	struct status_snapshot s = status(w);
	assert_int_equal(s.encoder_device.state, DEVICE_FAILED);
	assert_non_null(strstr(s.encoder_device.last_error, "3 frames in a row"));
	assert_true(s.encoder_fallback);
}

/* ---------------------------------------------------------------- on demand */

/* The rules themselves. */
/* --standby-after: the pure rule. */
static void test_standby_due(void **state)
{
	(void)state;
	uint64_t t = 100 * NSEC_PER_SEC;
	assert_false(standby_due(t, t + 3600 * NSEC_PER_SEC, 0, 0)); /* 0: never */
	assert_false(standby_due(t, t + 2 * NSEC_PER_SEC - 1, 2, 0));
	assert_true(standby_due(t, t + 2 * NSEC_PER_SEC, 2, 0));
	assert_false(standby_due(t, t + 60 * NSEC_PER_SEC, 2, 1)); /* a client connected */
	assert_false(standby_due(t, t - MS, 2, 0));               /* a request after now's read */
	assert_true(standby_due(0, 86400 * NSEC_PER_SEC, 86400, 0));
}

/* Standby closes the camera and the encoder (destroyed: their devices closed), nothing is
 * retried, opened or published while in it; a request opens both again, and its frame is the
 * first the camera gives. */
static void test_standby_closes_and_wakes(void **state)
{
	struct world *w = *state;
	w->opt.standby_after = 2;
	apply(w);
	one_frame(w);
	unsigned published = w->published;
	assert_true(published >= 1);
	uint64_t t = now_mono_ns();
	pipeline_standby(w->pl, t);
	assert_true(pipeline_in_standby(w->pl));
	assert_int_equal(w->sources_destroyed, 1);
	assert_int_equal(w->encoders_destroyed, 1);
	assert_false(pipeline_frame_current(w->pl));
	struct status_snapshot s = status(w);
	assert_int_equal(s.source_device.state, DEVICE_STANDBY);
	assert_int_equal(s.encoder_device.state, DEVICE_STANDBY);
	assert_string_equal(s.standby_state, "standby");
	assert_int_equal(s.standby_entered, 1);
	assert_true(s.standby_wake_ms < 0);
	char desc[160];
	pipeline_describe(w->pl, desc, sizeof(desc));
	assert_non_null(strstr(desc, "standby"));
	for (int i = 1; i <= 40; i++)
		pipeline_tick(w->pl, t + (uint64_t)i * 250 * MS); /* 10 s */
	assert_int_equal(w->source_opens, 1);
	assert_int_equal(w->encoder_opens, 1);
	assert_int_equal(w->published, published); /* no placeholder: nobody is connected */
	pipeline_standby(w->pl, t); /* again: nothing */
	assert_int_equal(status(w).standby_entered, 1);

	pipeline_want_frame(w->pl);
	assert_false(pipeline_in_standby(w->pl));
	assert_int_equal(w->source_opens, 2);
	assert_int_equal(w->encoder_opens, 2);
	assert_string_equal(status(w).standby_state, "waking");
	assert_false(pipeline_frame_current(w->pl));
	one_frame(w);
	assert_int_equal(w->published, published + 1);
	assert_false(w->last_was_placeholder);
	s = status(w);
	assert_string_equal(s.standby_state, "active");
	assert_true(s.standby_wake_ms >= 0);
	assert_int_equal(s.source_device.state, DEVICE_RUNNING);
	assert_int_equal(s.encoder_device.state, DEVICE_RUNNING);
	assert_int_equal(s.source_device.restarts, 0); /* a wake-up is no restart */
	assert_true(pipeline_frame_current(w->pl));
}

/* A camera gone during standby (unplugged): the wake-up's open fails, it is retried with
 * backoff by its configured name, and the encoder opens once the camera is back. */
static void test_standby_wake_camera_gone(void **state)
{
	struct world *w = *state;
	w->opt.standby_after = 2;
	apply(w);
	one_frame(w);
	unsigned published = w->published;
	pipeline_standby(w->pl, now_mono_ns());
	w->source_open_error = -ENODEV;
	pipeline_want_frame(w->pl);
	assert_int_equal(status(w).source_device.state, DEVICE_FAILED);
	assert_int_equal(w->encoder_opens, 1); /* no camera: no encoder yet */
	w->source_open_error = 0; /* plugged in again */
	uint64_t t = now_mono_ns();
	pipeline_tick(w->pl, t + 150 * MS);
	assert_int_equal(w->source_opens, 3);
	pipeline_tick(w->pl, t + 400 * MS);
	assert_int_equal(w->encoder_opens, 2);
	pipeline_want_frame(w->pl);
	one_frame(w);
	assert_true(w->published > published);
	assert_false(w->last_was_placeholder);
	assert_string_equal(status(w).standby_state, "active");
}

static void test_demand_rules(void **state)
{
	(void)state;
	struct demand_inputs d = { .on_demand = true };
	assert_false(demand_encode(&d)); /* nobody watches, nobody asked */
	d.viewers = true;
	assert_true(demand_encode(&d));
	d = (struct demand_inputs){ .on_demand = true, .one_wanted = true };
	assert_true(demand_encode(&d));
	d = (struct demand_inputs){ .on_demand = true, .probation = true };
	assert_true(demand_encode(&d));
	d = (struct demand_inputs){ .on_demand = false };
	assert_true(demand_encode(&d)); /* --on-demand off: every frame */

	uint64_t t = 10 * NSEC_PER_SEC;
	assert_true(demand_fresh(t, t, 30));
	assert_true(demand_fresh(t, t + 86 * MS, 30));  /* 2 × 33.3 ms + 20 ms */
	assert_false(demand_fresh(t, t + 87 * MS, 30));
	assert_true(demand_fresh(t, t + 2020 * MS, 1));
	assert_false(demand_fresh(t, t + 2021 * MS, 1));
	assert_true(demand_fresh(t, t - MS, 30)); /* a clock read before the frame's */
	assert_true(demand_fresh(t, t + 1000 * MS, 0)); /* no fps: counted as 1 */
}

static unsigned source_lent(const struct world *w)
{
	unsigned n = 0;
	for (unsigned i = 0; i < FAKE_BUFFERS; i++)
		n += w->source->lent[i];
	return n;
}

/* One frame from the camera, not collected. */
static void capture(struct world *w)
{
	w->source->ready++;
	assert_true(fire(source_fd_now(w)));
}

/* One camera tick with its full-size frame, not collected. */
static void capture_full(struct world *w)
{
	w->source->ready++;
	w->source->full_ready++;
	assert_true(fire(source_fd_now(w)));
}

/* The full encoder (the pipeline's fifth poll: a real software encoder on its thread) has a
 * result within 5 s: the loop hands it on. */
static void full_result(struct world *w)
{
	struct loop_poll *full = polls[4];
	assert_non_null(w->pl);
	assert_true(full->fd >= 0);
	struct pollfd pfd = { .fd = full->fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(fire(full->fd));
}

/* --snapshot-size: the newest full-size frame is held (an older one goes back at once, so one
 * of the camera's full-size buffers stays free), encoded only when asked for, on the full
 * encoder, at the full size; the stream's frames are not touched by it. */
static void test_full_size_held_and_encoded_on_request(void **state)
{
	struct world *w = *state;
	unsigned fw, fh;
	assert_true(pipeline_snapshot_size(w->pl, &fw, &fh));
	assert_int_equal(fw, FW);
	assert_int_equal(fh, FH);
	for (int i = 0; i < 5; i++) {
		capture_full(w);
		fire(encoder_fd_now(w));
		assert_int_equal(full_lent(w->source), 1); /* the newest only */
	}
	assert_int_equal(w->full_published, 0); /* nothing asked: nothing encoded */
	uint64_t stream_published = w->published;
	assert_int_equal(pipeline_want_full(w->pl), 0);
	assert_int_equal(full_lent(w->source), 1); /* now in the full encoder */
	assert_int_equal(pipeline_want_full(w->pl), 0); /* asked again meanwhile: the same one */
	capture_full(w); /* a newer one is held next to it: both buffers lent */
	assert_int_equal(full_lent(w->source), 2);
	capture_full(w); /* none free: the camera drops it, nothing breaks */
	full_result(w);
	assert_int_equal(w->full_published, 1);
	assert_int_equal(w->full_w, FW);
	assert_int_equal(w->full_h, FH);
	assert_int_equal(full_lent(w->source), 1); /* the encoded one went back */
	assert_int_equal(w->published, stream_published); /* the stream saw none of it */
	struct status_snapshot s = status(w);
	assert_true(s.snapshot_full);
	assert_int_equal(s.snapshot_width, FW);
	assert_int_equal(s.snapshot_buffers_bytes, sizeof(w->source->full_buf));
	assert_int_equal(s.snapshots_encoded, 1);
	assert_int_equal(s.width, W);

	/* asked with nothing held: the next full-size frame is encoded as it comes */
	assert_int_equal(pipeline_want_full(w->pl), 0); /* takes the held one */
	full_result(w);
	assert_int_equal(w->full_published, 2);
	assert_int_equal(full_lent(w->source), 0);
	assert_int_equal(pipeline_want_full(w->pl), 0);
	capture_full(w);
	full_result(w);
	assert_int_equal(w->full_published, 3);
	assert_int_equal(full_lent(w->source), 0);

	/* the camera fails: its held full-size frame goes back with it, and until it is back
	 * there is no full size */
	capture_full(w);
	assert_int_equal(full_lent(w->source), 1);
	fail_source(w, -EIO);
	assert_int_equal(pipeline_want_full(w->pl), -EOPNOTSUPP);
}

/* A camera with one stream: one warning, snapshots keep the stream's size */
static void test_full_size_one_stream(void **state)
{
	struct world *w = *state;
	unsigned fw, fh;
	assert_false(pipeline_snapshot_size(w->pl, &fw, &fh));
	assert_int_equal(fw, W);
	assert_int_equal(fh, H);
	assert_int_equal(pipeline_want_full(w->pl), -EOPNOTSUPP);
	capture(w);
	struct status_snapshot s = status(w);
	assert_false(s.snapshot_full);
	assert_int_equal(s.snapshot_width, W);
	assert_int_equal(s.snapshot_configured_width, FW);
	assert_int_equal(s.snapshot_buffers_bytes, 0);
}

/* Nobody watches: after the encoder's first frame (its probation), frames are held one at a time
 * and given back, never encoded; the encoder, the camera and the clients see no outage. */
static void test_idle_encodes_nothing(void **state)
{
	struct world *w = *state;
	w->opt.source_timeout_ms = 200;
	apply(w);
	one_frame(w); /* the encoder's first: it proves the encoder, and reaches the server */
	assert_int_equal(w->published, 1);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);
	for (int i = 0; i < 6; i++)
		one_frame(w);
	assert_int_equal(w->submitted, 1);
	assert_int_equal(w->published, 1);
	assert_int_equal(source_lent(w), 1); /* the newest, held; the others went back */
	struct status_snapshot s = status(w);
	assert_int_equal(s.frames_captured, 7);
	assert_int_equal(s.frames_encoded, 1);
	assert_int_equal(s.frames_skipped_idle, 5);
	assert_true(s.on_demand);
	assert_true(s.idle);
	assert_int_equal(s.frames_dropped, 0);

	/* Longer than both timeouts with the camera delivering and nothing encoded: no device
	 * failed, and no "no signal" picture (the camera is live). */
	usleep(250 * 1000);
	one_frame(w);
	pipeline_tick(w->pl, now_mono_ns());
	w->opt.source_timeout_ms = 60000; /* the tick below is 1 s ahead of the camera */
	apply(w);
	pipeline_tick(w->pl, now_mono_ns() + (w->opt.encoder_timeout_ms + 10) * MS);
	s = status(w);
	assert_int_equal(s.source_device.state, DEVICE_RUNNING);
	assert_int_equal(s.encoder_device.state, DEVICE_RUNNING);
	assert_int_equal(s.source_device.failures + s.encoder_device.failures, 0);
	assert_int_equal(w->placeholders, 0);
	assert_false(s.placeholder);
	char d[160];
	pipeline_describe(w->pl, d, sizeof(d));
	assert_non_null(strstr(d, "idle"));
}

/* A request encodes the held (newest) frame at once, without waiting for the camera. */
static void test_want_frame_encodes_newest(void **state)
{
	struct world *w = *state;
	one_frame(w);
	for (int i = 0; i < 3; i++)
		one_frame(w);
	uint64_t newest = w->source->sequence;
	assert_false(pipeline_frame_current(w->pl)); /* the camera has newer frames than published */
	pipeline_want_frame(w->pl);
	assert_int_equal(w->submitted, 2);
	assert_int_equal(w->encoder->held[0]->sequence, newest);
	assert_false(pipeline_frame_current(w->pl)); /* being encoded */
	assert_true(fire(encoder_fd_now(w)));
	assert_int_equal(w->published, 2);
	assert_true(pipeline_frame_current(w->pl)); /* published, nothing newer yet */
	struct status_snapshot s = status(w);
	assert_int_equal(s.frames_encoded, 2);
	assert_int_equal(s.frames_skipped_idle, 2);
	/* answered: the next frames are held again */
	one_frame(w);
	assert_int_equal(w->submitted, 2);
	assert_int_equal(source_lent(w), 1);
	assert_false(pipeline_frame_current(w->pl));

	/* asked again while the frame asked for is still in the encoder (the server's tick while a
	 * snapshot waits): no second encode */
	pipeline_want_frame(w->pl);
	assert_int_equal(w->submitted, 3);
	pipeline_want_frame(w->pl);
	capture(w); /* held: nothing is left wanted */
	pipeline_want_frame(w->pl);
	assert_int_equal(w->submitted, 3);
	assert_true(fire(encoder_fd_now(w)));
	assert_int_equal(w->published, 3);
	capture(w);
	assert_int_equal(w->submitted, 3);
	pipeline_want_frame(w->pl); /* after the result: a new request encodes again */
	assert_int_equal(w->submitted, 4);
	assert_true(fire(encoder_fd_now(w)));
	assert_int_equal(w->published, 4);
}

/* The held frame is too old (a camera slower than --fps, or stalled): the next one is encoded. */
static void test_want_frame_stale_takes_next(void **state)
{
	struct world *w = *state;
	one_frame(w);
	one_frame(w);
	usleep(60 * 1000);
	pipeline_want_frame(w->pl);
	assert_int_equal(w->submitted, 1); /* not the old one */
	one_frame(w);
	assert_int_equal(w->submitted, 2);
	assert_int_equal(w->published, 2);
	assert_int_equal(status(w).frames_skipped_idle, 1);
	one_frame(w); /* one frame was asked for, one was given */
	assert_int_equal(w->submitted, 2);
}

/* A stream client watches: every frame; it leaves: none again. */
static void test_viewers_get_every_frame(void **state)
{
	struct world *w = *state;
	one_frame(w);
	one_frame(w);
	w->viewers = true;
	assert_false(status(w).idle);
	for (int i = 0; i < 4; i++)
		one_frame(w);
	assert_true(pipeline_frame_current(w->pl)); /* every frame encoded */
	assert_int_equal(w->published, 5);
	assert_int_equal(status(w).frames_skipped_idle, 1); /* the one held when it came */
	w->viewers = false;
	for (int i = 0; i < 4; i++)
		one_frame(w);
	assert_int_equal(w->published, 5);
	assert_int_equal(status(w).frames_skipped_idle, 4);
	assert_true(status(w).idle);
	/* --on-demand off (SIGHUP): every frame, nobody watching */
	w->opt.on_demand = false;
	apply(w);
	one_frame(w);
	assert_int_equal(w->published, 6);
	assert_false(status(w).idle);
}

/* The held frame goes back with a camera that fails, so the camera can be destroyed at once. */
static void test_held_frame_released_on_source_failure(void **state)
{
	struct world *w = *state;
	one_frame(w);
	one_frame(w);
	assert_int_equal(source_lent(w), 1);
	fail_source(w, -EIO);
	assert_int_equal(w->sources_destroyed, 1);
	pipeline_want_frame(w->pl); /* nothing held: the next frame of the reopened camera */
	pipeline_tick(w->pl, now_mono_ns() + 150 * MS);
	assert_int_equal(w->source_opens, 2);
	one_frame(w);
	assert_int_equal(w->published, 2);
}

/* Pass-through frames are not held (a camera buffer each): back at once; a request takes the
 * next one. */
static void test_passthrough_not_held(void **state)
{
	struct world *w = *state;
	one_frame(w);
	for (int i = 0; i < 3; i++)
		one_frame(w);
	assert_int_equal(source_lent(w), 0);
	assert_int_equal(status(w).frames_skipped_idle, 3);
	pipeline_want_frame(w->pl);
	assert_int_equal(w->submitted, 1);
	one_frame(w);
	assert_int_equal(w->submitted, 2);
	assert_int_equal(w->published, 2);
}

/* An importing encoder whose first frame never comes (bcm2835-codec refusing a dma-buf) is found
 * out with nobody watching too: its probation frame times out, it is reopened copying, and the
 * reopened one's first frame proves it; then nothing is encoded again. */
static void test_idle_probation_finds_failed_import(void **state)
{
	struct world *w = *state;
	w->opt.source_timeout_ms = 60000;
	apply(w);
	capture(w); /* the probation frame: submitted, never back */
	capture(w); /* held: one at a time on probation */
	assert_int_equal(w->submitted, 1);
	pipeline_tick(w->pl, now_mono_ns() + (w->opt.encoder_timeout_ms + 10) * MS);
	struct status_snapshot s = status(w);
	assert_int_equal(s.encoder_device.failures, 1);
	assert_non_null(strstr(s.encoder_device.last_error, "importing the camera's dma-bufs"));
	assert_int_equal(w->encoder_opens, 2);
	assert_false(w->encoder->enc.imports);
	one_frame(w);
	assert_int_equal(status(w).encoder_device.state, DEVICE_RUNNING);
	assert_false(status(w).encoder_fallback);
	assert_int_equal(w->published, 1);
	unsigned submitted = w->submitted;
	one_frame(w);
	one_frame(w);
	assert_int_equal(w->submitted, submitted);
}

/* ---------------------------------------------------------------- fault wrappers */

/* source:fail-every=3 fails every third dequeue of an instance; stall-after swallows the rest. */
static void test_faulty_source(void **state)
{
	struct world *w = *state;
	struct fault_plan plan;
	char err[128];
	assert_int_equal(fault_plan_parse("source:fail-every=3", &plan, err, sizeof(err)), 0);
	struct source *inner = NULL, *src = NULL;
	assert_int_equal(open_fake_source(w, SOURCE_TESTPATTERN, &inner), 0);
	struct fake_source *fs = inner->priv;
	assert_int_equal(source_faulty_create(inner, &plan, &src), 0);
	assert_int_equal(src->fourcc, V4L2_PIX_FMT_YUV420);
	assert_string_equal(src->description, fs->description);
	assert_int_equal(source_fd(src), source_fd(inner));
	fs->ready = 4;
	struct raw_frame *f;
	assert_int_equal(source_dequeue(src, &f), 0);
	source_release(src, f);
	assert_int_equal(source_dequeue(src, &f), 0);
	source_release(src, f);
	assert_int_equal(source_dequeue(src, &f), -EIO);
	assert_int_equal(src->stats.frames_dropped, 1);
	assert_int_equal(source_dequeue(src, &f), 0);
	source_release(src, f);
	for (unsigned i = 0; i < FAKE_BUFFERS; i++)
		assert_false(fs->lent[i]); /* the failed frame went back too */
	source_destroy(src);

	assert_int_equal(fault_plan_parse("source:stall-after=1", &plan, err, sizeof(err)), 0);
	assert_int_equal(open_fake_source(w, SOURCE_TESTPATTERN, &inner), 0);
	fs = inner->priv;
	assert_int_equal(source_faulty_create(inner, &plan, &src), 0);
	fs->ready = 3;
	assert_int_equal(source_dequeue(src, &f), 0);
	source_release(src, f);
	assert_int_equal(source_dequeue(src, &f), -EAGAIN); /* two swallowed */
	assert_int_equal(fs->ready, 0);
	assert_int_equal(src->stats.frames_dropped, 2);
	assert_int_equal(src->stats.frames_captured, 3);
	source_destroy(src);
}

/* Raw frames straight back to the fake source. */
static void release_to_source(void *ctx, struct raw_frame *raw)
{
	source_release(ctx, raw);
}

/* encoder:fail-every=2 answers the second result with -ENODEV; stall-after drops results. */
static void test_faulty_encoder(void **state)
{
	struct world *w = *state;
	struct fault_plan plan;
	char err[128];
	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	struct source *src = NULL;
	assert_int_equal(open_fake_source(w, SOURCE_TESTPATTERN, &src), 0);
	struct fake_source *fs = src->priv;
	struct encoder_params p = { .in_fourcc = V4L2_PIX_FMT_YUV420, .width = W, .height = H,
				    .quality = w->opt.quality, .pool = &pool };
	p.release_raw = release_to_source;
	p.release_ctx = src;
	struct encoder *inner = NULL, *enc = NULL;
	assert_int_equal(open_fake_encoder(w, ENCODER_PASSTHROUGH, &p, &inner), 0);
	assert_int_equal(fault_plan_parse("encoder:fail-every=2", &plan, err, sizeof(err)), 0);
	assert_int_equal(encoder_faulty_create(inner, &plan, &enc), 0);
	assert_string_equal(enc->description, inner->description);
	struct raw_frame *raw;
	struct frame *f;
	fs->ready = 2;
	assert_int_equal(source_dequeue(src, &raw), 0);
	assert_int_equal(encoder_submit(enc, raw), 0);
	assert_int_equal(encoder_collect(enc, &f), 0);
	frame_unref(f);
	assert_int_equal(source_dequeue(src, &raw), 0);
	assert_int_equal(encoder_submit(enc, raw), 0);
	assert_int_equal(encoder_collect(enc, &f), -ENODEV);
	assert_int_equal(enc->stats.frames_encoded, 2);
	assert_int_equal(pool.in_use, 0);
	encoder_destroy(enc);

	assert_int_equal(open_fake_encoder(w, ENCODER_PASSTHROUGH, &p, &inner), 0);
	assert_int_equal(fault_plan_parse("encoder:stall-after=1", &plan, err, sizeof(err)), 0);
	assert_int_equal(encoder_faulty_create(inner, &plan, &enc), 0);
	fs->ready = 2;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(source_dequeue(src, &raw), 0);
		assert_int_equal(encoder_submit(enc, raw), 0);
	}
	assert_int_equal(encoder_collect(enc, &f), 0);
	frame_unref(f);
	assert_int_equal(encoder_collect(enc, &f), -EAGAIN); /* the second never comes */
	assert_int_equal(pool.in_use, 0);
	encoder_destroy(enc);
	source_destroy(src);
	frame_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_source_failure_reopens_source_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outage_shows_placeholder, setup, teardown),
		cmocka_unit_test(test_camera_busy_at_start),
		cmocka_unit_test(test_camera_missing_at_start),
		cmocka_unit_test(test_libcamera_unusable_at_start),
		cmocka_unit_test_setup_teardown(test_source_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_reload, setup, teardown),
		cmocka_unit_test(test_options_changes),
		cmocka_unit_test_setup_teardown(test_apply_reopens_only_what_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoder_failure_falls_back_to_software, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_encoder_errors_in_a_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoder_probation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_never_completes, setup_importing_hang,
						teardown),
		cmocka_unit_test_setup_teardown(test_stall_after_imports_worked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_check_collects_first, setup, teardown),
		cmocka_unit_test(test_demand_rules),
		cmocka_unit_test_setup_teardown(test_idle_encodes_nothing, setup_demand, teardown),
		cmocka_unit_test_setup_teardown(test_want_frame_encodes_newest, setup_demand,
						teardown),
		cmocka_unit_test_setup_teardown(test_want_frame_stale_takes_next, setup_demand_fps120,
						teardown),
		cmocka_unit_test_setup_teardown(test_viewers_get_every_frame, setup_demand, teardown),
		cmocka_unit_test_setup_teardown(test_held_frame_released_on_source_failure,
						setup_demand, teardown),
		cmocka_unit_test_setup_teardown(test_passthrough_not_held, setup_demand_passthrough,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_probation_finds_failed_import,
						setup_demand_importing_hang, teardown),
		cmocka_unit_test_setup_teardown(test_full_size_held_and_encoded_on_request, setup_full,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_size_one_stream, setup_full_one_stream,
						teardown),
		cmocka_unit_test(test_standby_due),
		cmocka_unit_test_setup_teardown(test_standby_closes_and_wakes, setup_demand, teardown),
		cmocka_unit_test_setup_teardown(test_standby_wake_camera_gone, setup_demand, teardown),
		cmocka_unit_test_setup_teardown(test_faulty_source, setup_fakes, teardown_fakes),
		cmocka_unit_test_setup_teardown(test_faulty_encoder, setup_fakes, teardown_fakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
