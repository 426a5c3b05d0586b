/* Sources of raw (or already JPEG) images: one interface, one file per back end.
 *
 * Ownership of raw frames: the source owns every raw buffer. source_dequeue() lends one; whoever
 * receives it (the pipeline, then the encoder it submits to) gives it back with source_release()
 * exactly once. A source with no free buffer drops the image it would have produced (counted).
 *
 * All calls happen on the loop thread. The loop polls source_fd() for POLLIN and then calls
 * dequeue until -EAGAIN.
 */
#ifndef MJPEGD_SOURCE_H
#define MJPEGD_SOURCE_H

#include <stdint.h>
#include <stddef.h>
#include <linux/videodev2.h>

#define RAW_MAX_PLANES 3

struct raw_plane {
	uint8_t *data;         /* CPU mapping, or NULL when only dmabuf_fd exists */
	size_t bytesperline;   /* stride */
	size_t length;         /* bytes of valid data in this plane */
	int dmabuf_fd;         /* -1 when not exported */
	size_t dmabuf_offset;
};

struct raw_frame {
	uint32_t fourcc; /* V4L2_PIX_FMT_YUV420 (I420, 3 planes or 1 contiguous), _YUYV, _MJPEG/_JPEG */
	unsigned width, height;
	unsigned n_planes;
	struct raw_plane planes[RAW_MAX_PLANES];
	uint64_t sequence;
	uint64_t timestamp_us; /* wall clock, microseconds */
	unsigned index;        /* source-private buffer index */
};

struct source;

struct source_ops {
	const char *name;
	/* fd that becomes readable when a frame can be dequeued */
	int (*fd)(struct source *src);
	/* 0 with *out set, -EAGAIN when nothing is ready, other negative errno on failure */
	int (*dequeue)(struct source *src, struct raw_frame **out);
	void (*release)(struct source *src, struct raw_frame *frame);
	void (*destroy)(struct source *src);
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
	struct source_stats stats;
	void *priv;
};

struct source_params {
	unsigned width, height, fps;
	const char *path; /* file source: a directory of *.jpg or an MJPEG file */
};

static inline int source_fd(struct source *s) { return s->ops->fd(s); }
static inline int source_dequeue(struct source *s, struct raw_frame **out) { return s->ops->dequeue(s, out); }
static inline void source_release(struct source *s, struct raw_frame *f) { s->ops->release(s, f); }
static inline void source_destroy(struct source *s) { if (s) s->ops->destroy(s); }

/* Built-in moving pattern (YUV420) with frame counter and clock drawn in; timerfd-paced at fps. */
int source_testpattern_create(const struct source_params *p, struct source **out);

/* Replays JPEGs (a directory of .jpg and .jpeg files in name order, or one MJPEG file split at SOI/EOI
 * markers) at p->fps, looping; fourcc V4L2_PIX_FMT_JPEG; width/height read from the first frame's
 * SOF. Errors: -ENOENT (no such path), -ENODATA (no JPEG in it), each logged with the path. */
int source_file_create(const struct source_params *p, struct source **out);

#endif
