/* V4L2 memory-to-memory encoder: Raspberry Pi's bcm2835-codec image encoder (JPEG), vicodec's
 * stateful encoder (FWHT) on the test bed. See include/mjpegd/encoder.h for the contract and
 * include/mjpegd/encoder/m2m_book.h for who owns which buffer when.
 *
 * OUTPUT queue (raw frames in): V4L2_MEMORY_DMABUF importing the source's exported buffers, zero
 * copy, when the source has dma-bufs laid out as the device reads them (bytesperline, chroma
 * offset, size: raw_layout_match()); otherwise, or when the first import fails (a device that
 * needs physically contiguous memory cannot import a vmalloc'd buffer of a UVC camera), MMAP
 * buffers and one memcpy per frame, counted in bytes_copied. The OUTPUT queue is started with
 * the first frame, so that switch needs no stream restart with frames in flight.
 * CAPTURE queue (encoded frames out): MMAP; each result is lent to a struct frame pointing into
 * the mapping (frame_set_external) and queued again when its last reference goes.
 * M2M_OUTPUT_SLOTS frames are in flight at once.
 *
 * Everything runs on the loop thread but the device's teardown (m2m_destroy()), which runs on a
 * thread of its own because it may block for seconds. The device is watched for POLLIN (a result
 * on the CAPTURE queue) only, through an epoll fd, which is what the loop polls. Finished OUTPUT
 * buffers (their raw frames go back to the source) are dequeued with each result, and when
 * submit finds every slot busy: bcm2835-codec returns a job's OUTPUT buffer when the VPU has read
 * it, before its JPEG (the input port's buffer callback), and watching POLLOUT would cost two
 * wake-ups per frame for it (docs/zero-copy.md says what one still costs).
 * io_uring cannot poll the node itself: io_uring's POLL_ADD on the M2M node itself fails with
 * EINVAL, because v4l2_m2m_poll() waits on three queues (OUTPUT done, CAPTURE done, V4L2 events)
 * and io_uring accepts two ("already have a 2nd entry, fail a third attempt",
 * io_uring/poll.c __io_queue_proc(), Linux 6.1; seen on the test bed). epoll takes any number.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mjpegd/encoder.h"
#include "mjpegd/bug.h"
#include "mjpegd/log.h"
#include "mjpegd/encoder/jpeg_check.h"
#include "mjpegd/encoder/m2m_book.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/discover.h"
#include "mjpegd/v4l2/layout.h"

/* Three raw frames in the encoder at once: the device works on one while the next waits, and the
 * source (4 buffers by default) keeps one to capture into. */
#define M2M_OUTPUT_SLOTS 3
/* Importing, one OUTPUT slot per camera buffer (m2m_book.h: a slot keeps its dma-buf); a DMABUF
 * slot costs no memory. Copying, M2M_OUTPUT_SLOTS MMAP buffers. */
#define M2M_IMPORT_SLOTS M2M_MAX_BUFFERS
/* bcm2835-codec allocates 4 MiB per JPEG CAPTURE buffer (DEF_COMP_BUF_SIZE_JPEG in
 * bcm2835-v4l2-codec.c): four is 16 MiB of CMA. Lent buffers beyond that are copied out. */
#define M2M_CAPTURE_BUFFERS 4

enum m2m_mode {
	M2M_IMPORT, /* OUTPUT: V4L2_MEMORY_DMABUF */
	M2M_COPY,   /* OUTPUT: V4L2_MEMORY_MMAP, one memcpy per frame */
};

struct m2m_encoder {
	struct encoder enc;
	int fd;
	int epoll_fd; /* readable when the device has POLLIN (or an error) */
	uint32_t out_type, cap_type; /* buffer types of the OUTPUT and CAPTURE queues */
	char path[64], card[33], driver[17];
	char log_prefix[LOG_PREFIX_MAX]; /* "m2m /dev/videoN", each line about it starts so */
	uint32_t in_fourcc, out_fourcc;
	unsigned width, height;    /* the picture; the JPEG's SOF must say exactly this */
	struct raw_layout layout;  /* what the OUTPUT queue reads */
	bool cropped;              /* S_SELECTION set the picture inside padded rows */
	uint32_t output_sizeimage; /* the driver's: bytesused of every OUTPUT buffer */
	enum m2m_mode mode;
	char copy_reason[256];
	bool output_streaming, capture_streaming, imported_once, failed;
	bool idle; /* the last collect found no result (m2m_collect()) */
	bool collected; /* the last collect returned a frame: the next one ends the wake-up */
	unsigned quality;
	struct frame_pool *pool;
	encoder_release_raw_fn release_raw;
	void *release_ctx;
	struct m2m_book book;
	uint8_t *output_map[M2M_MAX_BUFFERS];
	size_t output_map_len[M2M_MAX_BUFFERS];
	unsigned n_output_buffers; /* allocated with REQBUFS (book.n_output mirrors it) */
	int slot_fd[M2M_MAX_BUFFERS]; /* the dma-buf fd each OUTPUT slot was last queued with */
	uint8_t *capture_map[M2M_MAX_BUFFERS];
	size_t capture_map_len[M2M_MAX_BUFFERS];
	uint64_t capture_copies;
	unsigned errors_logged;
	char description[384];
};

static void m2m_describe(struct m2m_encoder *me)
{
	char a[5], b[5];
	int n = snprintf(me->description, sizeof(me->description), "m2m %s %s %s→%s", me->path,
			 me->card, fourcc_str(me->in_fourcc, a), fourcc_str(me->out_fourcc, b));
	if (n < 0 || (size_t)n >= sizeof(me->description))
		return;
	if (me->mode == M2M_IMPORT)
		snprintf(me->description + n, sizeof(me->description) - (size_t)n, " (dmabuf import)");
	else
		snprintf(me->description + n, sizeof(me->description) - (size_t)n, " (copy: %s)",
			 me->copy_reason);
}

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

static int m2m_request_buffers(struct m2m_encoder *me, uint32_t type, uint32_t memory,
			       unsigned count, unsigned *got)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = type, .memory = memory };
	int r = xioctl(me->fd, VIDIOC_REQBUFS, &rb);
	if (r < 0)
		return r;
	if (got)
		*got = rb.count < M2M_MAX_BUFFERS ? rb.count : M2M_MAX_BUFFERS;
	return 0;
}

static void m2m_unmap_output(struct m2m_encoder *me)
{
	for (unsigned i = 0; i < M2M_MAX_BUFFERS; i++) {
		if (me->output_map[i])
			munmap(me->output_map[i], me->output_map_len[i]);
		me->output_map[i] = NULL;
		me->output_map_len[i] = 0;
	}
}

static int m2m_queue_capture(struct m2m_encoder *me, unsigned index)
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

static int m2m_stream(struct m2m_encoder *me, uint32_t type, bool on)
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

/* OUTPUT buffers for the current mode: none to map for an import, MMAP ones to copy into. */
static int m2m_setup_output(struct m2m_encoder *me)
{
	unsigned got = 0;
	uint32_t memory = me->mode == M2M_IMPORT ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP;
	int r = m2m_request_buffers(me, me->out_type, memory,
				    me->mode == M2M_IMPORT ? M2M_IMPORT_SLOTS : M2M_OUTPUT_SLOTS, &got);
	if (r < 0)
		return log_obj_err_errno(me->log_prefix, r, "VIDIOC_REQBUFS (OUTPUT, %s)",
					memory == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP");
	if (got == 0) {
		log_obj_err(me->log_prefix, "the driver gave no OUTPUT buffers");
		return -ENOMEM;
	}
	me->n_output_buffers = got;
	me->book.n_output = got;
	me->book.max_in_flight = got < M2M_OUTPUT_SLOTS ? got : M2M_OUTPUT_SLOTS;
	if (me->mode == M2M_COPY) {
		for (unsigned i = 0; i < got; i++) {
			r = v4l2_buf_map(me->fd, me->out_type, i, PROT_READ | PROT_WRITE,
					   &me->output_map[i], &me->output_map_len[i]);
			if (r < 0)
				return log_obj_err_errno(me->log_prefix, r, "mapping OUTPUT buffer %u", i);
			if (me->output_map_len[i] < me->layout.sizeimage) {
				log_obj_err(me->log_prefix, "OUTPUT buffer %u has %zu bytes, a frame "
					    "needs %zu", i, me->output_map_len[i],
					    me->layout.sizeimage);
				return -ENOBUFS;
			}
		}
	}
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

static void m2m_drain_output(struct m2m_encoder *me);

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

/* Finished OUTPUT buffers: their raw frames go back to the source. Dequeues until the driver has
 * none left, or none is in flight (then without asking: no EAGAIN probe per frame). */
static void m2m_drain_output(struct m2m_encoder *me)
{
	if (!me->output_streaming)
		return;
	while (me->book.output_in_flight > 0) {
		struct v4l2_buf vb;
		v4l2_buf_init(&vb, me->out_type,
			      me->mode == M2M_IMPORT ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP, 0);
		int r = xioctl(me->fd, VIDIOC_DQBUF, &vb.b);
		if (r < 0) {
			if (r != -EAGAIN && m2m_may_log(me))
				log_obj_err_errno(me->log_prefix, r, "VIDIOC_DQBUF (OUTPUT)");
			return;
		}
		struct raw_frame *raw;
		if (m2m_book_output_done(&me->book, vb.b.index, &raw) < 0) {
			log_obj_err(me->log_prefix, "the driver returned OUTPUT buffer %u, which was "
				    "not queued", vb.b.index);
			continue;
		}
		if (raw)
			me->release_raw(me->release_ctx, raw);
	}
}

static void m2m_capture_released(void *ctx, struct frame *f)
{
	struct m2m_encoder *me = ctx;
	int index = m2m_book_capture_returned(&me->book, f);
	if (MJPEGD_BUG(index < 0, "m2m %s: frame %llu released but it holds no CAPTURE buffer",
		       me->path, (unsigned long long)f->sequence))
		return;
	if (!me->failed)
		m2m_queue_capture(me, (unsigned)index);
}

/*
 * The CAPTURE queue had no result. Right after a result that is how a wake-up ends, and costs
 * nothing more. Twice in a row, the wake-up brought no result: the device's poll said something
 * else. POLLERR is an error or a gone device (neither queue holding a buffer the driver could use,
 * which the CAPTURE rule in m2m_book.h never allows); finished OUTPUT buffers are taken on the way.
 */
static int m2m_idle(struct m2m_encoder *me)
{
	if (!me->idle) {
		me->idle = true;
		return -EAGAIN;
	}
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

static void m2m_note_wrong_size(const char *path, unsigned width, unsigned height);

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
		log_err("m2m %s (%s): it made a %ux%u JPEG of a %ux%u picture%s; not serving it, "
			"this encoder stops", me->path, me->card, ji.width, ji.height, me->width,
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
		log_obj_err(me->log_prefix, "VIDIOC_DQBUF (CAPTURE): %s; no more frames from this "
			    "encoder", strerror(-r));
		m2m_fail(me);
		return -ENODEV;
	}
	me->idle = false;
	/* v4l2-mem2mem finishes a job's OUTPUT buffer with its CAPTURE buffer: its raw frame
	 * goes back to the source now. */
	m2m_drain_output(me);
	unsigned index = vb.b.index;
	int copy = m2m_book_capture_dequeued(&me->book, index);
	if (copy < 0) {
		log_obj_err(me->log_prefix, "the driver returned CAPTURE buffer %u, which was not queued", index);
		enc->stats.encode_errors++;
		return -EIO;
	}
	struct m2m_pending meta = { 0 };
	bool have_meta = m2m_book_pending_take(&me->book, get_cookie(&vb), &meta) == 0;

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

static int m2m_set_quality(struct encoder *enc, unsigned quality)
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

/* Teardowns still running on their threads (m2m_destroy()); the loop thread reads it. */
static atomic_uint m2m_teardowns;

/* STREAMOFF, unmapping and closing: what may block. bcm2835-codec's stop_streaming waits up to
 * COMPLETE_TIMEOUT (2 s) per queue for buffers the VPU still holds, and its MMAL calls have their
 * own timeouts: a stalled encoder takes seconds to let go, which must not freeze the loop. */
static void m2m_release_device(struct m2m_encoder *me)
{
	if (me->fd >= 0) {
		if (me->output_streaming)
			m2m_stream(me, me->out_type, false);
		if (me->capture_streaming)
			m2m_stream(me, me->cap_type, false);
	}
	m2m_unmap_output(me);
	for (unsigned i = 0; i < M2M_MAX_BUFFERS; i++)
		if (me->capture_map[i])
			munmap(me->capture_map[i], me->capture_map_len[i]);
	if (me->epoll_fd >= 0)
		close(me->epoll_fd);
	if (me->fd >= 0)
		close(me->fd); /* vb2 stops both queues here too, for what STREAMOFF left */
	free(me);
}

static void *m2m_teardown_thread(void *arg)
{
	m2m_release_device(arg);
	atomic_fetch_sub(&m2m_teardowns, 1);
	return NULL;
}

bool encoder_m2m_teardown_pending(void)
{
	return atomic_load(&m2m_teardowns) > 0;
}

void encoder_m2m_wait_teardowns(unsigned timeout_ms)
{
	for (unsigned waited = 0; encoder_m2m_teardown_pending() && waited < timeout_ms; waited += 10)
		usleep(10000);
}

static void m2m_destroy(struct encoder *enc)
{
	struct m2m_encoder *me = enc->priv;
	/* Every raw frame still lent goes back to the source now, before the device has let go:
	 * the source may capture into it again while a stalled VPU still reads it, which matters
	 * to nobody (its JPEG would be thrown away), and the dma-buf stays alive until the device
	 * is closed (the importer holds a reference). */
	for (unsigned i = 0; i < me->book.n_output; i++) {
		struct raw_frame *raw;
		if (m2m_book_output_done(&me->book, i, &raw) == 0 && raw)
			me->release_raw(me->release_ctx, raw);
	}
	for (unsigned i = 0; i < me->book.n_capture; i++) {
		struct frame *f = me->book.capture_lent[i];
		if (!f)
			continue;
		/* As in passthrough: the caller must have dropped its frames first. */
		MJPEGD_BUG(true, "m2m %s: destroyed while frame %llu is still referenced", me->path,
			   (unsigned long long)f->sequence);
		f->release = NULL;
		me->book.capture_lent[i] = NULL;
	}
	if (!me->output_streaming && !me->capture_streaming) {
		m2m_release_device(me); /* the device holds no buffer: nothing to wait for */
		return;
	}
	/* From here nothing of the loop's points into me: the rest is the thread's. */
	atomic_fetch_add(&m2m_teardowns, 1);
	pthread_t t;
	pthread_attr_t attr;
	int r = pthread_attr_init(&attr);
	if (r == 0)
		r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = pthread_create(&t, &attr, m2m_teardown_thread, me);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		log_obj_warn_errno(me->log_prefix, -r, "no thread for its teardown; closing it on "
				   "the loop thread");
		m2m_release_device(me);
		atomic_fetch_sub(&m2m_teardowns, 1);
	}
}

static unsigned m2m_frames_lent(struct encoder *enc)
{
	struct m2m_encoder *me = enc->priv;
	unsigned n = 0;
	for (unsigned i = 0; i < me->book.n_capture; i++)
		n += me->book.capture_lent[i] != NULL;
	return n;
}

static const struct encoder_ops m2m_ops = {
	.name = "m2m",
	.fd = m2m_fd,
	.submit = m2m_submit,
	.collect = m2m_collect,
	.set_quality = m2m_set_quality,
	.frames_lent = m2m_frames_lent,
	.destroy = m2m_destroy,
};

/* Devices that made JPEGs of another size than the picture, per size: not used for it again in
 * this process (the software encoder serves). Copying cannot help: the driver pads the OUTPUT
 * rows whatever the client gives, so a firmware that ignores the crop encodes the padded rows of
 * any buffer. Noted on the loop thread, read where an encoder is created (a reopen's thread
 * too): under m2m_wrong_size_lock. */
static pthread_mutex_t m2m_wrong_size_lock = PTHREAD_MUTEX_INITIALIZER;
#define M2M_WRONG_SIZE_MAX 8
static struct {
	char path[64];
	unsigned width, height;
} m2m_wrong_size[M2M_WRONG_SIZE_MAX];
static unsigned m2m_n_wrong_size;

static bool m2m_wrong_size_locked(const char *path, unsigned width, unsigned height)
{
	for (unsigned i = 0; i < m2m_n_wrong_size; i++)
		if (strcmp(m2m_wrong_size[i].path, path) == 0 && m2m_wrong_size[i].width == width &&
		    m2m_wrong_size[i].height == height)
			return true;
	return false;
}

static bool m2m_known_wrong_size(const char *path, unsigned width, unsigned height)
{
	pthread_mutex_lock(&m2m_wrong_size_lock);
	bool known = m2m_wrong_size_locked(path, width, height);
	pthread_mutex_unlock(&m2m_wrong_size_lock);
	return known;
}

static void m2m_note_wrong_size(const char *path, unsigned width, unsigned height)
{
	pthread_mutex_lock(&m2m_wrong_size_lock);
	if (!m2m_wrong_size_locked(path, width, height) && m2m_n_wrong_size < M2M_WRONG_SIZE_MAX) {
		snprintf(m2m_wrong_size[m2m_n_wrong_size].path, sizeof(m2m_wrong_size[0].path), "%s",
			 path);
		m2m_wrong_size[m2m_n_wrong_size].width = width;
		m2m_wrong_size[m2m_n_wrong_size++].height = height;
	}
	pthread_mutex_unlock(&m2m_wrong_size_lock);
}

/* p->device, or the first M2M device that turns in_fourcc into out_fourcc. */
static int m2m_find_device(const struct encoder_params *p, char *path, size_t len)
{
	char a[5], b[5];
	if (p->device && p->device[0]) {
		snprintf(path, len, "%s", p->device);
		return 0;
	}
	struct v4l2_device_info *devs = NULL;
	int n = v4l2_scan(&devs);
	if (n < 0)
		return log_err_errno(n, "m2m: listing /dev");
	int i = m2m_discover(devs, (size_t)n, p->in_fourcc, p->out_fourcc);
	if (i >= 0)
		snprintf(path, len, "%s", devs[i].path);
	free(devs);
	if (i < 0)
		return log_err_errno(-ENODEV, "m2m: no memory-to-memory device turns %s into %s "
					      "(mjpegd --list-devices says why each device does "
					      "not)", fourcc_str(p->in_fourcc, a),
					      fourcc_str(p->out_fourcc, b));
	return 0;
}

/* The driver padded the rows (bcm2835-codec: to 16): the picture is the top height rows. Its
 * S_FMT already keeps the height asked for as the crop (vidioc_s_fmt(): crop_height is the
 * requested height); it is said once more with S_SELECTION(V4L2_SEL_TGT_CROP) on OUTPUT
 * (vidioc_s_selection(), the ENCODE_IMAGE role), which the firmware gets as the port's crop. A
 * device without the selection API relies on S_FMT; either way the first JPEG's SOF is the check
 * (m2m_check_jpeg()). */
static void m2m_set_crop(struct m2m_encoder *me)
{
	struct v4l2_selection sel = {
		.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, /* the selection API's type for both APIs */
		.target = V4L2_SEL_TGT_CROP,
		.r = { .left = 0, .top = 0, .width = me->width, .height = me->height },
	};
	int r = xioctl(me->fd, VIDIOC_S_SELECTION, &sel);
	if (r < 0) {
		log_obj_info(me->log_prefix, "no OUTPUT crop (VIDIOC_S_SELECTION: %s): the JPEG's size is "
			 "checked", strerror(-r));
		return;
	}
	if (sel.r.width != me->width || sel.r.height != me->height || sel.r.left || sel.r.top)
		log_obj_notice(me->log_prefix, "asked to crop %ux%u, the driver set %ux%u at %d,%d: the JPEG's "
			   "size is checked", me->width, me->height, sel.r.width,
			   sel.r.height, sel.r.left, sel.r.top);
	me->cropped = true;
}

/* Formats on both queues; fills me->layout, me->output_sizeimage. */
static int m2m_set_formats(struct m2m_encoder *me, const struct encoder_params *p)
{
	char a[5], b[5];
	struct m2m_constraints c;
	m2m_constraints_for(me->driver, me->in_fourcc, &c);
	if ((c.max_width && me->width > c.max_width) || (c.max_height && me->height > c.max_height))
		return log_err_errno(-EINVAL, "m2m %s (%s) encodes at most %ux%u, not %ux%u",
					      me->path, me->card, c.max_width, c.max_height,
					      me->width, me->height);

	/* The stateful encoder interface: the coded format on CAPTURE first, then the raw one on
	 * OUTPUT (Documentation/userspace-api/media/v4l/dev-encoder.rst, "Initialization"). */
	struct v4l2_pixfmt cap = { .fourcc = me->out_fourcc, .width = me->width,
				   .height = me->height };
	int r = v4l2_set_format(me->fd, me->cap_type, &cap, false);
	if (r < 0 || cap.fourcc != me->out_fourcc) {
		bool pi = strcmp(me->driver, "bcm2835-codec") == 0;
		log_err("m2m %s (%s) refuses %s on its CAPTURE queue%s: %s", me->path, me->card,
			fourcc_str(me->out_fourcc, a),
			pi ? " (JPEG needs the firmware image encoder: start_x=1 in config.txt on "
			     "older firmware, raspberrypi/linux#4923)" : "",
			strerror(r < 0 ? -r : EINVAL));
		return r < 0 ? r : -EINVAL;
	}

	struct v4l2_pixfmt out = { .fourcc = me->in_fourcc, .width = me->width,
				   .height = me->height,
				   .bytesperline = (uint32_t)p->in_bytesperline };
	r = v4l2_set_format(me->fd, me->out_type, &out, false);
	if (r < 0 || out.fourcc != me->in_fourcc) {
		log_err("m2m %s (%s) refuses %s on its OUTPUT queue: %s", me->path, me->card,
			fourcc_str(me->in_fourcc, a), strerror(r < 0 ? -r : EINVAL));
		return r < 0 ? r : -EINVAL;
	}
	if (out.width != me->width || out.height < me->height)
		return log_err_errno(-EINVAL, "m2m %s (%s) changed %ux%u to %ux%u (its size "
					      "limits)", me->path, me->card, me->width, me->height,
					      out.width, out.height);
	/* The driver may pad the height (bcm2835-codec: to 16 rows, see m2m_constraints_for()):
	 * chroma then starts after the padded rows. align_up(h, H) is H for any h <= H. */
	r = raw_layout_compute(me->in_fourcc, me->width, me->height, out.bytesperline, 1,
			       out.height, &me->layout);
	if (r < 0)
		return log_obj_err_errno(me->log_prefix, r, "unusable OUTPUT layout %s %ux%u "
					 "bytesperline %u", fourcc_str(out.fourcc, b), out.width,
					 out.height, out.bytesperline);
	if (out.sizeimage > me->layout.sizeimage)
		me->layout.sizeimage = out.sizeimage; /* vb2 wants buffers at least this large */
	me->output_sizeimage = out.sizeimage ? out.sizeimage : (uint32_t)me->layout.sizeimage;
	if (out.height > me->height)
		m2m_set_crop(me);
	return 0;
}

static int m2m_setup_capture(struct m2m_encoder *me)
{
	unsigned got = 0;
	int r = m2m_request_buffers(me, me->cap_type, V4L2_MEMORY_MMAP, M2M_CAPTURE_BUFFERS, &got);
	if (r < 0 || got == 0) {
		log_obj_err(me->log_prefix, "VIDIOC_REQBUFS (CAPTURE, MMAP): %s",
			strerror(r < 0 ? -r : ENOMEM));
		return r < 0 ? r : -ENOMEM;
	}
	me->book.n_capture = got;
	for (unsigned i = 0; i < got; i++) {
		r = v4l2_buf_map(me->fd, me->cap_type, i, PROT_READ, &me->capture_map[i],
				   &me->capture_map_len[i]);
		if (r < 0)
			return log_obj_err_errno(me->log_prefix, r, "mapping CAPTURE buffer %u", i);
	}
	for (unsigned i = 0; i < got; i++) {
		me->book.capture_queued[i] = false; /* m2m_queue_capture marks it queued */
		r = m2m_queue_capture(me, i);
		if (r < 0)
			return r;
	}
	r = m2m_stream(me, me->cap_type, true);
	if (r < 0)
		return log_obj_err_errno(me->log_prefix, r, "VIDIOC_STREAMON (CAPTURE)");
	me->capture_streaming = true;
	return 0;
}

int encoder_m2m_create(const struct encoder_params *p, struct encoder **out)
{
	char a[5];
	if (!v4l2_formats_contain(m2m_raw_formats, n_m2m_raw_formats, p->in_fourcc))
		return log_err_errno(-EINVAL, "m2m: input format %s not supported (YU12, YUYV, "
					      "NV12, RGB3, BGR3)", fourcc_str(p->in_fourcc, a));
	assert(p->pool && p->release_raw && p->out_fourcc);
	assert(p->quality >= 1 && p->quality <= 100); /* config checked it */
	/* The size is the source's: a camera may give one the encoder cannot take. */
	if (p->width == 0 || p->height == 0 || p->width % 2 || p->height % 2)
		return log_err_errno(-EINVAL, "m2m: bad parameters %ux%u q%u", p->width, p->height,
					      p->quality);
	struct m2m_encoder *me = calloc(1, sizeof(*me));
	if (!me)
		return log_err_errno(-ENOMEM, "m2m");
	me->fd = -1;
	me->epoll_fd = -1;
	for (unsigned i = 0; i < M2M_MAX_BUFFERS; i++)
		me->slot_fd[i] = -1;
	me->enc = (struct encoder){ .ops = &m2m_ops, .description = me->description, .priv = me };
	me->in_fourcc = p->in_fourcc;
	me->out_fourcc = p->out_fourcc;
	me->width = p->width;
	me->height = p->height;
	me->pool = p->pool;
	me->release_raw = p->release_raw;
	me->release_ctx = p->release_ctx;
	me->quality = p->quality;
	m2m_book_init(&me->book, 0, 0);

	int r = m2m_find_device(p, me->path, sizeof(me->path));
	if (r < 0)
		goto fail;
	snprintf(me->log_prefix, sizeof(me->log_prefix), "m2m %s", me->path);
	if (m2m_known_wrong_size(me->path, me->width, me->height)) {
		r = log_obj_err_errno(me->log_prefix, -EOPNOTSUPP, "it made JPEGs of another size than %ux%u "
					       "before; not used at this size", me->width,
					       me->height);
		goto fail;
	}
	me->fd = open(me->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (me->fd < 0) {
		r = -errno;
		log_err_errno(r, "m2m: cannot open %s", me->path);
		goto fail;
	}
	struct v4l2_device_info info;
	r = v4l2_probe_fd(me->fd, me->path, &info);
	if (r < 0) {
		log_obj_err_errno(me->log_prefix, r, "VIDIOC_QUERYCAP");
		goto fail;
	}
	snprintf(me->card, sizeof(me->card), "%s", info.card);
	snprintf(me->driver, sizeof(me->driver), "%s", info.driver);
	char why[256];
	r = m2m_encoder_check(&info, p->in_fourcc, p->out_fourcc, why, sizeof(why));
	if (r < 0) {
		log_err("m2m %s (%s): not usable: %s", me->path, me->card, why);
		goto fail;
	}
	bool mplane = v4l2_info_is_mplane(&info);
	me->out_type = mplane ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
	me->cap_type = mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;

	r = m2m_set_formats(me, p);
	if (r < 0)
		goto fail;

	/* Import when the source's buffers are what the device reads (their size is checked per
	 * frame); otherwise say why each frame is copied. */
	struct raw_layout src;
	if (p->copy_reason) {
		me->mode = M2M_COPY;
		snprintf(me->copy_reason, sizeof(me->copy_reason), "%s", p->copy_reason);
	} else if (!p->in_dmabuf) {
		me->mode = M2M_COPY;
		snprintf(me->copy_reason, sizeof(me->copy_reason), "%s",
			 p->in_unfit ? p->in_unfit : "the source has no dma-buf");
	} else if (raw_layout_compute(p->in_fourcc, p->width, p->height, p->in_bytesperline, 1,
				      p->in_padded_height ? p->in_padded_height : 1, &src) < 0 ||
		   raw_layout_match(&src, SIZE_MAX, &me->layout, why, sizeof(why)) < 0) {
		me->mode = M2M_COPY;
		snprintf(me->copy_reason, sizeof(me->copy_reason), "the camera's buffers are not laid "
			 "out as the encoder reads them: %.180s", why);
	} else {
		me->mode = M2M_IMPORT;
	}

	if (p->out_fourcc == V4L2_PIX_FMT_JPEG) {
		r = m2m_set_quality(&me->enc, p->quality);
		if (r < 0)
			log_obj_warn_errno(me->log_prefix, r, "setting JPEG quality %u", p->quality);
	}
	r = m2m_setup_output(me);
	if (r < 0)
		goto fail;
	r = m2m_setup_capture(me);
	if (r < 0)
		goto fail;
	me->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = me->fd };
	if (me->epoll_fd < 0 || epoll_ctl(me->epoll_fd, EPOLL_CTL_ADD, me->fd, &ev) < 0) {
		r = -errno;
		log_obj_err_errno(me->log_prefix, r, "epoll");
		goto fail;
	}
	m2m_describe(me);
	me->enc.imports = me->mode == M2M_IMPORT;
	if (me->mode == M2M_COPY)
		log_obj_notice(me->log_prefix, "copying every frame: %s", me->copy_reason);
	*out = &me->enc;
	return 0;

fail:
	m2m_destroy(&me->enc);
	return r;
}
