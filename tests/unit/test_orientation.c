/* --rotation/--hflip/--vflip (src/orientation.c): the split between sensor and EXIF checked by
 * drawing (every one of the 16 flag combinations applied to a small lopsided image, once as the
 * flags say and once as the sensor then a viewer following EXIF would, must give the same
 * pixels); the APP1 segment parsed back by a small TIFF reader written here; finding a JPEG's own
 * Exif segment; the iovecs (nothing copied, the result a JPEG TurboJPEG decodes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/clock.h"
#include "mjpegd/orientation.h"

/* ---------------------------------------------------------------- drawing */

#define IMG_MAX 16
struct img {
	unsigned w, h;
	int px[IMG_MAX * IMG_MAX]; /* px[y * w + x] */
};

static struct img lopsided(void)
{
	struct img m = { .w = 3, .h = 2 };
	for (unsigned i = 0; i < m.w * m.h; i++)
		m.px[i] = (int)i + 1; /* every pixel different: any wrong move shows */
	return m;
}

static struct img mirror_h(struct img in)
{
	struct img out = { .w = in.w, .h = in.h };
	for (unsigned y = 0; y < in.h; y++)
		for (unsigned x = 0; x < in.w; x++)
			out.px[y * out.w + x] = in.px[y * in.w + (in.w - 1 - x)];
	return out;
}

static struct img mirror_v(struct img in)
{
	struct img out = { .w = in.w, .h = in.h };
	for (unsigned y = 0; y < in.h; y++)
		for (unsigned x = 0; x < in.w; x++)
			out.px[y * out.w + x] = in.px[(in.h - 1 - y) * in.w + x];
	return out;
}

/* clockwise: the bottom-left pixel ends top-left */
static struct img turn_90(struct img in)
{
	struct img out = { .w = in.h, .h = in.w };
	for (unsigned y = 0; y < out.h; y++)
		for (unsigned x = 0; x < out.w; x++)
			out.px[y * out.w + x] = in.px[(in.h - 1 - x) * in.w + y];
	return out;
}

static struct img turn(struct img in, unsigned degrees)
{
	for (unsigned d = 0; d < degrees; d += 90)
		in = turn_90(in);
	return in;
}

/* What a viewer does with orientation o, in the words of the EXIF standard (CIPA DC-008,
 * tag 0x0112). */
static struct img view_exif(struct img in, enum exif_orientation o)
{
	switch (o) {
	case 1: return in;
	case 2: return mirror_h(in);
	case 3: return turn(in, 180);
	case 4: return mirror_v(in);
	case 5: return turn(mirror_h(in), 270);
	case 6: return turn(in, 90);
	case 7: return turn(mirror_h(in), 90);
	case 8: return turn(in, 270);
	}
	fail_msg("orientation %d", (int)o);
	return in;
}

static struct img sensor_does(struct img in, const struct sensor_transform *t)
{
	assert_true(t->rotation == 0 || t->rotation == 180);
	in = turn(in, t->rotation);
	if (t->hflip)
		in = mirror_h(in);
	if (t->vflip)
		in = mirror_v(in);
	return in;
}

static bool img_equal(const struct img *a, const struct img *b)
{
	return a->w == b->w && a->h == b->h && !memcmp(a->px, b->px, a->w * a->h * sizeof(int));
}

static void test_every_combination_drawn(void **state)
{
	(void)state;
	bool seen[9] = { false };
	for (unsigned rot = 0; rot < 360; rot += 90)
		for (unsigned f = 0; f < 4; f++) {
			bool h = f & 1, v = f & 2;
			/* what the flags mean: mirrors first, then the clockwise turn */
			struct img want = lopsided();
			if (h)
				want = mirror_h(want);
			if (v)
				want = mirror_v(want);
			want = turn(want, rot);

			struct orientation_plan p;
			orientation_plan(rot, h, v, &p);
			struct img alone = view_exif(lopsided(), p.exif_alone);
			assert_true(img_equal(&alone, &want));
			struct img split = view_exif(sensor_does(lopsided(), &p.sensor),
						     p.exif_after_sensor);
			assert_true(img_equal(&split, &want));

			/* the sensor's part is all it can do; what is left is a plain turn */
			if (rot == 0 || rot == 180)
				assert_int_equal(p.exif_after_sensor, EXIF_ORIENTATION_NORMAL);
			else
				assert_int_equal(p.exif_after_sensor, rot == 90 ? EXIF_ORIENTATION_ROTATE_90
										: EXIF_ORIENTATION_ROTATE_270);
			assert_false(p.sensor.rotation == 180 && (p.sensor.hflip || p.sensor.vflip));
			assert_int_equal(exif_orientation_transposes(p.exif_alone),
					 rot == 90 || rot == 270);
			seen[p.exif_alone] = true;
		}
	for (unsigned o = 1; o <= 8; o++)
		assert_true(seen[o]); /* the 16 combinations reach all eight orientations */
}

static void test_known_values(void **state)
{
	(void)state;
	struct orientation_plan p;
	orientation_plan(90, false, false, &p);
	assert_int_equal(p.exif_alone, 6);
	assert_int_equal(p.exif_after_sensor, 6);
	assert_true(sensor_transform_is_identity(&p.sensor));
	orientation_plan(270, false, false, &p);
	assert_int_equal(p.exif_alone, 8);
	orientation_plan(180, false, false, &p);
	assert_int_equal(p.exif_alone, 3);
	assert_int_equal(p.exif_after_sensor, 1);
	assert_int_equal(p.sensor.rotation, 180);
	orientation_plan(180, true, false, &p); /* turned and mirrored: upside down */
	assert_int_equal(p.exif_alone, 4);
	assert_int_equal(p.sensor.rotation, 0);
	assert_false(p.sensor.hflip);
	assert_true(p.sensor.vflip);
	orientation_plan(90, true, false, &p);
	assert_int_equal(p.exif_alone, 7);
	assert_true(p.sensor.hflip);
	orientation_plan(0, true, true, &p);
	assert_int_equal(p.exif_alone, 3);
	assert_int_equal(p.sensor.rotation, 180);
	assert_string_equal(exif_orientation_name(6), "turned 90° clockwise");
}

/* ---------------------------------------------------------------- the segment, read back */

static unsigned rd16(const uint8_t *p, bool big)
{
	return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const uint8_t *p, bool big)
{
	return big ? (uint32_t)rd16(p, true) << 16 | rd16(p + 2, true)
		   : (uint32_t)rd16(p + 2, false) << 16 | rd16(p, false);
}

/* A minimal reader of an APP1 Exif segment: the Orientation of IFD0, -1 when malformed, 0 when
 * absent; *entries: IFD0's entry count. */
static int parse_orientation(const uint8_t *seg, size_t len, unsigned *entries)
{
	if (len < 4 || seg[0] != 0xff || seg[1] != 0xe1)
		return -1;
	size_t n = rd16(seg + 2, true);
	if (n + 2 != len || n < 2 + 6 + 8 || memcmp(seg + 4, "Exif\0\0", 6))
		return -1;
	const uint8_t *tiff = seg + 10;
	size_t tlen = len - 10;
	bool big;
	if (!memcmp(tiff, "MM", 2))
		big = true;
	else if (!memcmp(tiff, "II", 2))
		big = false;
	else
		return -1;
	if (rd16(tiff + 2, big) != 42)
		return -1;
	uint32_t ifd = rd32(tiff + 4, big);
	if (ifd + 2 > tlen)
		return -1;
	unsigned count = rd16(tiff + ifd, big);
	*entries = count;
	if (ifd + 2 + 12 * (size_t)count + 4 > tlen)
		return -1;
	int found = 0;
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *e = tiff + ifd + 2 + 12 * i;
		if (rd16(e, big) != 0x0112)
			continue;
		if (rd16(e + 2, big) != 3 || rd32(e + 4, big) != 1 || found)
			return -1; /* SHORT, one value, once */
		found = (int)rd16(e + 8, big);
	}
	if (rd32(tiff + ifd + 2 + 12 * count, big) != 0)
		return -1; /* no IFD1 expected */
	return found;
}

static void test_segment_parses_back(void **state)
{
	(void)state;
	assert_null(exif_segment(EXIF_ORIENTATION_NORMAL));
	assert_null(exif_segment((enum exif_orientation)0));
	assert_null(exif_segment((enum exif_orientation)9));
	for (unsigned o = 2; o <= 8; o++) {
		const uint8_t *seg = exif_segment((enum exif_orientation)o);
		assert_non_null(seg);
		unsigned entries = 0;
		assert_int_equal(parse_orientation(seg, EXIF_SEGMENT_LEN, &entries), (int)o);
		assert_int_equal(entries, 1);
	}
}

/* ---------------------------------------------------------------- JPEGs */

static uint8_t *encode_jpeg(unsigned w, unsigned h, unsigned long *len)
{
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	uint8_t *rgb = malloc((size_t)w * h * 3);
	assert_non_null(rgb);
	for (size_t i = 0; i < (size_t)w * h * 3; i++)
		rgb[i] = (uint8_t)(i * 7);
	uint8_t *jpeg = NULL;
	*len = 0;
	assert_int_equal(tjCompress2(tj, rgb, (int)w, 0, (int)h, TJPF_RGB, &jpeg, len, TJSAMP_420,
				     80, 0), 0);
	free(rgb);
	tjDestroy(tj);
	return jpeg;
}

static uint8_t *gather(const struct iovec *iov, unsigned n, size_t *len)
{
	*len = 0;
	for (unsigned i = 0; i < n; i++)
		*len += iov[i].iov_len;
	uint8_t *out = malloc(*len ? *len : 1);
	assert_non_null(out);
	size_t p = 0;
	for (unsigned i = 0; i < n; i++) {
		memcpy(out + p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	return out;
}

static void assert_decodes(const uint8_t *jpeg, size_t len, unsigned w, unsigned h)
{
	tjhandle tj = tjInitDecompress();
	int jw = 0, jh = 0, ss = 0, cs = 0;
	assert_int_equal(tjDecompressHeader3(tj, jpeg, len, &jw, &jh, &ss, &cs), 0);
	assert_int_equal(jw, w);
	assert_int_equal(jh, h);
	uint8_t *rgb = malloc((size_t)w * h * 3);
	assert_int_equal(tjDecompress2(tj, jpeg, len, rgb, (int)w, 0, (int)h, TJPF_RGB, 0), 0);
	free(rgb);
	tjDestroy(tj);
}

/* The JPEG with a camera's APP1 Exif after its APP0 (a copy, for the test). */
static uint8_t *with_camera_exif(const uint8_t *jpeg, size_t len, size_t *out_len, size_t *at)
{
	static const uint8_t camera_exif[] = {
		0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 0x2a, 0x00, 0x08, 0, 0, 0,
		0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0, 0x03, 0x00, 0, 0, 0, 0, 0, 0,
	};
	/* after SOI and the JFIF APP0 TurboJPEG writes */
	assert_int_equal(jpeg[2], 0xff);
	assert_int_equal(jpeg[3], 0xe0);
	size_t app0 = 2 + 2 + ((size_t)jpeg[4] << 8 | jpeg[5]);
	*out_len = len + sizeof(camera_exif);
	uint8_t *out = malloc(*out_len);
	memcpy(out, jpeg, app0);
	memcpy(out + app0, camera_exif, sizeof(camera_exif));
	memcpy(out + app0 + sizeof(camera_exif), jpeg + app0, len - app0);
	*at = app0;
	return out;
}

static void test_find_exif(void **state)
{
	(void)state;
	unsigned long len;
	uint8_t *jpeg = encode_jpeg(32, 16, &len);
	size_t off = 0, seglen = 0;
	assert_int_equal(jpeg_find_exif(jpeg, len, &off, &seglen), 0);

	size_t clen, at;
	uint8_t *cam = with_camera_exif(jpeg, len, &clen, &at);
	assert_int_equal(jpeg_find_exif(cam, clen, &off, &seglen), 1);
	assert_int_equal(off, at);
	assert_int_equal(seglen, 36);
	unsigned entries;
	assert_int_equal(parse_orientation(cam + off, seglen, &entries), 3);

	/* not a JPEG, cut short inside a segment, a segment running past the end */
	assert_int_equal(jpeg_find_exif((const uint8_t *)"GIF89a", 6, &off, &seglen), -EINVAL);
	assert_int_equal(jpeg_find_exif(cam, at + 10, &off, &seglen), -EINVAL);
	uint8_t bad[] = { 0xff, 0xd8, 0xff, 0xe0, 0x40, 0x00, 0, 0 };
	assert_int_equal(jpeg_find_exif(bad, sizeof(bad), &off, &seglen), -EINVAL);
	uint8_t app1_other[] = { 0xff, 0xd8, 0xff, 0xe1, 0x00, 0x08, 'h', 't', 't', 'p',
				 0, 0, 0xff, 0xda, 0, 2 };
	assert_int_equal(jpeg_find_exif(app1_other, sizeof(app1_other), &off, &seglen), 0);
	free(cam);
	tjFree(jpeg);
}

static void test_oriented_iov(void **state)
{
	(void)state;
	unsigned long len;
	uint8_t *jpeg = encode_jpeg(48, 32, &len);
	struct iovec iov[JPEG_ORIENTED_IOV_MAX];

	/* 1: the JPEG as it is */
	assert_int_equal(jpeg_oriented_iov(jpeg, len, EXIF_ORIENTATION_NORMAL, 0, 0, iov), 1);
	assert_ptr_equal(iov[0].iov_base, jpeg);
	assert_int_equal(iov[0].iov_len, len);

	/* 6: SOI, ours, the rest; pointing into the JPEG and the static segment */
	unsigned n = jpeg_oriented_iov(jpeg, len, EXIF_ORIENTATION_ROTATE_90, 0, 0, iov);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[0].iov_base, jpeg);
	assert_int_equal(iov[0].iov_len, 2);
	assert_ptr_equal(iov[1].iov_base, exif_segment(EXIF_ORIENTATION_ROTATE_90));
	assert_ptr_equal(iov[2].iov_base, jpeg + 2);
	size_t olen;
	uint8_t *o = gather(iov, n, &olen);
	assert_int_equal(olen, len + EXIF_SEGMENT_LEN);
	size_t off, seglen;
	assert_int_equal(jpeg_find_exif(o, olen, &off, &seglen), 1);
	assert_int_equal(off, 2);
	unsigned entries;
	assert_int_equal(parse_orientation(o + off, seglen, &entries), 6);
	assert_decodes(o, olen, 48, 32);
	free(o);

	/* a camera's Exif is left out: one Orientation tag, ours */
	size_t clen, at;
	uint8_t *cam = with_camera_exif(jpeg, len, &clen, &at);
	assert_int_equal(jpeg_find_exif(cam, clen, &off, &seglen), 1);
	n = jpeg_oriented_iov(cam, clen, EXIF_ORIENTATION_ROTATE_270, off, seglen, iov);
	assert_int_equal(n, 4);
	o = gather(iov, n, &olen);
	assert_int_equal(olen, clen - seglen + EXIF_SEGMENT_LEN);
	assert_int_equal(jpeg_find_exif(o, olen, &off, &seglen), 1);
	assert_int_equal(off, 2);
	assert_int_equal(parse_orientation(o + off, seglen, &entries), 8);
	/* after ours, the original JPEG without the camera's segment: no second Exif */
	assert_memory_equal(o + 2 + EXIF_SEGMENT_LEN, jpeg + 2, len - 2);
	assert_decodes(o, olen, 48, 32);
	free(o);
	free(cam);

	/* not a JPEG: sent as it is */
	const uint8_t junk[] = "not a jpeg";
	assert_int_equal(jpeg_oriented_iov(junk, sizeof(junk), EXIF_ORIENTATION_ROTATE_90, 0, 0, iov), 1);
	tjFree(jpeg);
}

/* What a frame costs the server when EXIF turns it (not asserted; docs/configuration.md): looking
 * for a JPEG's own Exif segment and building the iovecs, on a 1280x720 JPEG. */
static void test_cost_per_frame(void **state)
{
	(void)state;
	unsigned long len;
	uint8_t *jpeg = encode_jpeg(1280, 720, &len);
	struct iovec iov[JPEG_ORIENTED_IOV_MAX];
	const unsigned rounds = 1000000;
	size_t sum = 0;
	uint64_t t0 = now_mono_ns();
	for (unsigned i = 0; i < rounds; i++) {
		size_t off = 0, seglen = 0;
		if (jpeg_find_exif(jpeg, len, &off, &seglen) <= 0)
			off = seglen = 0;
		unsigned n = jpeg_oriented_iov(jpeg, len, EXIF_ORIENTATION_ROTATE_90, off, seglen, iov);
		sum += iov[n - 1].iov_len;
	}
	double ns = (double)(now_mono_ns() - t0) / rounds;
	assert_int_equal(sum, (size_t)rounds * (len - 2));
	printf("orientation: %.1f ns per frame (1280x720 JPEG of %lu bytes: its own Exif looked "
	       "for, %d iovecs built)\n", ns, len, 3);
	tjFree(jpeg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_combination_drawn),
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_segment_parses_back),
		cmocka_unit_test(test_find_exif),
		cmocka_unit_test(test_oriented_iov),
		cmocka_unit_test(test_cost_per_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
