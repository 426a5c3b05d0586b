/* The V4L2 source and M2M encoder against nodes that are not there or are not V4L2
 * (src/source/v4l2.c, src/encoder/m2m.c): a clear error naming the device, within seconds, and no
 * fd left open. The real devices are exercised on the test bed (tests/vm/guest/50-*, 60-*). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mjpegd/encoder.h"
#include "mjpegd/source.h"

static char captured[4096];

/* Runs fn with stderr going to a temporary file, then reads what was logged into captured. */
static int with_stderr_captured(int (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	dup2(fileno(tmp), STDERR_FILENO);
	int r = fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n] = '\0';
	fclose(tmp);
	return r;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int create_source(void *arg)
{
	struct source_params p = { .width = 640, .height = 480, .fps = 30, .device = arg };
	struct source *src = NULL;
	int r = source_v4l2_create(&p, &src);
	if (r == 0)
		source_destroy(src);
	return r;
}

static void test_missing_device(void **state)
{
	(void)state;
	int fds = open_fds();
	double t0 = now_s();
	int r = with_stderr_captured(create_source, "/dev/nonexistent");
	double took = now_s() - t0;
	assert_int_equal(r, -ENOENT);
	assert_true(took < 2.0);
	if (!strstr(captured, "/dev/nonexistent") || !strstr(captured, "no such device"))
		fail_msg("message does not name the device: \"%s\"", captured);
	assert_int_equal(open_fds(), fds);
}

static void test_not_a_v4l2_device(void **state)
{
	(void)state;
	int fds = open_fds();
	double t0 = now_s();
	int r = with_stderr_captured(create_source, "/dev/null");
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(r, -ENOTTY);
	if (!strstr(captured, "/dev/null") || !strstr(captured, "VIDIOC_QUERYCAP"))
		fail_msg("unclear message: \"%s\"", captured);
	assert_int_equal(open_fds(), fds);

	char path[] = "/tmp/mjpegd-not-video-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	r = with_stderr_captured(create_source, path);
	unlink(path);
	assert_true(r < 0);
	assert_non_null(strstr(captured, path));
}

/* A stable link (/dev/v4l/by-id/…, here in /tmp) is resolved at open and named with what it
 * resolved to; a dangling one (the camera unplugged) is "no such device", naming the link. */
static void test_stable_link(void **state)
{
	(void)state;
	char dir[] = "/tmp/mjpegd-by-id-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char link[96], cmd[160];
	snprintf(link, sizeof(link), "%s/usb-Camera_1234-video-index0", dir);
	assert_int_equal(symlink("/dev/null", link), 0);
	int fds = open_fds();
	int r = with_stderr_captured(create_source, link);
	assert_int_equal(r, -ENOTTY);
	if (!strstr(captured, link) || !strstr(captured, "is /dev/null"))
		fail_msg("the link and what it resolved to are not named: \"%s\"", captured);
	assert_int_equal(open_fds(), fds);

	/* unplugged: udev's link now points nowhere */
	unlink(link);
	assert_int_equal(symlink("/dev/nonexistent-video9", link), 0);
	r = with_stderr_captured(create_source, link);
	assert_int_equal(r, -ENOENT);
	if (!strstr(captured, link) || !strstr(captured, "no such device"))
		fail_msg("a dangling link: \"%s\"", captured);
	assert_int_equal(open_fds(), fds);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void release_raw(void *ctx, struct raw_frame *raw)
{
	(void)ctx;
	(void)raw;
	fail_msg("no raw frame was ever submitted");
}

static int create_m2m(void *arg)
{
	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	struct encoder_params p = {
		.in_fourcc = V4L2_PIX_FMT_YUV420, .width = 640, .height = 480, .quality = 80,
		.pool = &pool, .release_raw = release_raw, .device = arg,
		.out_fourcc = V4L2_PIX_FMT_JPEG,
	};
	struct encoder *enc = NULL;
	int r = encoder_m2m_create(&p, &enc);
	if (r == 0)
		encoder_destroy(enc);
	frame_pool_destroy(&pool);
	return r;
}

static void test_m2m_missing_device(void **state)
{
	(void)state;
	int fds = open_fds();
	double t0 = now_s();
	int r = with_stderr_captured(create_m2m, "/dev/nonexistent");
	assert_true(now_s() - t0 < 2.0);
	assert_int_equal(r, -ENOENT);
	if (!strstr(captured, "/dev/nonexistent"))
		fail_msg("message does not name the device: \"%s\"", captured);
	r = with_stderr_captured(create_m2m, "/dev/null");
	assert_true(r < 0);
	assert_non_null(strstr(captured, "/dev/null"));
	assert_int_equal(open_fds(), fds);
}

static void test_bad_parameters(void **state)
{
	(void)state;
	struct source_params p = { .width = 0, .height = 480, .fps = 30, .device = "/dev/video0" };
	struct source *src = NULL;
	assert_int_equal(source_v4l2_create(&p, &src), -EINVAL);

	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 4), 0);
	struct encoder_params ep = { .in_fourcc = V4L2_PIX_FMT_MJPEG, .width = 640, .height = 480,
				     .quality = 80, .pool = &pool, .release_raw = release_raw,
				     .out_fourcc = V4L2_PIX_FMT_JPEG };
	struct encoder *enc = NULL;
	assert_int_equal(encoder_m2m_create(&ep, &enc), -EINVAL); /* JPEG is not raw */
	ep.in_fourcc = V4L2_PIX_FMT_YUYV;
	ep.width = 641;
	assert_int_equal(encoder_m2m_create(&ep, &enc), -EINVAL);
	frame_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_device),
		cmocka_unit_test(test_not_a_v4l2_device),
		cmocka_unit_test(test_stable_link),
		cmocka_unit_test(test_m2m_missing_device),
		cmocka_unit_test(test_bad_parameters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
