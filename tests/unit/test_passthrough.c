/* Passthrough encoder: same bytes, same pointer (no copy), raw frame returned with the last
 * reference to the output frame; bad input and queue limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>

#include "mjpegd/bug.h"
#include "mjpegd/encoder.h"
#include "mjpegd/encoder/jpeg_dht.h"

#define MAX_RAW 8

struct fake_source {
	struct raw_frame raw[MAX_RAW];
	uint8_t bytes[MAX_RAW][64];
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

/* Contents only need to look like a JPEG to the passthrough: SOI … EOI. */
static void fake_source_init(struct fake_source *fs)
{
	memset(fs, 0, sizeof(*fs));
	for (unsigned i = 0; i < MAX_RAW; i++) {
		uint8_t *b = fs->bytes[i];
		for (unsigned k = 0; k < sizeof(fs->bytes[i]); k++)
			b[k] = (uint8_t)(i * 31 + k);
		b[0] = 0xFF;
		b[1] = 0xD8;
		b[62] = 0xFF;
		b[63] = 0xD9;
		fs->raw[i] = (struct raw_frame){ .fourcc = V4L2_PIX_FMT_MJPEG, .width = 640,
						 .height = 480, .n_planes = 1, .sequence = 10 + i,
						 .timestamp_us = 777 + i, .index = i };
		fs->raw[i].planes[0] = (struct raw_plane){ b, 0, sizeof(fs->bytes[i]), -1, 0, 0 };
	}
}

static struct encoder *create(struct frame_pool *pool, struct fake_source *fs)
{
	struct encoder_params p = {
		.in_fourcc = V4L2_PIX_FMT_MJPEG, .width = 640, .height = 480, .quality = 80,
		.pool = pool, .release_raw = release_raw, .release_ctx = fs,
	};
	struct encoder *enc = NULL;
	assert_int_equal(encoder_passthrough_create(&p, &enc), 0);
	assert_non_null(enc);
	return enc;
}

static void test_zero_copy_and_release_on_last_ref(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs;
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	struct encoder *enc = create(&pool, &fs);

	assert_true(enc->synchronous);
	assert_int_equal(encoder_fd(enc), -1); /* nothing to wait for */
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	struct frame *f; /* collected right after submit, as the pipeline does */
	assert_int_equal(encoder_collect(enc, &f), 0);
	assert_ptr_equal(f->data, fs.raw[0].planes[0].data); /* points into the raw buffer */
	assert_int_equal(f->len, 64);
	assert_memory_equal(f->data, fs.bytes[0], 64);
	assert_int_equal(f->sequence, 10);
	assert_int_equal(f->timestamp_us, 777);
	assert_int_equal(f->width, 640);
	assert_int_equal(f->height, 480);
	assert_int_equal(enc->stats.bytes_copied, 0);
	assert_int_equal(enc->stats.frames_encoded, 1);

	struct frame *none;
	assert_int_equal(encoder_collect(enc, &none), -EAGAIN);

	/* two clients send it; the raw buffer comes back only after the last one */
	frame_ref(f);
	frame_ref(f);
	frame_unref(f);
	frame_unref(f);
	assert_int_equal(fs.released[0], 0);
	frame_unref(f);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(pool.in_use, 0);

	/* the frame is reused for the next raw frame and releases that one, not the old */
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), 0);
	assert_int_equal(encoder_collect(enc, &f), 0);
	assert_ptr_equal(f->data, fs.bytes[1]);
	frame_unref(f);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(fs.released[1], 1);
	assert_int_equal(fs.wrong_release, 0);

	encoder_destroy(enc);
	frame_pool_destroy(&pool);
}

static void test_rejects_non_jpeg(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs;
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	struct encoder *enc = create(&pool, &fs);

	fs.bytes[0][1] = 0x00; /* no SOI */
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0); /* taken … */
	assert_int_equal(fs.released[0], 1);                  /* … and given straight back */
	assert_int_equal(pool.in_use, 0);
	struct frame *f;
	assert_int_equal(encoder_collect(enc, &f), -EINVAL);
	assert_int_equal(enc->stats.encode_errors, 1);
	assert_int_equal(enc->stats.frames_encoded, 0);

	fs.raw[1].planes[0].length = 1; /* too short to hold SOI */
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), 0);
	assert_int_equal(encoder_collect(enc, &f), -EINVAL);
	assert_int_equal(fs.released[1], 1);
	assert_int_equal(encoder_collect(enc, &f), -EAGAIN);

	encoder_destroy(enc);
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(fs.released[1], 1);
	frame_pool_destroy(&pool);
}

static void test_enobufs_and_ebusy(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs;
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, 1), 0);
	struct encoder *enc = create(&pool, &fs);

	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(encoder_submit(enc, &fs.raw[1]), -ENOBUFS);
	assert_int_equal(fs.released[1], 0); /* refused: still the caller's */
	struct frame *f;
	assert_int_equal(encoder_collect(enc, &f), 0);
	frame_unref(f);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);

	/* enough frames, but nobody collects: the small queue fills up */
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, MAX_RAW), 0);
	enc = create(&pool, &fs);
	unsigned taken = 0;
	int r;
	while ((r = encoder_submit(enc, &fs.raw[taken])) == 0) {
		taken++;
		assert_true(taken < MAX_RAW);
	}
	assert_int_equal(r, -EBUSY);
	assert_true(taken >= 2);
	assert_int_equal(fs.released[taken], 0);
	encoder_destroy(enc); /* queued, uncollected frames give their raw frames back */
	for (unsigned i = 0; i < taken; i++)
		assert_int_equal(fs.released[i], 1);
	assert_int_equal(pool.in_use, 0);
	frame_pool_destroy(&pool);
}

/* Teardown in the wrong order (clients still hold frames) must not call into freed memory. */
static void test_destroy_while_frames_held(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs;
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	struct encoder *enc = create(&pool, &fs);
	struct frame *f;
	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(encoder_collect(enc, &f), 0);
	mjpegd_bug_abort(false); /* a bug (MJPEGD_BUG): what the release build does */
	encoder_destroy(enc);
	mjpegd_bug_abort(true);
	assert_int_equal(fs.released[0], 1);
	frame_unref(f); /* no callback any more: ASan would catch a call into the freed encoder */
	assert_int_equal(fs.released[0], 1);
	assert_int_equal(pool.in_use, 0);
	frame_pool_destroy(&pool);
}

static void test_create_rejects_raw_formats(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs;
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, 1), 0);
	struct encoder_params p = { .in_fourcc = V4L2_PIX_FMT_YUV420, .width = 640, .height = 480,
				    .quality = 80, .pool = &pool, .release_raw = release_raw,
				    .release_ctx = &fs };
	struct encoder *enc = NULL;
	assert_int_equal(encoder_passthrough_create(&p, &enc), -EINVAL);
	assert_null(enc);
	p.in_fourcc = V4L2_PIX_FMT_JPEG;
	assert_int_equal(encoder_passthrough_create(&p, &enc), 0);
	encoder_destroy(enc);
	frame_pool_destroy(&pool);
}

/* UVC MJPEG without Huffman tables: copied with the default tables in, raw frame back at once,
 * the copy counted; a frame that has its tables stays zero-copy. (The tables themselves are
 * checked against libjpeg-turbo in test_jpeg_dht.c.) */
static void test_inserts_missing_huffman_tables(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct fake_source fs;
	fake_source_init(&fs);
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	struct encoder *enc = create(&pool, &fs);

	static const uint8_t no_dht[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 'A', 'V',
					  0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02, 0x55, 0x66,
					  0xFF, 0xD9 };
	static const uint8_t with_dht[] = { 0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x04, 0x00, 0x00,
					    0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02, 0x55, 0x66,
					    0xFF, 0xD9 };
	memcpy(fs.bytes[0], no_dht, sizeof(no_dht));
	fs.raw[0].planes[0].length = sizeof(no_dht);
	memcpy(fs.bytes[1], with_dht, sizeof(with_dht));
	fs.raw[1].planes[0].length = sizeof(with_dht);

	assert_int_equal(encoder_submit(enc, &fs.raw[0]), 0);
	assert_int_equal(fs.released[0], 1); /* copied: given back before anyone collects */
	struct frame *f;
	assert_int_equal(encoder_collect(enc, &f), 0);
	assert_ptr_not_equal(f->data, fs.bytes[0]);
	assert_int_equal(f->len, sizeof(no_dht) + JPEG_DHT_DEFAULT_SIZE);
	assert_memory_equal(f->data, no_dht, 8);
	assert_memory_equal(f->data + 8, jpeg_dht_default, JPEG_DHT_DEFAULT_SIZE);
	assert_memory_equal(f->data + 8 + JPEG_DHT_DEFAULT_SIZE, no_dht + 8, sizeof(no_dht) - 8);
	assert_int_equal(f->sequence, 10);
	assert_int_equal(f->timestamp_us, 777);
	assert_int_equal(enc->stats.bytes_copied, f->len);
	frame_unref(f);
	assert_int_equal(fs.released[0], 1); /* not twice */

	assert_int_equal(encoder_submit(enc, &fs.raw[1]), 0);
	assert_int_equal(encoder_collect(enc, &f), 0);
	assert_ptr_equal(f->data, fs.bytes[1]);
	assert_int_equal(enc->stats.bytes_copied, sizeof(no_dht) + JPEG_DHT_DEFAULT_SIZE);
	assert_int_equal(fs.released[1], 0);
	frame_unref(f);
	assert_int_equal(fs.released[1], 1);
	assert_int_equal(enc->stats.frames_encoded, 2);
	encoder_destroy(enc);
	assert_int_equal(pool.in_use, 0);
	frame_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_copy_and_release_on_last_ref),
		cmocka_unit_test(test_rejects_non_jpeg),
		cmocka_unit_test(test_enobufs_and_ebusy),
		cmocka_unit_test(test_destroy_while_frames_held),
		cmocka_unit_test(test_create_rejects_raw_formats),
		cmocka_unit_test(test_inserts_missing_huffman_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
