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
 * given under dup'ed fds of one dma-buf are described with one fd.
 * --snapshot-size: the fake camera grants a second, full-size stream (or refuses it, as vimc
 * does) and, like the real shim, puts a free full-size buffer into each request it queues and
 * none when all are held: full frames come with the stream's, the newest is kept and older ones
 * go back, a held full frame never stalls the stream, release gives it back. */
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
/* the full-size stream's */
#define FW 160
#define FH 120
#define FPLANE_Y ((size_t)FW * FH)
#define FPLANE_C ((size_t)(FW / 2) * (FH / 2))
#define FBUF_SIZE (FPLANE_Y + 2 * FPLANE_C)

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

	/* the full-size stream: granted unless refuse_full; the shim's pool of free full-size
	 * buffers (loop thread) and the one each queued request carries (-1: none) */
	bool refuse_full;
	unsigned n_full;
	int full_memfd[LCSHIM_MAX_BUFFERS];
	uint8_t *full_map[LCSHIM_MAX_BUFFERS];
	unsigned free_full[LCSHIM_MAX_BUFFERS];
	unsigned n_free_full;
	int queue_full[LCSHIM_MAX_BUFFERS]; /* beside queue[] */
	unsigned full_requeues;
	unsigned full_completed; /* requests that carried one */
	unsigned max_fps;        /* lcshim_stream.max_fps to report */
} cam;

/* The real shim's attach_full(): a free full-size buffer into the request, when one is free. */
static int fake_attach_full(void)
{
	return cam.n_free_full ? (int)cam.free_full[--cam.n_free_full] : -1;
}

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
		int fb = cam.queue_full[0];
		memmove(cam.queue, cam.queue + 1, (cam.n_queued - 1) * sizeof(cam.queue[0]));
		memmove(cam.queue_full, cam.queue_full + 1,
			(cam.n_queued - 1) * sizeof(cam.queue_full[0]));
		cam.n_queued--;
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
			.full_buffer = fb,
		};
		if (fb >= 0) {
			memcpy(cam.full_map[fb], &seq, sizeof(seq));
			memset(cam.full_map[fb] + FPLANE_Y, (int)(seq & 0x7f), 8);
			c.full_status = c.status;
			c.full_bytesused[0] = FPLANE_Y;
			c.full_bytesused[1] = c.full_bytesused[2] = FPLANE_C;
			__atomic_add_fetch(&cam.full_completed, 1, __ATOMIC_SEQ_CST);
		}
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
		.max_fps = cam.max_fps,
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
	if (p->full_width) {
		assert_int_equal(p->full_width, FW);
		assert_int_equal(p->full_height, FH);
		assert_true(p->full_buffers >= 1 && p->full_buffers <= LCSHIM_MAX_BUFFERS);
	}
	if (p->full_width && cam.refuse_full) {
		snprintf(info->full_refused, sizeof(info->full_refused),
			 "the camera gives one stream");
	} else if (p->full_width) {
		cam.n_full = p->full_buffers;
		info->full_width = FW;
		info->full_height = FH;
		info->full_stride = FW;
		info->n_full_buffers = cam.n_full;
		for (unsigned i = 0; i < cam.n_full; i++) {
			cam.full_memfd[i] = memfd_create("fake-full", MFD_CLOEXEC);
			assert_true(cam.full_memfd[i] >= 0);
			assert_int_equal(ftruncate(cam.full_memfd[i], FBUF_SIZE), 0);
			cam.full_map[i] = mmap(NULL, FBUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
					       cam.full_memfd[i], 0);
			assert_true(cam.full_map[i] != MAP_FAILED);
			info->full_buffers[i] = (struct lcshim_buffer){
				.n_planes = 3,
				.planes = { { cam.full_memfd[i], 0, FPLANE_Y },
					    { cam.full_memfd[i], FPLANE_Y, FPLANE_C },
					    { cam.full_memfd[i], FPLANE_Y + FPLANE_C, FPLANE_C } },
			};
			cam.free_full[cam.n_free_full++] = cam.n_full - 1 - i;
		}
	}
	*out = (struct lcshim *)&cam;
	return 0;
}

int lcshim_start(struct lcshim *s)
{
	assert_ptr_equal(s, &cam);
	pthread_mutex_lock(&cam.lock);
	for (unsigned i = 0; i < cam.n_buffers; i++) {
		cam.queue_full[cam.n_queued] = fake_attach_full();
		cam.queue[cam.n_queued++] = i;
	}
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
	cam.queue_full[cam.n_queued] = fake_attach_full();
	cam.queue[cam.n_queued++] = buffer;
	pthread_cond_signal(&cam.wake);
	pthread_mutex_unlock(&cam.lock);
	return 0;
}

int lcshim_requeue_full(struct lcshim *s, unsigned buffer)
{
	assert_ptr_equal(s, &cam);
	assert_true(buffer < cam.n_full);
	pthread_mutex_lock(&cam.lock);
	for (unsigned i = 0; i < cam.n_free_full; i++)
		assert_int_not_equal(cam.free_full[i], buffer); /* given back twice */
	for (unsigned i = 0; i < cam.n_queued; i++)
		assert_int_not_equal(cam.queue_full[i], (int)buffer); /* still in a request */
	cam.free_full[cam.n_free_full++] = buffer;
	cam.full_requeues++;
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
	for (unsigned i = 0; i < cam.n_full; i++) {
		munmap(cam.full_map[i], FBUF_SIZE);
		close(cam.full_memfd[i]);
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
	.requeue_full = lcshim_requeue_full,
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

/* ---- --snapshot-size: the second, full-size stream */

static struct source *open_full(unsigned full_buffers)
{
	struct source_params p = { .width = W, .height = H, .fps = 30, .buffers = 4,
				   .full_width = FW, .full_height = FH,
				   .full_buffers = full_buffers };
	struct source *src = NULL;
	assert_int_equal(source_libcamera_create(&p, &src), 0);
	assert_non_null(src);
	return src;
}

static unsigned full_completed(void)
{
	return __atomic_load_n(&cam.full_completed, __ATOMIC_SEQ_CST);
}

/* Stream frames until a full-size one is there (each stream frame released at once). */
static struct raw_frame *wait_full(struct source *src)
{
	struct raw_frame *ff = NULL;
	for (unsigned i = 0; i < 100; i++) {
		run_loop(src, 1);
		if (source_dequeue_full(src, &ff) == 0)
			return ff;
	}
	fail_msg("no full-size frame came");
	return NULL;
}

static void check_full_frame(const struct raw_frame *ff)
{
	assert_int_equal(ff->fourcc, V4L2_PIX_FMT_YUV420);
	assert_int_equal(ff->width, FW);
	assert_int_equal(ff->height, FH);
	assert_int_equal(ff->n_planes, 3);
	assert_int_equal(ff->planes[0].bytesperline, FW);
	assert_int_equal(ff->planes[1].bytesperline, FW / 2);
	uint64_t seq;
	memcpy(&seq, ff->planes[0].data, sizeof(seq));
	assert_int_equal(seq, ff->sequence);
	assert_int_equal(ff->planes[1].data[0], (uint8_t)(seq & 0x7f));
}

static void test_full_granted(void **state)
{
	(void)state;
	struct source *src = open_full(2);
	assert_int_equal(src->width, W);
	assert_int_equal(src->full_width, FW);
	assert_int_equal(src->full_height, FH);
	assert_true(src->full_bytes >= 2 * FBUF_SIZE);
	assert_non_null(src->ops->dequeue_full);

	struct raw_frame *ff = wait_full(src);
	check_full_frame(ff);
	/* lent once: nothing newer until another stream frame is dequeued */
	struct raw_frame *again = NULL;
	assert_int_equal(source_dequeue_full(src, &again), -EAGAIN);
	unsigned before = cam.full_requeues;
	source_release(src, ff);
	assert_int_equal(cam.full_requeues, before + 1);
	source_destroy(src);
}

static void test_full_refused(void **state)
{
	(void)state;
	cam.refuse_full = true;
	struct source *src = open_full(2);
	assert_int_equal(src->full_width, 0);
	assert_int_equal(src->full_height, 0);
	assert_int_equal(src->full_bytes, 0);
	struct run_result res = run_loop(src, 20);
	assert_int_equal(res.frames, 20);
	struct raw_frame *ff = NULL;
	assert_int_equal(source_dequeue_full(src, &ff), -EAGAIN);
	source_destroy(src);
}

/* Never taken: each newer full-size frame replaces the one kept, which goes back to the
 * camera, so full-size frames keep coming (with 2 buffers and none given back, 2 at most). */
static void test_full_replaced(void **state)
{
	(void)state;
	struct source *src = open_full(2);
	struct run_result res = run_loop(src, 60);
	assert_int_equal(res.frames, 60);
	assert_true(full_completed() > 10);
	assert_true(cam.full_requeues >= full_completed() - 1 - 4); /* 4: in completed requests */
	struct raw_frame *ff = NULL;
	assert_int_equal(source_dequeue_full(src, &ff), 0);
	check_full_frame(ff);
	source_release(src, ff);
	source_destroy(src);
}

/* Both full-size buffers held: the stream flows on (requests go without one), no full-size frame
 * comes; one released: they come again. */
static void test_full_held_stream_flows(void **state)
{
	(void)state;
	struct source *src = open_full(2);
	struct raw_frame *a = wait_full(src);
	struct raw_frame *b = wait_full(src);
	assert_ptr_not_equal(a, b);
	/* requests completed or queued before b was taken may still carry one: let them pass */
	run_loop(src, 8);
	struct raw_frame *c = NULL;
	assert_int_equal(source_dequeue_full(src, &c), -EAGAIN);
	unsigned held_at = full_completed();
	struct run_result res = run_loop(src, 40);
	assert_int_equal(res.frames, 40);
	assert_int_equal(full_completed(), held_at);
	assert_int_equal(source_dequeue_full(src, &c), -EAGAIN);

	source_release(src, a);
	c = wait_full(src);
	check_full_frame(c);
	assert_ptr_equal(c, a); /* the one given back */
	source_release(src, c);
	source_release(src, b);
	source_destroy(src);
}

/* A failed request's full-size buffer goes back too: all 4 can still be held at once after it. */
static void test_full_failed_frame(void **state)
{
	(void)state;
	cam.fail_at = 3; /* 4 stream and 4 full-size buffers: its request carries one */
	struct source *src = open_full(4);
	struct run_result res = run_loop(src, 20);
	assert_int_equal(res.frames, 20);
	assert_int_equal(res.eio, 1);
	struct raw_frame *held[4];
	for (unsigned i = 0; i < 4; i++) {
		held[i] = wait_full(src);
		check_full_frame(held[i]);
		for (unsigned j = 0; j < i; j++)
			assert_ptr_not_equal(held[i], held[j]);
	}
	for (unsigned i = 0; i < 4; i++)
		source_release(src, held[i]);
	source_destroy(src);
}

/* What the source logs at open, stderr caught in a memfd (NUL-terminated, static). */
static const char *open_logged(struct source **src, unsigned full_buffers)
{
	static char text[4096];
	fflush(stderr);
	int saved = dup(2), fd = memfd_create("stderr", MFD_CLOEXEC);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	*src = open_full(full_buffers);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	fputs(text, stderr);
	return text;
}

/* The sensor mode's frame-rate cap is logged, with a warning when below --fps; the two streams
 * and a refusal are named. */
static void test_full_logged(void **state)
{
	(void)state;
	struct source *src = NULL;
	cam.max_fps = 21;
	const char *log = open_logged(&src, 2);
	assert_non_null(strstr(log, "two streams: 160x120 for snapshots (2 buffers, "));
	assert_non_null(strstr(log, "<4>libcamera: /base/fake/imx708@1a: the sensor mode for 160x120 "
				    "gives at most 21 fps, not the 30 asked for"));
	assert_non_null(strstr(log, "(its sensor mode: up to 21 fps)"));
	source_destroy(src);

	reset_camera(NULL);
	cam.refuse_full = true;
	cam.max_fps = 60;
	log = open_logged(&src, 2);
	assert_non_null(strstr(log, "<4>libcamera: /base/fake/imx708@1a: no second stream of "
				    "160x120 for --snapshot-size: the camera gives one stream"));
	assert_null(strstr(log, "gives at most"));
	assert_non_null(strstr(log, "(its sensor mode: up to 60 fps)"));
	source_destroy(src);
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
		cmocka_unit_test_setup(test_full_granted, reset_camera),
		cmocka_unit_test_setup(test_full_refused, reset_camera),
		cmocka_unit_test_setup(test_full_replaced, reset_camera),
		cmocka_unit_test_setup(test_full_held_stream_flows, reset_camera),
		cmocka_unit_test_setup(test_full_failed_frame, reset_camera),
		cmocka_unit_test_setup(test_full_logged, reset_camera),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
