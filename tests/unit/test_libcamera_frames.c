/* The libcamera source's frame hand-over, with a fake camera behind the shim's C API.
 *
 * This file defines lcshim_open/start/requeue/close/list/version itself and hands them to the
 * loader as the plugin's table (libcamera_plugin_set_loaded()), so the real shim (the plugin,
 * mjpegd-libcamera.so) is never loaded: src/source/libcamera_source.c runs unchanged against a "camera" thread that writes each frame's sequence number into memfd-backed
 * buffers (mapped like dma-bufs) and completes it from its own thread, as libcamera does. The test
 * is the loop thread: poll the source fd, dequeue until -EAGAIN, check the pixels, release.
 * Covered: data visible through the SPSC queue, strides/planes/fds, requeue on release, sequence
 * gaps counted as drops, a failed frame (-EIO once, stream continues), all buffers held (no
 * frames, then recovery), a disconnect (-ENODEV, fd quiet afterwards), and the open errors.
 * Zero copy: source.dmabuf follows the encoder's stride/height alignment (false, logged once,
 * when the camera's layout does not fit; the CPU mapping serves frames either way), and planes
 * given under dup'ed fds of one dma-buf are described with one fd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/source/libcamera_source.h"

#include "mjpegd/source/libcamera_plugin.h"
#include "../../src/source/libcamera_shim.h"

#define W 64
#define H 48
#define STRIDE (W + 32)
#define PLANE_Y ((size_t)STRIDE * H)
#define PLANE_C ((size_t)(STRIDE / 2) * (H / 2))
#define BUF_SIZE (PLANE_Y + 2 * PLANE_C + 4096)

static struct fake_camera {
	int open_result;
	struct lcshim_callbacks cb;
	unsigned n_buffers;
	int memfd[LCSHIM_MAX_BUFFERS];
	int dupfd[LCSHIM_MAX_BUFFERS][2]; /* planes 1 and 2 under other fds (dup_planes) */
	bool dup_planes;
	uint8_t *map[LCSHIM_MAX_BUFFERS];

	pthread_mutex_t lock;
	pthread_cond_t wake;
	unsigned queue[LCSHIM_MAX_BUFFERS]; /* buffers the camera holds, FIFO */
	unsigned n_queued;
	bool stop, thread_started;
	pthread_t thread;
	uint64_t sequence;
	uint64_t fail_at, skip_at, disconnect_at; /* sequence numbers; 0: never */
	unsigned requeues;
	bool disconnected;
} cam;

static void *camera_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cam.lock);
	for (;;) {
		while (!cam.stop && (cam.n_queued == 0 || cam.disconnected))
			pthread_cond_wait(&cam.wake, &cam.lock);
		if (cam.stop)
			break;
		unsigned b = cam.queue[0];
		memmove(cam.queue, cam.queue + 1, --cam.n_queued * sizeof(cam.queue[0]));
		uint64_t seq = cam.sequence++;
		if (cam.skip_at && seq == cam.skip_at)
			seq = cam.sequence++; /* the sensor dropped one */
		pthread_mutex_unlock(&cam.lock);

		if (cam.disconnect_at && seq == cam.disconnect_at) {
			pthread_mutex_lock(&cam.lock);
			cam.disconnected = true;
			pthread_mutex_unlock(&cam.lock);
			cam.cb.disconnected(cam.cb.ctx);
			pthread_mutex_lock(&cam.lock);
			continue;
		}
		/* the "sensor" writes the frame, then completes it */
		memcpy(cam.map[b], &seq, sizeof(seq));
		memset(cam.map[b] + PLANE_Y, (int)(seq & 0x7f), 8);
		struct lcshim_completion c = {
			.buffer = b,
			.status = cam.fail_at && seq == cam.fail_at ? -EIO : 0,
			.sequence = seq,
			.timestamp_ns = now_mono_ns(),
			.bytesused = { PLANE_Y, PLANE_C, PLANE_C },
		};
		cam.cb.completed(cam.cb.ctx, &c);
		usleep(200);
		pthread_mutex_lock(&cam.lock);
	}
	pthread_mutex_unlock(&cam.lock);
	return NULL;
}

int lcshim_open(const struct lcshim_params *p, const struct lcshim_callbacks *cb,
		struct lcshim **out, struct lcshim_stream *info)
{
	if (cam.open_result < 0)
		return cam.open_result;
	assert_int_equal(p->width, W);
	assert_int_equal(p->height, H);
	cam.cb = *cb;
	cam.n_buffers = p->buffers;
	*info = (struct lcshim_stream){
		.camera_id = "/base/fake/imx708@1a",
		.model = "fake708",
		.fourcc = V4L2_PIX_FMT_YUV420,
		.width = W,
		.height = H,
		.stride = STRIDE,
		.n_buffers = p->buffers,
		.frame_duration_set = true,
		.autofocus = true,
		.transform_applied = true,
	};
	for (unsigned i = 0; i < p->buffers; i++) {
		cam.memfd[i] = memfd_create("fake-dmabuf", MFD_CLOEXEC);
		assert_true(cam.memfd[i] >= 0);
		assert_int_equal(ftruncate(cam.memfd[i], BUF_SIZE), 0);
		cam.map[i] = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, cam.memfd[i], 0);
		assert_true(cam.map[i] != MAP_FAILED);
		/* three planes in one buffer, as libcamera describes a single-planar YUV420 buffer */
		int fd1 = cam.memfd[i], fd2 = cam.memfd[i];
		if (cam.dup_planes) {
			fd1 = cam.dupfd[i][0] = dup(cam.memfd[i]);
			fd2 = cam.dupfd[i][1] = dup(cam.memfd[i]);
			assert_true(fd1 >= 0 && fd2 >= 0);
		}
		info->buffers[i] = (struct lcshim_buffer){
			.n_planes = 3,
			.planes = { { cam.memfd[i], 0, PLANE_Y },
				    { fd1, PLANE_Y, PLANE_C },
				    { fd2, PLANE_Y + PLANE_C, PLANE_C } },
		};
	}
	*out = (struct lcshim *)&cam;
	return 0;
}

int lcshim_start(struct lcshim *s)
{
	assert_ptr_equal(s, &cam);
	pthread_mutex_lock(&cam.lock);
	for (unsigned i = 0; i < cam.n_buffers; i++)
		cam.queue[cam.n_queued++] = i;
	pthread_mutex_unlock(&cam.lock);
	assert_int_equal(pthread_create(&cam.thread, NULL, camera_thread, NULL), 0);
	cam.thread_started = true;
	return 0;
}

int lcshim_requeue(struct lcshim *s, unsigned buffer)
{
	assert_ptr_equal(s, &cam);
	assert_true(buffer < cam.n_buffers);
	pthread_mutex_lock(&cam.lock);
	cam.requeues++;
	if (cam.disconnected) {
		pthread_mutex_unlock(&cam.lock);
		return -ENODEV;
	}
	for (unsigned i = 0; i < cam.n_queued; i++)
		assert_int_not_equal(cam.queue[i], buffer); /* queued twice */
	cam.queue[cam.n_queued++] = buffer;
	pthread_cond_signal(&cam.wake);
	pthread_mutex_unlock(&cam.lock);
	return 0;
}

/* The camera's controls: one, enough to see the source pass them through. */
static struct control_set fake_controls_set;

int lcshim_controls(struct lcshim *s, struct control_list *l)
{
	assert_ptr_equal(s, &cam);
	l->n = 1;
	l->desc[0] = (struct control_desc){
		.name = "Brightness", .id = 9, .type = CONTROL_FLOAT,
		.min = { .type = CONTROL_FLOAT, .f = -1 }, .max = { .type = CONTROL_FLOAT, .f = 1 },
	};
	return 1;
}

int lcshim_set_controls(struct lcshim *s, const struct control_list *l, const struct control_set *set,
			char *why, size_t whylen)
{
	(void)l;
	(void)why;
	(void)whylen;
	assert_ptr_equal(s, &cam);
	fake_controls_set = *set;
	return 0;
}

void lcshim_close(struct lcshim *s)
{
	if (!s)
		return;
	if (cam.thread_started) {
		pthread_mutex_lock(&cam.lock);
		cam.stop = true;
		pthread_cond_signal(&cam.wake);
		pthread_mutex_unlock(&cam.lock);
		pthread_join(cam.thread, NULL);
	}
	for (unsigned i = 0; i < cam.n_buffers; i++) {
		munmap(cam.map[i], BUF_SIZE);
		close(cam.memfd[i]);
		if (cam.dup_planes) {
			close(cam.dupfd[i][0]);
			close(cam.dupfd[i][1]);
		}
	}
}

int lcshim_list(struct lcshim_camera *cams, unsigned max)
{
	(void)cams;
	(void)max;
	return -ENODEV;
}

const char *lcshim_version(void)
{
	return "fake";
}

/* The fakes above stand in for the plugin: the source reaches them through the same table. */
static const struct lcshim_ops fake_ops = {
	.abi_version = LCSHIM_ABI_VERSION,
	.layout = LCSHIM_LAYOUT_INIT,
	.built_against = "fake",
	.open = lcshim_open,
	.start = lcshim_start,
	.requeue = lcshim_requeue,
	.controls = lcshim_controls,
	.set_controls = lcshim_set_controls,
	.close = lcshim_close,
	.list = lcshim_list,
	.version = lcshim_version,
};

static int reset_camera(void **state)
{
	(void)state;
	memset(&cam, 0, sizeof(cam));
	pthread_mutex_init(&cam.lock, NULL);
	pthread_cond_init(&cam.wake, NULL);
	cam.sequence = 1;
	return 0;
}

static struct source *open_aligned(unsigned buffers, unsigned stride_align, unsigned height_align)
{
	struct source_params p = { .width = W, .height = H, .fps = 30, .buffers = buffers,
				   .stride_align = stride_align, .height_align = height_align };
	struct source *src = NULL;
	assert_int_equal(source_libcamera_create(&p, &src), 0);
	assert_non_null(src);
	return src;
}

static struct source *open_source(unsigned buffers)
{
	return open_aligned(buffers, 0, 0);
}

struct run_result {
	unsigned frames, eio, enodev;
};

/* The loop thread: until `frames` good frames (or a -ENODEV), release each at once. */
static struct run_result run_loop(struct source *src, unsigned frames)
{
	struct run_result res = { 0 };
	uint64_t last = 0;
	while (res.frames < frames && !res.enodev) {
		struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		/* stop at exactly `frames`: the fake camera keeps producing, and on a slow machine
		 * more may already be queued */
		while (res.frames < frames) {
			struct raw_frame *f = NULL;
			int r = source_dequeue(src, &f);
			if (r == -EAGAIN)
				break;
			if (r == -EIO) {
				res.eio++;
				break; /* as the pipeline does: stop on an error until the next wake-up */
			}
			if (r == -ENODEV) {
				res.enodev++;
				break;
			}
			assert_int_equal(r, 0);
			uint64_t seq;
			memcpy(&seq, f->planes[0].data, sizeof(seq));
			assert_int_equal(seq, f->sequence);
			assert_int_equal(f->planes[1].data[0], (uint8_t)(seq & 0x7f));
			assert_true(f->sequence > last);
			last = f->sequence;
			res.frames++;
			source_release(src, f);
		}
	}
	return res;
}

static void test_frames_flow(void **state)
{
	(void)state;
	struct source *src = open_source(4);
	assert_int_equal(src->fourcc, V4L2_PIX_FMT_YUV420);
	assert_int_equal(src->width, W);
	assert_int_equal(src->bytesperline, STRIDE);
	assert_true(src->dmabuf);
	assert_non_null(strstr(src->description, "fake708"));
	assert_non_null(strstr(src->description, "AF"));

	struct raw_frame *f = NULL;
	struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(source_dequeue(src, &f), 0);
	assert_int_equal(f->n_planes, 3);
	assert_int_equal(f->planes[0].bytesperline, STRIDE);
	assert_int_equal(f->planes[1].bytesperline, STRIDE / 2);
	assert_int_equal(f->planes[2].bytesperline, STRIDE / 2);
	assert_ptr_equal(f->planes[1].data, f->planes[0].data + PLANE_Y);
	assert_int_equal(f->planes[0].dmabuf_fd, cam.memfd[f->index]);
	assert_int_equal(f->planes[2].dmabuf_offset, PLANE_Y + PLANE_C);
	assert_int_equal(f->planes[0].buffer_size, BUF_SIZE);
	assert_int_equal(f->planes[0].length, PLANE_Y);
	uint64_t now = now_wall_us();
	assert_true(f->timestamp_us <= now && f->timestamp_us + 5 * USEC_PER_SEC > now);
	source_release(src, f);

	struct run_result res = run_loop(src, 300);
	assert_int_equal(res.frames, 300);
	assert_int_equal(res.eio, 0);
	assert_int_equal(src->stats.frames_captured, 301);
	assert_int_equal(src->stats.frames_dropped, 0);
	assert_true(cam.requeues >= 301);

	/* its controls pass through the source to the shim */
	struct control_list l;
	assert_int_equal(source_controls(src, &l), 1);
	assert_string_equal(l.desc[0].name, "Brightness");
	struct control_set set = { .n = 1 };
	set.item[0].value = (struct control_value){ .type = CONTROL_FLOAT, .f = 0.5 };
	char why[64];
	assert_int_equal(src->ops->set_controls(src, &l, &set, why, sizeof(why)), 0);
	assert_int_equal(fake_controls_set.n, 1);
	assert_true(fake_controls_set.item[0].value.f == 0.5);
	source_destroy(src);
}

static void test_gap_and_failed_frame(void **state)
{
	(void)state;
	cam.skip_at = 20;
	cam.fail_at = 40;
	struct source *src = open_source(4);
	struct run_result res = run_loop(src, 100);
	assert_int_equal(res.frames, 100);
	assert_int_equal(res.eio, 1);
	/* one skipped by the sensor, one failed */
	assert_int_equal(src->stats.frames_dropped, 2);
	source_destroy(src);
}

/* All buffers lent: the camera has nothing to fill, nothing arrives; releasing resumes it. */
static void test_all_buffers_held(void **state)
{
	(void)state;
	struct source *src = open_source(3);
	struct raw_frame *held[3];
	unsigned n = 0;
	while (n < 3) {
		struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		while (n < 3 && source_dequeue(src, &held[n]) == 0)
			n++;
	}
	struct raw_frame *f;
	assert_int_equal(source_dequeue(src, &f), -EAGAIN);
	struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 50), 0);
	for (unsigned i = 0; i < 3; i++)
		source_release(src, held[i]);
	struct run_result res = run_loop(src, 10);
	assert_int_equal(res.frames, 10);
	source_destroy(src);
}

static void test_disconnect(void **state)
{
	(void)state;
	cam.disconnect_at = 30;
	struct source *src = open_source(4);
	struct run_result res = run_loop(src, 1000);
	assert_int_equal(res.enodev, 1);
	assert_true(res.frames >= 20 && res.frames < 30);
	/* every later call says so too, and the fd does not keep waking the loop */
	struct raw_frame *f;
	assert_int_equal(source_dequeue(src, &f), -ENODEV);
	struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 50), 0);
	source_destroy(src);
}

/* Runs fn with stderr in a temporary file; returns what it logged (malloc'd). */
static char *capture_stderr(struct source *(*fn)(void), struct source **out)
{
	char path[] = "/tmp/mjpegd-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0 && dup2(fd, STDERR_FILENO) >= 0);
	*out = fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 0);
	char *text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	close(fd);
	fprintf(stderr, "%s", text);
	return text;
}

static unsigned count(const char *text, const char *what)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The encoder reads rows of a multiple of 32 bytes padded to 16 rows: 96-byte rows, 48 rows,
 * planes back to back in one buffer large enough: imported as they are. */
static void test_dmabuf_when_aligned(void **state)
{
	(void)state;
	struct source *src = open_aligned(4, 32, 16);
	assert_true(src->dmabuf);
	assert_int_equal(src->bytesperline, STRIDE);
	assert_non_null(strstr(src->description, " dmabuf"));
	struct run_result res = run_loop(src, 20);
	assert_int_equal(res.frames, 20);
	source_destroy(src);
}

static struct source *open_stride_64(void)
{
	return open_aligned(4, 64, 16);
}

static struct source *open_rows_32(void)
{
	return open_aligned(4, 32, 32);
}

/* 96-byte rows where the encoder reads a multiple of 64: no dma-buf hand-over, said once at info,
 * and the frames still come through the CPU mapping (for the copy). */
static void test_no_dmabuf_when_stride_unfit(void **state)
{
	(void)state;
	struct source *src = NULL;
	char *log = capture_stderr(open_stride_64, &src);
	assert_false(src->dmabuf);
	assert_null(strstr(src->description, "dmabuf"));
	assert_int_equal(count(log, "do not fit the M2M encoder"), 1);
	assert_non_null(strstr(log, "bytesperline 96"));
	assert_non_null(strstr(log, "multiple of 64"));
	free(log);
	struct raw_frame *f = NULL;
	struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(source_dequeue(src, &f), 0);
	assert_non_null(f->planes[0].data);
	assert_int_equal(f->planes[0].bytesperline, STRIDE);
	source_release(src, f);
	struct run_result res = run_loop(src, 20);
	assert_int_equal(res.frames, 20);
	source_destroy(src);
}

/* Rows padded to 32 (48 → 64): chroma is not where such an encoder reads it. */
static void test_no_dmabuf_when_rows_padded(void **state)
{
	(void)state;
	struct source *src = NULL;
	char *log = capture_stderr(open_rows_32, &src);
	assert_false(src->dmabuf);
	assert_non_null(strstr(log, "plane 1 starts at byte 4608"));
	free(log);
	source_destroy(src);
}

/* Planes of one dma-buf under three fds (dup'ed): described with plane 0's fd, so an encoder can
 * import the buffer; one CPU mapping per buffer. */
static void test_dup_fds_one_dmabuf(void **state)
{
	(void)state;
	cam.dup_planes = true;
	struct source *src = open_aligned(4, 32, 16);
	assert_true(src->dmabuf);
	struct raw_frame *f = NULL;
	struct pollfd pfd = { .fd = source_fd(src), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(source_dequeue(src, &f), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(f->planes[i].dmabuf_fd, cam.memfd[f->index]);
	assert_ptr_equal(f->planes[1].data, f->planes[0].data + PLANE_Y);
	assert_ptr_equal(f->planes[2].data, f->planes[0].data + PLANE_Y + PLANE_C);
	source_release(src, f);
	struct run_result res = run_loop(src, 20);
	assert_int_equal(res.frames, 20);
	source_destroy(src);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct source_params p = { .width = W, .height = H, .fps = 30 };
	struct source *src = NULL;
	cam.open_result = -ENODEV;
	assert_int_equal(source_libcamera_create(&p, &src), -ENODEV);
	assert_int_equal(source_libcamera_try_create(&p, &src), -ENODEV);
	cam.open_result = -EBUSY;
	assert_int_equal(source_libcamera_create(&p, &src), -EBUSY);
	assert_null(src);
}

int main(void)
{
	libcamera_plugin_set_loaded(&fake_ops, "(the fakes of this test)");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_frames_flow, reset_camera),
		cmocka_unit_test_setup(test_gap_and_failed_frame, reset_camera),
		cmocka_unit_test_setup(test_all_buffers_held, reset_camera),
		cmocka_unit_test_setup(test_disconnect, reset_camera),
		cmocka_unit_test_setup(test_dmabuf_when_aligned, reset_camera),
		cmocka_unit_test_setup(test_no_dmabuf_when_stride_unfit, reset_camera),
		cmocka_unit_test_setup(test_no_dmabuf_when_rows_padded, reset_camera),
		cmocka_unit_test_setup(test_dup_fds_one_dmabuf, reset_camera),
		cmocka_unit_test_setup(test_open_errors, reset_camera),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
