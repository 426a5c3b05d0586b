/* Default Huffman tables for DHT-less MJPEG (src/encoder/jpeg_dht.c): a real JPEG (libjpeg-turbo)
 * with its DHT segments stripped, the tables inserted again, decodes with TurboJPEG to the same
 * pixels; the inserted tables are byte for byte the ones libjpeg-turbo writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/encoder/jpeg_dht.h"

#define W 96
#define H 64

struct jpeg {
	uint8_t *data;
	size_t len;
};

/* A 4:2:0 JPEG of a gradient with some detail, as a camera would send. */
static struct jpeg make_jpeg(int subsamp)
{
	static uint8_t rgb[W * H * 3];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *p = &rgb[(y * W + x) * 3];
			p[0] = (uint8_t)(x * 255 / W);
			p[1] = (uint8_t)(y * 255 / H);
			p[2] = (uint8_t)(((x / 8 + y / 8) % 2) * 200 + (x ^ y) % 40);
		}
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	unsigned char *out = NULL;
	unsigned long len = 0;
	assert_int_equal(tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &out, &len, subsamp, 85, 0), 0);
	tjDestroy(tj);
	struct jpeg j = { malloc(len), len };
	assert_non_null(j.data);
	memcpy(j.data, out, len);
	tjFree(out);
	return j;
}

/* The JPEG without its DHT segments, and (if tables is not NULL) their payloads concatenated. */
static struct jpeg strip_dht(const struct jpeg *in, struct jpeg *tables)
{
	struct jpeg out = { malloc(in->len), 0 };
	assert_non_null(out.data);
	if (tables) {
		tables->data = malloc(in->len);
		tables->len = 0;
	}
	memcpy(out.data, in->data, 2);
	out.len = 2;
	size_t pos = 2;
	for (;;) {
		assert_true(pos + 4 <= in->len);
		assert_int_equal(in->data[pos], 0xFF);
		uint8_t m = in->data[pos + 1];
		if (m == 0xDA)
			break;
		size_t seg = ((size_t)in->data[pos + 2] << 8 | in->data[pos + 3]) + 2;
		if (m == 0xC4) {
			if (tables) {
				memcpy(tables->data + tables->len, in->data + pos + 4, seg - 4);
				tables->len += seg - 4;
			}
		} else {
			memcpy(out.data + out.len, in->data + pos, seg);
			out.len += seg;
		}
		pos += seg;
	}
	memcpy(out.data + out.len, in->data + pos, in->len - pos);
	out.len += in->len - pos;
	return out;
}

static uint8_t *decode(const uint8_t *jpeg, size_t len)
{
	tjhandle tj = tjInitDecompress();
	assert_non_null(tj);
	int w, h, ss, cs;
	assert_int_equal(tjDecompressHeader3(tj, jpeg, len, &w, &h, &ss, &cs), 0);
	assert_int_equal(w, W);
	assert_int_equal(h, H);
	uint8_t *px = malloc(W * H * 3);
	assert_non_null(px);
	int r = tjDecompress2(tj, jpeg, len, px, W, 0, H, TJPF_RGB, 0);
	if (r != 0)
		fail_msg("decode: %s", tjGetErrorStr2(tj));
	tjDestroy(tj);
	return px;
}

/* Table payloads (Tc/Th, 16 counts, symbols) keyed by Tc/Th, from a run of DHT payloads. */
static size_t find_table(const uint8_t *tables, size_t len, uint8_t tcth, const uint8_t **out)
{
	size_t pos = 0;
	while (pos < len) {
		size_t n = 0;
		for (int i = 1; i <= 16; i++)
			n += tables[pos + (size_t)i];
		size_t size = 17 + n;
		if (tables[pos] == tcth) {
			*out = tables + pos;
			return size;
		}
		pos += size;
	}
	return 0;
}

static void test_default_tables_are_libjpegs(void **state)
{
	(void)state;
	struct jpeg orig = make_jpeg(TJSAMP_420), tables;
	struct jpeg stripped = strip_dht(&orig, &tables);
	/* jpeg_dht_default's payload: after FF C4 and the length */
	const uint8_t *ours = jpeg_dht_default + 4;
	size_t ours_len = JPEG_DHT_DEFAULT_SIZE - 4;
	assert_int_equal(jpeg_dht_default[0], 0xFF);
	assert_int_equal(jpeg_dht_default[1], 0xC4);
	assert_int_equal((jpeg_dht_default[2] << 8 | jpeg_dht_default[3]), JPEG_DHT_DEFAULT_SIZE - 2);
	static const uint8_t ids[] = { 0x00, 0x01, 0x10, 0x11 };
	for (size_t i = 0; i < sizeof(ids); i++) {
		const uint8_t *a = NULL, *b = NULL;
		size_t la = find_table(ours, ours_len, ids[i], &a);
		size_t lb = find_table(tables.data, tables.len, ids[i], &b);
		if (la == 0 || lb == 0 || la != lb || memcmp(a, b, la) != 0)
			fail_msg("table %02x differs from libjpeg-turbo's (%zu vs %zu bytes)", ids[i], la,
				 lb);
	}
	free(orig.data);
	free(stripped.data);
	free(tables.data);
}

static void test_insert_restores_the_image(void **state)
{
	(void)state;
	static const int subsamps[] = { TJSAMP_420, TJSAMP_422 };
	for (size_t k = 0; k < 2; k++) {
		struct jpeg orig = make_jpeg(subsamps[k]);
		struct jpeg stripped = strip_dht(&orig, NULL);
		assert_int_equal(jpeg_find_dht(orig.data, orig.len, NULL), 1);
		size_t sos = 0;
		assert_int_equal(jpeg_find_dht(stripped.data, stripped.len, &sos), 0);
		assert_int_equal(stripped.data[sos], 0xFF);
		assert_int_equal(stripped.data[sos + 1], 0xDA);

		size_t cap = stripped.len + JPEG_DHT_DEFAULT_SIZE;
		uint8_t *fixed = malloc(cap);
		assert_int_equal(jpeg_dht_insert(stripped.data, stripped.len, fixed, cap),
				 (ssize_t)cap);
		assert_int_equal(jpeg_find_dht(fixed, cap, NULL), 1);
		/* everything before the scan kept, the tables, then the scan unchanged */
		assert_memory_equal(fixed, stripped.data, sos);
		assert_memory_equal(fixed + sos, jpeg_dht_default, JPEG_DHT_DEFAULT_SIZE);
		assert_memory_equal(fixed + sos + JPEG_DHT_DEFAULT_SIZE, stripped.data + sos,
				    stripped.len - sos);

		uint8_t *want = decode(orig.data, orig.len);
		uint8_t *got = decode(fixed, cap);
		assert_memory_equal(got, want, W * H * 3);
		free(want);
		free(got);
		free(fixed);
		free(orig.data);
		free(stripped.data);
	}
}

static void test_errors(void **state)
{
	(void)state;
	struct jpeg orig = make_jpeg(TJSAMP_420);
	struct jpeg stripped = strip_dht(&orig, NULL);
	uint8_t *buf = malloc(orig.len + JPEG_DHT_DEFAULT_SIZE);

	/* already has tables: nothing written */
	assert_int_equal(jpeg_dht_insert(orig.data, orig.len, buf, orig.len + JPEG_DHT_DEFAULT_SIZE),
			 -EEXIST);
	/* too small a buffer */
	assert_int_equal(jpeg_dht_insert(stripped.data, stripped.len, buf,
					 stripped.len + JPEG_DHT_DEFAULT_SIZE - 1),
			 -ENOBUFS);
	/* not a JPEG, or cut before its scan */
	static const uint8_t junk[] = { 0x00, 0x01, 0x02, 0x03, 0x04 };
	assert_int_equal(jpeg_find_dht(junk, sizeof(junk), NULL), -EINVAL);
	assert_int_equal(jpeg_find_dht(stripped.data, 3, NULL), -EINVAL);
	assert_int_equal(jpeg_find_dht(stripped.data, 40, NULL), -EINVAL);
	assert_int_equal(jpeg_dht_insert(junk, sizeof(junk), buf, 1000), -EINVAL);
	static const uint8_t eoi_first[] = { 0xFF, 0xD8, 0xFF, 0xD9, 0x00, 0x00 };
	assert_int_equal(jpeg_find_dht(eoi_first, sizeof(eoi_first), NULL), -EINVAL);
	static const uint8_t bad_len[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xDA };
	assert_int_equal(jpeg_find_dht(bad_len, sizeof(bad_len), NULL), -EINVAL);
	/* fill bytes before a marker are allowed (T.81 B.1.1.2) */
	static const uint8_t fill[] = { 0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xDA, 0x00, 0x08 };
	size_t sos = 0;
	assert_int_equal(jpeg_find_dht(fill, sizeof(fill), &sos), 0);
	assert_int_equal(sos, 4);

	free(buf);
	free(orig.data);
	free(stripped.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_tables_are_libjpegs),
		cmocka_unit_test(test_insert_restores_the_image),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
