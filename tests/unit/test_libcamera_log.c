/* libcamera's log lines → mjpegd log messages (src/source/libcamera_log.c): the line shapes of
 * libcamera 0.0.3 to 0.7 (severity names padded to five characters, an optional "prefix: "), a
 * line of another shape, truncation, and the LIBCAMERA_LOG_LEVELS chosen for each --log-level. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mjpegd/source/libcamera_log.h"
#include "mjpegd/log.h"

static void check(const char *line, int level, const char *text)
{
	char out[256];
	assert_int_equal(libcamera_log_parse(line, out, sizeof(out)), level);
	assert_string_equal(out, text);
}

static void test_severities(void **state)
{
	(void)state;
	check("[0:00:00.012345678] [4242] DEBUG Camera camera_manager.cpp:73 Starting camera manager\n",
	      LOG_LEVEL_DEBUG, "libcamera Camera: Starting camera manager");
	check("[0:00:00.012345678] [4242]  INFO Camera camera_manager.cpp:340 libcamera v0.7.1\n",
	      LOG_LEVEL_INFO, "libcamera Camera: libcamera v0.7.1");
	check("[0:00:00.101] [7]  WARN IPAManager ipa_manager.cpp:154 No IPA found in "
	      "'/usr/lib/x86_64-linux-gnu/libcamera/ipa'\n",
	      LOG_LEVEL_WARNING,
	      "libcamera IPAManager: No IPA found in '/usr/lib/x86_64-linux-gnu/libcamera/ipa'");
	check("[12:01:02.000000001] [99] ERROR DmaBufAllocator dma_buf_allocator.cpp:120 Could not "
	      "open any dma-buf provider\n",
	      LOG_LEVEL_ERR, "libcamera DmaBufAllocator: Could not open any dma-buf provider");
	check("[0:00:01.0] [1] FATAL Camera camera_manager.cpp:213 Camera manager already exists",
	      LOG_LEVEL_ERR, "libcamera Camera: Camera manager already exists");
}

static void test_prefix_kept(void **state)
{
	(void)state;
	check("[0:00:03.5] [11]  WARN V4L2 v4l2_videodevice.cpp:1979 /dev/video0[13:cap]: "
	      "Dequeue timer of 1000000.00us has expired!\n",
	      LOG_LEVEL_WARNING,
	      "libcamera V4L2: /dev/video0[13:cap]: Dequeue timer of 1000000.00us has expired!");
}

/* No file:line (a build without it) or an odd word there: the word stays in the message. */
static void test_without_file_info(void **state)
{
	(void)state;
	check("[0:00:00.1] [2]  WARN RPI no-file-info here\n", LOG_LEVEL_WARNING,
	      "libcamera RPI: no-file-info here");
	check("[0:00:00.1] [2]  WARN RPI :12 odd\n", LOG_LEVEL_WARNING, "libcamera RPI: :12 odd");
	check("[0:00:00.1] [2]  WARN RPI file.cpp: x\n", LOG_LEVEL_WARNING,
	      "libcamera RPI: file.cpp: x");
}

static void test_other_shapes(void **state)
{
	(void)state;
	check("something libcamera printed\n", LOG_LEVEL_NOTICE,
	      "libcamera: something libcamera printed");
	check("[0:00:00.1] [2] NOTICE X y.cpp:1 z\n", LOG_LEVEL_NOTICE,
	      "libcamera: [0:00:00.1] [2] NOTICE X y.cpp:1 z");
	check("[unterminated", LOG_LEVEL_NOTICE, "libcamera: [unterminated");
	check("", LOG_LEVEL_NOTICE, "libcamera: ");
	check("[0:00:00.1] [2]  INFO", LOG_LEVEL_INFO, "libcamera : ");
}

static void test_truncated(void **state)
{
	(void)state;
	char out[24];
	int level = libcamera_log_parse(
		"[0:00:00.1] [2] ERROR Camera c.cpp:1 a very long message that does not fit\n", out,
		sizeof(out));
	assert_int_equal(level, LOG_LEVEL_ERR);
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_memory_equal(out, "libcamera Camera: a very", sizeof(out) - 1);
}

static void test_levels(void **state)
{
	(void)state;
	assert_string_equal(libcamera_log_levels(LOG_LEVEL_ERR), "*:ERROR");
	assert_string_equal(libcamera_log_levels(LOG_LEVEL_WARNING), "*:WARN");
	assert_string_equal(libcamera_log_levels(LOG_LEVEL_NOTICE), "*:WARN");
	assert_string_equal(libcamera_log_levels(LOG_LEVEL_INFO), "*:WARN");
	assert_string_equal(libcamera_log_levels(LOG_LEVEL_DEBUG), "*:DEBUG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severities),     cmocka_unit_test(test_prefix_kept),
		cmocka_unit_test(test_without_file_info), cmocka_unit_test(test_other_shapes),
		cmocka_unit_test(test_truncated),      cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
