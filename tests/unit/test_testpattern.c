/* Test pattern source: format, strides, motion between frames, drops when buffers run out. */
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

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/source.h"

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, timeout_ms);
}

/* Waits for the next tick and dequeues; returns dequeue's result. */
/* One readiness as the pipeline handles it: dequeue until -EAGAIN. The timerfd is read once
 * per readiness: after a frame, the next call says -EAGAIN without reading it (and without
 * counting a drop). */
static int next_frame(struct source *src, struct raw_frame **out)
{
	for (int tries = 0; tries < 100; tries++) {
		assert_true(wait_readable(source_fd(src), 2000) > 0);
		int r = source_dequeue(src, out);
		if (r == 0) {
			uint64_t dropped = src->stats.frames_dropped;
			struct raw_frame *more;
			assert_int_equal(source_dequeue(src, &more), -EAGAIN);
			assert_int_equal(src->stats.frames_dropped, dropped);
			return 0;
		}
		if (r != -EAGAIN)
			return r;
		if (src->stats.frames_dropped > 0)
			return r; /* a real drop, not a spurious wake-up */
	}
	return -ETIMEDOUT;
}

static struct source *create(unsigned w, unsigned h, unsigned fps)
{
	struct source_params p = { .width = w, .height = h, .fps = fps };
	struct source *src = NULL;
	assert_int_equal(source_testpattern_create(&p, &src), 0);
	assert_non_null(src);
	return src;
}

static void test_format_and_strides(void **state)
{
	(void)state;
	struct source *src = create(640, 480, 100);
	assert_int_equal(src->fourcc, V4L2_PIX_FMT_YUV420);
	assert_int_equal(src->width, 640);
	assert_int_equal(src->height, 480);
	assert_int_equal(src->fps, 100);
	assert_non_null(src->description);
	assert_true(source_fd(src) >= 0);

	struct raw_frame *f;
	uint64_t before = now_wall_us();
	assert_int_equal(next_frame(src, &f), 0);
	assert_int_equal(f->fourcc, V4L2_PIX_FMT_YUV420);
	assert_int_equal(f->width, 640);
	assert_int_equal(f->height, 480);
	assert_int_equal(f->n_planes, 3);
	assert_int_equal(f->planes[0].bytesperline, 640);
	assert_int_equal(f->planes[0].length, 640 * 480);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(f->planes[i].bytesperline, 320);
		assert_int_equal(f->planes[i].length, 320 * 240);
	}
	for (int i = 0; i < 3; i++) {
		assert_non_null(f->planes[i].data);
		assert_int_equal(f->planes[i].dmabuf_fd, -1);
	}
	/* I420 order, contiguous: Y, then U, then V */
	assert_ptr_equal(f->planes[1].data, f->planes[0].data + 640 * 480);
	assert_ptr_equal(f->planes[2].data, f->planes[1].data + 320 * 240);
	assert_true(f->sequence >= 1);
	assert_true(f->timestamp_us >= before && f->timestamp_us <= now_wall_us());
	assert_int_equal(src->stats.frames_captured, 1);

	source_release(src, f);
	source_destroy(src);
}

static size_t count_differences(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += a[i] != b[i];
	return d;
}

static void test_pattern_moves(void **state)
{
	(void)state;
	struct source *src = create(320, 240, 100);
	size_t y_size = 320 * 240;
	uint8_t *first = malloc(y_size), *first_u = malloc(y_size / 4);
	assert_non_null(first);
	assert_non_null(first_u);

	struct raw_frame *f;
	assert_int_equal(next_frame(src, &f), 0);
	uint64_t seq = f->sequence;
	memcpy(first, f->planes[0].data, y_size);
	memcpy(first_u, f->planes[1].data, y_size / 4);
	source_release(src, f);

	/* one frame later: the overlay at least changes */
	assert_int_equal(next_frame(src, &f), 0);
	assert_true(f->sequence > seq);
	assert_true(count_differences(first, f->planes[0].data, y_size) > 0);
	source_release(src, f);

	/* 25 frames (1/4 s at 100 fps) later the bars have visibly scrolled: a large share of
	 * the picture differs, chroma included */
	while (f->sequence < seq + 25) {
		assert_int_equal(next_frame(src, &f), 0);
		source_release(src, f);
	}
	assert_true(count_differences(first, f->planes[0].data, y_size) > y_size / 10);
	assert_true(count_differences(first_u, f->planes[1].data, y_size / 4) > y_size / 40);

	free(first);
	free(first_u);
	source_destroy(src);
}

/* The orange corner marker is in the top-right corner and in no other corner, whatever the
 * bars' phase: rotation tests find which way a picture was turned by it. (Below about 200 pixels
 * of width the text box reaches the right edge and covers it.) */
/* --snapshot-size: a second stream of the same scene at the full size, one frame per stream
 * frame (same sequence and time), in --snapshot-buffers buffers; the newest not dequeued yet is
 * rendered again in place, so a slow taker never exhausts them. */
static void test_full_size_stream(void **state)
{
	(void)state;
	struct source_params p = { .width = 320, .height = 240, .fps = 200, .full_width = 1280,
				   .full_height = 720, .full_buffers = 2 };
	struct source *src = NULL;
	assert_int_equal(source_testpattern_create(&p, &src), 0);
	assert_int_equal(src->width, 320);
	assert_int_equal(src->full_width, 1280);
	assert_int_equal(src->full_height, 720);
	assert_int_equal(src->full_bytes, 2 * (1280 * 720 * 3 / 2));
	struct raw_frame *f, *ff, *kept[2];
	assert_int_equal(source_dequeue_full(src, &ff), -EAGAIN); /* before any tick */
	for (int k = 0; k < 2; k++) {
		assert_int_equal(next_frame(src, &f), 0);
		assert_int_equal(source_dequeue_full(src, &kept[k]), 0);
		assert_int_equal(source_dequeue_full(src, &ff), -EAGAIN); /* one per tick */
		assert_int_equal(kept[k]->width, 1280);
		assert_int_equal(kept[k]->height, 720);
		assert_int_equal(kept[k]->planes[0].bytesperline, 1280);
		assert_int_equal(kept[k]->sequence, f->sequence);
		assert_int_equal(kept[k]->timestamp_us, f->timestamp_us);
		/* the same scene: the corner marker's orange in the top-right corner of both */
		assert_int_equal(f->planes[0].data[319], 151);
		assert_int_equal(kept[k]->planes[0].data[1279], 151);
		source_release(src, f);
	}
	/* both full-size buffers lent: ticks go on, the stream is not disturbed, none is given */
	assert_int_equal(next_frame(src, &f), 0);
	source_release(src, f);
	assert_int_equal(source_dequeue_full(src, &ff), -EAGAIN);
	source_release(src, kept[0]);
	struct raw_frame *f2;
	assert_int_equal(next_frame(src, &f), 0);  /* into the buffer given back */
	assert_int_equal(next_frame(src, &f2), 0); /* not taken yet: rendered again in place */
	assert_int_equal(source_dequeue_full(src, &ff), 0);
	assert_int_equal(ff->sequence, f2->sequence);
	assert_int_equal(source_dequeue_full(src, &kept[0]), -EAGAIN);
	source_release(src, ff);
	source_release(src, f);
	source_release(src, f2);
	source_release(src, kept[1]);
	source_destroy(src);

	/* the full size is the stream's: no second stream */
	p.full_width = 320;
	p.full_height = 240;
	assert_int_equal(source_testpattern_create(&p, &src), 0);
	assert_int_equal(src->full_width, 0);
	assert_int_equal(source_dequeue_full(src, &ff), -EAGAIN);
	source_destroy(src);
	/* smaller than the stream, odd: refused */
	p.full_width = 160;
	assert_int_equal(source_testpattern_create(&p, &src), -EINVAL);
	p.full_width = 1281;
	assert_int_equal(source_testpattern_create(&p, &src), -EINVAL);
}

static void test_corner_marker(void **state)
{
	(void)state;
	static const unsigned sizes[][2] = { { 320, 240 }, { 240, 320 }, { 1280, 720 } };
	for (unsigned i = 0; i < 3; i++) {
		unsigned w = sizes[i][0], h = sizes[i][1], m = ((w < h ? w : h) / 8) & ~1u;
		struct source *src = create(w, h, 200);
		for (int k = 0; k < 20; k++) {
			struct raw_frame *f;
			assert_int_equal(next_frame(src, &f), 0);
			const struct raw_plane *y = &f->planes[0], *u = &f->planes[1], *v = &f->planes[2];
			/* (x, y) in luma pixels: is it the marker's colour? */
#define ORANGE(px, py) (y->data[(py) * y->bytesperline + (px)] == 151 &&               \
			u->data[(py) / 2 * u->bytesperline + (px) / 2] == 43 &&               \
			v->data[(py) / 2 * v->bytesperline + (px) / 2] == 202)
			assert_true(ORANGE(w - 1, 0));
			assert_true(ORANGE(w - m, m - 1));
			assert_false(ORANGE(w - m - 2, 0));
			assert_false(ORANGE(w - 1, m + 1));
			assert_false(ORANGE(0, 0));
			assert_false(ORANGE(1, 1));
			assert_false(ORANGE(0, h - 1));
			assert_false(ORANGE(w - 1, h - 1));
#undef ORANGE
			source_release(src, f);
		}
		source_destroy(src);
	}
}

static void test_sequence_increases(void **state)
{
	(void)state;
	struct source *src = create(64, 48, 200);
	uint64_t last = 0;
	for (int i = 0; i < 10; i++) {
		struct raw_frame *f;
		assert_int_equal(next_frame(src, &f), 0);
		assert_true(f->sequence > last);
		last = f->sequence;
		source_release(src, f);
	}
	assert_int_equal(src->stats.frames_captured, 10);
	source_destroy(src);
}

static void test_drops_when_buffers_exhausted(void **state)
{
	(void)state;
	struct source *src = create(64, 48, 200);
	struct raw_frame *held[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(next_frame(src, &held[i]), 0);
	assert_true(held[0] != held[1] && held[1] != held[2] && held[0] != held[2]);
	uint64_t dropped = src->stats.frames_dropped;

	struct raw_frame *f;
	assert_int_equal(next_frame(src, &f), -EAGAIN);
	assert_true(src->stats.frames_dropped > dropped);
	assert_int_equal(src->stats.frames_captured, 3);

	source_release(src, held[1]);
	assert_int_equal(next_frame(src, &f), 0);
	assert_ptr_equal(f, held[1]); /* the only free buffer */
	source_release(src, f);
	mjpegd_bug_abort(false); /* a bug (MJPEGD_BUG): what the release build does */
	source_release(src, f); /* double release: logged, ignored */
	mjpegd_bug_abort(true);
	source_release(src, held[0]);
	source_release(src, held[2]);
	assert_int_equal(next_frame(src, &f), 0);
	source_release(src, f);
	source_destroy(src);
}

static void test_rejects_bad_sizes(void **state)
{
	(void)state;
	static const struct source_params bad[] = {
		{ .width = 15, .height = 480, .fps = 30 },   { .width = 640, .height = 8, .fps = 30 },
		{ .width = 641, .height = 480, .fps = 30 },  { .width = 640, .height = 481, .fps = 30 },
		{ .width = 4098, .height = 480, .fps = 30 }, { .width = 640, .height = 4098, .fps = 30 },
		{ .width = 640, .height = 480, .fps = 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct source *src = NULL;
		assert_int_equal(source_testpattern_create(&bad[i], &src), -EINVAL);
		assert_null(src);
	}
}

/* Extreme aspect ratios and the size bounds: text and the block are clipped (ASan watches). */
static void test_extreme_sizes(void **state)
{
	(void)state;
	static const unsigned sizes[][2] = { { 16, 16 }, { 4096, 16 }, { 16, 4096 }, { 18, 34 } };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct source *src = create(sizes[i][0], sizes[i][1], 500);
		struct raw_frame *f;
		for (int k = 0; k < 3; k++) {
			assert_int_equal(next_frame(src, &f), 0);
			assert_int_equal(f->width, sizes[i][0]);
			assert_int_equal(f->height, sizes[i][1]);
			source_release(src, f);
		}
		source_destroy(src);
	}
}

/* Not an assertion (machines differ): prints the render time at 1280x720. */
static void test_render_time_720p(void **state)
{
	(void)state;
	struct source *src = create(1280, 720, 1000);
	uint64_t total = 0;
	int n = 0;
	while (n < 50) {
		struct raw_frame *f;
		assert_true(wait_readable(source_fd(src), 2000) > 0);
		uint64_t t0 = now_mono_ns();
		int r = source_dequeue(src, &f);
		uint64_t t1 = now_mono_ns();
		if (r == -EAGAIN)
			continue;
		assert_int_equal(r, 0);
		total += t1 - t0;
		n++;
		source_release(src, f);
	}
	printf("testpattern 1280x720: %.3f ms per frame (render + timer read)\n",
	       (double)total / n / 1e6);
	source_destroy(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_strides),
		cmocka_unit_test(test_pattern_moves),
		cmocka_unit_test(test_corner_marker),
		cmocka_unit_test(test_sequence_increases),
		cmocka_unit_test(test_drops_when_buffers_exhausted),
		cmocka_unit_test(test_rejects_bad_sizes),
		cmocka_unit_test(test_extreme_sizes),
		cmocka_unit_test(test_render_time_720p),
		cmocka_unit_test(test_full_size_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
