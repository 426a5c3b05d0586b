/* Passthrough "encoder": the source already delivers JPEG (a UVC camera's MJPEG, the file
 * source), so the output frame simply points into the raw buffer. No byte is copied.
 *
 * Ownership: the raw frame stays lent to us for as long as any client holds the output frame;
 * the frame's release callback (its last frame_unref) gives the raw frame back to the source. A
 * slow client therefore holds a source buffer, which the source absorbs by dropping images.
 * Everything runs on the loop thread, synchronously: the pipeline collects right after submit
 * (encoder.h), so there is no fd to poll and no system call per frame.
 *
 * The one copy: a frame without Huffman tables (UVC cameras' MJPEG often has none, see
 * jpeg_dht.h) is not a JPEG a browser can decode, so it is copied into the frame's own buffer with
 * the default tables inserted, the raw frame goes back at once, and the copied bytes are counted
 * in bytes_copied. Frames that have their tables stay zero-copy.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/encoder.h"
#include "mjpegd/bug.h"
#include "mjpegd/encoder/jpeg_dht.h"
#include "mjpegd/log.h"

/* Submitted but not yet collected: the pipeline collects after every submit, so a handful is
 * plenty. */
#define PASSTHROUGH_QUEUE 4

struct passthrough_result {
	struct frame *frame; /* NULL for a rejected raw frame */
	int error;
};

struct passthrough_encoder {
	struct encoder enc;
	struct frame_pool *pool;
	encoder_release_raw_fn release_raw;
	void *release_ctx;

	struct passthrough_result queue[PASSTHROUGH_QUEUE];
	unsigned head, count;

	/* lent[i]: the raw frame behind pool->frames[i] while that frame is out */
	struct raw_frame **lent;
	unsigned lent_count;
};

static void passthrough_frame_released(void *ctx, struct frame *f)
{
	struct passthrough_encoder *pe = ctx;
	size_t i = (size_t)(f - pe->pool->frames);
	if (MJPEGD_BUG(i >= pe->pool->capacity || !pe->lent[i],
		       "passthrough: frame %llu released but no raw frame is lent for it",
		       (unsigned long long)f->sequence))
		return;
	struct raw_frame *raw = pe->lent[i];
	pe->lent[i] = NULL;
	pe->lent_count--;
	pe->release_raw(pe->release_ctx, raw);
}

static void queue_push(struct passthrough_encoder *pe, struct frame *frame, int error)
{
	pe->queue[(pe->head + pe->count++) % PASSTHROUGH_QUEUE] =
		(struct passthrough_result){ frame, error };
}

static int passthrough_fd(struct encoder *enc)
{
	(void)enc;
	return -1; /* synchronous */
}

static int passthrough_submit(struct encoder *enc, struct raw_frame *raw)
{
	struct passthrough_encoder *pe = enc->priv;

	if (pe->count == PASSTHROUGH_QUEUE)
		return -EBUSY;

	const struct raw_plane *plane = &raw->planes[0];
	if (raw->n_planes < 1 || !plane->data || plane->length < 2 || plane->data[0] != 0xFF ||
	    plane->data[1] != 0xD8) {
		/* Corrupt camera data is a failed encode, not a refusal: the raw frame is taken and
		 * released here, and collect reports the error (encoder.h). */
		pe->release_raw(pe->release_ctx, raw);
		queue_push(pe, NULL, -EINVAL);
		return 0;
	}

	struct frame *frame = frame_pool_acquire(pe->pool);
	if (!frame)
		return -ENOBUFS;
	frame->sequence = raw->sequence;
	frame->timestamp_us = raw->timestamp_us;
	frame->width = raw->width;
	frame->height = raw->height;

	/* A frame we cannot parse up to its scan is passed on as it is, as before. */
	if (jpeg_find_dht(plane->data, plane->length, NULL) == 0) {
		int r = frame_reserve(frame, plane->length + JPEG_DHT_DEFAULT_SIZE);
		if (r < 0) {
			frame_unref(frame);
			return r;
		}
		ssize_t n = jpeg_dht_insert(plane->data, plane->length, frame->buf, frame->cap);
		frame->len = n > 0 ? (size_t)n : 0;
		enc->stats.bytes_copied += frame->len;
		pe->release_raw(pe->release_ctx, raw);
		queue_push(pe, frame, 0);
		return 0;
	}

	size_t i = (size_t)(frame - pe->pool->frames);
	pe->lent[i] = raw;
	pe->lent_count++;
	frame_set_external(frame, plane->data, plane->length, passthrough_frame_released, pe);
	queue_push(pe, frame, 0);
	return 0;
}

static int passthrough_collect(struct encoder *enc, struct frame **out)
{
	struct passthrough_encoder *pe = enc->priv;

	if (pe->count == 0)
		return -EAGAIN;
	struct passthrough_result res = pe->queue[pe->head];
	pe->head = (pe->head + 1) % PASSTHROUGH_QUEUE;
	pe->count--;

	if (res.error < 0) {
		log_warn_errno(res.error, "passthrough: input is not a JPEG (no SOI marker), dropped");
		enc->stats.encode_errors++;
		return res.error;
	}
	enc->stats.frames_encoded++;
	*out = res.frame;
	return 0;
}

static int passthrough_set_quality(struct encoder *enc, unsigned quality)
{
	(void)enc;
	/* The camera encodes; its quality is a source control, not ours. */
	assert(quality >= 1 && quality <= 100); /* config checked it */
	return 0;
}

static void passthrough_destroy(struct encoder *enc)
{
	struct passthrough_encoder *pe = enc->priv;

	while (pe->count > 0) {
		struct passthrough_result res = pe->queue[pe->head];
		pe->head = (pe->head + 1) % PASSTHROUGH_QUEUE;
		pe->count--;
		frame_unref(res.frame); /* ours alone: its release gives the raw frame back */
	}
	if (pe->lent && pe->lent_count > 0) {
		/* Clients still hold frames: their release callback would reach freed memory, so
		 * detach them and return the raw frames now. The caller must stop sending those
		 * frames before destroying the source they point into. */
		MJPEGD_BUG(true, "passthrough: destroyed while %u frame(s) are still referenced",
			   pe->lent_count);
		for (unsigned i = 0; i < pe->pool->capacity; i++) {
			if (!pe->lent[i])
				continue;
			pe->pool->frames[i].release = NULL;
			pe->release_raw(pe->release_ctx, pe->lent[i]);
			pe->lent[i] = NULL;
		}
	}
	free(pe->lent);
	free(pe);
}

static unsigned passthrough_frames_lent(struct encoder *enc)
{
	struct passthrough_encoder *pe = enc->priv;
	return pe->lent_count;
}

static const struct encoder_ops passthrough_ops = {
	.name = "passthrough",
	.fd = passthrough_fd,
	.submit = passthrough_submit,
	.collect = passthrough_collect,
	.set_quality = passthrough_set_quality,
	.frames_lent = passthrough_frames_lent,
	.destroy = passthrough_destroy,
};

int encoder_passthrough_create(const struct encoder_params *p, struct encoder **out)
{
	if (p->in_fourcc != V4L2_PIX_FMT_JPEG && p->in_fourcc != V4L2_PIX_FMT_MJPEG)
		return log_err_errno(-EINVAL, "passthrough: input format %.4s is not JPEG",
					      (const char *)&p->in_fourcc);
	assert(p->pool && p->pool->frames && p->release_raw);

	struct passthrough_encoder *pe = calloc(1, sizeof(*pe));
	if (!pe)
		return log_err_errno(-ENOMEM, "passthrough");
	pe->enc = (struct encoder){
		.ops = &passthrough_ops,
		.description = "passthrough (camera JPEG, zero copy)",
		.synchronous = true,
		.priv = pe,
	};
	pe->pool = p->pool;
	pe->release_raw = p->release_raw;
	pe->release_ctx = p->release_ctx;

	int r;
	pe->lent = calloc(p->pool->capacity, sizeof(*pe->lent));
	if (!pe->lent) {
		r = -ENOMEM;
		log_err_errno(r, "passthrough");
		goto fail;
	}
	*out = &pe->enc;
	return 0;

fail:
	passthrough_destroy(&pe->enc);
	return r;
}
