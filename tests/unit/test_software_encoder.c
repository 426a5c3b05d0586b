/* Software encoder: YUV420, NV12 and YUYV in, decodable JPEG out; queue limits; every raw frame given
 * back exactly once, also on errors and on destroy; YUYV's 4:2:0 JPEG decodes to the pixels the
 * old 4:2:2 path gave (luma exactly, chroma as their row-pair mean within JPEG's error). Also
 * prints encode times (not asserted). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/clock.h"
#include "mjpegd/encoder.h"
#include "mjpegd/encoder/yuyv.h"

#define MAX_RAW 8

/* A stand-in for a source: raw images plus how often each was given back. */
struct fake_source {
	struct raw_frame raw[MAX_RAW];
	uint8_t *mem[MAX_RAW];
	unsigned released[MAX_RAW];
	unsigned wrong_release;
};

static void release_raw(void *ctx, struct raw_frame *raw)
{
	struct fake_source *fs = ctx;
	if (raw < fs->raw || raw >= fs->raw + MAX_RAW) {
		fs->wrong_release++;
		return;
	}
	fs->released[raw - fs->raw]++;
}

static void fill_noise(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* I420 with padded strides (stride > width), as real drivers deliver it. */
static void make_yuv420(struct fake_source *fs, unsigned i, unsigned w, unsigned h, bool noise)
{
	size_t ys = w + 32, cs = ys / 2;
	size_t y_len = ys * h, c_len = cs * (h / 2);
	fs->mem[i] = malloc(y_len + 2 * c_len);
	assert_non_null(fs->mem[i]);
	uint8_t *m = fs->mem[i];
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < ys; x++)
			m[y * ys + x] = (uint8_t)(x + y);
	memset(m + y_len, 100, 2 * c_len);
	if (noise)
		fill_noise(m, y_len, i + 1);
	struct raw_frame *r = &fs->raw[i];
	*r = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_YUV420, .width = w, .height = h,
				 .n_planes = 3, .sequence = 100 + i, .timestamp_us = 5000 + i,
				 .index = i };
	r->planes[0] = (struct raw_plane){ m, ys, y_len, -1, 0, 0 };
	r->planes[1] = (struct raw_plane){ m + y_len, cs, c_len, -1, 0, 0 };
	r->planes[2] = (struct raw_plane){ m + y_len + c_len, cs, c_len, -1, 0, 0 };
}

static void make_yuyv(struct fake_source *fs, unsigned i, unsigned w, unsigned h)
{
	size_t stride = 2 * (size_t)w;
	fs->mem[i] = malloc(stride * h);
	assert_non_null(fs->mem[i]);
	uint8_t *m = fs->mem[i];
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w / 2; x++) {
			uint8_t *px = m + y * stride + 4 * x;
			px[0] = (uint8_t)(2 * x + y);
			px[1] = (uint8_t)(x * 4);
			px[2] = (uint8_t)(2 * x + 1 + y);
			px[3] = (uint8_t)(y * 2);
		}
	struct raw_frame *r = &fs->raw[i];
	*r = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_YUYV, .width = w, .height = h,
				 .n_planes = 1, .sequence = 100 + i, .timestamp_us = 5000 + i,
				 .index = i };
	r->planes[0] = (struct raw_plane){ m, stride, stride * h, -1, 0, 0 };
}

static void fake_source_free(struct fake_source *fs)
{
	for (unsigned i = 0; i < MAX_RAW; i++)
		free(fs->mem[i]);
}

static struct encoder *create(uint32_t fourcc, unsigned w, unsigned h, unsigned quality,
			      struct frame_pool *pool, struct fake_source *fs)
{
	struct encoder_params p = {
		.in_fourcc = fourcc, .width = w, .height = h, .quality = quality,
		.pool = pool, .release_raw = release_raw, .release_ctx = fs,
	};
	struct encoder *enc = NULL;
	assert_int_equal(encoder_software_create(&p, &enc), 0);
	assert_non_null(enc);
	assert_true(encoder_fd(enc) >= 0);
	return enc;
}

/* Waits on the eventfd as the loop would, then collects. */
static int collect_wait(struct encoder *enc, struct frame **out)
{
	for (int tries = 0; tries < 50; tries++) {
		int r = encoder_collect(enc, out);
		if (r != -EAGAIN)
			return r;
		struct pollfd pfd = { .fd = encoder_fd(enc), .events = POLLIN };
		assert_true(poll(&pfd, 1, 5000) > 0);
	}
	return -ETIMEDOUT;
}

static void check_jpeg(const struct frame *f, unsigned w, unsigned h, int subsamp)
{
	tjhandle tj = tjInitDecompress();
	assert_non_null(tj);
	int jw, jh, jsub, jcs;
	assert_int_equal(tjDecompressHeader3(tj, f->data, f->len, &jw, &jh, &jsub, &jcs), 0);
	assert_int_equal(jw, (int)w);
	assert_int_equal(jh, (int)h);
	assert_int_equal(jsub, subsamp);
	/* and the whole image decodes */
	uint8_t *rgb = malloc((size_t)w * h * 3);
	assert_non_null(rgb);
	assert_int_equal(tjDecompress2(tj, f->data, f->len, rgb, (int)w, 0, (int)h, TJPF_RGB, 0), 0);
	free(rgb);
	tjDestroy(tj);
}

static void test_yuv420(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	make_yuv420(&fs, 0, 320, 240, false);
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, 320, 240, 80, &pool, &fs);
	assert_non_null(enc->description);

	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	struct frame *f;
	assert_int_equal(collect_wait(enc, &f), 0);
	assert_int_equal(fs.released[0], 1);
	assert_ptr_equal(f->data, f->buf);
	assert_true(f->len > 100 && f->len <= f->cap);
	assert_int_equal(f->data[0], 0xFF);
	assert_int_equal(f->data[1], 0xD8);
	assert_int_equal(f->sequence, 100);
	assert_int_equal(f->timestamp_us, 5000);
	assert_int_equal(f->width, 320);
	assert_int_equal(f->height, 240);
	check_jpeg(f, 320, 240, TJSAMP_420);
	assert_int_equal(enc->stats.frames_encoded, 1);
	assert_int_equal(enc->stats.encode_errors, 0);
	assert_int_equal(enc->stats.bytes_copied, 0);
	assert_true(enc->stats.encode_ns > 0);

	struct frame *none;
	assert_int_equal(encoder_collect(enc, &none), -EAGAIN);
	frame_unref(f);
	encoder_destroy(enc);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(pool.in_use, 0);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

/* One contiguous I420 buffer described as a single plane also works. */
static void test_yuv420_single_plane(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	unsigned w = 64, h = 48;
	fs.mem[0] = malloc(w * h * 3 / 2);
	assert_non_null(fs.mem[0]);
	memset(fs.mem[0], 90, w * h * 3 / 2);
	fs.raw[0] = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_YUV420, .width = w, .height = h,
					.n_planes = 1 };
	fs.raw[0].planes[0] = (struct raw_plane){ fs.mem[0], w, w * h * 3 / 2, -1, 0, 0 };
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, w, h, 80, &pool, &fs);
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	struct frame *f;
	assert_int_equal(collect_wait(enc, &f), 0);
	check_jpeg(f, w, h, TJSAMP_420);
	frame_unref(f);
	encoder_destroy(enc);
	assert_int_equal(fs.released[0], 1);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

/* NV12 with a padded stride, as two planes or as one buffer (chroma rows after the luma rows):
 * luma a gradient, U and V each its own pattern (U rising with x, V with y), so a swapped or
 * shifted chroma plane shows. At quality 100 the JPEG's own planes come back within a few steps
 * of what went in. */
static void make_nv12(struct fake_source *fs, unsigned i, unsigned w, unsigned h, size_t stride,
		      bool one_plane)
{
	size_t y_len = stride * h, c_len = stride * (h / 2);
	fs->mem[i] = malloc(y_len + c_len);
	assert_non_null(fs->mem[i]);
	uint8_t *m = fs->mem[i];
	memset(m, 0xEE, y_len + c_len); /* the padding: never part of the picture */
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++)
			m[y * stride + x] = (uint8_t)(16 + (x + y) * 200 / (w + h));
	for (unsigned y = 0; y < h / 2; y++)
		for (unsigned x = 0; x < w / 2; x++) {
			m[y_len + y * stride + 2 * x] = (uint8_t)(40 + x * 160 / (w / 2));
			m[y_len + y * stride + 2 * x + 1] = (uint8_t)(200 - y * 150 / (h / 2));
		}
	struct raw_frame *r = &fs->raw[i];
	*r = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_NV12, .width = w, .height = h,
				 .n_planes = one_plane ? 1 : 2, .sequence = 100 + i, .index = i };
	if (one_plane) {
		r->planes[0] = (struct raw_plane){ m, stride, y_len + c_len, -1, 0, 0 };
	} else {
		r->planes[0] = (struct raw_plane){ m, stride, y_len, -1, 0, 0 };
		r->planes[1] = (struct raw_plane){ m + y_len, stride, c_len, -1, 0, 0 };
	}
}

static void decode_planes(const uint8_t *jpeg, unsigned long len, unsigned w, unsigned h,
			  int subsamp, uint8_t *planes[3]);

static void check_nv12_decodes(const struct frame *f, const struct raw_frame *raw)
{
	unsigned w = raw->width, h = raw->height;
	size_t stride = raw->planes[0].bytesperline;
	const uint8_t *yp = raw->planes[0].data;
	const uint8_t *uv = raw->n_planes == 2 ? raw->planes[1].data : yp + stride * h;
	uint8_t *planes[3];
	decode_planes(f->data, f->len, w, h, TJSAMP_420, planes);
	int worst[3] = { 0, 0, 0 };
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			int d = abs((int)planes[0][y * w + x] - (int)yp[y * stride + x]);
			worst[0] = d > worst[0] ? d : worst[0];
		}
	for (unsigned y = 0; y < h / 2; y++)
		for (unsigned x = 0; x < w / 2; x++)
			for (int c = 1; c < 3; c++) {
				int d = abs((int)planes[c][y * (w / 2) + x] -
					    (int)uv[y * stride + 2 * x + (unsigned)c - 1]);
				worst[c] = d > worst[c] ? d : worst[c];
			}
	print_message("NV12 %ux%u %s: largest difference Y %d, U %d, V %d\n", w, h,
		      raw->n_planes == 2 ? "two planes" : "one plane", worst[0], worst[1], worst[2]);
	for (int c = 0; c < 3; c++) {
		assert_true(worst[c] <= 4);
		free(planes[c]);
	}
}

static void test_nv12(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	unsigned w = 320, h = 240;
	make_nv12(&fs, 0, w, h, w + 64, false);
	make_nv12(&fs, 1, w, h, w + 32, true);
	struct encoder *enc = create(V4L2_PIX_FMT_NV12, w, h, 100, &pool, &fs);
	assert_non_null(strstr(enc->description, "from NV12"));
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(encoder_submit(enc, &fs.raw[i]), 0);
		struct frame *f;
		assert_int_equal(collect_wait(enc, &f), 0);
		assert_int_equal(fs.released[i], 1);
		assert_int_equal(f->width, w);
		assert_int_equal(f->height, h);
		check_jpeg(f, w, h, TJSAMP_420);
		check_nv12_decodes(f, &fs.raw[i]);
		frame_unref(f);
	}
	/* a frame of another format or size is refused, and stays the source's */
	struct raw_frame other = fs.raw[0];
	other.fourcc = V4L2_PIX_FMT_YUV420;
	assert_int_equal(encoder_submit(enc, &other), -EINVAL);
	/* no CPU mapping: an error for that frame, given back once */
	make_nv12(&fs, 2, w, h, w, false);
	free(fs.mem[2]);
	fs.mem[2] = NULL;
	fs.raw[2].planes[0].data = NULL;
	fs.raw[2].planes[1].data = NULL;
	assert_int_equal(encoder_submit(enc, &fs.raw[2]), 0);
	struct frame *f;
	assert_int_equal(collect_wait(enc, &f), -EINVAL);
	assert_int_equal(fs.released[2], 1);
	assert_int_equal(enc->stats.encode_errors, 1);
	assert_int_equal(enc->stats.frames_encoded, 2);
	encoder_destroy(enc);
	assert_int_equal(pool.in_use, 0);
	assert_int_equal(fs.wrong_release, 0);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static void test_yuyv(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	make_yuyv(&fs, 0, 320, 240);
	make_yuyv(&fs, 1, 320, 240);
	struct encoder *enc = create(V4L2_PIX_FMT_YUYV, 320, 240, 80, &pool, &fs);
	assert_non_null(strstr(enc->description, "4:2:0 from YUYV"));

	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(encoder_submit(enc, &fs.raw[i]), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct frame *f;
		assert_int_equal(collect_wait(enc, &f), 0);
		assert_int_equal(f->sequence, 100 + i); /* in submission order */
		check_jpeg(f, 320, 240, TJSAMP_420);
		frame_unref(f);
	}
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(fs.released[1], 1);

	/* a YUV420 frame into a YUYV encoder is refused and stays the caller's */
	make_yuv420(&fs, 2, 320, 240, false);
	assert_int_equal(encoder_submit(enc, &fs.raw[2]), -EINVAL);
	assert_int_equal(fs.released[2], 0);
	encoder_destroy(enc);
	assert_int_equal(fs.wrong_release, 0);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

/* A YUYV frame with smooth colour and a textured luma, rows padded (bytesperline > 2w). */
static void make_yuyv_smooth(struct fake_source *fs, unsigned i, unsigned w, unsigned h)
{
	size_t stride = 2 * (size_t)w + 40;
	fs->mem[i] = calloc(stride, h);
	assert_non_null(fs->mem[i]);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w / 2; x++) {
			uint8_t *px = fs->mem[i] + y * stride + 4 * x;
			px[0] = (uint8_t)(16 + (2 * x + y) % 200 + ((x / 3 + y / 5) % 2) * 30);
			px[1] = (uint8_t)(64 + x * 128 / (w / 2));
			px[2] = (uint8_t)(16 + (2 * x + 1 + y) % 200);
			px[3] = (uint8_t)(200 - y * 128 / h);
		}
	fs->raw[i] = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_YUYV, .width = w, .height = h,
					 .n_planes = 1, .sequence = 100 + i, .index = i };
	fs->raw[i].planes[0] = (struct raw_plane){ fs->mem[i], stride, stride * h, -1, 0, 0 };
}

/* Decodes a JPEG to its own planes (no colour conversion, no chroma up-sampling). */
static void decode_planes(const uint8_t *jpeg, unsigned long len, unsigned w, unsigned h,
			  int subsamp, uint8_t *planes[3])
{
	tjhandle tj = tjInitDecompress();
	assert_non_null(tj);
	int strides[3];
	for (int c = 0; c < 3; c++) {
		strides[c] = tjPlaneWidth(c, (int)w, subsamp);
		planes[c] = malloc((size_t)strides[c] * (size_t)tjPlaneHeight(c, (int)h, subsamp));
		assert_non_null(planes[c]);
	}
	assert_int_equal(tjDecompressToYUVPlanes(tj, jpeg, len, planes, (int)w, strides, (int)h, 0),
			 0);
	tjDestroy(tj);
}

/* The JPEG the daemon made from YUYV before src/encoder/yuyv.c: planar 4:2:2, q80. */
static unsigned char *encode_old_422(const struct raw_frame *raw, unsigned long *len)
{
	unsigned w = raw->width, h = raw->height;
	uint8_t *scratch = malloc(2 * (size_t)w * h);
	assert_non_null(scratch);
	uint8_t *u = scratch + (size_t)w * h, *v = u + (size_t)(w / 2) * h;
	yuyv_to_planar422_scalar(raw->planes[0].data, raw->planes[0].bytesperline, w, h, scratch,
				 u, v);
	const unsigned char *planes[3] = { scratch, u, v };
	int strides[3] = { (int)w, (int)(w / 2), (int)(w / 2) };
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	unsigned char *out = NULL;
	*len = 0;
	assert_int_equal(tjCompressFromYUVPlanes(tj, planes, (int)w, strides, (int)h, TJSAMP_422,
						 &out, len, 80, 0),
			 0);
	tjDestroy(tj);
	free(scratch);
	return out;
}

/* The new 4:2:0 JPEG against the old 4:2:2 one, both decoded: luma is the same JPEG of the same
 * plane (8x8 blocks on the same grid, the same table), so the same bytes; each chroma sample is
 * within JPEG's error of the mean of the two old rows it replaces. */
static void test_yuyv_decodes_like_old_422(void **state)
{
	(void)state;
	const unsigned w = 328, h = 248; /* not multiples of the 32-pixel step or of 16 rows */
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	make_yuyv_smooth(&fs, 0, w, h);
	struct encoder *enc = create(V4L2_PIX_FMT_YUYV, w, h, 80, &pool, &fs);
	struct frame *f;
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(collect_wait(enc, &f), 0);
	check_jpeg(f, w, h, TJSAMP_420);

	unsigned long old_len;
	unsigned char *old = encode_old_422(&fs.raw[0], &old_len);
	uint8_t *n[3], *o[3];
	decode_planes(f->data, f->len, w, h, TJSAMP_420, n);
	decode_planes(old, old_len, w, h, TJSAMP_422, o);
	assert_memory_equal(n[0], o[0], (size_t)w * h);

	unsigned cw = w / 2, worst = 0;
	uint64_t sum = 0;
	for (int c = 1; c < 3; c++)
		for (unsigned y = 0; y < h / 2; y++)
			for (unsigned x = 0; x < cw; x++) {
				int ref = (o[c][2 * y * cw + x] + o[c][(2 * y + 1) * cw + x] + 1) / 2;
				unsigned d = (unsigned)abs(n[c][y * cw + x] - ref);
				sum += d;
				if (d > worst)
					worst = d;
			}
	double mean = (double)sum / (2.0 * cw * (h / 2));
	printf("YUYV 4:2:0 vs the old 4:2:2, decoded: luma identical, chroma |diff| mean %.2f, "
	       "max %u; %u vs %lu bytes\n",
	       mean, worst, (unsigned)f->len, old_len);
	assert_true(mean < 1.0);
	assert_true(worst <= 6);
	assert_true(f->len < old_len);
	for (int c = 0; c < 3; c++) {
		free(n[c]);
		free(o[c]);
	}
	tjFree(old);
	frame_unref(f);
	encoder_destroy(enc);
	assert_int_equal(fs.released[0], 1);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static size_t encode_one(struct encoder *enc, struct raw_frame *raw)
{
	struct frame *f;
	assert_int_equal(encoder_submit(enc, raw), 0);
	assert_int_equal(collect_wait(enc, &f), 0);
	size_t len = f->len;
	frame_unref(f);
	return len;
}

static void test_quality_change(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	make_yuv420(&fs, 0, 320, 240, true);
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, 320, 240, 20, &pool, &fs);

	size_t low = encode_one(enc, &fs.raw[0]);
	assert_int_equal(enc->ops->set_quality(enc, 95), 0);
	size_t high = encode_one(enc, &fs.raw[0]);
	assert_true(high > low + low / 2);
	assert_int_equal(enc->ops->set_quality(enc, 0), -EINVAL);
	assert_int_equal(enc->ops->set_quality(enc, 101), -EINVAL);
	assert_int_equal(encode_one(enc, &fs.raw[0]), high); /* unchanged by the refused values */
	assert_int_equal(fs.released[0], 3);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static void test_enobufs_when_pool_empty(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 1), 0);
	make_yuv420(&fs, 0, 64, 48, false);
	make_yuv420(&fs, 1, 64, 48, false);
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, 64, 48, 80, &pool, &fs);

	struct frame *held = frame_pool_acquire(&pool); /* a client holds the only frame */
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), -ENOBUFS);
	assert_int_equal(fs.released[0], 0); /* refused: still the caller's */
	frame_unref(held);

	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), -ENOBUFS); /* slot free, no frame */
	struct frame *f;
	assert_int_equal(collect_wait(enc, &f), 0);
	frame_unref(f);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(fs.released[1], 0);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static void test_ebusy_when_queue_full(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 8), 0);
	for (unsigned i = 0; i < 4; i++)
		make_yuv420(&fs, i, 64, 48, false);
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, 64, 48, 80, &pool, &fs);

	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), 0);
	assert_int_equal(encoder_submit(enc, &fs.raw[2]), -EBUSY);
	assert_int_equal(pool.in_use, 2); /* the refused submit took no frame */

	struct frame *f;
	assert_int_equal(collect_wait(enc, &f), 0);
	frame_unref(f);
	assert_int_equal(encoder_submit(enc, &fs.raw[2]), 0); /* a slot came free */
	assert_int_equal(encoder_submit(enc, &fs.raw[3]), -EBUSY);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(collect_wait(enc, &f), 0);
		frame_unref(f);
	}
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(fs.released[1], 1);
	assert_int_equal(fs.released[2], 1);
	assert_int_equal(fs.released[3], 0);
	assert_int_equal(enc->stats.frames_encoded, 3);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

/* A raw frame without a CPU mapping cannot be encoded: -EIO from collect, raw given back. */
static void test_encode_error(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	make_yuv420(&fs, 0, 64, 48, false);
	make_yuv420(&fs, 1, 64, 48, false);
	struct raw_frame broken = fs.raw[0];
	fs.raw[0].planes[0].data = NULL;
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, 64, 48, 80, &pool, &fs);

	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	struct frame *f;
	assert_int_equal(collect_wait(enc, &f), -EIO);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(enc->stats.encode_errors, 1);
	assert_int_equal(enc->stats.frames_encoded, 0);
	assert_int_equal(pool.in_use, 0);

	/* the encoder keeps working */
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), 0);
	assert_int_equal(collect_wait(enc, &f), 0);
	frame_unref(f);
	assert_int_equal(fs.released[1], 1);
	encoder_destroy(enc);
	(void)broken;
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static void test_destroy_with_frames_in_flight(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	for (unsigned i = 0; i < 4; i++)
		make_yuv420(&fs, i, 640, 480, true);

	/* right after submit (pending or being encoded) */
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, 640, 480, 80, &pool, &fs);
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), 0);
	encoder_destroy(enc);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(fs.released[1], 1);
	assert_int_equal(pool.in_use, 0);

	/* finished but never collected */
	enc = create(V4L2_PIX_FMT_YUV420, 640, 480, 80, &pool, &fs);
	assert_int_equal(encoder_submit(enc, &fs.raw[2]), 0);
	assert_int_equal(encoder_submit(enc, &fs.raw[3]), 0);
	struct pollfd pfd = { .fd = encoder_fd(enc), .events = POLLIN };
	assert_true(poll(&pfd, 1, 5000) > 0);
	encoder_destroy(enc);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fs.released[i], 1);
	assert_int_equal(pool.in_use, 0);
	assert_int_equal(fs.wrong_release, 0);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static void test_create_rejects_bad_params(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 1), 0);
	struct encoder_params p = { .in_fourcc = V4L2_PIX_FMT_MJPEG, .width = 64, .height = 48,
				    .quality = 80, .pool = &pool, .release_raw = release_raw,
				    .release_ctx = &fs };
	struct encoder *enc = NULL;
	assert_int_equal(encoder_software_create(&p, &enc), -EINVAL);
	p.in_fourcc = V4L2_PIX_FMT_YUV420;
	p.quality = 0;
	assert_int_equal(encoder_software_create(&p, &enc), -EINVAL);
	p.quality = 80;
	p.width = 63;
	assert_int_equal(encoder_software_create(&p, &enc), -EINVAL);
	p.width = 64;
	p.pool = NULL;
	assert_int_equal(encoder_software_create(&p, &enc), -EINVAL);
	assert_null(enc);
	frame_pool_destroy(&pool);
}

/* Packed RGB (stride padded): red left half, green right half, in memory order R,G,B. */
static void make_rgb(struct fake_source *fs, unsigned i, uint32_t fourcc, unsigned w, unsigned h)
{
	size_t stride = 3 * (size_t)w + 16;
	fs->mem[i] = calloc(stride, h);
	assert_non_null(fs->mem[i]);
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++)
			fs->mem[i][y * stride + 3 * x + (x < w / 2 ? 0 : 1)] = 255;
	fs->raw[i] = (struct raw_frame){ .fourcc = fourcc, .width = w, .height = h, .n_planes = 1,
					 .sequence = 100 + i, .index = i };
	fs->raw[i].planes[0] = (struct raw_plane){ fs->mem[i], stride, stride * h, -1, 0, 0 };
}

/* Decoded colour of pixel (x, y), as R, G, B. */
static void decoded_pixel(const struct frame *f, unsigned w, unsigned h, unsigned x, unsigned y,
			  uint8_t rgb_out[3])
{
	tjhandle tj = tjInitDecompress();
	assert_non_null(tj);
	uint8_t *rgb = malloc((size_t)w * h * 3);
	assert_non_null(rgb);
	assert_int_equal(tjDecompress2(tj, f->data, f->len, rgb, (int)w, 0, (int)h, TJPF_RGB, 0), 0);
	memcpy(rgb_out, rgb + ((size_t)y * w + x) * 3, 3);
	free(rgb);
	tjDestroy(tj);
}

/* RGB24 and BGR24 (vimc's only formats under libcamera): 4:2:0 JPEG with the channels in the
 * right order; a frame without a CPU mapping fails cleanly. */
static void test_rgb24_bgr24(void **state)
{
	(void)state;
	const unsigned w = 64, h = 48;
	const uint32_t fourccs[2] = { V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
	for (unsigned k = 0; k < 2; k++) {
		struct frame_pool pool;
		struct fake_source fs = { 0 };
		assert_int_equal(frame_pool_init(&pool, 2), 0);
		make_rgb(&fs, 0, fourccs[k], w, h);
		struct encoder *enc = create(fourccs[k], w, h, 90, &pool, &fs);
		assert_non_null(strstr(enc->description, "RGB"));
		struct frame *f;
		assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
		assert_int_equal(collect_wait(enc, &f), 0);
		check_jpeg(f, w, h, TJSAMP_420);
		uint8_t left[3], right[3];
		decoded_pixel(f, w, h, 8, h / 2, left);
		decoded_pixel(f, w, h, w - 8, h / 2, right);
		/* first byte 255 on the left: red as RGB24, blue as BGR24; green either way */
		unsigned hot = k == 0 ? 0 : 2;
		assert_true(left[hot] > 200 && left[1] < 60 && left[2 - hot] < 60);
		assert_true(right[1] > 200 && right[0] < 60 && right[2] < 60);
		frame_unref(f);

		fs.raw[0].planes[0].data = NULL; /* dmabuf only: not for this encoder */
		assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
		assert_int_equal(collect_wait(enc, &f), -EIO);
		assert_int_equal(fs.released[0], 2);
		encoder_destroy(enc);
		assert_int_equal(pool.in_use, 0);
		frame_pool_destroy(&pool);
		fake_source_free(&fs);
	}
}

/* Measurement for the report, not a test: CPU time per frame at q80 on this machine. */
static void measure(unsigned w, unsigned h, bool noise)
{
	struct frame_pool pool;
	struct fake_source fs = { 0 };
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	make_yuv420(&fs, 0, w, h, noise);
	struct encoder *enc = create(V4L2_PIX_FMT_YUV420, w, h, 80, &pool, &fs);
	const int n = 100;
	size_t bytes = 0;
	encode_one(enc, &fs.raw[0]); /* warm-up: page faults of the first frame buffer */
	uint64_t ns0 = enc->stats.encode_ns, t0 = now_mono_ns();
	for (int i = 0; i < n; i++)
		bytes += encode_one(enc, &fs.raw[0]);
	uint64_t wall = now_mono_ns() - t0, cpu = enc->stats.encode_ns - ns0;
	printf("software encode %ux%u YUV420 q80 (%s): %.2f ms CPU/frame, %.2f ms wall/frame, "
	       "%zu bytes\n",
	       w, h, noise ? "noise" : "gradient", (double)cpu / n / 1e6, (double)wall / n / 1e6,
	       bytes / n);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);
	fake_source_free(&fs);
}

static void test_measure_encode_time(void **state)
{
	(void)state;
	measure(640, 480, false);
	measure(1280, 720, false);
	measure(640, 480, true);
	measure(1280, 720, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yuv420),
		cmocka_unit_test(test_yuv420_single_plane),
		cmocka_unit_test(test_nv12),
		cmocka_unit_test(test_yuyv),
		cmocka_unit_test(test_yuyv_decodes_like_old_422),
		cmocka_unit_test(test_rgb24_bgr24),
		cmocka_unit_test(test_quality_change),
		cmocka_unit_test(test_enobufs_when_pool_empty),
		cmocka_unit_test(test_ebusy_when_queue_full),
		cmocka_unit_test(test_encode_error),
		cmocka_unit_test(test_destroy_with_frames_in_flight),
		cmocka_unit_test(test_create_rejects_bad_params),
		cmocka_unit_test(test_measure_encode_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
