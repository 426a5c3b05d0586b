/* The check every M2M JPEG passes before a client sees it (src/encoder/jpeg_check.c): a whole
 * JPEG (libjpeg-turbo's, with and without an Exif APP1 first) gives its SOF size; one cut
 * anywhere, one without SOI, or with SOS before its SOF, is refused; zero fill after EOI is not a
 * cut. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/encoder/jpeg_check.h"

#define W 96
#define H 56

static uint8_t *make_jpeg(size_t *len)
{
	static uint8_t rgb[W * H * 3];
	for (size_t i = 0; i < sizeof(rgb); i++)
		rgb[i] = (uint8_t)(i * 7 + i / 97);
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	unsigned char *out = NULL;
	unsigned long n = 0;
	assert_int_equal(tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &out, &n, TJSAMP_420, 80, 0), 0);
	tjDestroy(tj);
	*len = n;
	return out;
}

static void test_whole(void **state)
{
	(void)state;
	size_t len;
	uint8_t *j = make_jpeg(&len);
	struct jpeg_info ji = { 0 };
	assert_int_equal(jpeg_check(j, len, &ji), 0);
	assert_int_equal(ji.width, W);
	assert_int_equal(ji.height, H);
	assert_int_equal(ji.len, len);

	/* zero fill after EOI (a driver's bytesused rounded up) is left out of len */
	uint8_t *padded = calloc(1, len + 32);
	memcpy(padded, j, len);
	assert_int_equal(jpeg_check(padded, len + 32, &ji), 0);
	assert_int_equal(ji.len, len);
	free(padded);
	tjFree(j);
}

static void test_exif_first(void **state)
{
	(void)state;
	size_t len;
	uint8_t *j = make_jpeg(&len);
	/* SOI, then an APP1 "Exif" segment as bcm2835-codec writes one, then the rest */
	static const uint8_t app1[] = { 0xFF, 0xE1, 0x00, 0x10, 'E', 'x', 'i', 'f', 0, 0,
					'M', 'M', 0, 42, 0, 0, 0, 8 };
	size_t n = len + sizeof(app1);
	uint8_t *e = malloc(n);
	memcpy(e, j, 2);
	memcpy(e + 2, app1, sizeof(app1));
	memcpy(e + 2 + sizeof(app1), j + 2, len - 2);
	struct jpeg_info ji = { 0 };
	assert_int_equal(jpeg_check(e, n, &ji), 0);
	assert_int_equal(ji.width, W);
	assert_int_equal(ji.height, H);
	free(e);
	tjFree(j);
}

static void test_cut(void **state)
{
	(void)state;
	size_t len;
	uint8_t *j = make_jpeg(&len);
	struct jpeg_info ji;
	/* cut anywhere after the headers: no EOI */
	for (size_t cut = len / 2; cut < len; cut += 7)
		assert_int_equal(jpeg_check(j, cut, &ji), -ENODATA);
	assert_int_equal(jpeg_check(j, len - 1, &ji), -ENODATA);
	/* cut inside the headers, then zero-filled as a buffer would be */
	uint8_t *z = calloc(1, len);
	memcpy(z, j, 40);
	assert_int_not_equal(jpeg_check(z, len, &ji), 0);
	free(z);
	tjFree(j);
}

static void test_malformed(void **state)
{
	(void)state;
	struct jpeg_info ji;
	static const uint8_t no_soi[] = { 0x00, 0xD8, 0xFF, 0xD9 };
	assert_int_equal(jpeg_check(no_soi, sizeof(no_soi), &ji), -EBADMSG);
	static const uint8_t tiny[] = { 0xFF, 0xD8 };
	assert_int_equal(jpeg_check(tiny, sizeof(tiny), &ji), -EBADMSG);
	static const uint8_t empty_jpeg[] = { 0xFF, 0xD8, 0xFF, 0xD9 };
	assert_int_equal(jpeg_check(empty_jpeg, sizeof(empty_jpeg), &ji), -EBADMSG);
	/* SOS before any SOF */
	static const uint8_t sos_first[] = { 0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34,
					     0xFF, 0xD9 };
	assert_int_equal(jpeg_check(sos_first, sizeof(sos_first), &ji), -EBADMSG);
	/* a segment length running past the end */
	static const uint8_t long_seg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x7F, 0xFF, 0x00, 0x00,
					    0xFF, 0xD9 };
	assert_int_equal(jpeg_check(long_seg, sizeof(long_seg), &ji), -EBADMSG);
	/* a segment length below 2 */
	static const uint8_t short_seg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0x00, 0x00,
					     0xFF, 0xD9 };
	assert_int_equal(jpeg_check(short_seg, sizeof(short_seg), &ji), -EBADMSG);
	/* a truncated SOF */
	static const uint8_t short_sof[] = { 0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x04, 0x08, 0x00,
					     0xFF, 0xD9 };
	assert_int_equal(jpeg_check(short_sof, sizeof(short_sof), &ji), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_exif_first),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
