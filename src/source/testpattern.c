/* Built-in test pattern: scrolling colour bars over a luma ramp with a sliding block, an orange
 * square in the top-right corner (which way the picture is turned), and a text box with a label,
 * the frame number and the wall-clock time, in I420 (V4L2_PIX_FMT_YUV420).
 *
 * Everything moves every frame so that a frozen pipeline is obvious on screen and two snapshots a
 * second apart always differ. Rendering is memcpy/memset of rows from precomputed bar rows (no
 * per-pixel arithmetic), so the loop thread can afford it: well under 1 ms at 1280x720.
 *
 * Buffers: a ring of TESTPATTERN_BUFFERS I420 images, allocated once. dequeue lends one (in_flight
 * set), release gives it back; a tick that finds all of them lent is dropped and counted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/draw.h"
#include "mjpegd/log.h"
#include "mjpegd/timer.h"
#include "mjpegd/source.h"

#define TESTPATTERN_BUFFERS 3
#define TESTPATTERN_MAX_BUFFERS 16 /* the full-size stream's, --snapshot-buffers */
#define TESTPATTERN_MIN_SIZE 16
#define TESTPATTERN_MAX_SIZE 4096
#define TESTPATTERN_MAX_FPS 1000

/* JFIF (full-range BT.601) values of the eight classic bars: JPEG decoders read Y/Cb/Cr as full
 * range, so video-range (16..235) values would come out washed out. */
static const uint8_t bar_y[8] = { 255, 226, 179, 150, 105, 76, 29, 0 };
static const uint8_t bar_u[8] = { 128, 1, 171, 44, 212, 85, 255, 128 };
static const uint8_t bar_v[8] = { 128, 149, 1, 21, 235, 255, 107, 128 };
/* The corner marker's orange (R 255, G 128, B 0), in JFIF's Y/Cb/Cr */
#define MARKER_Y 151
#define MARKER_U 43
#define MARKER_V 202


struct testpattern {
	struct source src;
	struct pacing_timer timer;
	uint64_t ticks; /* timer expirations so far: the sequence number of the newest image */

	uint8_t *mem; /* n_buffers contiguous I420 images */
	size_t image_size;
	unsigned n_buffers; /* TESTPATTERN_BUFFERS; the full-size scene's: --snapshot-buffers */
	struct raw_frame frames[TESTPATTERN_MAX_BUFFERS];
	bool in_flight[TESTPATTERN_MAX_BUFFERS];
	/* --snapshot-size: the same scene at the full size (its own buffers and precomputed rows,
	 * no timer), rendered at every tick that renders a stream frame; full_ready: its newest
	 * frame, lent (in_flight) and not yet dequeued (dequeue_full), re-rendered in place when
	 * the next tick comes first */
	struct testpattern *full;
	struct raw_frame *full_ready;

	/* Bars twice as wide as the image, so one memcpy at a moving offset scrolls them. */
	uint8_t *bars_y, *bars_u, *bars_v;
	uint8_t *ramp_y; /* one luma row, dark to bright */
	unsigned bars_h; /* rows of scrolling bars; the ramp fills the rest */
	unsigned scale;  /* glyph pixel size */
	unsigned scroll_period; /* frames for the bars to scroll one full width */
	unsigned marker; /* side of the corner marker, even */

	char description[64];
	int brightness;      /* control: added to every luma sample, -100..100 */
	unsigned saturation; /* control: chroma scaled by this %, 0..200 */
	bool overlay;        /* control: the text box drawn */
	double gains[2];     /* control colour_gains: red- and blue-difference chroma scaled, 0..4 */
};

enum { TP_BRIGHTNESS, TP_SATURATION, TP_OVERLAY, TP_COLOUR_GAINS, TP_N_CONTROLS };

static void render(struct testpattern *tp, struct raw_frame *f)
{
	unsigned w = f->width, h = f->height, cw = w / 2, ch = h / 2;
	struct raw_plane *py = &f->planes[0], *pu = &f->planes[1], *pv = &f->planes[2];

	/* Bars scroll one full width every scroll_period frames; even offset keeps chroma aligned. */
	unsigned phase = (unsigned)(f->sequence % tp->scroll_period);
	unsigned offset = (unsigned)((uint64_t)phase * w / tp->scroll_period) & ~1u;
	for (unsigned row = 0; row < tp->bars_h; row++)
		memcpy(py->data + row * py->bytesperline, tp->bars_y + offset, w);
	for (unsigned row = 0; row < tp->bars_h / 2; row++) {
		memcpy(pu->data + row * pu->bytesperline, tp->bars_u + offset / 2, cw);
		memcpy(pv->data + row * pv->bytesperline, tp->bars_v + offset / 2, cw);
	}
	for (unsigned row = tp->bars_h; row < h; row++)
		memcpy(py->data + row * py->bytesperline, tp->ramp_y, w);
	draw_fill(pu->data, pu->bytesperline, cw, ch, 0, tp->bars_h / 2, cw, ch, 128);
	draw_fill(pv->data, pv->bytesperline, cw, ch, 0, tp->bars_h / 2, cw, ch, 128);

	/* A red block sliding over the ramp at twice the bars' speed. */
	unsigned block_w = (w / 16) & ~1u;
	if (block_w < 2)
		block_w = 2;
	unsigned block_phase = (unsigned)(f->sequence % (tp->scroll_period / 2));
	unsigned block_x = (unsigned)((uint64_t)block_phase * (w - block_w) /
				      (tp->scroll_period / 2)) & ~1u;
	unsigned ramp_h = h - tp->bars_h;
	draw_fill(py->data, py->bytesperline, w, h, block_x, tp->bars_h, block_w, ramp_h, 76);
	draw_fill(pu->data, pu->bytesperline, cw, ch, block_x / 2, tp->bars_h / 2, block_w / 2,
		   ramp_h / 2, 85);
	draw_fill(pv->data, pv->bytesperline, cw, ch, block_x / 2, tp->bars_h / 2, block_w / 2,
		   ramp_h / 2, 255);

	/* The corner marker: an orange square in the top-right corner, a colour found nowhere else
	 * in the pattern, so that a picture turned or mirrored (--rotation, --hflip, --vflip) shows
	 * which way (tests/integration/test_rotation.py looks for it). Drawn before the controls,
	 * like anything the camera would see; below about 200 pixels of width the text box covers
	 * it. */
	unsigned m = tp->marker;
	draw_fill(py->data, py->bytesperline, w, h, w - m, 0, m, m, MARKER_Y);
	draw_fill(pu->data, pu->bytesperline, cw, ch, (w - m) / 2, 0, m / 2, m / 2, MARKER_U);
	draw_fill(pv->data, pv->bytesperline, cw, ch, (w - m) / 2, 0, m / 2, m / 2, MARKER_V);

	if (tp->brightness)
		for (unsigned row = 0; row < h; row++) {
			uint8_t *y = py->data + row * py->bytesperline;
			for (unsigned x = 0; x < w; x++) {
				int v = y[x] + tp->brightness;
				y[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
		}
	if (tp->saturation != 100 || tp->gains[0] != 1.0 || tp->gains[1] != 1.0) {
		/* Cr (V) follows the red gain, Cb (U) the blue one, as ColourGains (red, blue) would
		 * push a camera's picture; in 1/1024 steps */
		int fu = (int)(tp->saturation * tp->gains[1] * 1024 / 100 + 0.5);
		int fv = (int)(tp->saturation * tp->gains[0] * 1024 / 100 + 0.5);
		for (unsigned row = 0; row < ch; row++) {
			uint8_t *u = pu->data + row * pu->bytesperline;
			uint8_t *v = pv->data + row * pv->bytesperline;
			for (unsigned x = 0; x < cw; x++) {
				int a = 128 + ((u[x] - 128) * fu) / 1024;
				int b = 128 + ((v[x] - 128) * fv) / 1024;
				u[x] = (uint8_t)(a < 0 ? 0 : a > 255 ? 255 : a);
				v[x] = (uint8_t)(b < 0 ? 0 : b > 255 ? 255 : b);
			}
		}
	}
	if (!tp->overlay)
		return;

	char lines[3][32];
	uint64_t sec = f->timestamp_us / USEC_PER_SEC;
	unsigned ms = (unsigned)(f->timestamp_us / 1000 % 1000);
	unsigned sec_of_day = (unsigned)(sec % 86400);
	snprintf(lines[0], sizeof(lines[0]), "mjpegd %ux%u", w, h);
	snprintf(lines[1], sizeof(lines[1]), "#%llu", (unsigned long long)f->sequence);
	snprintf(lines[2], sizeof(lines[2]), "%02u:%02u:%02u.%03u UTC", sec_of_day / 3600,
		 sec_of_day / 60 % 60, sec_of_day % 60, ms);

	unsigned s = tp->scale, pad = 2 * s, longest = 0;
	for (unsigned i = 0; i < 3; i++)
		if (strlen(lines[i]) > longest)
			longest = (unsigned)strlen(lines[i]);
	unsigned box_w = (longest * DRAW_CELL_W * s + 2 * pad + 1) & ~1u;
	unsigned box_h = (3 * DRAW_CELL_H * s + 2 * pad + 1) & ~1u;
	unsigned box_x = pad & ~1u, box_y = pad & ~1u;
	draw_fill(py->data, py->bytesperline, w, h, box_x, box_y, box_w, box_h, 0);
	draw_fill(pu->data, pu->bytesperline, cw, ch, box_x / 2, box_y / 2, box_w / 2, box_h / 2,
		   128);
	draw_fill(pv->data, pv->bytesperline, cw, ch, box_x / 2, box_y / 2, box_w / 2, box_h / 2,
		   128);
	for (unsigned i = 0; i < 3; i++)
		draw_text(py->data, py->bytesperline, w, h, box_x + pad, box_y + pad + i * DRAW_CELL_H * s, s,
			  lines[i], 255);
}

/* The full-size scene of the stream frame f: same tick, same time, same controls. Into the
 * frame not yet dequeued if there is one, else a free buffer; none free: dropped (counted in
 * the full scene's own stats, not the stream's). */
static void render_full(struct testpattern *tp, const struct raw_frame *f)
{
	struct testpattern *full = tp->full;
	if (!full)
		return;
	struct raw_frame *ff = tp->full_ready;
	for (unsigned i = 0; !ff && i < full->n_buffers; i++)
		if (!full->in_flight[i])
			ff = &full->frames[i];
	if (!ff) {
		full->src.stats.frames_dropped++;
		return;
	}
	full->brightness = tp->brightness;
	full->saturation = tp->saturation;
	full->overlay = tp->overlay;
	full->gains[0] = tp->gains[0];
	full->gains[1] = tp->gains[1];
	ff->sequence = f->sequence;
	ff->timestamp_us = f->timestamp_us;
	render(full, ff);
	full->in_flight[ff->index] = true;
	full->src.stats.frames_captured++;
	tp->full_ready = ff;
}

static int testpattern_fd(struct source *src)
{
	struct testpattern *tp = src->priv;
	return tp->timer.fd;
}

static struct pacing_timer *testpattern_pacer(struct source *src)
{
	struct testpattern *tp = src->priv;
	return &tp->timer;
}

static int testpattern_dequeue(struct source *src, struct raw_frame **out)
{
	struct testpattern *tp = src->priv;
	uint64_t expirations = 0;
	int r = pacing_timer_take(&tp->timer, &expirations);
	if (r < 0)
		return r;
	tp->ticks += expirations;
	/* The loop was late: those images were never produced, like a camera overrunning. */
	if (expirations > 1)
		src->stats.frames_dropped += expirations - 1;

	struct raw_frame *f = NULL;
	for (unsigned i = 0; i < tp->n_buffers; i++)
		if (!tp->in_flight[i]) {
			f = &tp->frames[i];
			break;
		}
	if (!f) {
		src->stats.frames_dropped++;
		tp->timer.taken = false; /* the caller stops here: read at the next readiness */
		return -EAGAIN;
	}

	f->sequence = tp->ticks;
	f->timestamp_us = now_wall_us();
	render(tp, f);
	tp->in_flight[f->index] = true;
	src->stats.frames_captured++;
	render_full(tp, f);
	*out = f;
	return 0;
}

static int testpattern_dequeue_full(struct source *src, struct raw_frame **out)
{
	struct testpattern *tp = src->priv;
	if (!tp->full || !tp->full_ready)
		return -EAGAIN;
	*out = tp->full_ready;
	tp->full_ready = NULL;
	return 0;
}

static void testpattern_release(struct source *src, struct raw_frame *f)
{
	struct testpattern *tp = src->priv;
	if (tp->full && f && f->index < tp->full->n_buffers && f == &tp->full->frames[f->index])
		tp = tp->full;
	if (MJPEGD_BUG(!f || f->index >= tp->n_buffers || f != &tp->frames[f->index],
		       "testpattern: released a frame it does not own"))
		return;
	if (MJPEGD_BUG(!tp->in_flight[f->index], "testpattern: frame %llu released twice", (unsigned long long)f->sequence))
		return;
	tp->in_flight[f->index] = false;
}

static void testpattern_destroy(struct source *src)
{
	struct testpattern *tp = src->priv;
	for (unsigned i = 0; i < tp->n_buffers; i++)
		if (tp->in_flight[i])
			log_err("testpattern: destroyed while frame %llu is still lent",
				(unsigned long long)tp->frames[i].sequence);
	if (tp->full) {
		if (tp->full_ready)
			tp->full->in_flight[tp->full_ready->index] = false; /* never lent out */
		testpattern_destroy(&tp->full->src);
	}
	pacing_timer_close(&tp->timer);
	free(tp->mem);
	free(tp->bars_y);
	free(tp->bars_u);
	free(tp->bars_v);
	free(tp->ramp_y);
	free(tp);
}

static int testpattern_controls(struct source *src, struct control_list *l)
{
	struct testpattern *tp = src->priv;
	l->n = TP_N_CONTROLS;
	l->desc[TP_BRIGHTNESS] = (struct control_desc){
		.name = "brightness", .id = TP_BRIGHTNESS, .type = CONTROL_INTEGER, .step = 1,
		.min = { .type = CONTROL_INTEGER, .i = -100 },
		.max = { .type = CONTROL_INTEGER, .i = 100 },
		.def = { .type = CONTROL_INTEGER, .i = 0 },
		.cur = { .type = CONTROL_INTEGER, .i = tp->brightness }, .has_current = true,
	};
	l->desc[TP_SATURATION] = (struct control_desc){
		.name = "saturation", .id = TP_SATURATION, .type = CONTROL_INTEGER, .step = 1,
		.min = { .type = CONTROL_INTEGER, .i = 0 },
		.max = { .type = CONTROL_INTEGER, .i = 200 },
		.def = { .type = CONTROL_INTEGER, .i = 100 },
		.cur = { .type = CONTROL_INTEGER, .i = tp->saturation }, .has_current = true,
	};
	l->desc[TP_OVERLAY] = (struct control_desc){
		.name = "overlay", .id = TP_OVERLAY, .type = CONTROL_BOOLEAN,
		.min = { .type = CONTROL_BOOLEAN, .b = false },
		.max = { .type = CONTROL_BOOLEAN, .b = true },
		.def = { .type = CONTROL_BOOLEAN, .b = true },
		.cur = { .type = CONTROL_BOOLEAN, .b = tp->overlay }, .has_current = true,
	};
	l->desc[TP_COLOUR_GAINS] = (struct control_desc){
		.name = "colour_gains", .id = TP_COLOUR_GAINS, .type = CONTROL_FLOATS, .count = 2,
		.min = { .type = CONTROL_FLOAT, .f = 0 },
		.max = { .type = CONTROL_FLOAT, .f = 4 },
		.def = { .type = CONTROL_FLOATS, .fs = { { 1, 1 }, 2 } },
		.cur = { .type = CONTROL_FLOATS, .fs = { { tp->gains[0], tp->gains[1] }, 2 } },
		.has_current = true,
	};
	return TP_N_CONTROLS;
}

static int testpattern_set_controls(struct source *src, const struct control_list *l,
				    const struct control_set *set, char *why, size_t whylen)
{
	struct testpattern *tp = src->priv;
	(void)why;
	(void)whylen;
	for (unsigned i = 0; i < set->n; i++) {
		const struct control_value *v = &set->item[i].value;
		switch (l->desc[set->item[i].index].id) {
		case TP_BRIGHTNESS:
			tp->brightness = (int)v->i;
			break;
		case TP_SATURATION:
			tp->saturation = (unsigned)v->i;
			break;
		case TP_OVERLAY:
			tp->overlay = v->b;
			break;
		case TP_COLOUR_GAINS:
			tp->gains[0] = v->fs.v[0];
			tp->gains[1] = v->fs.v[1];
			break;
		}
	}
	return 0;
}

static const struct source_ops testpattern_ops = {
	.name = "testpattern",
	.fd = testpattern_fd,
	.pacer = testpattern_pacer,
	.dequeue = testpattern_dequeue,
	.release = testpattern_release,
	.destroy = testpattern_destroy,
	.controls = testpattern_controls,
	.set_controls = testpattern_set_controls,
	.dequeue_full = testpattern_dequeue_full,
};

static void testpattern_precompute(struct testpattern *tp)
{
	unsigned w = tp->src.width, h = tp->src.height, cw = w / 2;
	for (unsigned x = 0; x < 2 * w; x++)
		tp->bars_y[x] = bar_y[(x % w) * 8 / w];
	for (unsigned x = 0; x < 2 * cw; x++) {
		tp->bars_u[x] = bar_u[(x % cw) * 8 / cw];
		tp->bars_v[x] = bar_v[(x % cw) * 8 / cw];
	}
	for (unsigned x = 0; x < w; x++)
		tp->ramp_y[x] = (uint8_t)(x * 255 / (w - 1));
	tp->bars_h = (h * 2 / 3) & ~1u;
	tp->marker = ((w < h ? w : h) / 8) & ~1u;
	if (tp->marker < 2)
		tp->marker = 2;

	/* Large enough that three lines of text fill a good part of the height, small enough that
	 * "HH:MM:SS.mmm UTC" (16 cells) fits the width. */
	unsigned s_h = h / 90, s_w = w / (DRAW_CELL_W * 18);
	tp->scale = s_h < s_w ? s_h : s_w;
	if (tp->scale < 1)
		tp->scale = 1;

	size_t y_size = (size_t)w * h, c_size = (size_t)cw * (h / 2);
	for (unsigned i = 0; i < tp->n_buffers; i++) {
		struct raw_frame *f = &tp->frames[i];
		uint8_t *base = tp->mem + i * tp->image_size;
		*f = (struct raw_frame){
			.fourcc = V4L2_PIX_FMT_YUV420,
			.width = w,
			.height = h,
			.n_planes = 3,
			.index = i,
		};
		f->planes[0] = (struct raw_plane){ base, w, y_size, -1, 0, 0 };
		f->planes[1] = (struct raw_plane){ base + y_size, cw, c_size, -1, 0, 0 };
		f->planes[2] = (struct raw_plane){ base + y_size + c_size, cw, c_size, -1, 0, 0 };
	}
}

/* One scene of w x h in n_buffers buffers (allocated and precomputed); no timer yet. */
static int testpattern_new(unsigned w, unsigned h, unsigned fps, unsigned n_buffers,
			   struct testpattern **out)
{
	struct testpattern *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return log_err_errno(-ENOMEM, "testpattern");
	tp->timer.fd = -1;
	tp->saturation = 100;
	tp->overlay = true;
	tp->gains[0] = tp->gains[1] = 1.0;
	tp->n_buffers = n_buffers;
	tp->src = (struct source){
		.ops = &testpattern_ops,
		.description = tp->description,
		.fourcc = V4L2_PIX_FMT_YUV420,
		.width = w,
		.height = h,
		.fps = fps,
		.priv = tp,
	};
	snprintf(tp->description, sizeof(tp->description), "testpattern %ux%u@%u", w, h, fps);
	/* Bars cross the image in 4 s, the block in 2 s: a second apart, snapshots differ clearly. */
	tp->scroll_period = 4 * fps;

	tp->image_size = (size_t)w * h + 2 * (size_t)(w / 2) * (h / 2);
	tp->mem = malloc(n_buffers * tp->image_size);
	tp->bars_y = malloc(2 * (size_t)w);
	tp->bars_u = malloc(w);
	tp->bars_v = malloc(w);
	tp->ramp_y = malloc(w);
	if (!tp->mem || !tp->bars_y || !tp->bars_u || !tp->bars_v || !tp->ramp_y) {
		log_err_errno(-ENOMEM, "testpattern: allocating %zu bytes of buffers",
			      n_buffers * tp->image_size);
		testpattern_destroy(&tp->src);
		return -ENOMEM;
	}
	testpattern_precompute(tp);
	*out = tp;
	return 0;
}

int source_testpattern_create(const struct source_params *p, struct source **out)
{
	if (p->width < TESTPATTERN_MIN_SIZE || p->width > TESTPATTERN_MAX_SIZE ||
	    p->height < TESTPATTERN_MIN_SIZE || p->height > TESTPATTERN_MAX_SIZE ||
	    p->width % 2 || p->height % 2 || p->fps < 1 || p->fps > TESTPATTERN_MAX_FPS) {
		return log_err_errno(-EINVAL, "testpattern: unsupported format %ux%u@%u (even "
					      "sizes %u..%u, fps 1..%u)", p->width, p->height,
					      p->fps, TESTPATTERN_MIN_SIZE, TESTPATTERN_MAX_SIZE,
					      TESTPATTERN_MAX_FPS);
	}
	bool full = p->full_width && (p->full_width != p->width || p->full_height != p->height);
	if (full && (p->full_width < p->width || p->full_height < p->height ||
		     p->full_width > TESTPATTERN_MAX_SIZE || p->full_height > TESTPATTERN_MAX_SIZE ||
		     p->full_width % 2 || p->full_height % 2 || p->full_buffers < 1 ||
		     p->full_buffers > TESTPATTERN_MAX_BUFFERS))
		return log_err_errno(-EINVAL, "testpattern: unsupported full size %ux%u x%u (even, "
					      "at least %ux%u, at most %ux%u, 1..%u buffers)",
				     p->full_width, p->full_height, p->full_buffers, p->width,
				     p->height, TESTPATTERN_MAX_SIZE, TESTPATTERN_MAX_SIZE,
				     TESTPATTERN_MAX_BUFFERS);
	struct testpattern *tp;
	int r = testpattern_new(p->width, p->height, p->fps, TESTPATTERN_BUFFERS, &tp);
	if (r < 0)
		return r;
	if (full) {
		r = testpattern_new(p->full_width, p->full_height, p->fps, p->full_buffers, &tp->full);
		if (r < 0) {
			testpattern_destroy(&tp->src);
			return r;
		}
		tp->src.full_width = p->full_width;
		tp->src.full_height = p->full_height;
		tp->src.full_bytes = p->full_buffers * tp->full->image_size;
		snprintf(tp->description, sizeof(tp->description), "testpattern %ux%u@%u + %ux%u",
			 p->width, p->height, p->fps, p->full_width, p->full_height);
	}
	r = pacing_timer_init(&tp->timer, p->fps);
	if (r < 0) {
		log_err_errno(r, "testpattern: timerfd");
		testpattern_destroy(&tp->src);
		return r;
	}
	*out = &tp->src;
	return 0;
}
