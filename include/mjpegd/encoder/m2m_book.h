/* The M2M encoder's buffer bookkeeping, apart from its ioctls so that the ownership rules are
 * unit-tested (tests/unit/test_m2m_book.c). Pure; loop thread only.
 *
 * OUTPUT queue (raw frames into the encoder): a slot is busy from VIDIOC_QBUF until VIDIOC_DQBUF
 * gives it back. An imported raw frame takes the slot of its camera buffer (index modulo the
 * slots), so each slot always carries the same dma-buf: bcm2835-codec imports a dma-buf into the
 * VPU again whenever a slot is queued with another one than last time (vc_sm_cma import in its
 * buffer preparation), a mapping of megabytes per frame on the Pi. At most max_in_flight are busy. With dma-buf import the slot lends the source's raw frame to the device, and the
 * raw frame is handed back (release_raw) when the slot comes back, exactly once; in copy mode the
 * frame was copied into the slot's own buffer and given back at once, so the slot holds none.
 *
 * Pending frames: each submitted frame gets a cookie, sent as the OUTPUT buffer's timestamp, which
 * the M2M framework copies to the CAPTURE buffer holding its result (V4L2_BUF_FLAG_TIMESTAMP_COPY),
 * so a result finds its frame's sequence number and capture time.
 *
 * CAPTURE queue (encoded frames out): a buffer is queued with the driver, or dequeued and lent to
 * exactly one struct frame (zero copy: the frame points into the mapping) until that frame's last
 * reference goes. So that slow clients never stall the encoder, a buffer dequeued while the driver
 * has no other one is not lent: its bytes are copied into an owned frame buffer and it goes back at
 * once (the copy is counted). Copying an older, lent buffer instead is not safe: a client may be in
 * the middle of sending it (its iovecs point into the mapping).
 */
#ifndef MJPEGD_ENCODER_M2M_BOOK_H
#define MJPEGD_ENCODER_M2M_BOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "mjpegd/frame.h"
#include "mjpegd/source.h"

#define M2M_MAX_BUFFERS 16
#define M2M_MAX_PENDING (2 * M2M_MAX_BUFFERS)

struct m2m_pending {
	uint64_t cookie;
	uint64_t sequence, timestamp_us;
	unsigned width, height;
};

struct m2m_book {
	unsigned n_output, n_capture;

	bool output_busy[M2M_MAX_BUFFERS];
	struct raw_frame *output_raw[M2M_MAX_BUFFERS]; /* lent to the device (dma-buf), or NULL */
	unsigned output_in_flight;
	unsigned max_in_flight; /* n_output unless set lower (more slots than frames in flight) */

	bool capture_queued[M2M_MAX_BUFFERS];
	struct frame *capture_lent[M2M_MAX_BUFFERS]; /* the frame pointing into a dequeued buffer */
	unsigned capture_queued_count;

	struct m2m_pending pending[M2M_MAX_PENDING]; /* FIFO, submission order */
	unsigned pending_head, pending_count;
	uint64_t next_cookie;

	/* Since init: OUTPUT buffers dequeued, and pending frames whose result came (or that a
	 * later result showed lost). Both in submission order, so their difference says how many
	 * OUTPUT buffers are certainly finished (m2m_book_outputs_finished()). */
	uint64_t outputs_dequeued, results;
};

/* Both counts at most M2M_MAX_BUFFERS. Every CAPTURE buffer starts queued (create queues them). */
void m2m_book_init(struct m2m_book *b, unsigned n_output, unsigned n_capture);

/* Takes an OUTPUT slot for raw (NULL in copy mode): raw->index's own when free, else the first free one, and records a pending frame with a new
 * cookie. Returns the slot, or -EBUSY when every slot is busy or too many frames are pending. */
int m2m_book_output_take(struct m2m_book *b, struct raw_frame *raw, const struct raw_frame *meta,
			 uint64_t *cookie);
/* VIDIOC_QBUF failed: the slot is free again, the pending frame forgotten, the raw frame (the
 * caller's again) not recorded. */
void m2m_book_output_cancel(struct m2m_book *b, int slot);
/* VIDIOC_DQBUF gave slot back: 0 with *raw the frame to give back to the source (NULL: none),
 * -EINVAL when the slot was not busy (nothing to give back). */
int m2m_book_output_done(struct m2m_book *b, unsigned slot, struct raw_frame **raw);

/* The pending frame whose cookie the result carries, removed from the FIFO; the oldest when no
 * cookie matches (a driver that does not copy timestamps); -ENOENT when none is pending. */
int m2m_book_pending_take(struct m2m_book *b, uint64_t cookie, struct m2m_pending *out);

/* OUTPUT buffers the driver has certainly given back and that are not dequeued yet: those of
 * the frames whose result came. A device works through its jobs in order, and a job's OUTPUT
 * buffer is done no later than its CAPTURE buffer (v4l2-mem2mem drivers finish both together;
 * bcm2835-codec returns the OUTPUT buffer first), so dequeuing this many finds one each time,
 * where dequeuing until EAGAIN would also ask for the one queued since and still being read. */
unsigned m2m_book_outputs_finished(const struct m2m_book *b);

/* VIDIOC_DQBUF gave CAPTURE buffer index: 1 when it must be copied out and queued again at once
 * (the driver has no other buffer), 0 when it may be lent, -EINVAL when it was not queued. */
int m2m_book_capture_dequeued(struct m2m_book *b, unsigned index);
/* The dequeued buffer index is now pointed into by frame f. */
void m2m_book_capture_lend(struct m2m_book *b, unsigned index, struct frame *f);
/* f's last reference went: the index of the buffer to queue again, -ENOENT when f holds none. */
int m2m_book_capture_returned(struct m2m_book *b, const struct frame *f);
/* The buffer was queued with the driver (after create, a copy-out or a return). */
void m2m_book_capture_queued(struct m2m_book *b, unsigned index);

#endif
