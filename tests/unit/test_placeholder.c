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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_text_changes_picture),
		cmocka_unit_test(test_bad_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
