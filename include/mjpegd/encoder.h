/* Encoders turn raw frames into JPEG frames: one interface, one file per back end.
 *
 * Flow (all calls on the loop thread):
 *   encoder_submit(raw)  – the encoder takes the raw frame (returns 0) or refuses it (-EBUSY: all
 *                          slots in flight; -ENOBUFS: no free output frame) and the caller still
 *                          owns it and releases it to the source (a dropped frame).
 *   encoder_fd() readable → encoder_collect() until -EAGAIN: each 0 return hands over one output
 *                          frame with one reference. A synchronous encoder (passthrough) has
 *                          its result when submit returns: it is collected right then, and its
 *                          fd is -1 (nothing to wait for).
 * collect() returns -ENODEV once the encoder can produce nothing more (its device failed or
 * vanished); the pipeline then replaces it. Other errors concern one frame.
 * The encoder gives every raw frame it took back to the source through the release callback it was
 * created with, exactly once: after encoding (software), or when the output frame that points into
 * the raw buffer loses its last reference (passthrough).
 */
#ifndef MJPEGD_ENCODER_H
#define MJPEGD_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mjpegd/frame.h"
#include "mjpegd/source.h"

struct encoder;

struct encoder_ops {
	const char *name;
	int (*fd)(struct encoder *enc); /* readable when collect may return a frame */
	int (*submit)(struct encoder *enc, struct raw_frame *raw);
	/* 0 with *out, -EAGAIN when none; a failed encode returns its negative errno (the raw frame
	 * was already released) and the caller counts it */
	int (*collect)(struct encoder *enc, struct frame **out);
	int (*set_quality)(struct encoder *enc, unsigned quality); /* live change, 1..100 */
	/* Output frames still referenced whose bytes live in the encoder's memory (an M2M CAPTURE
	 * buffer, a passthrough raw buffer): the encoder may only be destroyed at 0. NULL: none. */
	unsigned (*frames_lent)(struct encoder *enc);
	void (*destroy)(struct encoder *enc);
};

struct encoder_stats {
	uint64_t frames_encoded;
	uint64_t encode_errors;
	uint64_t frames_cut;   /* JPEGs without EOI (or not JPEG), dropped; in encode_errors too */
	uint64_t dmabuf_imports; /* OUTPUT slots queued with another dma-buf than last time: each
				  * is an import into the VPU on a Pi (goal: the camera's buffers) */
	uint64_t bytes_copied; /* bytes of image data memcpy'd in user space (goal: 0) */
	uint64_t encode_ns;    /* CPU time spent encoding (software), for /status */
};

struct encoder {
	const struct encoder_ops *ops;
	const char *description;
	bool imports; /* takes the source's buffers by dma-buf (an M2M encoder importing) */
	bool synchronous; /* submit does the work: collect right after it; fd() is -1 */
	struct encoder_stats stats;
	void *priv;
};

/* Called by the encoder when it is done with a raw frame it took. */
typedef void (*encoder_release_raw_fn)(void *ctx, struct raw_frame *raw);

struct encoder_params {
	uint32_t in_fourcc; /* what the source gives */
	unsigned width, height;
	unsigned quality;
	struct frame_pool *pool; /* output frames come from here */
	encoder_release_raw_fn release_raw;
	void *release_ctx;

	/* Software encoder: the worker thread's nice value added to the daemon's (0: the same).
	 * The full-size snapshot encoder runs at +10, so that encoding a large picture on a small
	 * board yields the CPU to the stream's own encoder and the stream keeps its rate. */
	int worker_nice;

	/* M2M encoder */
	const char *device;       /* /dev/videoN; NULL or "": the first M2M device that fits */
	uint32_t out_fourcc;      /* V4L2_PIX_FMT_JPEG; V4L2_PIX_FMT_FWHT on the test bed (vicodec) */
	size_t in_bytesperline;   /* the source's plane-0 stride (0: tightly packed) */
	unsigned in_padded_height; /* rows the source's planes are laid out for (0: height) */
	bool in_dmabuf;           /* the source's frames carry dma-buf fds: try importing them */
	const char *in_unfit;     /* !in_dmabuf: why its dma-bufs do not fit (NULL: it has none) */
	const char *copy_reason;  /* non-NULL: copy every frame all the same, for this reason */
};

static inline int encoder_fd(struct encoder *e) { return e->ops->fd(e); }
static inline int encoder_submit(struct encoder *e, struct raw_frame *r) { return e->ops->submit(e, r); }
static inline int encoder_collect(struct encoder *e, struct frame **out) { return e->ops->collect(e, out); }
static inline void encoder_destroy(struct encoder *e) { if (e) e->ops->destroy(e); }

/* libjpeg-turbo (TurboJPEG API) on one worker thread: YUV420 → 4:2:0 JPEG; NV12 → 4:2:0 JPEG
 * (its chroma rows split into planes on the worker; the luma read in place); YUYV → 4:2:0 JPEG too,
 * de-interleaved to planes with each chroma sample the mean of two rows (SSE2/NEON,
 * include/mjpegd/encoder/yuyv.h), never through RGB: 4:2:0 was measured against keeping 4:2:2
 * (docs/performance.md, "Encoding") and gives more frames per CPU-second and smaller JPEGs, at
 * half the vertical colour resolution, which is what I420 cameras, ustreamer and OpenCV give.
 * RGB24/BGR24 (sensors that give only RGB, such as vimc under libcamera) → 4:2:0 through
 * TurboJPEG's own colour conversion: the slow, never zero-copy path. fd is an eventfd the worker
 * signals. */
int encoder_software_create(const struct encoder_params *p, struct encoder **out);

/* JPEG/MJPEG in, the same bytes out without copying: the output frame points into the raw
 * buffer. Synchronous (no fd): collect right after submit. */
int encoder_passthrough_create(const struct encoder_params *p, struct encoder **out);

/* A V4L2 memory-to-memory encoder (Raspberry Pi: bcm2835-codec's image encoder; the test bed:
 * vicodec's FWHT encoder). Its OUTPUT queue imports the source's dma-bufs (V4L2_MEMORY_DMABUF,
 * zero copy) when the source has them and their layout is what the device reads; otherwise it
 * copies each frame into MMAP buffers (counted in bytes_copied; the description says which:
 * "m2m /dev/video31 (dmabuf import)" or "(copy: …)"). Encoded frames point straight into the
 * MMAP'd CAPTURE buffers; the buffer is queued again when the frame's last reference goes.
 * Several frames are in flight. fd: an epoll fd watching the device for POLLIN (a result; raw
 * frames go back as results come): io_uring cannot poll an M2M node itself. Errors are logged naming the device: -ENODEV (no device fits), -EINVAL
 * (a format or size the device refuses), -EBUSY. */
int encoder_m2m_create(const struct encoder_params *p, struct encoder **out);
/* An M2M encoder's destroy gives back its raw frames at once and leaves STREAMOFF and close to a
 * thread of their own (bcm2835-codec waits up to 2 s per queue for buffers a stalled VPU holds).
 * Whether one is still running: the same device is not opened again meanwhile (its driver lock is
 * held by the teardown, and an open would block the loop). */
bool encoder_m2m_teardown_pending(void);
/* At exit: waits up to timeout_ms for teardowns still running. */
void encoder_m2m_wait_teardowns(unsigned timeout_ms);

struct fault_plan;
/* Fault injection (include/mjpegd/fault.h; the test binary wraps the configured encoder, never the
 * software stand-in): behaves as inner, which it owns from now on, but drops every result past a
 * stall-after rule's count (the encoder timeout notices) and answers every fail-every-th collect
 * with -ENODEV, as an encoder that stopped. Counts start with each instance. -ENOMEM (inner
 * untouched). */
int encoder_faulty_create(struct encoder *inner, const struct fault_plan *plan,
			  struct encoder **out);

#endif
