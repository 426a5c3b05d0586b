/* V4L2 memory-to-memory encoder, the streaming: raw frames queued on OUTPUT (imported or copied),
 * JPEGs dequeued from CAPTURE, checked and lent, and the switch from import to copy. The design
 * (which queue, which memory, why epoll) is written at the top of src/encoder/m2m.h; opening,
 * formats, buffers and teardown are src/encoder/m2m_device.c. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/encoder.h"
#include "mjpegd/encoder/jpeg_check.h"
#include "mjpegd/log.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/layout.h"
#include "m2m.h"

/* Errors that repeat per frame are logged for the first few only. */
static bool m2m_may_log(struct m2m_encoder *me)
{
	if (me->errors_logged >= 10)
		return false;
	if (++me->errors_logged == 10)
		log_obj_err(me->log_prefix, "further frame errors are not logged");
	return true;
}

/* The device stops being watched once it failed: its POLLERR would keep the epoll fd readable. */
static void m2m_fail(struct m2m_encoder *me)
{
	me->failed = true;
	epoll_ctl(me->epoll_fd, EPOLL_CTL_DEL, me->fd, NULL);
}

static void set_cookie(struct v4l2_buf *vb, uint64_t cookie)
{
	/* microseconds, so it survives drivers that keep the time in µs (bcm2835-codec's MMAL
	 * pts) as well as in ns (vb2) */
	vb->b.timestamp.tv_sec = (time_t)(cookie / 1000000);
	vb->b.timestamp.tv_usec = (suseconds_t)(cookie % 1000000);
}

static uint64_t get_cookie(const struct v4l2_buf *vb)
{
	return (uint64_t)vb->b.timestamp.tv_sec * 1000000 + (uint64_t)vb->b.timestamp.tv_usec;
}

int m2m_queue_capture(struct m2m_encoder *me, unsigned index)
{
	struct v4l2_buf vb;
	v4l2_buf_init(&vb, me->cap_type, V4L2_MEMORY_MMAP, index);
	v4l2_buf_set_payload(&vb, 0, (uint32_t)me->capture_map_len[index]);
	int r = xioctl(me->fd, VIDIOC_QBUF, &vb.b);
	if (r < 0) {
		if (m2m_may_log(me))
			log_obj_err_errno(me->log_prefix, r, "VIDIOC_QBUF (CAPTURE %u)", index);
		return r;
	}
	m2m_book_capture_queued(&me->book, index);
	return 0;
}

int m2m_stream(struct m2m_encoder *me, uint32_t type, bool on)
{
	int t = (int)type;
	return xioctl(me->fd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &t);
}

static int m2m_output_streamon(struct m2m_encoder *me)
{
	if (me->output_streaming)
		return 0;
	int r = m2m_stream(me, me->out_type, true);
	if (r < 0) {
		log_obj_err_errno(me->log_prefix, r, "VIDIOC_STREAMON (OUTPUT)");
		m2m_fail(me);
		return r;
	}
	me->output_streaming = true;
	return 0;
}

/* From dma-buf import to copying. Only when no imported frame is in flight, so no raw frame has
 * to be taken back from the device; -EBUSY until then (the caller drops the frame). */
static int m2m_switch_to_copy(struct m2m_encoder *me, const char *why)
{
	if (me->book.output_in_flight > 0)
		return -EBUSY;
	if (me->output_streaming) {
		m2m_stream(me, me->out_type, false);
		me->output_streaming = false;
	}
	m2m_request_buffers(me, me->out_type, V4L2_MEMORY_DMABUF, 0, NULL);
	me->mode = M2M_COPY;
	me->enc.imports = false;
	snprintf(me->copy_reason, sizeof(me->copy_reason), "%s", why);
	int r = m2m_setup_output(me);
	if (r < 0) {
		m2m_fail(me);
		return r;
	}
	m2m_describe(me);
	log_obj_notice(me->log_prefix, "copying every frame from now on: %s", why);
	return 0;
}

/* Where plane i of raw starts and its stride, also for a single-buffer frame given as one plane. */
static const uint8_t *raw_plane_data(const struct raw_frame *raw, const struct raw_layout *l,
				     unsigned i, size_t *stride)
{
	if (i < raw->n_planes) {
		*stride = raw->planes[i].bytesperline ? raw->planes[i].bytesperline : l->stride[i];
		return raw->planes[i].data;
	}
	/* One contiguous buffer: planes follow the luma rows, chroma strides derived from it. */
	const uint8_t *base = raw->planes[0].data;
	size_t s0 = raw->planes[0].bytesperline ? raw->planes[0].bytesperline : l->stride[0];
	if (!base)
		return NULL;
	if (l->fourcc == V4L2_PIX_FMT_NV12) {
		*stride = s0;
		return base + s0 * raw->height;
	}
	*stride = s0 / 2;
	return base + s0 * raw->height + (i == 2 ? (s0 / 2) * (raw->height / 2) : 0);
}

/* Copies raw into OUTPUT buffer slot in the device's layout; the bytes copied, or -EINVAL when
 * the frame has no CPU mapping. */
static ssize_t m2m_copy_in(struct m2m_encoder *me, unsigned slot, const struct raw_frame *raw)
{
	const struct raw_layout *l = &me->layout;
	size_t copied = 0;
	for (unsigned i = 0; i < l->n_planes; i++) {
		size_t stride;
		const uint8_t *src = raw_plane_data(raw, l, i, &stride);
		if (!src)
			return -EINVAL;
		unsigned rows = i == 0 || l->n_planes == 1 ? l->height : l->height / 2;
		size_t row_bytes = i == 0 ? raw_min_bytesperline(l->fourcc, l->width)
			      : l->fourcc == V4L2_PIX_FMT_NV12 ? l->width : l->width / 2;
		uint8_t *dst = me->output_map[slot] + l->offset[i];
		if (stride == l->stride[i] && stride == row_bytes) {
			memcpy(dst, src, row_bytes * rows);
		} else {
			for (unsigned y = 0; y < rows; y++)
				memcpy(dst + y * l->stride[i], src + y * stride, row_bytes);
		}
		copied += row_bytes * rows;
	}
	return (ssize_t)copied;
}

static int m2m_queue_import(struct m2m_encoder *me, struct raw_frame *raw)
{
	uint64_t cookie;
	int slot = m2m_book_output_take(&me->book, raw, raw, &cookie);
	if (slot < 0)
		return slot;
	struct v4l2_buf vb;
	v4l2_buf_init(&vb, me->out_type, V4L2_MEMORY_DMABUF, (unsigned)slot);
	v4l2_buf_set_dmabuf(&vb, raw->planes[0].dmabuf_fd);
	bool reimport = me->slot_fd[slot] != raw->planes[0].dmabuf_fd;
	v4l2_buf_set_payload(&vb, me->output_sizeimage, (uint32_t)raw->planes[0].buffer_size);
	set_cookie(&vb, cookie);
	int r = xioctl(me->fd, VIDIOC_QBUF, &vb.b);
	if (r < 0) {
		m2m_book_output_cancel(&me->book, slot);
		return r;
	}
	me->imported_once = true;
	if (reimport) {
		me->slot_fd[slot] = raw->planes[0].dmabuf_fd;
		me->enc.stats.dmabuf_imports++;
	}
	/* From here the raw frame is the book's: a failed STREAMON leaves it there for destroy. */
	m2m_output_streamon(me);
	return 0;
}

static int m2m_queue_copy(struct m2m_encoder *me, struct raw_frame *raw)
{
	uint64_t cookie;
	int slot = m2m_book_output_take(&me->book, NULL, raw, &cookie);
	if (slot < 0)
		return slot;
	ssize_t n = m2m_copy_in(me, (unsigned)slot, raw);
	if (n < 0) {
		m2m_book_output_cancel(&me->book, slot);
		return (int)n;
	}
	struct v4l2_buf vb;
	v4l2_buf_init(&vb, me->out_type, V4L2_MEMORY_MMAP, (unsigned)slot);
	v4l2_buf_set_payload(&vb, me->output_sizeimage, (uint32_t)me->output_map_len[slot]);
	set_cookie(&vb, cookie);
	int r = xioctl(me->fd, VIDIOC_QBUF, &vb.b);
	if (r < 0) {
		m2m_book_output_cancel(&me->book, slot);
		if (m2m_may_log(me))
			log_obj_err_errno(me->log_prefix, r, "VIDIOC_QBUF (OUTPUT, MMAP)");
		return r;
	}
	me->enc.stats.bytes_copied += (uint64_t)n;
	me->release_raw(me->release_ctx, raw); /* copied: the source has it back at once */
	m2m_output_streamon(me);
	return 0;
}

/* One OUTPUT buffer back from the driver; its raw frame goes back to the source. 0, or -EAGAIN
 * when none is finished (or an error, logged). */
static int m2m_dequeue_output(struct m2m_encoder *me)
{
	for (;;) {
		struct v4l2_buf vb;
		v4l2_buf_init(&vb, me->out_type,
			      me->mode == M2M_IMPORT ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP, 0);
		int r = xioctl(me->fd, VIDIOC_DQBUF, &vb.b);
		if (r < 0) {
			if (r != -EAGAIN && m2m_may_log(me))
				log_obj_err_errno(me->log_prefix, r, "VIDIOC_DQBUF (OUTPUT)");
			return r;
		}
		struct raw_frame *raw;
		if (m2m_book_output_done(&me->book, vb.b.index, &raw) < 0) {
			log_obj_err(me->log_prefix, "the driver returned OUTPUT buffer %u, which was "
				    "not queued", vb.b.index);
			continue;
		}
		if (raw)
			me->release_raw(me->release_ctx, raw);
		return 0;
	}
}

/* Finished OUTPUT buffers, when a slot is needed or the device may have gone wrong: dequeues
 * until the driver has none left, or none is in flight (then without asking). */
static void m2m_drain_output(struct m2m_encoder *me)
{
	if (!me->output_streaming)
		return;
	while (me->book.output_in_flight > 0 && m2m_dequeue_output(me) == 0) {
	}
}

/* After a result: the OUTPUT buffers known to be finished (m2m_book_outputs_finished()), and no
 * more. A frame queued since (the camera's next one, often submitted in the same loop iteration
 * just before this result is collected) is still being read: asking for it would answer EAGAIN,
 * a failed system call on most frames; it is taken after its own result. */
static void m2m_take_finished_outputs(struct m2m_encoder *me)
{
	if (!me->output_streaming)
		return;
	for (unsigned n = m2m_book_outputs_finished(&me->book); n > 0; n--)
		if (m2m_dequeue_output(me) < 0)
			return; /* a driver that returns it after the JPEG: taken at the next result */
}

static int m2m_submit(struct encoder *enc, struct raw_frame *raw)
{
	struct m2m_encoder *me = enc->priv;
	if (me->failed)
		return -EIO;
	if (raw->fourcc != me->in_fourcc || raw->width != me->width || raw->height != me->height)
		return -EINVAL;
	/* Every frame in flight gets an output frame at collect: keep one free for each. */
	if (me->pool->capacity - me->pool->in_use <= me->book.pending_count)
		return -ENOBUFS;
	if (me->book.output_in_flight >= me->book.max_in_flight)
		m2m_drain_output(me); /* finished ones not collected yet free their slots */
	if (me->book.output_in_flight >= me->book.max_in_flight)
		return -EBUSY;

	char unfit[192];
	if (me->mode == M2M_IMPORT && !raw_frame_fits_layout(raw, &me->layout, unfit, sizeof(unfit))) {
		int r = m2m_switch_to_copy(me, unfit);
		if (r < 0)
			return r;
	}
	if (me->mode == M2M_IMPORT) {
		int r = m2m_queue_import(me, raw);
		if (r == 0 || r == -EBUSY)
			return r;
		if (me->imported_once) {
			if (m2m_may_log(me))
				log_obj_err_errno(me->log_prefix, r, "VIDIOC_QBUF (OUTPUT, DMABUF fd %d)",
						  raw->planes[0].dmabuf_fd);
			return r;
		}
		char why[128];
		snprintf(why, sizeof(why), "the device cannot import the source's dma-buf (%s)",
			 strerror(-r));
		r = m2m_switch_to_copy(me, why);
		if (r < 0)
			return r;
	}
	return m2m_queue_copy(me, raw);
}

static void m2m_capture_released(void *ctx, struct frame *f)
{
	struct m2m_encoder *me = ctx;
	int index = m2m_book_capture_returned(&me->book, f);
	if (MJPEGD_BUG_OBJ(index < 0, me->log_prefix, "frame %llu released but it holds no CAPTURE "
			   "buffer", (unsigned long long)f->sequence))
		return;
	if (!me->failed)
		m2m_queue_capture(me, (unsigned)index);
}

/*
 * The CAPTURE queue had no result. Right after a result that is how a wake-up ends, and costs
 * nothing more. Twice in a row, the wake-up brought no result: the device's poll said something
 * else. Most often that is an OUTPUT buffer given back before its JPEG (bcm2835-codec, on every
 * frame: zero-copy.md), whose wake-up epoll cannot filter: when one is there it is taken, and
 * that explains the wake-up without asking the epoll fd. Otherwise the epoll fd says what the
 * device reported: POLLERR is an error or a gone device (neither queue holding a buffer the
 * driver could use, which the CAPTURE rule in m2m_book.h never allows); finished OUTPUT buffers
 * are taken on the way.
 */
static int m2m_idle(struct m2m_encoder *me)
{
	if (!me->idle) {
		me->idle = true;
		return -EAGAIN;
	}
	if (me->output_streaming && me->book.output_in_flight > 0 && m2m_dequeue_output(me) == 0)
		return -EAGAIN;
	struct epoll_event ev;
	if (epoll_wait(me->epoll_fd, &ev, 1, 0) != 1)
		return -EAGAIN;
	if (ev.events & (EPOLLERR | EPOLLHUP)) {
		log_obj_err(me->log_prefix, "the device reported an error (poll events 0x%x); no more frames "
			    "from this encoder", ev.events);
		m2m_fail(me);
		return -ENODEV;
	}
	m2m_drain_output(me);
	return -EAGAIN;
}

/* A JPEG leaves the encoder only whole and of the picture's size (jpeg_check.h says why). A cut
 * one is dropped and counted, as an error (three in a row fail the encoder, pipeline.c); one of
 * another size means the device ignores the crop or the size: the encoder fails, for good on this
 * node (m2m_note_wrong_size()), since every JPEG it makes would be wrong. */
static int m2m_check_jpeg(struct m2m_encoder *me, const uint8_t *data, size_t *len,
			  const struct m2m_pending *meta)
{
	struct jpeg_info ji;
	int r = jpeg_check(data, *len, &ji);
	if (r < 0) {
		me->enc.stats.frames_cut++;
		me->enc.stats.encode_errors++;
		if (m2m_may_log(me))
			log_obj_err(me->log_prefix, "frame %llu: %s (%zu bytes); dropped",
				    (unsigned long long)meta->sequence,
				    r == -ENODATA ? "the JPEG ends without EOI (cut: larger than its "
				    "CAPTURE buffer?)"
				    : "not a JPEG (no SOI, or no SOF before its data)",
				    *len);
		return -EIO;
	}
	if (ji.width != me->width || ji.height != me->height) {
		me->enc.stats.encode_errors++;
		log_obj_err(me->log_prefix, "%s made a %ux%u JPEG of a %ux%u picture%s; not serving "
			    "it, this encoder stops", me->card, ji.width, ji.height, me->width,
			    me->height, me->cropped ? " (it ignores the OUTPUT crop)" : "");
		m2m_note_wrong_size(me->path, me->width, me->height);
		m2m_fail(me);
		return -ENODEV;
	}
	*len = ji.len;
	return 0;
}

static int m2m_collect(struct encoder *enc, struct frame **out)
{
	struct m2m_encoder *me = enc->priv;
	if (me->failed)
		return -ENODEV;
	if (me->collected) {
		/* The caller collects until -EAGAIN: a second CAPTURE buffer done in this wake-up
		 * keeps the fd readable (level-triggered), so the re-armed poll brings it at once,
		 * and no VIDIOC_DQBUF that finds nothing is needed to end the wake-up. */
		me->collected = false;
		me->idle = true;
		return -EAGAIN;
	}
	struct v4l2_buf vb;
	v4l2_buf_init(&vb, me->cap_type, V4L2_MEMORY_MMAP, 0);
	int r = xioctl(me->fd, VIDIOC_DQBUF, &vb.b);
	if (r == -EAGAIN)
		return m2m_idle(me);
	if (r < 0) {
		/* The device is gone or broken (ENODEV after an unplug, EPIPE after its last
		 * buffer): no result will come any more. */
		log_obj_err_errno(me->log_prefix, r, "VIDIOC_DQBUF (CAPTURE), no more frames from "
				  "this encoder");
		m2m_fail(me);
		return -ENODEV;
	}
	me->idle = false;
	unsigned index = vb.b.index;
	int copy = m2m_book_capture_dequeued(&me->book, index);
	if (copy < 0) {
		log_obj_err(me->log_prefix, "the driver returned CAPTURE buffer %u, which was not queued", index);
		enc->stats.encode_errors++;
		m2m_drain_output(me);
		return -EIO;
	}
	struct m2m_pending meta = { 0 };
	bool have_meta = m2m_book_pending_take(&me->book, get_cookie(&vb), &meta) == 0;
	/* The job's OUTPUT buffer is finished with (or before) its CAPTURE buffer: its raw frame
	 * goes back to the source now. */
	m2m_take_finished_outputs(me);

	uint32_t used = v4l2_buf_bytesused(&vb), offset = v4l2_buf_data_offset(&vb);
	if ((vb.b.flags & V4L2_BUF_FLAG_ERROR) || used <= offset ||
	    used > me->capture_map_len[index]) {
		if (m2m_may_log(me))
			log_obj_err(me->log_prefix, "frame %llu: the encoder returned %s",
				    (unsigned long long)meta.sequence,
				    vb.b.flags & V4L2_BUF_FLAG_ERROR ? "an error" : "no data");
		m2m_queue_capture(me, index);
		enc->stats.encode_errors++;
		return -EIO;
	}

	struct frame *frame = frame_pool_acquire(me->pool);
	if (!frame) {
		m2m_queue_capture(me, index);
		enc->stats.encode_errors++;
		return -ENOBUFS;
	}
	const uint8_t *data = me->capture_map[index] + offset;
	size_t len = used - offset;
	if (me->out_fourcc == V4L2_PIX_FMT_JPEG) {
		r = m2m_check_jpeg(me, data, &len, &meta);
		if (r < 0) {
			frame_unref(frame);
			m2m_queue_capture(me, index);
			return r;
		}
	}
	if (copy) {
		/* The driver has no other buffer: lend none, keep it encoding (m2m_book.h). */
		r = frame_reserve(frame, len);
		if (r < 0) {
			frame_unref(frame);
			m2m_queue_capture(me, index);
			enc->stats.encode_errors++;
			return r;
		}
		memcpy(frame->buf, data, len);
		frame->len = len;
		enc->stats.bytes_copied += len;
		me->capture_copies++;
		m2m_queue_capture(me, index);
	} else {
		frame_set_external(frame, data, len, m2m_capture_released, me);
		m2m_book_capture_lend(&me->book, index, frame);
	}
	frame->fourcc = me->out_fourcc;
	frame->width = me->width;
	frame->height = me->height;
	if (have_meta) {
		frame->sequence = meta.sequence;
		frame->timestamp_us = meta.timestamp_us;
	}
	enc->stats.frames_encoded++;
	me->collected = true;
	*out = frame;
	return 0;
}

static int m2m_fd(struct encoder *enc)
{
	struct m2m_encoder *me = enc->priv;
	return me->epoll_fd;
}

int m2m_set_quality(struct encoder *enc, unsigned quality)
{
	struct m2m_encoder *me = enc->priv;
	assert(quality >= 1 && quality <= 100); /* config checked it */
	if (me->out_fourcc != V4L2_PIX_FMT_JPEG)
		return -EOPNOTSUPP; /* FWHT has quantisation parameters, not a JPEG quality */
	/* Streaming: bcm2835-codec hands V4L2_CID_JPEG_COMPRESSION_QUALITY to the firmware as the
	 * port's MMAL_PARAMETER_JPEG_Q_FACTOR, and whether a running image encoder takes it is
	 * the firmware's business (not known without a Pi; the emulation's quality_live=0 ignores
	 * it). Rather than read the next JPEG's DQT and guess, the encoder is reopened (the
	 * caller's -ESTALE), which every firmware honours; the stand-in covers the gap. */
	if (me->capture_streaming)
		return -ESTALE;
	struct v4l2_control c = { .id = V4L2_CID_JPEG_COMPRESSION_QUALITY, .value = (int)quality };
	int r = xioctl(me->fd, VIDIOC_S_CTRL, &c);
	if (r < 0)
		return r;
	me->quality = quality;
	return 0;
}

static unsigned m2m_frames_lent(struct encoder *enc)
{
	struct m2m_encoder *me = enc->priv;
	unsigned n = 0;
	for (unsigned i = 0; i < me->book.n_capture; i++)
		n += me->book.capture_lent[i] != NULL;
	return n;
}

const struct encoder_ops m2m_ops = {
	.name = "m2m",
	.fd = m2m_fd,
	.submit = m2m_submit,
	.collect = m2m_collect,
	.set_quality = m2m_set_quality,
	.frames_lent = m2m_frames_lent,
	.destroy = m2m_destroy,
};
