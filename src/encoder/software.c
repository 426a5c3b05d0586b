/* Software JPEG encoder: libjpeg-turbo (TurboJPEG API) on one worker thread.
 *
 * The loop thread never waits for the worker. A job pairs a raw frame with an output frame; it
 * moves submit → pending → (worker encodes) → done → collect. Only the queue operations take the
 * mutex; the worker's result reaches the loop through the done list and an eventfd.
 *
 * Ownership while a job is in flight:
 *  - the raw frame stays the source's; the worker only reads it; collect (or destroy) gives it
 *    back through release_raw on the loop thread, exactly once;
 *  - the output frame was acquired and sized (frame_reserve) on the loop thread, because the pool
 *    is loop-thread only; the worker writes into frame->buf and nothing else of it. The buffer is
 *    sized from the largest JPEG so far, not tjBufSize (≈3 bytes a pixel: 2.8 MB at 720p, for
 *    every frame a slow client holds), and TurboJPEG may grow it: it then returns a new malloc'd
 *    buffer and leaves ours alone (checked with ASan against libjpeg-turbo 2.1.5), which collect
 *    hands to the frame with frame_adopt_buffer().
 * A job slot counts as in flight from submit until collect returns it, so "queue full" (-EBUSY)
 * does not depend on how fast the worker is.
 *
 * NV12 (what libcamera's virtual camera and some ISPs give) keeps its luma plane where it is; its
 * interleaved chroma rows are split into U and V planes in a scratch buffer of the worker's
 * (w/2 × h/2 each: 0.6 MB at 1280x960, a third of the frame's bytes) that
 * tjCompressFromYUVPlanes then reads, so the JPEG is the one the same picture in I420 gives.
 *
 * YUYV is encoded as 4:2:0 by src/encoder/yuyv_jpeg.c: libjpeg's raw-data API fed 16 rows at a
 * time, de-interleaved by src/encoder/yuyv.c (SSE2/NEON, chroma averaged over row pairs) into a
 * strip that stays in the cache, rather than whole Y/U/V planes (1.4 MB at 720p) that
 * tjCompressFromYUVPlanes then read back from memory; the JPEG is byte for byte the same. Its
 * output buffer grows the same way as TurboJPEG's (a malloc'd buffer in job->grown). Measured
 * against keeping 4:2:2 (the same vectorised de-interleave, twice the chroma): ~1.25× the frames
 * per CPU-second and 18% smaller JPEGs; the strips against whole planes in docs/performance.md,
 * "Encoding" (bench/results/encode.json).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/encoder.h"
#include "mjpegd/encoder/yuyv.h"
#include "mjpegd/encoder/yuyv_jpeg.h"
#include "mjpegd/log.h"

/* Two: the worker encodes one while the next waits, which hides the hand-over latency; more
 * would only add delay, as the newest frame is what clients want. */
#define SOFTWARE_SLOTS 2
#define SOFTWARE_ERROR_MAX 200

struct software_job {
	struct raw_frame *raw;
	struct frame *frame;
	/* written by the worker, read by the loop after the job came back through the done list */
	int result;
	unsigned long jpeg_len;
	/* the encoder's replacement buffer (malloc'd) when ours was too small, else NULL */
	unsigned char *grown;
	uint64_t cpu_ns;
	char error[SOFTWARE_ERROR_MAX]; /* tjGetErrorStr2 or libjpeg text, copied on the worker */
};

/* A tiny FIFO of job indices. */
struct job_fifo {
	unsigned items[SOFTWARE_SLOTS];
	unsigned head, count;
};

struct software_encoder {
	struct encoder enc;
	uint32_t in_fourcc;
	unsigned width, height;
	int subsamp; /* TJSAMP_420 (I420, NV12, YUYV, RGB) */
	int rgb_format; /* TJPF_RGB / TJPF_BGR for packed RGB input, else -1 */
	size_t reserve; /* bytes to reserve per output frame: 5/4 of the largest JPEG so far */
	struct frame_pool *pool;
	encoder_release_raw_fn release_raw;
	void *release_ctx;
	atomic_uint quality;
	int event_fd;
	int worker_nice; /* added to the worker thread's nice value at its start */
	char description[64];

	/* loop thread only */
	bool job_in_use[SOFTWARE_SLOTS];
	unsigned in_flight;

	/* shared: under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct job_fifo pending, done;
	struct software_job jobs[SOFTWARE_SLOTS]; /* fields owned by whoever holds the job */

	/* worker only */
	tjhandle tj; /* I420, NV12 and RGB */
	uint8_t *chroma; /* NV12: the U plane then the V plane, (w/2) × (h/2) each */
	struct yuyv_jpeg *yj; /* YUYV */
	pthread_t worker;
	bool worker_started;
	bool sync_initialized;
};

static void fifo_push(struct job_fifo *q, unsigned job)
{
	q->items[(q->head + q->count++) % SOFTWARE_SLOTS] = job;
}

static bool fifo_pop(struct job_fifo *q, unsigned *job)
{
	if (q->count == 0)
		return false;
	*job = q->items[q->head];
	q->head = (q->head + 1) % SOFTWARE_SLOTS;
	q->count--;
	return true;
}

/* NV12's interleaved chroma rows (U0 V0 U1 V1 …, cw pairs a row, stride bytes apart) to a U and
 * a V plane of cw × ch, stride cw. */
static void nv12_split_chroma(const uint8_t *uv, size_t stride, unsigned cw, unsigned ch,
			      uint8_t *u, uint8_t *v)
{
	for (unsigned r = 0; r < ch; r++, uv += stride, u += cw, v += cw)
		for (unsigned x = 0; x < cw; x++) {
			u[x] = uv[2 * x];
			v[x] = uv[2 * x + 1];
		}
}

/* The job ends without a JPEG, for the reason given (the caller sets cpu_ns). */
static void job_failed(struct software_job *job, int err, const char *why)
{
	job->result = err;
	snprintf(job->error, sizeof(job->error), "%s", why);
	job->jpeg_len = 0;
	job->grown = NULL;
}

/* Runs on the worker thread. */
static void software_encode_yuyv(struct software_encoder *se, struct software_job *job)
{
	const struct raw_frame *raw = job->raw;
	int quality = (int)atomic_load_explicit(&se->quality, memory_order_relaxed);
	uint8_t *grown = NULL;
	size_t len = 0;
	int r;

	if (!raw->planes[0].data) {
		r = -EINVAL;
		snprintf(job->error, sizeof(job->error), "YUYV frame has no CPU mapping");
	} else {
		size_t stride = raw->planes[0].bytesperline ? raw->planes[0].bytesperline
							    : 2 * (size_t)se->width;
		r = yuyv_jpeg_encode(se->yj, raw->planes[0].data, stride, se->width, se->height,
				     quality, job->frame->buf, job->frame->cap, &grown, &len,
				     job->error, sizeof(job->error));
	}
	job->result = r;
	job->jpeg_len = r < 0 ? 0 : len;
	job->grown = grown;
}

/* Runs on the worker thread. */
static void software_encode(struct software_encoder *se, struct software_job *job)
{
	const struct raw_frame *raw = job->raw;
	const unsigned char *planes[3];
	int strides[3];
	unsigned w = se->width, h = se->height;
	uint64_t t0 = clock_now_ns(CLOCK_THREAD_CPUTIME_ID);

	if (se->in_fourcc == V4L2_PIX_FMT_YUYV) {
		software_encode_yuyv(se, job);
		job->cpu_ns = clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		return;
	}
	if (se->rgb_format >= 0) {
		/* packed: tjCompress2 below reads planes[0] itself */
	} else if (se->in_fourcc == V4L2_PIX_FMT_NV12) {
		/* Y then interleaved chroma: two planes, or one buffer with the chroma rows after
		 * h luma rows, at the luma stride (V4L2 single-planar NV12) */
		size_t stride = raw->planes[0].bytesperline ? raw->planes[0].bytesperline : w;
		const uint8_t *y = raw->planes[0].data, *uv;
		size_t uv_stride = stride;
		if (raw->n_planes >= 2) {
			uv = raw->planes[1].data;
			if (raw->planes[1].bytesperline)
				uv_stride = raw->planes[1].bytesperline;
		} else {
			uv = y ? y + stride * h : NULL;
		}
		if (!y || !uv) {
			job_failed(job, -EINVAL, "NV12 frame has no CPU mapping");
			job->cpu_ns = clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
			return;
		}
		unsigned cw = w / 2, ch = h / 2;
		nv12_split_chroma(uv, uv_stride, cw, ch, se->chroma, se->chroma + (size_t)cw * ch);
		planes[0] = y;
		planes[1] = se->chroma;
		planes[2] = se->chroma + (size_t)cw * ch;
		strides[0] = (int)stride;
		strides[1] = strides[2] = (int)cw;
	} else if (raw->n_planes >= 3) {
		for (unsigned i = 0; i < 3; i++) {
			planes[i] = raw->planes[i].data;
			strides[i] = (int)raw->planes[i].bytesperline;
		}
	} else {
		/* one contiguous I420 buffer: chroma planes follow at half the luma stride */
		size_t stride = raw->planes[0].bytesperline ? raw->planes[0].bytesperline : w;
		const uint8_t *base = raw->planes[0].data;
		planes[0] = base;
		planes[1] = base ? base + stride * h : NULL;
		planes[2] = base ? planes[1] + stride / 2 * (h / 2) : NULL;
		strides[0] = (int)stride;
		strides[1] = strides[2] = (int)(stride / 2);
	}

	unsigned char *out = job->frame->buf;
	unsigned long len = job->frame->cap;
	int quality = (int)atomic_load_explicit(&se->quality, memory_order_relaxed);
	job->grown = NULL;
	if (!se->tj) {
		job_failed(job, -ENOMEM, "no TurboJPEG handle");
		job->cpu_ns = 0;
		return;
	}
	/* No TJFLAG_NOREALLOC: with it TurboJPEG assumes a tjBufSize buffer. */
	int r;
	if (se->rgb_format >= 0) {
		/* The non-zero-copy path for sensors that only give RGB (vimc under libcamera):
		 * TurboJPEG converts to YCbCr itself, at about twice the cost of planar YUV. */
		size_t pitch = raw->planes[0].bytesperline ? raw->planes[0].bytesperline
							   : 3 * (size_t)w;
		r = tjCompress2(se->tj, raw->planes[0].data, (int)w, (int)pitch, (int)h,
				se->rgb_format, &out, &len, se->subsamp, quality, 0);
	} else {
		r = tjCompressFromYUVPlanes(se->tj, planes, (int)w, strides, (int)h, se->subsamp,
					    &out, &len, quality, 0);
	}
	if (r < 0) {
		job->result = -EIO;
		snprintf(job->error, sizeof(job->error), "%s", tjGetErrorStr2(se->tj));
		job->jpeg_len = 0;
	} else {
		job->result = 0;
		job->jpeg_len = len;
	}
	if (out != job->frame->buf) {
		/* TurboJPEG grew the buffer. Its memory destination keeps a pointer to the buffer it
		 * allocated in the handle and frees it at the next growth, even after we adopted it
		 * (libjpeg-turbo 2.1.5 jdatadst-tj.c, seen as a double free under ASan): a fresh
		 * handle forgets it. Growth stops once the reserve has adapted, so this is rare. */
		if (r < 0)
			tjFree(out);
		else
			job->grown = out;
		tjDestroy(se->tj);
		se->tj = tjInitCompress();
	}
	job->cpu_ns = clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static void *software_worker(void *arg)
{
	struct software_encoder *se = arg;
	const uint64_t one = 1;

	if (se->worker_nice) {
		/* Linux: a thread's nice value is its own (setpriority on its tid). Raising it
		 * needs no privilege; a failure leaves the default priority, which still works. */
		pid_t tid = (pid_t)syscall(SYS_gettid);
		errno = 0;
		int cur = getpriority(PRIO_PROCESS, (id_t)tid);
		if ((cur != -1 || errno == 0) &&
		    setpriority(PRIO_PROCESS, (id_t)tid, cur + se->worker_nice) < 0)
			log_debug_errno(-errno, "software encoder: worker priority +%d", se->worker_nice);
	}

	pthread_mutex_lock(&se->lock);
	for (;;) {
		unsigned j;
		if (se->stopping)
			break;
		if (!fifo_pop(&se->pending, &j)) {
			pthread_cond_wait(&se->wake, &se->lock);
			continue;
		}
		pthread_mutex_unlock(&se->lock);

		software_encode(se, &se->jobs[j]);

		pthread_mutex_lock(&se->lock);
		fifo_push(&se->done, j);
		pthread_mutex_unlock(&se->lock);
		/* After the push, so a collect that drained the fd still finds the job. Cannot fail:
		 * the counter would have to reach 2^64-1. */
		ssize_t n = write(se->event_fd, &one, sizeof(one));
		(void)n;
		pthread_mutex_lock(&se->lock);
	}
	pthread_mutex_unlock(&se->lock);
	return NULL;
}

static int software_fd(struct encoder *enc)
{
	struct software_encoder *se = enc->priv;
	return se->event_fd;
}

static int software_submit(struct encoder *enc, struct raw_frame *raw)
{
	struct software_encoder *se = enc->priv;

	if (raw->fourcc != se->in_fourcc || raw->width != se->width || raw->height != se->height)
		return -EINVAL;
	if (se->in_flight == SOFTWARE_SLOTS)
		return -EBUSY;

	struct frame *frame = frame_pool_acquire(se->pool);
	if (!frame)
		return -ENOBUFS;
	int r = frame_reserve(frame, se->reserve);
	if (r < 0) {
		frame_unref(frame);
		return r;
	}

	unsigned j = 0;
	while (se->job_in_use[j])
		j++;
	se->job_in_use[j] = true;
	se->in_flight++;
	struct software_job *job = &se->jobs[j];

	pthread_mutex_lock(&se->lock);
	job->raw = raw;
	job->frame = frame;
	fifo_push(&se->pending, j);
	pthread_cond_signal(&se->wake);
	pthread_mutex_unlock(&se->lock);
	return 0;
}

static bool software_pop_done(struct software_encoder *se, unsigned *j)
{
	pthread_mutex_lock(&se->lock);
	bool got = fifo_pop(&se->done, j);
	pthread_mutex_unlock(&se->lock);
	return got;
}

static int software_collect(struct encoder *enc, struct frame **out)
{
	struct software_encoder *se = enc->priv;
	unsigned j;

	if (!software_pop_done(se, &j)) {
		/* Drain before looking again: a job finished after the drain also writes after it,
		 * so the fd stays readable and no completion is missed. */
		uint64_t count;
		if (read(se->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			return -errno;
		if (!software_pop_done(se, &j))
			return -EAGAIN;
	}

	struct software_job *job = &se->jobs[j];
	struct raw_frame *raw = job->raw;
	struct frame *frame = job->frame;
	job->raw = NULL;
	job->frame = NULL;
	se->job_in_use[j] = false;
	se->in_flight--;
	enc->stats.encode_ns += job->cpu_ns;

	if (job->result < 0) {
		log_err_errno(job->result, "software encoder: frame %llu: %s",
			      (unsigned long long)raw->sequence, job->error);
		frame_unref(frame);
		se->release_raw(se->release_ctx, raw);
		enc->stats.encode_errors++;
		return job->result;
	}

	if (job->grown) {
		frame_adopt_buffer(frame, job->grown, job->jpeg_len);
		job->grown = NULL;
	}
	frame->len = job->jpeg_len;
	if (frame->len + frame->len / 4 > se->reserve)
		se->reserve = frame->len + frame->len / 4;
	frame->sequence = raw->sequence;
	frame->timestamp_us = raw->timestamp_us;
	frame->width = raw->width;
	frame->height = raw->height;
	se->release_raw(se->release_ctx, raw);
	enc->stats.frames_encoded++;
	*out = frame;
	return 0;
}

static int software_set_quality(struct encoder *enc, unsigned quality)
{
	struct software_encoder *se = enc->priv;
	if (quality < 1 || quality > 100)
		return -EINVAL;
	atomic_store_explicit(&se->quality, quality, memory_order_relaxed);
	const char *sampling = "4:2:0", *simd = "";
	if (se->rgb_format >= 0) {
		sampling = "4:2:0 from RGB";
	} else if (se->in_fourcc == V4L2_PIX_FMT_NV12) {
		sampling = "4:2:0 from NV12";
	} else if (se->in_fourcc == V4L2_PIX_FMT_YUYV) {
		sampling = "4:2:0 from YUYV, ";
		simd = yuyv_simd_name();
	}
	snprintf(se->description, sizeof(se->description), "software (libjpeg-turbo) %s%s q%u",
		 sampling, simd, quality);
	return 0;
}

static void software_destroy(struct encoder *enc)
{
	struct software_encoder *se = enc->priv;

	if (se->worker_started) {
		pthread_mutex_lock(&se->lock);
		se->stopping = true;
		pthread_cond_signal(&se->wake);
		pthread_mutex_unlock(&se->lock);
		pthread_join(se->worker, NULL);
	}
	/* The worker is gone: every job still in use is ours, pending or done alike. */
	for (unsigned j = 0; j < SOFTWARE_SLOTS; j++) {
		if (!se->job_in_use[j])
			continue;
		free(se->jobs[j].grown); /* set only by a finished job; tjFree is free() too */
		se->jobs[j].grown = NULL;
		frame_unref(se->jobs[j].frame);
		se->release_raw(se->release_ctx, se->jobs[j].raw);
		se->job_in_use[j] = false;
	}
	if (se->sync_initialized) {
		pthread_mutex_destroy(&se->lock);
		pthread_cond_destroy(&se->wake);
	}
	if (se->tj)
		tjDestroy(se->tj);
	yuyv_jpeg_free(se->yj);
	free(se->chroma);
	if (se->event_fd >= 0)
		close(se->event_fd);
	free(se);
}

static const struct encoder_ops software_ops = {
	.name = "software",
	.fd = software_fd,
	.submit = software_submit,
	.collect = software_collect,
	.set_quality = software_set_quality,
	.destroy = software_destroy,
};

int encoder_software_create(const struct encoder_params *p, struct encoder **out)
{
	int subsamp, rgb_format = -1;
	if (p->in_fourcc == V4L2_PIX_FMT_YUV420 || p->in_fourcc == V4L2_PIX_FMT_NV12) {
		subsamp = TJSAMP_420;
	} else if (p->in_fourcc == V4L2_PIX_FMT_YUYV) {
		subsamp = TJSAMP_420; /* chroma averaged over row pairs: see the top of this file */
	} else if (p->in_fourcc == V4L2_PIX_FMT_RGB24 || p->in_fourcc == V4L2_PIX_FMT_BGR24) {
		subsamp = TJSAMP_420;
		rgb_format = p->in_fourcc == V4L2_PIX_FMT_RGB24 ? TJPF_RGB : TJPF_BGR;
	} else {
		return log_err_errno(-EINVAL, "software encoder: input format %.4s not supported "
				     "(YUV420, NV12, YUYV, RGB24, BGR24)",
				     (const char *)&p->in_fourcc);
	}
	if (p->width == 0 || p->height == 0 || p->width % 2 || p->height % 2 ||
	    p->width > 65500 || p->height > 65500 || p->quality < 1 || p->quality > 100 ||
	    !p->pool || !p->release_raw) {
		return log_err_errno(-EINVAL, "software encoder: bad parameters %ux%u q%u",
				     p->width, p->height, p->quality);
	}

	struct software_encoder *se = calloc(1, sizeof(*se));
	if (!se)
		return log_err_errno(-ENOMEM, "software encoder");
	se->event_fd = -1;
	se->enc = (struct encoder){
		.ops = &software_ops,
		.description = se->description,
		.priv = se,
	};
	se->in_fourcc = p->in_fourcc;
	se->width = p->width;
	se->height = p->height;
	se->subsamp = subsamp;
	se->rgb_format = rgb_format;
	/* A first guess (about 1 bit a pixel); corrected from the first frames' real sizes. */
	se->reserve = (size_t)p->width * p->height / 8 + 4096;
	se->pool = p->pool;
	se->release_raw = p->release_raw;
	se->release_ctx = p->release_ctx;
	se->worker_nice = p->worker_nice;
	software_set_quality(&se->enc, p->quality);

	int r;
	if (p->in_fourcc == V4L2_PIX_FMT_YUYV) {
		se->yj = yuyv_jpeg_new();
		if (!se->yj) {
			r = -ENOMEM;
			log_err_errno(r, "software encoder: libjpeg compressor");
			goto fail;
		}
	} else {
		if (p->in_fourcc == V4L2_PIX_FMT_NV12) {
			se->chroma = malloc((size_t)p->width * p->height / 2);
			if (!se->chroma) {
				r = -ENOMEM;
				log_err_errno(r, "software encoder: NV12 chroma planes");
				goto fail;
			}
		}
		se->tj = tjInitCompress();
		if (!se->tj) {
			r = -ENOMEM;
			log_err_errno(r, "software encoder: tjInitCompress: %s",
				      tjGetErrorStr2(NULL));
			goto fail;
		}
	}
	se->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (se->event_fd < 0) {
		r = -errno;
		log_err_errno(r, "software encoder: eventfd");
		goto fail;
	}
	r = -pthread_mutex_init(&se->lock, NULL);
	if (r < 0) {
		log_err_errno(r, "software encoder: mutex");
		goto fail;
	}
	r = -pthread_cond_init(&se->wake, NULL);
	if (r < 0) {
		pthread_mutex_destroy(&se->lock);
		log_err_errno(r, "software encoder: condition variable");
		goto fail;
	}
	se->sync_initialized = true;

	/* The worker must never take a process signal: main() handles them through a signalfd on
	 * the loop thread, which only works while every thread blocks them. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	r = -pthread_create(&se->worker, NULL, software_worker, se);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r < 0) {
		log_err_errno(r, "software encoder: worker thread");
		goto fail;
	}
	se->worker_started = true;
	pthread_setname_np(se->worker, "mjpegd-jpeg");

	*out = &se->enc;
	return 0;

fail:
	software_destroy(&se->enc);
	return r;
}
