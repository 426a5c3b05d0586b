/* Unit tests for logging (src/log.c): stderr is redirected to a temporary file and read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mjpegd/log.h"

static int saved_stderr = -1;
static int capture_fd = -1;
static off_t read_so_far;

/* cmocka reports failures on stderr: put it back first, or the report lands in the capture. */
static void restore_stderr(void)
{
	dup2(saved_stderr, STDERR_FILENO);
}

static int capture_start(void **state)
{
	(void)state;
	char path[] = "/tmp/mjpegd-log-XXXXXX";
	capture_fd = mkstemp(path);
	assert_true(capture_fd >= 0);
	unlink(path);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
	read_so_far = 0;
	log_set_level(LOG_LEVEL_INFO);
	/* Break any repeat run left by the previous test. */
	log_msg(LOG_LEVEL_ERR, "---- %p", (void *)state);
	return 0;
}

static int capture_stop(void **state)
{
	(void)state;
	restore_stderr();
	close(saved_stderr);
	close(capture_fd);
	return 0;
}

/* Everything written since the last call, with the separator line from capture_start dropped. */
static char *captured(void)
{
	off_t end = lseek(capture_fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)(end - read_so_far) + 1);
	assert_non_null(buf);
	assert_int_equal(pread(capture_fd, buf, (size_t)(end - read_so_far), read_so_far),
			 end - read_so_far);
	read_so_far = end;
	if (strncmp(buf, "<3>---- ", 8) == 0) {
		char *nl = strchr(buf, '\n');
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
	}
	return buf;
}

static void assert_output(const char *want)
{
	char *out = captured();
	if (strcmp(out, want) != 0) {
		restore_stderr();
		fail_msg("logged:\n%s\nwant:\n%s", out, want);
	}
	free(out);
}

/* One line with the errno's text, and the error handed back for the caller to return. */
static void test_errno_helpers(void **state)
{
	(void)state;
	free(captured());
	errno = EAGAIN;
	assert_int_equal(log_err_errno(-ENODEV, "v4l2 %s: opening", "/dev/video9"), -ENODEV);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(log_warn_errno(-EBUSY, "busy"), -EBUSY);
	log_set_level(LOG_LEVEL_ERR);
	assert_int_equal(log_warn_errno(-EIO, "hidden"), -EIO);
	log_set_level(LOG_LEVEL_INFO);
	assert_output("<3>v4l2 /dev/video9: opening: No such device\n<4>busy: Device or resource busy\n");
}

static void test_object_prefix(void **state)
{
	(void)state;
	free(captured());
	const char *prefix = "v4l2 /dev/video9";
	log_obj_err(prefix, "frame %u has V4L2_BUF_FLAG_ERROR", 3u);
	errno = EAGAIN;
	assert_int_equal(log_obj_err_errno(prefix, -ENODEV, "VIDIOC_QBUF %u", 1u), -ENODEV);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(log_obj_info_errno(prefix, -EINVAL, "cannot set %u fps", 30u), -EINVAL);
	log_obj_debug(prefix, "hidden at info");
	assert_output("<3>v4l2 /dev/video9: frame 3 has V4L2_BUF_FLAG_ERROR\n"
		      "<3>v4l2 /dev/video9: VIDIOC_QBUF 1: No such device\n"
		      "<6>v4l2 /dev/video9: cannot set 30 fps: Invalid argument\n");
}

static void test_prefix_and_level(void **state)
{
	(void)state;
	free(captured());
	log_err("disk %s", "gone");
	log_warn("w");
	log_notice("n");
	log_info("i %d", 42);
	log_debug("not shown at info");
	assert_output("<3>disk gone\n<4>w\n<5>n\n<6>i 42\n");

	log_set_level(LOG_LEVEL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_debug("shown");
	log_set_level(LOG_LEVEL_ERR);
	log_warn("hidden");
	log_err("e");
	assert_output("<7>shown\n<3>e\n");

	/* Out-of-range levels are clamped, not taken literally. */
	log_set_level(99);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level(0);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERR);
}

static void test_newlines_and_errno(void **state)
{
	(void)state;
	free(captured());
	errno = EBUSY;
	log_info("two\nlines\n");
	if (errno != EBUSY) {
		restore_stderr();
		fail_msg("errno changed to %d", errno);
	}
	assert_output("<6>two lines\n");
}

static void test_repeats_suppressed(void **state)
{
	(void)state;
	free(captured());
	for (int i = 0; i < LOG_REPEAT_BURST + 7; i++)
		log_warn("camera timeout");
	log_info("recovered");
	char want[512] = "";
	for (int i = 0; i < LOG_REPEAT_BURST; i++)
		strcat(want, "<4>camera timeout\n");
	strcat(want, "<4>(7 similar messages suppressed)\n<6>recovered\n");
	assert_output(want);

	/* Same text at another level is another message. */
	log_info("x");
	log_err("x");
	assert_output("<6>x\n<3>x\n");

	/* Filtered-out messages do not count as repeats or break a run. */
	for (int i = 0; i < LOG_REPEAT_BURST; i++)
		log_err("x");
	log_debug("x");
	log_err("x");
	log_err("y");
	want[0] = '\0';
	for (int i = 0; i < LOG_REPEAT_BURST - 1; i++)
		strcat(want, "<3>x\n");
	strcat(want, "<3>(2 similar messages suppressed)\n<3>y\n");
	assert_output(want);

	/* A single suppressed message is reported too. */
	for (int i = 0; i < LOG_REPEAT_BURST; i++)
		log_err("z");
	free(captured());
	log_err("z");
	log_notice("done");
	assert_output("<3>(1 similar messages suppressed)\n<5>done\n");
}

static void *log_from_thread(void *arg)
{
	for (int i = 0; i < 200; i++)
		log_info("thread %d line %d", *(int *)arg, i);
	return NULL;
}

/* Lines from several threads arrive whole. */
static void test_threads(void **state)
{
	(void)state;
	free(captured());
	pthread_t t[4];
	int ids[4] = { 0, 1, 2, 3 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_from_thread, &ids[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char *out = captured();
	int lines = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		int id, n;
		char end;
		if (sscanf(line, "<6>thread %d line %d%c", &id, &n, &end) != 2) {
			restore_stderr();
			fail_msg("mangled line \"%s\"", line);
		}
		lines++;
	}
	restore_stderr();
	assert_int_equal(lines, 800);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prefix_and_level, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_errno_helpers, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_object_prefix, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_newlines_and_errno, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_repeats_suppressed, capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_threads, capture_start, capture_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
