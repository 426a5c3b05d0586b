/* src/encoder/yuyv_jpeg.c: YUYV encoded 16 rows at a time through libjpeg's raw-data API against
 * the path it replaced (yuyv_to_planar420 into whole planes, then tjCompressFromYUVPlanes): the
 * decoded pixels agree (mean absolute difference < 0.5 per sample; with the same libjpeg-turbo
 * they are the same bytes), the SOF gives the frame's size and 4:2:0 sampling; sizes that are not
 * whole MCUs, a padded source stride, an output buffer too small (grown), bad arguments, libjpeg's
 * own error (through its error_exit) leaving the encoder usable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/encoder/yuyv.h"
#include "mjpegd/encoder/yuyv_jpeg.h"

/* A smooth picture with noise on top: something the DCT has work with. */
static uint8_t *make_frame(unsigned w, unsigned h, size_t stride, unsigned seed)
{
	uint8_t *m = malloc(stride * h);
	assert_non_null(m);
	memset(m, 0xee, stride * h); /* the stride's padding: must not show */
	for (unsigned y = 0; y < h; y++)
		for (unsigned x = 0; x < w; x++) {
			seed = seed * 1103515245u + 12345u;
			uint8_t noise = (uint8_t)((seed >> 16) & 15);
			uint8_t *p = m + y * stride + 2 * (size_t)x;
			p[0] = (uint8_t)(16 + (x * 200) / w + noise);
			p[1] = (uint8_t)((x & 1) ? 128 + (y * 100) / h : 60 + (x * 120) / w + noise);
		}
	return m;
}

/* The old path: whole planes, TurboJPEG. */
static unsigned char *encode_old(const uint8_t *src, size_t stride, unsigned w, unsigned h,
				 int quality, unsigned long *len)
{
	uint8_t *planes = malloc((size_t)w * h * 3 / 2);
	assert_non_null(planes);
	uint8_t *y = planes, *u = y + (size_t)w * h, *v = u + (size_t)w / 2 * (h / 2);
	yuyv_to_planar420(src, stride, w, h, y, u, v);
	const unsigned char *p[3] = { y, u, v };
	int strides[3] = { (int)w, (int)w / 2, (int)w / 2 };
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	unsigned char *out = NULL;
	*len = 0;
	assert_int_equal(tjCompressFromYUVPlanes(tj, p, (int)w, strides, (int)h, TJSAMP_420, &out,
						 len, quality, 0),
			 0);
	tjDestroy(tj);
	free(planes);
	return out;
}

/* Decodes to RGB, checking the header on the way. */
static uint8_t *decode(const unsigned char *jpeg, size_t len, unsigned w, unsigned h)
{
	tjhandle tj = tjInitDecompress();
	assert_non_null(tj);
	int jw, jh, sub, cs;
	assert_int_equal(tjDecompressHeader3(tj, jpeg, (unsigned long)len, &jw, &jh, &sub, &cs), 0);
	assert_int_equal(jw, (int)w);
	assert_int_equal(jh, (int)h);
	assert_int_equal(sub, TJSAMP_420);
	uint8_t *rgb = malloc((size_t)w * h * 3);
	assert_non_null(rgb);
	assert_int_equal(tjDecompress2(tj, jpeg, (unsigned long)len, rgb, (int)w, 0, (int)h, TJPF_RGB,
				       0),
			 0);
	tjDestroy(tj);
	return rgb;
}

/* The SOF0 marker's own height, width and sampling factors, read from the bytes. */
static void check_sof(const unsigned char *j, size_t len, unsigned w, unsigned h)
{
	for (size_t i = 2; i + 17 < len; i++) {
		if (j[i] != 0xff || j[i + 1] != 0xc0)
			continue;
		assert_int_equal(j[i + 5] << 8 | j[i + 6], h);
		assert_int_equal(j[i + 7] << 8 | j[i + 8], w);
		assert_int_equal(j[i + 9], 3);
		assert_int_equal(j[i + 11], 0x22); /* Y: 2x2 */
		assert_int_equal(j[i + 14], 0x11); /* Cb */
		assert_int_equal(j[i + 17], 0x11); /* Cr */
		return;
	}
	fail_msg("no SOF0 marker");
}

static void compare(unsigned w, unsigned h, size_t stride, int quality, size_t cap)
{
	uint8_t *src = make_frame(w, h, stride, w * 7 + h);
	unsigned long old_len;
	unsigned char *old = encode_old(src, stride, w, h, quality, &old_len);

	struct yuyv_jpeg *yj = yuyv_jpeg_new();
	assert_non_null(yj);
	uint8_t *buf = malloc(cap), *grown = (uint8_t *)1;
	assert_non_null(buf);
	size_t len = 0;
	char err[200] = "";
	int r = yuyv_jpeg_encode(yj, src, stride, w, h, quality, buf, cap, &grown, &len, err,
				 sizeof(err));
	assert_int_equal(r, 0);
	assert_true(len > 0);
	const uint8_t *jpeg = grown ? grown : buf;
	if (cap < old_len)
		assert_non_null(grown);
	check_sof(jpeg, len, w, h);

	uint8_t *a = decode(old, old_len, w, h), *b = decode(jpeg, len, w, h);
	uint64_t diff = 0;
	size_t n = (size_t)w * h * 3;
	for (size_t i = 0; i < n; i++)
		diff += (uint64_t)abs(a[i] - b[i]);
	double mean = (double)diff / (double)n;
	print_message("%ux%u q%d: old %lu bytes, chunked %zu bytes, mean |diff| %.4f%s\n", w, h,
		      quality, old_len, len, mean, grown ? " (buffer grown)" : "");
	assert_true(mean < 0.5);
	/* the same quantisation and DCT: sizes within 1% */
	assert_true(len * 100 >= old_len * 99 && len * 100 <= old_len * 101);

	/* the encoder is reusable, also after growing */
	uint8_t *grown2 = NULL;
	size_t len2 = 0;
	assert_int_equal(yuyv_jpeg_encode(yj, src, stride, w, h, quality, buf, cap, &grown2, &len2,
					  err, sizeof(err)),
			 0);
	assert_int_equal(len2, len);
	assert_memory_equal(grown2 ? grown2 : buf, jpeg, len);

	free(grown2);
	free(a);
	free(b);
	free(grown);
	free(buf);
	yuyv_jpeg_free(yj);
	tjFree(old);
	free(src);
}

static void test_vga(void **state)
{
	(void)state;
	compare(640, 480, 1280, 80, 640 * 480 * 2);
}

static void test_720p_q95_q96(void **state)
{
	(void)state;
	compare(1280, 720, 2560, 95, 1280 * 720 * 2);
	compare(1280, 720, 2560, 96, 1280 * 720 * 2);
}

/* Not whole 16×16 MCUs, rows in a padded stride, the last strip short (50 = 3 × 16 + 2). */
static void test_odd_size_padded_stride(void **state)
{
	(void)state;
	compare(104, 50, 2 * 104 + 64, 75, 100000);
	compare(18, 2, 64, 50, 10000);
}

static void test_output_grows(void **state)
{
	(void)state;
	compare(320, 240, 640, 90, 100);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct yuyv_jpeg *yj = yuyv_jpeg_new();
	assert_non_null(yj);
	uint8_t src[64 * 2 * 4] = { 0 }, buf[4096];
	uint8_t *grown;
	size_t len;
	char err[200];
	assert_int_equal(yuyv_jpeg_encode(yj, src, 128, 63, 4, 80, buf, sizeof(buf), &grown, &len,
					  err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "63x4"));
	assert_int_equal(yuyv_jpeg_encode(yj, src, 100, 64, 4, 80, buf, sizeof(buf), &grown, &len,
					  err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(yuyv_jpeg_encode(yj, src, 128, 64, 4, 0, buf, sizeof(buf), &grown, &len,
					  err, sizeof(err)),
			 -EINVAL);
	assert_null(grown);
	/* libjpeg's own refusal (its error_exit, longjmp back): wider than JPEG's 65500 */
	unsigned wide = 65502;
	uint8_t *big = calloc(2, 2 * (size_t)wide);
	assert_non_null(big);
	err[0] = 0;
	assert_int_equal(yuyv_jpeg_encode(yj, big, 2 * (size_t)wide, wide, 2, 80, buf, sizeof(buf),
					  &grown, &len, err, sizeof(err)),
			 -EIO);
	assert_null(grown);
	assert_non_null(strstr(err, "65500"));
	free(big);
	/* and still works */
	assert_int_equal(yuyv_jpeg_encode(yj, src, 128, 64, 4, 80, buf, sizeof(buf), &grown, &len,
					  err, sizeof(err)),
			 0);
	assert_null(grown);
	assert_true(len > 100 && buf[0] == 0xff && buf[1] == 0xd8 && buf[len - 1] == 0xd9);
	yuyv_jpeg_free(yj);
	yuyv_jpeg_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vga),
		cmocka_unit_test(test_720p_q95_q96),
		cmocka_unit_test(test_odd_size_padded_stride),
		cmocka_unit_test(test_output_grows),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
