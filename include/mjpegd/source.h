/* Sources of raw (or already JPEG) images: one interface, one file per back end.
 *
 * Ownership of raw frames: the source owns every raw buffer. source_dequeue() lends one; whoever
 * receives it (the pipeline, then the encoder it submits to) gives it back with source_release()
 * exactly once. A source with no free buffer drops the image it would have produced (counted).
 *
 * All calls happen on the loop thread. The loop polls source_fd() for POLLIN (or, for a source
 * with a pacer, runs io_uring timeouts at its deadlines) and then calls dequeue until -EAGAIN.
 */
#ifndef MJPEGD_SOURCE_H
#define MJPEGD_SOURCE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/videodev2.h>

#include "mjpegd/control.h"

#define RAW_MAX_PLANES 3

struct raw_plane {
	uint8_t *data;         /* CPU mapping, or NULL when only dmabuf_fd exists */
	size_t bytesperline;   /* stride */
	size_t length;         /* bytes of valid data in this plane */
	int dmabuf_fd;         /* -1 when not exported */
	size_t dmabuf_offset;  /* where this plane starts inside the dma-buf */
	size_t buffer_size;    /* bytes of the whole buffer behind dmabuf_fd (0: unknown) */
};

struct raw_frame {
	uint32_t fourcc; /* V4L2_PIX_FMT_YUV420 (I420, 3 planes or 1 contiguous), _YUYV, _MJPEG/_JPEG */
	unsigned width, height;
	unsigned n_planes;
	struct raw_plane planes[RAW_MAX_PLANES];
	uint64_t sequence;
	uint64_t timestamp_us; /* wall clock, microseconds */
	unsigned index;        /* source-private buffer index */
	struct source *owner;  /* set by whoever dequeued it (the pipeline), to give it back to the
				* right instance after a restart */
};

struct source;
struct pacing_timer;

struct source_ops {
	const char *name;
	/* fd that becomes readable when a frame can be dequeued */
	int (*fd)(struct source *src);
	/* 0 with *out set, -EAGAIN when nothing is ready, other negative errno on failure */
	int (*dequeue)(struct source *src, struct raw_frame **out);
	void (*release)(struct source *src, struct raw_frame *frame);
	void (*destroy)(struct source *src);
	/* Camera controls (include/mjpegd/control.h); NULL when the back end has none. controls:
	 * what the camera offers, current values included; a negative errno when it cannot say.
	 * set_controls: set (checked against a list controls filled) all together from the next
	 * frame on, or none, with why naming the control refused. */
	int (*controls)(struct source *src, struct control_list *l);
	int (*set_controls)(struct source *src, const struct control_list *l,
			    const struct control_set *set, char *why, size_t whylen);
	/* The second, full-size stream (source.full_width > 0 only): its newest frame, produced
	 * with the stream's (same scene, same tick), lent like any other raw frame and given back
	 * with release; -EAGAIN when none came since the last call. The pipeline calls it after
	 * dequeue, on the same readiness of fd. NULL: no second stream. */
	int (*dequeue_full)(struct source *src, struct raw_frame **out);
	/* A source paced by a clock of its own rather than a device (test pattern, file): the
	 * pacing timer behind fd, which the loop may run as io_uring timeouts instead of polling
	 * fd (loop_poll_set_paced(), include/mjpegd/timer.h). NULL: fd is polled. */
	struct pacing_timer *(*pacer)(struct source *src);
};

struct source_stats {
	uint64_t frames_captured;
	uint64_t frames_dropped; /* produced while no buffer was free */
};

struct source {
	const struct source_ops *ops;
	const char *description; /* e.g. "testpattern 640x480@30" (owned by the back end) */
	uint32_t fourcc;         /* what dequeue returns */
	unsigned width, height, fps;
	size_t bytesperline;     /* plane 0's stride of every frame, 0 when not fixed (JPEG) */
	bool dmabuf;             /* every frame's planes carry a dma-buf fd (VIDIOC_EXPBUF) */
	const char *dmabuf_unfit; /* why the dma-bufs there are cannot be imported (!dmabuf), NULL:
				   * none to import (owned by the back end) */
	unsigned padded_height;  /* rows each plane is laid out for (> height when the camera was
				  * asked for padded rows: source_params.pad_rows); 0: height */
	/* The camera applies source_params' rotation and flips (the sensor's part of --rotation,
	 * include/mjpegd/orientation.h); false: it cannot, the whole orientation goes in EXIF */
	bool sensor_transformed;
	struct source_stats stats;
	/* --snapshot-size: the second stream's size (0x0: none, the source gives one stream) and
	 * the bytes of its buffers (source_params.full_buffers of them), for /status */
	unsigned full_width, full_height;
	size_t full_bytes;
	unsigned lent; /* raw frames dequeued and not yet released (kept by the pipeline) */
	void *priv;
};

struct source_params {
	unsigned width, height, fps;
	const char *path; /* file source: a directory of *.jpg or an MJPEG file */
	/* libcamera: camera index ("0") or id; NULL or "" for the first camera */
	const char *camera;
	/* raw formats the encoder takes, best first (V4L2 fourccs); NULL: the source's own order */
	const uint32_t *formats;
	unsigned n_formats;
	/* the sensor's part of --rotation/--hflip/--vflip (orientation_plan()): 0 or 180, and
	 * mirrors; for the cameras that can flip their sensor */
	unsigned rotation;
	bool hflip, vflip;
	unsigned buffers;   /* capture buffers; 0: the source's default */
	/* V4L2: the node (NULL or "": the first usable capture device); bytesperline asked as a
	 * multiple of stride_align and buffers sized for height_align padded rows (0: any), what
	 * an M2M encoder needs to import them (capture_request_for()) */
	const char *device;
	unsigned stride_align, height_align;
	/* stride_aligns[i]: formats[i]'s own (0: none), which may be less than stride_align, the
	 * strictest (bcm2835-codec reads YU12 and RGB3 rows of 32 bytes, YUYV of 64); NULL: none */
	const unsigned *stride_aligns;
	/* libcamera (a buffer cannot be padded after the fact): asks the camera for height rounded
	 * up to height_align and gives frames of height rows laid out in the padded ones, so that
	 * an encoder that pads rows imports them (bcm2835-codec: 1080 → 1088) */
	bool pad_rows;
	/* --snapshot-size: a second, full-size stream of full_buffers buffers, wanted when
	 * full_width > 0 (and larger than width x height in some dimension); a source that cannot
	 * give one ignores these (its full_width stays 0) */
	unsigned full_width, full_height, full_buffers;
};

/* The stride an M2M encoder needs of fourcc's rows: its own when the request says it, else the
 * strictest of all the request's formats. */
static inline unsigned source_params_stride_align(const struct source_params *p, uint32_t fourcc)
{
	for (unsigned i = 0; p->stride_aligns && p->formats && i < p->n_formats; i++)
		if (p->formats[i] == fourcc)
			return p->stride_aligns[i];
	return p->stride_align;
}

static inline int source_fd(struct source *s) { return s->ops->fd(s); }
static inline int source_dequeue(struct source *s, struct raw_frame **out) { return s->ops->dequeue(s, out); }
static inline void source_release(struct source *s, struct raw_frame *f) { s->ops->release(s, f); }
/* -EAGAIN when the source has no second stream */
static inline int source_dequeue_full(struct source *s, struct raw_frame **out)
{
	return s->ops->dequeue_full && s->full_width ? s->ops->dequeue_full(s, out) : -EAGAIN;
}
static inline void source_destroy(struct source *s) { if (s) s->ops->destroy(s); }
/* NULL when the source is not paced by a clock of its own */
static inline struct pacing_timer *source_pacer(struct source *s)
{
	return s->ops->pacer ? s->ops->pacer(s) : NULL;
}
/* 0 controls (l->n = 0) for a back end without them */
static inline int source_controls(struct source *s, struct control_list *l)
{
	l->n = 0;
	return s->ops->controls ? s->ops->controls(s, l) : 0;
}

/* Built-in moving pattern (YUV420) with frame counter and clock drawn in; timerfd-paced at fps.
 * With p->full_width set (and not the stream's size): a second stream of that size, the same
 * scene rendered on the same tick into one of p->full_buffers buffers (dequeue_full).
 * Its controls, for trying the controls without a camera: brightness (-100..100, added to luma),
 * saturation (0..200 %, chroma), overlay (the text box on or off). */
int source_testpattern_create(const struct source_params *p, struct source **out);

/* Replays JPEGs (a directory of .jpg and .jpeg files in name order, or one MJPEG file split at SOI/EOI
 * markers) at p->fps, looping; fourcc V4L2_PIX_FMT_JPEG; width/height read from the first frame's
 * SOF. Errors: -ENOENT (no such path), -ENODATA (no JPEG in it), each logged with the path. */
int source_file_create(const struct source_params *p, struct source **out);

/* A V4L2 capture device (a UVC webcam, a CSI bridge, vivid): raw ioctls, single- or
 * multi-planar API, p->buffers MMAP buffers, each exported with VIDIOC_EXPBUF (dmabuf_fd) and
 * mapped for the CPU. The format is the first of p->formats the device offers (NULL: YUV420, YUYV) (MJPEG cameras give
 * JPEG for the passthrough encoder); bytesperline is asked aligned to p->stride_align and the
 * buffers are allocated large enough for p->height_align rows, so an M2M encoder can import them.
 * fd: the video node (POLLIN → dequeue = VIDIOC_DQBUF); release = VIDIOC_QBUF.
 * Errors, logged naming the device: -ENOENT (no such node), -EBUSY (another program streams from
 * it), -ENODEV (not a capture device, or no usable one found), -EOPNOTSUPP (none of the formats).
 * Never blocks: the node is opened O_NONBLOCK. */
int source_v4l2_create(const struct source_params *p, struct source **out);

struct fault_plan;
/* Fault injection (include/mjpegd/fault.h; the test binary wraps every source it opens): gives
 * what inner gives, which it owns from now on, but swallows every frame past a stall-after rule's
 * count (the source timeout notices) and fails every fail-every-th dequeue with -EIO. Counts
 * start with each instance. Swallowed and failed frames go back to inner at once, counted as
 * dropped. -ENOMEM (inner untouched). */
int source_faulty_create(struct source *inner, const struct fault_plan *plan, struct source **out);

#endif
