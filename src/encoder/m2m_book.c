/* M2M buffer bookkeeping; see include/mjpegd/encoder/m2m_book.h. Pure. */
#include <errno.h>
#include <string.h>

#include "mjpegd/encoder/m2m_book.h"

void m2m_book_init(struct m2m_book *b, unsigned n_output, unsigned n_capture)
{
	memset(b, 0, sizeof(*b));
	b->n_output = n_output < M2M_MAX_BUFFERS ? n_output : M2M_MAX_BUFFERS;
	b->max_in_flight = b->n_output;
	b->n_capture = n_capture < M2M_MAX_BUFFERS ? n_capture : M2M_MAX_BUFFERS;
	for (unsigned i = 0; i < b->n_capture; i++)
		b->capture_queued[i] = true;
	b->capture_queued_count = b->n_capture;
	b->next_cookie = 1;
}

int m2m_book_output_take(struct m2m_book *b, struct raw_frame *raw, const struct raw_frame *meta,
			 uint64_t *cookie)
{
	if (b->output_in_flight >= b->max_in_flight || b->output_in_flight == b->n_output ||
	    b->pending_count == M2M_MAX_PENDING)
		return -EBUSY;
	/* A lent raw frame keeps its camera buffer's slot, so the device imports each dma-buf once
	 * (m2m_book.h); a copy, or a slot taken by another buffer (more buffers than slots), takes
	 * the first free one. */
	unsigned slot = raw ? raw->index % b->n_output : 0;
	if (b->output_busy[slot])
		slot = 0;
	while (b->output_busy[slot])
		slot++;
	b->output_busy[slot] = true;
	b->output_raw[slot] = raw;
	b->output_in_flight++;

	struct m2m_pending *p = &b->pending[(b->pending_head + b->pending_count++) % M2M_MAX_PENDING];
	*p = (struct m2m_pending){ .cookie = b->next_cookie++, .sequence = meta->sequence,
				   .timestamp_us = meta->timestamp_us, .width = meta->width,
				   .height = meta->height };
	*cookie = p->cookie;
	return (int)slot;
}

void m2m_book_output_cancel(struct m2m_book *b, int slot)
{
	if (slot < 0 || (unsigned)slot >= b->n_output || !b->output_busy[slot])
		return;
	b->output_busy[slot] = false;
	b->output_raw[slot] = NULL;
	b->output_in_flight--;
	/* the newest pending frame is this one's */
	if (b->pending_count > 0)
		b->pending_count--;
}

int m2m_book_output_done(struct m2m_book *b, unsigned slot, struct raw_frame **raw)
{
	*raw = NULL;
	if (slot >= b->n_output || !b->output_busy[slot])
		return -EINVAL;
	*raw = b->output_raw[slot];
	b->output_raw[slot] = NULL;
	b->output_busy[slot] = false;
	b->output_in_flight--;
	b->outputs_dequeued++;
	return 0;
}

unsigned m2m_book_outputs_finished(const struct m2m_book *b)
{
	if (b->results <= b->outputs_dequeued)
		return 0; /* the finished ones (or more: taken early) are dequeued */
	uint64_t n = b->results - b->outputs_dequeued;
	return n < b->output_in_flight ? (unsigned)n : b->output_in_flight;
}

int m2m_book_pending_take(struct m2m_book *b, uint64_t cookie, struct m2m_pending *out)
{
	if (b->pending_count == 0)
		return -ENOENT;
	unsigned found = 0; /* position in the FIFO; the oldest when no cookie matches */
	for (unsigned k = 0; k < b->pending_count; k++) {
		if (b->pending[(b->pending_head + k) % M2M_MAX_PENDING].cookie == cookie) {
			found = k;
			break;
		}
	}
	*out = b->pending[(b->pending_head + found) % M2M_MAX_PENDING];
	/* Results come in submission order, so everything older than the match was lost (a
	 * frame the driver dropped); forget those too. */
	b->pending_head = (b->pending_head + found + 1) % M2M_MAX_PENDING;
	b->pending_count -= found + 1;
	b->results += found + 1;
	return 0;
}

int m2m_book_capture_dequeued(struct m2m_book *b, unsigned index)
{
	if (index >= b->n_capture || !b->capture_queued[index])
		return -EINVAL;
	b->capture_queued[index] = false;
	b->capture_queued_count--;
	return b->capture_queued_count == 0 ? 1 : 0;
}

void m2m_book_capture_lend(struct m2m_book *b, unsigned index, struct frame *f)
{
	if (index < b->n_capture)
		b->capture_lent[index] = f;
}

int m2m_book_capture_returned(struct m2m_book *b, const struct frame *f)
{
	for (unsigned i = 0; i < b->n_capture; i++) {
		if (b->capture_lent[i] == f) {
			b->capture_lent[i] = NULL;
			return (int)i;
		}
	}
	return -ENOENT;
}

void m2m_book_capture_queued(struct m2m_book *b, unsigned index)
{
	if (index >= b->n_capture || b->capture_queued[index])
		return;
	b->capture_lent[index] = NULL;
	b->capture_queued[index] = true;
	b->capture_queued_count++;
}
