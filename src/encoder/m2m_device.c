/* The M2M encoder's device: which one (p->device or the first that converts), opening it, the
 * formats on both queues (the stateful encoder's order, the driver's padding and crop), the
 * OUTPUT and CAPTURE buffers, and the teardown that may block, on a thread of its own. The
 * streaming is src/encoder/m2m.c; what both share, src/encoder/m2m.h. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/encoder.h"
#include "mjpegd/log.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/discover.h"
#include "mjpegd/v4l2/layout.h"
#include "m2m.h"

void m2m_describe(struct m2m_encoder *me)
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

int m2m_request_buffers(struct m2m_encoder *me, uint32_t type, uint32_t memory,
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

/* OUTPUT buffers for the current mode: none to map for an import, MMAP ones to copy into. */
int m2m_setup_output(struct m2m_encoder *me)
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

void m2m_destroy(struct encoder *enc)
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
		MJPEGD_BUG_OBJ(true, me->log_prefix, "destroyed while frame %llu is still referenced",
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

void m2m_note_wrong_size(const char *path, unsigned width, unsigned height)
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
		log_obj_info_errno(me->log_prefix, r, "no OUTPUT crop, the JPEG's size is checked "
				   "(VIDIOC_S_SELECTION)");
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
		return log_obj_err_errno(me->log_prefix, -EINVAL, "%s encodes at most %ux%u, not "
					 "%ux%u", me->card, c.max_width, c.max_height,
					 me->width, me->height);

	/* The stateful encoder interface: the coded format on CAPTURE first, then the raw one on
	 * OUTPUT (Documentation/userspace-api/media/v4l/dev-encoder.rst, "Initialization"). */
	struct v4l2_pixfmt cap = { .fourcc = me->out_fourcc, .width = me->width,
				   .height = me->height };
	int r = v4l2_set_format(me->fd, me->cap_type, &cap, false);
	if (r < 0 || cap.fourcc != me->out_fourcc) {
		bool pi = strcmp(me->driver, "bcm2835-codec") == 0;
		return log_obj_err_errno(me->log_prefix, r < 0 ? r : -EINVAL,
					 "%s refuses %s on its CAPTURE queue%s", me->card,
					 fourcc_str(me->out_fourcc, a),
					 pi ? " (JPEG needs the firmware image encoder: start_x=1 in "
					 "config.txt on older firmware, raspberrypi/linux#4923)" : "");
	}

	struct v4l2_pixfmt out = { .fourcc = me->in_fourcc, .width = me->width,
				   .height = me->height,
				   .bytesperline = (uint32_t)p->in_bytesperline };
	r = v4l2_set_format(me->fd, me->out_type, &out, false);
	if (r < 0 || out.fourcc != me->in_fourcc) {
		return log_obj_err_errno(me->log_prefix, r < 0 ? r : -EINVAL,
					 "%s refuses %s on its OUTPUT queue", me->card,
					 fourcc_str(me->in_fourcc, a));
	}
	if (out.width != me->width || out.height < me->height)
		return log_obj_err_errno(me->log_prefix, -EINVAL, "%s changed %ux%u to %ux%u (its "
					 "size limits)", me->card, me->width, me->height,
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
		return log_obj_err_errno(me->log_prefix, r < 0 ? r : -ENOMEM,
					 "VIDIOC_REQBUFS (CAPTURE, MMAP)");
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
	snprintf(me->log_prefix, sizeof(me->log_prefix), "m2m %s", me->path); /* its lines' prefix */
	if (m2m_known_wrong_size(me->path, me->width, me->height)) {
		r = log_obj_err_errno(me->log_prefix, -EOPNOTSUPP, "it made JPEGs of another size than %ux%u "
				      "before; not used at this size", me->width,
				      me->height);
		goto fail;
	}
	me->fd = open(me->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (me->fd < 0) {
		r = -errno;
		log_obj_err_errno(me->log_prefix, r, "cannot open it");
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
		log_obj_err(me->log_prefix, "%s is not usable: %s", me->card, why);
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
