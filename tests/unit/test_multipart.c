/* Unit tests for multipart part headers (src/http/multipart.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mjpegd/frame.h"
#include "mjpegd/http/multipart.h"

static void test_exact_bytes(void **state)
{
	(void)state;
	char buf[160];
	const char *want = "Content-Type: image/jpeg\r\n"
			   "Content-Length: 12345\r\n"
			   "X-Timestamp: 1700000000.123456\r\n"
			   "\r\n";
	int n = multipart_part_header(buf, sizeof(buf), 12345, 1700000000123456ULL);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
	assert_int_equal(buf[n], '\0');
}

static void test_microseconds_zero_padded(void **state)
{
	(void)state;
	char buf[160];
	int n = multipart_part_header(buf, sizeof(buf), 0, 5000007ULL);
	assert_true(n > 0);
	assert_string_equal(buf, "Content-Type: image/jpeg\r\nContent-Length: 0\r\n"
				 "X-Timestamp: 5.000007\r\n\r\n");
	n = multipart_part_header(buf, sizeof(buf), 1, 0);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "X-Timestamp: 0.000000\r\n"));
}

/* The largest possible header still fits in the frame's part_header slot. */
static void test_fits_frame_slot(void **state)
{
	(void)state;
	char buf[FRAME_PART_HEADER_MAX];
	int n = multipart_part_header(buf, sizeof(buf), SIZE_MAX, UINT64_MAX);
	assert_true(n > 0);
	assert_true((size_t)n < sizeof(buf));
	assert_non_null(strstr(buf, "X-Timestamp: 18446744073709.551615\r\n"));
}

static void test_enospc(void **state)
{
	(void)state;
	char buf[160];
	int full = multipart_part_header(buf, sizeof(buf), 12345, 1700000000123456ULL);
	assert_true(full > 0);
	/* Room for the text but not its NUL is too small too (snprintf truncates). */
	for (size_t cap = 0; cap <= (size_t)full; cap++)
		assert_int_equal(multipart_part_header(buf, cap, 12345, 1700000000123456ULL), -ENOSPC);
	assert_int_equal(multipart_part_header(buf, (size_t)full + 1, 12345, 1700000000123456ULL),
			 full);
}

static void test_boundary_strings(void **state)
{
	(void)state;
	assert_string_equal(MULTIPART_CONTENT_TYPE, "multipart/x-mixed-replace;boundary=mjpegdframe");
	assert_string_equal(MULTIPART_FIRST_BOUNDARY, "--mjpegdframe\r\n");
	assert_string_equal(MULTIPART_PART_TRAILER, "\r\n--mjpegdframe\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_microseconds_zero_padded),
		cmocka_unit_test(test_fits_frame_slot),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_boundary_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
