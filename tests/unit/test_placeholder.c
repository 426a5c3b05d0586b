/* The "no signal" picture: a JPEG of the requested size with the text drawn in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/placeholder.h"

static unsigned count_bright(const unsigned char *gray, size_t n)
{
	unsigned c = 0;
	for (size_t i = 0; i < n; i++)
		c += gray[i] > 150;
	return c;
}

static void check_size(unsigned w, unsigned h)
{
	uint8_t *jpeg = NULL;
	size_t len = 0;
	assert_int_equal(placeholder_render(w, h, "NO SIGNAL", "camera disconnected - retrying", 80,
					    &jpeg, &len), 0);
	assert_non_null(jpeg);
	assert_true(len > 100);
	assert_int_equal(jpeg[0], 0xFF);
	assert_int_equal(jpeg[1], 0xD8);
	assert_int_equal(jpeg[len - 2], 0xFF);
	assert_int_equal(jpeg[len - 1], 0xD9);
	tjhandle tj = tjInitDecompress();
	int dw, dh, sub, cs;
	assert_int_equal(tjDecompressHeader3(tj, jpeg, len, &dw, &dh, &sub, &cs), 0);
	assert_int_equal(dw, (int)w);
	assert_int_equal(dh, (int)h);
	unsigned char *gray = malloc((size_t)w * h);
	assert_int_equal(tjDecompress2(tj, jpeg, len, gray, (int)w, 0, (int)h, TJPF_GRAY, 0), 0);
	/* the background is dark; the text is bright and covers a visible share of the picture */
	unsigned bright = count_bright(gray, (size_t)w * h);
	assert_true(bright > w * h / 200);
	assert_true(bright < w * h / 2);
	free(gray);
	tjDestroy(tj);
	free(jpeg);
}

static void test_sizes(void **state)
{
	(void)state;
	check_size(640, 480);
	check_size(1280, 720);
	check_size(160, 120);
}

static void test_text_changes_picture(void **state)
{
	(void)state;
	uint8_t *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(placeholder_render(320, 240, "NO SIGNAL", "camera disconnected", 80, &a, &la), 0);
	assert_int_equal(placeholder_render(320, 240, "NO SIGNAL", "encoder failed", 80, &b, &lb), 0);
	assert_true(la != lb || memcmp(a, b, la) != 0);
	free(a);
	free(b);
}

static void test_bad_size(void **state)
{
	(void)state;
	uint8_t *j = NULL;
	size_t l = 0;
	assert_int_equal(placeholder_render(15, 480, "x", "y", 80, &j, &l), -EINVAL);
	assert_int_equal(placeholder_render(640, 8, "x", "y", 80, &j, &l), -EINVAL);
	assert_null(j);
}

/* Which picture an outage shows, from the devices' state. */
static void test_reason(void **state)
{
	(void)state;
	assert_int_equal(placeholder_reason_for(true, ENODEV, false, true), PH_DISCONNECTED);
	assert_int_equal(placeholder_reason_for(true, ENOENT, false, true), PH_DISCONNECTED);
	assert_int_equal(placeholder_reason_for(true, ENXIO, false, false), PH_DISCONNECTED);
	assert_int_equal(placeholder_reason_for(true, ETIMEDOUT, false, true), PH_NOT_RESPONDING);
	assert_int_equal(placeholder_reason_for(true, EIO, false, true), PH_CAMERA_ERROR);
	assert_int_equal(placeholder_reason_for(true, EBUSY, false, false), PH_BUSY);
	assert_int_equal(placeholder_reason_for(false, 0, false, true), PH_STARTING);
	assert_int_equal(placeholder_reason_for(false, 0, true, false), PH_ENCODER_FAILED);
	assert_int_equal(placeholder_reason_for(false, 0, true, true), PH_STARTING);
}

/* The rotation: due half a second into an outage, then once a second; frames point at the
 * rendered picture and say it is a placeholder. */
static void test_rotation(void **state)
{
	(void)state;
	struct placeholders ph = { 0 };
	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 2), 0);
	placeholders_render(&ph, 320, 240);
	for (int i = 0; i < PH_COUNT; i++)
		assert_non_null(ph.jpeg[i]);
	const uint64_t s = 1000000000ULL;
	uint64_t live = 10 * s;
	assert_false(placeholders_due(&ph, live + s / 4, live));
	assert_true(placeholders_due(&ph, live + s / 2, live));
	struct frame *f = placeholders_frame(&ph, &pool, PH_DISCONNECTED, live + s / 2);
	assert_non_null(f);
	assert_true(f->placeholder);
	assert_ptr_equal(f->data, ph.jpeg[PH_DISCONNECTED]);
	assert_int_equal(f->len, ph.len[PH_DISCONNECTED]);
	assert_int_equal(f->width, 320);
	assert_true(ph.showing);
	frame_unref(f);
	assert_false(placeholders_due(&ph, live + s, live));
	assert_true(placeholders_due(&ph, live + s / 2 + s, live));
	placeholders_live(&ph);
	assert_false(ph.showing);
	placeholders_free(&ph);
	assert_null(placeholders_frame(&ph, &pool, PH_STARTING, live + 5 * s));
	frame_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_text_changes_picture),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
