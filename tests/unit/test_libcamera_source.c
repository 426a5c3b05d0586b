/* libcamera source on a host without a camera: --source libcamera fails fast with -ENODEV and a
 * message that says what to check; auto mode moves on quietly. The SPSC queue that carries frames
 * from libcamera's thread to the loop: FIFO, full/empty, wrap-around, and two threads hammering
 * it. The options that come with the source (--source libcamera:ID, --rotation, --hflip, ...).
 * (The frame hand-over itself, with a fake camera, is test_libcamera_frames.c.) */
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

#include "mjpegd/clock.h"
#include "mjpegd/config.h"
#include "mjpegd/source/libcamera_source.h"
#include "mjpegd/spsc.h"

/* Runs fn with stderr redirected to a temporary file; returns what it logged (malloc'd). */
static char *capture_stderr(int (*fn)(void *), void *arg, int *result)
{
	char path[] = "/tmp/mjpegd-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	*result = fn(arg);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);

	off_t len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 0);
	char *text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	close(fd);
	fprintf(stderr, "%s", text); /* still shown in the test log */
	return text;
}

static const struct source_params default_params = {
	.width = 640, .height = 480, .fps = 30,
};

static int create_explicit(void *arg)
{
	struct source **out = arg;
	return source_libcamera_create(&default_params, out);
}

static int create_auto(void *arg)
{
	struct source **out = arg;
	return source_libcamera_try_create(&default_params, out);
}

/* The tests below need a machine without cameras; a developer's laptop with a webcam has one. */
static bool host_has_camera(void)
{
	struct libcamera_camera_info cams[4];
	int n = source_libcamera_list(cams, 4);
	for (int i = 0; i < n && i < 4; i++)
		printf("libcamera sees camera %d: %s (%s)\n", i, cams[i].id, cams[i].model);
	return n > 0;
}

static void test_no_camera_fails_fast(void **state)
{
	(void)state;
	if (!source_libcamera_built()) {
		struct source *src = NULL;
		int r;
		char *log = capture_stderr(create_explicit, &src, &r);
		assert_int_equal(r, -EOPNOTSUPP);
		assert_non_null(strstr(log, "built without libcamera"));
		free(log);
		return;
	}
	if (host_has_camera())
		skip();

	struct source *src = NULL;
	int r;
	uint64_t t0 = now_mono_ns();
	char *log = capture_stderr(create_explicit, &src, &r);
	uint64_t ms = (now_mono_ns() - t0) / NSEC_PER_MSEC;
	printf("--source libcamera without a camera: %d after %llu ms\n", r, (unsigned long long)ms);
	assert_int_equal(r, -ENODEV);
	assert_null(src);
	assert_true(ms < 5000);
	assert_non_null(strstr(log, "no libcamera camera found"));
	assert_non_null(strstr(log, "camera_auto_detect"));
	assert_non_null(strstr(log, "ribbon cable"));
	free(log);

	/* and again: the first attempt left nothing running (one camera manager per process) */
	log = capture_stderr(create_explicit, &src, &r);
	assert_int_equal(r, -ENODEV);
	free(log);
}

static void test_auto_moves_on_quietly(void **state)
{
	(void)state;
	if (source_libcamera_built() && host_has_camera())
		skip();
	struct source *src = NULL;
	int r;
	char *log = capture_stderr(create_auto, &src, &r);
	assert_true(r == -ENODEV || r == -EOPNOTSUPP);
	assert_null(src);
	assert_string_equal(log, "");
	free(log);
}

/* libcamera's own lines reach stderr only through mjpegd's logger: each with a journald prefix,
 * none in libcamera's "[0:00:00.123] [tid]  INFO ..." shape. main() asked libcamera for its INFO
 * lines, so there is at least its version line to see. */
static void test_libcamera_log_routed(void **state)
{
	(void)state;
	if (!source_libcamera_built() || host_has_camera())
		skip();
	struct source *src = NULL;
	int r;
	char *log = capture_stderr(create_explicit, &src, &r);
	assert_int_equal(r, -ENODEV);
	assert_non_null(strstr(log, "<6>libcamera Camera: libcamera v"));
	for (char *line = log; *line; line = strchr(line, '\n') + 1) {
		assert_true(line[0] == '<' && line[1] >= '2' && line[1] <= '7' && line[2] == '>');
		assert_non_null(strchr(line, '\n'));
	}
	free(log);
}

static void test_list_without_camera(void **state)
{
	(void)state;
	if (source_libcamera_built() && host_has_camera())
		skip();
	int r = source_libcamera_list(NULL, 0);
	assert_true(source_libcamera_built() ? r == -ENODEV : r == -EOPNOTSUPP);
}

static void test_rejects_bad_params(void **state)
{
	(void)state;
	if (!source_libcamera_built())
		skip();
	struct source *src = NULL;
	struct source_params p = default_params;
	p.rotation = 90;
	assert_int_equal(source_libcamera_create(&p, &src), -EINVAL);
	p = default_params;
	p.width = 641;
	assert_int_equal(source_libcamera_create(&p, &src), -EINVAL);
	p = default_params;
	p.buffers = LIBCAMERA_MAX_BUFFERS + 1;
	assert_int_equal(source_libcamera_create(&p, &src), -EINVAL);
	assert_null(src);
}

/* --- SPSC queue --- */

static void test_spsc_basics(void **state)
{
	(void)state;
	struct spsc q;
	uintptr_t slots[4], v;
	assert_int_equal(spsc_init(&q, slots, 3), -EINVAL);
	assert_int_equal(spsc_init(&q, slots, 1), -EINVAL);
	assert_int_equal(spsc_init(&q, slots, 4), 0);
	assert_false(spsc_pop(&q, &v));
	for (uintptr_t i = 0; i < 4; i++)
		assert_true(spsc_push(&q, 10 + i));
	assert_false(spsc_push(&q, 99)); /* full: not stored */
	assert_int_equal(spsc_count(&q), 4);
	for (uintptr_t i = 0; i < 4; i++) {
		assert_true(spsc_pop(&q, &v));
		assert_int_equal(v, 10 + i);
	}
	assert_false(spsc_pop(&q, &v));

	/* many laps around the ring, never more than 3 queued */
	uintptr_t next_in = 0, next_out = 0;
	for (int round = 0; round < 1000; round++) {
		for (int k = 0; k < 1 + round % 3; k++)
			assert_true(spsc_push(&q, next_in++));
		while (spsc_pop(&q, &v))
			assert_int_equal(v, next_out++);
	}
	assert_int_equal(next_in, next_out);
	assert_int_equal(spsc_count(&q), 0);
}

/* Positions near SIZE_MAX: the wrap of the counters themselves is harmless. */
static void test_spsc_counter_wrap(void **state)
{
	(void)state;
	struct spsc q;
	uintptr_t slots[8], v;
	assert_int_equal(spsc_init(&q, slots, 8), 0);
	atomic_store(&q.head, SIZE_MAX - 5);
	atomic_store(&q.tail, SIZE_MAX - 5);
	for (uintptr_t i = 0; i < 8; i++)
		assert_true(spsc_push(&q, i));
	assert_false(spsc_push(&q, 8));
	assert_int_equal(spsc_count(&q), 8);
	for (uintptr_t i = 0; i < 8; i++) {
		assert_true(spsc_pop(&q, &v));
		assert_int_equal(v, i);
	}
	assert_false(spsc_pop(&q, &v));
}

#define SPSC_ITEMS 1000000u
#define SPSC_CAP 16

/* As the libcamera source uses it: the producer fills a per-slot record, then pushes its index;
 * the consumer must see the record complete. */
struct spsc_test {
	struct spsc q;
	uintptr_t slots[SPSC_CAP];
	uint64_t records[SPSC_CAP][4];
	struct spsc back; /* consumer → producer: which record slots are free again */
	uintptr_t back_slots[SPSC_CAP];
};

static void *spsc_producer(void *arg)
{
	struct spsc_test *t = arg;
	for (uint64_t i = 0; i < SPSC_ITEMS; i++) {
		uintptr_t rec;
		while (!spsc_pop(&t->back, &rec))
			; /* spin: wait for a free record */
		for (int k = 0; k < 4; k++)
			t->records[rec][k] = i * 4 + (uint64_t)k;
		while (!spsc_push(&t->q, rec))
			;
	}
	return NULL;
}

static void test_spsc_two_threads(void **state)
{
	(void)state;
	static struct spsc_test t;
	assert_int_equal(spsc_init(&t.q, t.slots, SPSC_CAP), 0);
	assert_int_equal(spsc_init(&t.back, t.back_slots, SPSC_CAP), 0);
	/* The consumer is the producer of "back" before the thread starts: fine, one at a time. */
	for (uintptr_t i = 0; i < SPSC_CAP; i++)
		assert_true(spsc_push(&t.back, i));

	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, spsc_producer, &t), 0);
	uint64_t expected = 0, t0 = now_mono_ns();
	while (expected < SPSC_ITEMS) {
		uintptr_t rec;
		if (!spsc_pop(&t.q, &rec))
			continue;
		assert_true(rec < SPSC_CAP);
		for (int k = 0; k < 4; k++)
			if (t.records[rec][k] != expected * 4 + (uint64_t)k)
				fail_msg("item %llu record %lu word %d: got %llu",
					 (unsigned long long)expected, (unsigned long)rec, k,
					 (unsigned long long)t.records[rec][k]);
		expected++;
		while (!spsc_push(&t.back, rec))
			;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	printf("spsc: %u items through two threads in %.0f ms\n", SPSC_ITEMS,
	       (double)(now_mono_ns() - t0) / 1e6);
	uintptr_t v;
	assert_false(spsc_pop(&t.q, &v));
}

/* --- options --- */

static void parse(struct config *cfg, int expect, const char *a1, const char *a2, const char *a3)
{
	char *argv[5] = { "mjpegd", (char *)a1, (char *)a2, (char *)a3, NULL };
	int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
	char err[CONFIG_ERR_MAX] = "";
	int r = config_parse_args(cfg, argc, argv, err, sizeof(err));
	if (r != expect)
		fail_msg("%s %s %s: %d (%s), want %d", a1, a2 ? a2 : "", a3 ? a3 : "", r, err,
			 expect);
	if (r < 0)
		printf("expected error: %s\n", err);
}

static void test_options(void **state)
{
	(void)state;
	struct config cfg;
	parse(&cfg, CONFIG_RUN, "--source", "libcamera", NULL);
	assert_int_equal(cfg.source, SOURCE_LIBCAMERA);
	assert_string_equal(cfg.source_path, "");
	assert_int_equal(cfg.camera_buffers, 4);
	assert_int_equal(cfg.rotation, 0);
	assert_false(cfg.hflip);
	assert_false(cfg.vflip);

	parse(&cfg, CONFIG_RUN, "--source=libcamera:/base/soc/i2c0mux/i2c@1/imx708@1a", NULL, NULL);
	assert_int_equal(cfg.source, SOURCE_LIBCAMERA);
	assert_string_equal(cfg.source_path, "/base/soc/i2c0mux/i2c@1/imx708@1a");
	parse(&cfg, CONFIG_RUN, "--source", "libcamera:1", NULL);
	assert_string_equal(cfg.source_path, "1");
	parse(&cfg, -EINVAL, "--source", "libcamera:", NULL);

	/* a bool flag does not eat the next argument */
	parse(&cfg, CONFIG_RUN, "--hflip", "--rotation", "180");
	assert_true(cfg.hflip);
	assert_false(cfg.vflip);
	assert_int_equal(cfg.rotation, 180);
	parse(&cfg, CONFIG_RUN, "--vflip", "--hflip=false", NULL);
	assert_true(cfg.vflip);
	assert_false(cfg.hflip);
	parse(&cfg, -EINVAL, "--vflip=maybe", NULL, NULL);
	/* 90 and 270 are taken (EXIF turns the picture); the libcamera source itself is only ever
	 * asked for the sensor's part, 0 or 180 (test_rejects_bad_params) */
	parse(&cfg, CONFIG_RUN, "--rotation", "90", NULL);
	assert_int_equal(cfg.rotation, 90);
	parse(&cfg, -EINVAL, "--rotation", "45", NULL);
	parse(&cfg, -EINVAL, "--rotation", "-180", NULL);
	parse(&cfg, CONFIG_RUN, "--camera-buffers", "8", NULL);
	assert_int_equal(cfg.camera_buffers, 8);
	parse(&cfg, -EINVAL, "--camera-buffers", "1", NULL);
	parse(&cfg, -EINVAL, "--camera-buffers", "17", NULL);

	char err[CONFIG_ERR_MAX];
	config_defaults(&cfg);
	assert_int_equal(config_parse_text(&cfg,
					   "source = libcamera:0\nhflip = true\nvflip = no\n"
					   "rotation = 180\n",
					   "test.conf", err, sizeof(err)),
			 0);
	assert_int_equal(cfg.source, SOURCE_LIBCAMERA);
	assert_true(cfg.hflip);
	assert_false(cfg.vflip);
	assert_int_equal(cfg.rotation, 180);
	assert_int_equal(config_parse_text(&cfg, "hflip = sometimes\n", "test.conf", err,
					   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "test.conf:1"));
}

int main(void)
{
	/* As a user would set it: libcamera's INFO lines too (read when libcamera's logger starts).
	 * --source auto must still be quiet, and they must come out through mjpegd's logger. */
	setenv("LIBCAMERA_LOG_LEVELS", "*:INFO", 1);
	unsetenv("LIBCAMERA_LOG_FILE");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_camera_fails_fast),
		cmocka_unit_test(test_auto_moves_on_quietly),
		cmocka_unit_test(test_libcamera_log_routed),
		cmocka_unit_test(test_list_without_camera),
		cmocka_unit_test(test_rejects_bad_params),
		cmocka_unit_test(test_spsc_basics),
		cmocka_unit_test(test_spsc_counter_wrap),
		cmocka_unit_test(test_spsc_two_threads),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
