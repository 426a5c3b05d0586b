/* Encoded frames (JPEG), refcounted and shared by every client.
 *
 * Ownership:
 *  - The pool (owned by the pipeline, touched only on the loop thread) allocates every frame. The
 *    pool has a fixed capacity and each owned buffer only grows to what its encoder asked for
 *    (the software encoder: 5/4 of the largest JPEG so far), so memory is bounded by
 *    capacity × that.
 *  - frame_pool_acquire() hands out a frame with one reference to the caller (an encoder).
 *  - Anyone keeping a frame beyond the current call takes a reference (frame_ref) and drops it
 *    (frame_unref) when done: the pipeline's "newest frame", each client sending it.
 *  - When the last reference goes, an external buffer is given back through its release callback
 *    (e.g. a passthrough source buffer, later an M2M CAPTURE buffer), then the frame returns to
 *    the pool. Refcounts are not atomic: only the loop thread touches them.
 *  - A worker thread may write into a frame's buffer between acquire and hand-back, while the loop
 *    thread does not look at it (the software encoder does so).
 */
#ifndef MJPEGD_FRAME_H
#define MJPEGD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame;
typedef void (*frame_release_fn)(void *ctx, struct frame *f);

#define FRAME_PART_HEADER_MAX 160

struct frame {
	/* payload */
	const uint8_t *data; /* JPEG bytes: the owned buffer, or an external one */
	size_t len;
	uint64_t sequence;     /* publish order, set by the pipeline (sources restart their own) */
	uint64_t timestamp_us; /* wall clock at capture (X-Timestamp) */
	unsigned width, height;
	/* V4L2_PIX_FMT_JPEG unless the encoder says otherwise: vicodec (the test bed's stand-in for
	 * a JPEG M2M encoder) produces V4L2_PIX_FMT_FWHT, which the pipeline counts but never
	 * publishes, so no client is sent it as image/jpeg */
	uint32_t fourcc;
	bool placeholder; /* the "no signal" picture shown while a device recovers */
	/* Storage for the HTTP server: its multipart part header for this frame, written once by
	 * server_publish() and sent from here by every stream client (nothing else reads it) */
	char part_header[FRAME_PART_HEADER_MAX];
	size_t part_header_len;
	/* The EXIF Orientation (include/mjpegd/orientation.h) sent in front of the JPEG, 1: none.
	 * Set by the pipeline when it publishes (a placeholder keeps 1: its text reads upright). */
	uint8_t exif_orientation;
	/* Where the JPEG's own APP1 Exif segment lies, left out when ours goes in (own_exif_len 0:
	 * none); found by server_publish() */
	size_t own_exif_off, own_exif_len;

	/* owned storage (grown by frame_reserve, kept across reuse) */
	uint8_t *buf;
	size_t cap;

	/* external storage: called once when the last reference goes */
	frame_release_fn release;
	void *release_ctx;

	/* pool bookkeeping */
	unsigned refs;
	struct frame_pool *pool;
	struct frame *next_free;
};

struct frame_pool {
	struct frame *frames;
	unsigned capacity;
	unsigned in_use;
	struct frame *free_list;
	size_t bytes_reserved; /* sum of owned buffer capacities, for /status */
};

int frame_pool_init(struct frame_pool *pool, unsigned capacity);
/* Frees owned buffers. Every frame must have been returned (in_use == 0): a leak is logged. */
void frame_pool_destroy(struct frame_pool *pool);

/* A frame with refs = 1 and len = 0, or NULL when all capacity frames are in use. */
struct frame *frame_pool_acquire(struct frame_pool *pool);

/* Makes f->buf at least cap bytes (keeps content), points f->data at it. 0 or -ENOMEM. */
int frame_reserve(struct frame *f, size_t cap);

/* Replaces the owned buffer with buf (malloc'd, cap bytes; the old one is freed), e.g. when an
 * encoder library had to grow it. */
void frame_adopt_buffer(struct frame *f, uint8_t *buf, size_t cap);

/* Points the frame at bytes it does not own; release(ctx, f) is called when refs reach 0. */
void frame_set_external(struct frame *f, const uint8_t *data, size_t len, frame_release_fn release,
			void *ctx);

struct frame *frame_ref(struct frame *f);
void frame_unref(struct frame *f);

#endif
