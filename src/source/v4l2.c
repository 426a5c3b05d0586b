/* V4L2 capture source: a UVC webcam, a CSI bridge, vivid on the test bed. See source.h.
 *
 * Buffers: MMAP buffers the driver allocates, each mapped for the CPU (the software encoder reads
 * it, the passthrough encoder serves MJPEG straight from it) and exported once with VIDIOC_EXPBUF
 * (an M2M encoder imports the dma-buf: zero copy). A buffer is queued with the driver, or lent
 * (dequeued, in a raw_frame) until source_release() queues it again, exactly once.
 *
 * Never blocks: the node is opened O_NONBLOCK, so VIDIOC_DQBUF answers EAGAIN instead of waiting
 * and a device another program streams from answers EBUSY at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/source.h"
#include "mjpegd/v4l2/controls.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/discover.h"
#include "mjpegd/v4l2/holders.h"
#include "mjpegd/v4l2/layout.h"
#include "mjpegd/v4l2/stable_id.h"

#define V4L2_SOURCE_BUFFERS 4
#define V4L2_SOURCE_MAX_BUFFERS 16

struct v4l2_source_buffer {
	uint8_t *map;
	size_t len;
	int dmabuf_fd;
	bool lent;
};

struct v4l2_source {
	struct source src;
	int fd;
	uint32_t type;
	/* name: as configured, /dev/videoN or a stable /dev/v4l/by-id|by-path link; path: the node
	 * opened, what name resolved to at this open (a replugged camera may get another node) */
	char name[V4L2_STABLE_PATH_MAX], path[V4L2_STABLE_PATH_MAX], card[33];
	char log_prefix[LOG_PREFIX_MAX]; /* "v4l2 NAME" */
	bool jpeg;
	struct raw_layout layout; /* raw formats: how the planes lie in each buffer */
	size_t min_bytesused;     /* raw formats: a shorter buffer is a broken frame */
	unsigned n_buffers;
	struct v4l2_source_buffer buffers[V4L2_SOURCE_MAX_BUFFERS];
	struct raw_frame frames[V4L2_SOURCE_MAX_BUFFERS];
	bool streaming;
	bool have_sequence;
	uint32_t last_sequence;
	int release_error; /* a buffer could not be queued again: the next dequeue fails with it */
	/* A buffer was dequeued in this readiness of the fd: the caller's next call (it dequeues
	 * until -EAGAIN) is answered without a VIDIOC_DQBUF that would find nothing. A second
	 * buffer already done keeps the fd readable, so the re-armed poll fires at once for it. */
	bool dequeued;
	struct mono_wall clock; /* capture times → X-Timestamp */
	char description[2 * V4L2_STABLE_PATH_MAX + 96];
};

static const uint32_t default_formats[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV };

static int v4l2_source_fd(struct source *src)
{
	struct v4l2_source *vs = src->priv;
	return vs->fd;
}

/* Points frame f's planes at buffer i, starting data_offset bytes in. */
static void frame_point(struct v4l2_source *vs, unsigned i, size_t data_offset, size_t bytesused)
{
	struct raw_frame *f = &vs->frames[i];
	struct v4l2_source_buffer *b = &vs->buffers[i];
	if (vs->jpeg) {
		f->n_planes = 1;
		f->planes[0] = (struct raw_plane){ .data = b->map + data_offset,
						   .length = bytesused - data_offset,
						   .dmabuf_fd = b->dmabuf_fd,
						   .dmabuf_offset = data_offset,
						   .buffer_size = b->len };
		return;
	}
	f->n_planes = vs->layout.n_planes;
	for (unsigned p = 0; p < vs->layout.n_planes; p++)
		f->planes[p] = (struct raw_plane){
			.data = b->map + data_offset + vs->layout.offset[p],
			.bytesperline = vs->layout.stride[p],
			.length = vs->layout.plane_size[p],
			.dmabuf_fd = b->dmabuf_fd,
			.dmabuf_offset = data_offset + vs->layout.offset[p],
			.buffer_size = b->len,
		};
}

static int queue_buffer(struct v4l2_source *vs, unsigned i)
{
	struct v4l2_buf vb;
	v4l2_buf_init(&vb, vs->type, V4L2_MEMORY_MMAP, i);
	v4l2_buf_set_payload(&vb, 0, (uint32_t)vs->buffers[i].len);
	return xioctl(vs->fd, VIDIOC_QBUF, &vb.b);
}

/* The buffer's CLOCK_MONOTONIC capture time as wall-clock microseconds. */
static uint64_t buffer_wall_us(struct v4l2_source *vs, const struct v4l2_buf *vb)
{
	if ((vb->b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
		return now_wall_us();
	return mono_wall_us(&vs->clock, (uint64_t)vb->b.timestamp.tv_sec * USEC_PER_SEC +
						(uint64_t)vb->b.timestamp.tv_usec);
}

static int v4l2_source_dequeue(struct source *src, struct raw_frame **out)
{
	struct v4l2_source *vs = src->priv;
	/* A buffer lost to a failed VIDIOC_QBUF would never come back: restart the camera rather
	 * than run on fewer buffers until none is left. */
	if (vs->release_error)
		return vs->release_error;
	if (vs->dequeued) {
		vs->dequeued = false;
		return -EAGAIN;
	}
	for (;;) {
		struct v4l2_buf vb;
		v4l2_buf_init(&vb, vs->type, V4L2_MEMORY_MMAP, 0);
		int r = xioctl(vs->fd, VIDIOC_DQBUF, &vb.b);
		if (r < 0)
			return r; /* -EAGAIN: nothing yet; others: the device failed or is gone */
		unsigned i = vb.b.index;
		if (i >= vs->n_buffers || vs->buffers[i].lent) {
			log_obj_err(vs->log_prefix, "the driver returned buffer %u, which was not queued",
				    i);
			continue;
		}
		size_t used = v4l2_buf_bytesused(&vb), offset = v4l2_buf_data_offset(&vb);
		if (vs->have_sequence && vb.b.sequence > vs->last_sequence + 1)
			src->stats.frames_dropped += vb.b.sequence - vs->last_sequence - 1;
		vs->have_sequence = true;
		vs->last_sequence = vb.b.sequence;
		/* A frame the driver marks broken is not shown, and it says the capture is in
		 * trouble: the supervisor restarts the camera (-EIO). One that merely came short is
		 * skipped. */
		bool broken = vb.b.flags & V4L2_BUF_FLAG_ERROR;
		if (broken || used <= offset || used > vs->buffers[i].len ||
		    (!vs->jpeg && used - offset < vs->min_bytesused)) {
			src->stats.frames_dropped++;
			r = queue_buffer(vs, i);
			if (r < 0)
				return r;
			if (broken) {
				log_obj_warn(vs->log_prefix, "frame %u has V4L2_BUF_FLAG_ERROR",
					     vb.b.sequence);
				return -EIO;
			}
			continue;
		}
		frame_point(vs, i, offset, used);
		struct raw_frame *f = &vs->frames[i];
		f->sequence = vb.b.sequence;
		f->timestamp_us = buffer_wall_us(vs, &vb);
		vs->buffers[i].lent = true;
		src->stats.frames_captured++;
		vs->dequeued = true;
		*out = f;
		return 0;
	}
}

static void v4l2_source_release(struct source *src, struct raw_frame *f)
{
	struct v4l2_source *vs = src->priv;
	if (MJPEGD_BUG_OBJ(!f || f->index >= vs->n_buffers || f != &vs->frames[f->index],
			   vs->log_prefix, "released a frame it does not own"))
		return;
	if (MJPEGD_BUG_OBJ(!vs->buffers[f->index].lent, vs->log_prefix, "frame %llu released twice",
			   (unsigned long long)f->sequence))
		return;
	vs->buffers[f->index].lent = false;
	if (!vs->streaming)
		return;
	int r = queue_buffer(vs, f->index);
	if (r < 0 && !vs->release_error) {
		vs->release_error = r;
		log_obj_err_errno(vs->log_prefix, r, "VIDIOC_QBUF");
	}
}

static void v4l2_source_destroy(struct source *src)
{
	struct v4l2_source *vs = src->priv;
	if (vs->streaming) {
		int t = (int)vs->type;
		xioctl(vs->fd, VIDIOC_STREAMOFF, &t);
	}
	for (unsigned i = 0; i < V4L2_SOURCE_MAX_BUFFERS; i++) {
		struct v4l2_source_buffer *b = &vs->buffers[i];
		if (b->lent)
			log_obj_err(vs->log_prefix, "destroyed while frame %llu is still lent",
				    (unsigned long long)vs->frames[i].sequence);
		if (b->dmabuf_fd >= 0)
			close(b->dmabuf_fd);
		if (b->map)
			munmap(b->map, b->len);
	}
	if (vs->fd >= 0)
		close(vs->fd);
	free(vs);
}

static int v4l2_source_controls(struct source *src, struct control_list *l)
{
	struct v4l2_source *vs = src->priv;
	return v4l2_controls_query(vs->fd, l);
}

static int v4l2_source_set_controls(struct source *src, const struct control_list *l,
				    const struct control_set *set, char *why, size_t whylen)
{
	struct v4l2_source *vs = src->priv;
	return v4l2_controls_apply(vs->fd, l, set, why, whylen);
}

static const struct source_ops v4l2_source_ops = {
	.name = "v4l2",
	.fd = v4l2_source_fd,
	.dequeue = v4l2_source_dequeue,
	.release = v4l2_source_release,
	.destroy = v4l2_source_destroy,
	.controls = v4l2_source_controls,
	.set_controls = v4l2_source_set_controls,
};

static int busy_error(const struct v4l2_source *vs, const char *what)
{
	char who[300];
	int n = device_holders("/proc", vs->path, getpid(), who, sizeof(who));
	log_err("%s (%s) is busy: %s%s (%s): stop it, or pick another device with --source "
		"v4l2:PATH (mjpegd --list-devices)", vs->log_prefix, vs->card,
		n > 0 ? "held by " : "another program is using it", n > 0 ? who : "", what);
	return -EBUSY;
}

static int open_node(struct v4l2_source *vs)
{
	vs->fd = open(vs->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (vs->fd >= 0)
		return 0;
	int r = -errno;
	switch (r) {
	case -ENOENT:
		log_obj_err(vs->log_prefix, "no such device: is the camera connected? (mjpegd "
			    "--list-devices lists them)");
		break;
	case -EACCES:
	case -EPERM:
		log_obj_err_errno(vs->log_prefix, r, "permission denied: the user needs access to "
				  "it (the video group)");
		break;
	case -EBUSY:
		snprintf(vs->card, sizeof(vs->card), "?");
		return busy_error(vs, "open");
	default:
		log_obj_err_errno(vs->log_prefix, r, "cannot open");
	}
	return r;
}

/* Size, stride and format; fills vs->layout (raw) and vs->src. */
static int negotiate_format(struct v4l2_source *vs, const struct source_params *p,
			    const uint32_t *formats, unsigned n_formats,
			    const struct v4l2_device_info *info, struct v4l2_pixfmt *fmt)
{
	char a[5], b[5], why[256];
	uint32_t fourcc = 0;
	int r = v4l2_source_check(info, formats, n_formats, false, &fourcc, why, sizeof(why));
	if (r < 0) {
		log_err("%s (%s): %s", vs->log_prefix, vs->card, why);
		return r;
	}
	vs->jpeg = fourcc == V4L2_PIX_FMT_MJPEG || fourcc == V4L2_PIX_FMT_JPEG;
	*fmt = (struct v4l2_pixfmt){ .fourcc = fourcc, .width = p->width, .height = p->height };
	if (!vs->jpeg) {
		/* Ask for the stride an M2M encoder reads, so its buffers can be imported. */
		struct raw_layout want;
		if (raw_layout_compute(fourcc, p->width, p->height, 0,
				       source_params_stride_align(p, fourcc), 1, &want) == 0)
			fmt->bytesperline = (uint32_t)want.stride[0];
	}
	r = v4l2_set_format(vs->fd, vs->type, fmt, false);
	if (r == -EBUSY)
		return busy_error(vs, "VIDIOC_S_FMT");
	if (r < 0)
		return log_obj_err_errno(vs->log_prefix, r, "VIDIOC_S_FMT %s %ux%u",
					 fourcc_str(fourcc, a), p->width, p->height);
	if (fmt->fourcc != fourcc)
		return log_obj_err_errno(vs->log_prefix, -EINVAL, "asked for %s, the driver set %s",
					 fourcc_str(fourcc, a), fourcc_str(fmt->fourcc, b));
	if (fmt->width != p->width || fmt->height != p->height)
		log_obj_notice(vs->log_prefix, "asked for %ux%u, the camera gives %ux%u", p->width,
			       p->height, fmt->width, fmt->height);
	if (!vs->jpeg) {
		r = raw_layout_compute(fourcc, fmt->width, fmt->height, fmt->bytesperline, 1, 1,
				       &vs->layout);
		if (r < 0)
			return log_obj_err_errno(vs->log_prefix, r, "unusable %s %ux%u bytesperline %u",
						 fourcc_str(fourcc, a), fmt->width,
						 fmt->height, fmt->bytesperline);
		vs->min_bytesused = vs->layout.sizeimage;
		unsigned stride_align = source_params_stride_align(p, fourcc);
		if (fmt->bytesperline % (stride_align ? stride_align : 1))
			log_obj_info(vs->log_prefix, "bytesperline %u is not the %u an M2M encoder "
				     "reads: frames will be copied into it", fmt->bytesperline,
				     stride_align);
	}
	vs->src.fourcc = fourcc;
	vs->src.width = fmt->width;
	vs->src.height = fmt->height;
	vs->src.bytesperline = vs->jpeg ? 0 : vs->layout.stride[0];
	return 0;
}

static void set_frame_rate(struct v4l2_source *vs, unsigned fps)
{
	struct v4l2_streamparm parm = { .type = vs->type };
	vs->src.fps = fps;
	if (xioctl(vs->fd, VIDIOC_G_PARM, &parm) < 0 ||
	    !(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME))
		return; /* the device paces itself */
	parm.parm.capture.timeperframe = (struct v4l2_fract){ 1, fps };
	int r = xioctl(vs->fd, VIDIOC_S_PARM, &parm);
	if (r < 0) {
		log_obj_info_errno(vs->log_prefix, r, "cannot set %u fps", fps);
		return;
	}
	struct v4l2_fract t = parm.parm.capture.timeperframe;
	if (t.numerator && t.denominator) {
		unsigned got = (t.denominator + t.numerator / 2) / t.numerator;
		if (got != fps)
			log_obj_notice(vs->log_prefix, "asked for %u fps, the camera gives %u/%u", fps,
				       t.denominator, t.numerator);
		vs->src.fps = got ? got : 1;
	}
}

/* The sensor's part of --rotation/--hflip/--vflip (0 or 180, mirrors: orientation.h) through
 * V4L2_CID_HFLIP and V4L2_CID_VFLIP, set on every open (0 when nothing is asked: the controls
 * outlive the open file, so an earlier --hflip would stay otherwise); vivid has both, UVC webcams
 * seldom. A camera without both, or refusing the values, is left as it is: the pipeline then
 * puts the whole orientation in EXIF (src->sensor_transformed false). */
static void set_flips(struct v4l2_source *vs, const struct source_params *p)
{
	bool h = p->hflip != (p->rotation == 180), v = p->vflip != (p->rotation == 180);
	for (unsigned i = 0; i < 2; i++) {
		struct v4l2_queryctrl q = { .id = i ? V4L2_CID_VFLIP : V4L2_CID_HFLIP };
		if (xioctl(vs->fd, VIDIOC_QUERYCTRL, &q) < 0 ||
		    (q.flags & (V4L2_CTRL_FLAG_DISABLED | V4L2_CTRL_FLAG_READ_ONLY)) ||
		    q.type != V4L2_CTRL_TYPE_BOOLEAN)
			return; /* not both: EXIF does it all */
	}
	struct v4l2_ext_control c[2] = { { .id = V4L2_CID_HFLIP, .value = h },
					 { .id = V4L2_CID_VFLIP, .value = v } };
	struct v4l2_ext_controls cs = { .which = V4L2_CTRL_WHICH_CUR_VAL, .count = 2,
					.controls = c };
	int r = xioctl(vs->fd, VIDIOC_S_EXT_CTRLS, &cs);
	if (r < 0) {
		log_obj_msg_errno(LOG_LEVEL_NOTICE, vs->log_prefix, r, "cannot set its flip "
				  "controls; EXIF carries the whole orientation");
		return;
	}
	vs->src.sensor_transformed = true;
	if (h || v)
		log_obj_info(vs->log_prefix, "the camera flips its picture:%s%s",
			     h ? " horizontal_flip" : "", v ? " vertical_flip" : "");
}

/* MMAP buffers large enough for what an M2M encoder reads (its padded rows), so it can import
 * them; VIDIOC_CREATE_BUFS sizes them when the driver's own size is smaller. */
static int allocate_buffers(struct v4l2_source *vs, const struct source_params *p,
			    const struct v4l2_pixfmt *fmt)
{
	unsigned count = p->buffers ? p->buffers : V4L2_SOURCE_BUFFERS;
	if (count < 2)
		count = 2;
	if (count > V4L2_SOURCE_MAX_BUFFERS)
		count = V4L2_SOURCE_MAX_BUFFERS;
	size_t need = fmt->sizeimage;
	struct raw_layout padded;
	if (!vs->jpeg && p->height_align > 1 &&
	    raw_layout_compute(fmt->fourcc, fmt->width, fmt->height, fmt->bytesperline, 1,
			       p->height_align, &padded) == 0 && padded.sizeimage > need)
		need = padded.sizeimage;

	int r = -ENOTTY;
	unsigned got = 0;
	if (need > fmt->sizeimage) {
		struct v4l2_create_buffers cb = { .count = count, .memory = V4L2_MEMORY_MMAP };
		cb.format.type = vs->type;
		r = xioctl(vs->fd, VIDIOC_G_FMT, &cb.format);
		if (r == 0) {
			if (V4L2_TYPE_IS_MULTIPLANAR(vs->type))
				cb.format.fmt.pix_mp.plane_fmt[0].sizeimage = (uint32_t)need;
			else
				cb.format.fmt.pix.sizeimage = (uint32_t)need;
			r = xioctl(vs->fd, VIDIOC_CREATE_BUFS, &cb);
		}
		if (r == 0 && cb.index != 0) {
			r = -EINVAL; /* someone else's buffers are there */
		} else if (r == 0) {
			got = cb.count;
		} else if (r != -EBUSY) {
			log_obj_info_errno(vs->log_prefix, r, "cannot allocate %zu-byte buffers, an "
					   "M2M encoder may have to copy (VIDIOC_CREATE_BUFS)", need);
		}
	}
	if (r < 0 && r != -EBUSY) {
		struct v4l2_requestbuffers rb = { .count = count, .type = vs->type,
						  .memory = V4L2_MEMORY_MMAP };
		r = xioctl(vs->fd, VIDIOC_REQBUFS, &rb);
		got = rb.count;
	}
	if (r == -EBUSY)
		return busy_error(vs, "VIDIOC_REQBUFS");
	if (r < 0)
		return log_obj_err_errno(vs->log_prefix, r, "VIDIOC_REQBUFS (%u MMAP buffers)",
					 count);
	if (got < 2) {
		log_obj_err(vs->log_prefix, "the driver gave %u buffer(s), at least 2 are needed", got);
		return -ENOMEM;
	}
	vs->n_buffers = got < V4L2_SOURCE_MAX_BUFFERS ? got : V4L2_SOURCE_MAX_BUFFERS;

	bool exported = true;
	for (unsigned i = 0; i < vs->n_buffers; i++) {
		struct v4l2_source_buffer *b = &vs->buffers[i];
		r = v4l2_buf_map(vs->fd, vs->type, i, PROT_READ, &b->map, &b->len);
		if (r < 0)
			return log_obj_err_errno(vs->log_prefix, r, "mapping buffer %u", i);
		struct v4l2_exportbuffer eb = { .type = vs->type, .index = i, .plane = 0,
						.flags = O_RDONLY | O_CLOEXEC };
		r = xioctl(vs->fd, VIDIOC_EXPBUF, &eb);
		if (r == 0) {
			b->dmabuf_fd = eb.fd;
		} else if (exported) {
			exported = false;
			log_obj_info_errno(vs->log_prefix, r, "cannot export its buffers, an M2M "
					   "encoder copies each frame (VIDIOC_EXPBUF)");
		}
		struct raw_frame *f = &vs->frames[i];
		*f = (struct raw_frame){ .fourcc = vs->src.fourcc, .width = vs->src.width,
					 .height = vs->src.height, .index = i };
		frame_point(vs, i, 0, b->len);
	}
	vs->src.dmabuf = exported;
	for (unsigned i = 0; i < vs->n_buffers; i++) {
		r = queue_buffer(vs, i);
		if (r < 0)
			return log_obj_err_errno(vs->log_prefix, r, "VIDIOC_QBUF %u", i);
	}
	return 0;
}

static int source_v4l2_open(const char *path, const struct source_params *p,
			    const uint32_t *formats, unsigned n_formats, struct source **out)
{
	char a[5];
	struct v4l2_source *vs = calloc(1, sizeof(*vs));
	if (!vs)
		return log_err_errno(-ENOMEM, "v4l2 %s", path);
	vs->fd = -1;
	for (unsigned i = 0; i < V4L2_SOURCE_MAX_BUFFERS; i++)
		vs->buffers[i].dmabuf_fd = -1;
	vs->src = (struct source){ .ops = &v4l2_source_ops, .description = vs->description,
				   .priv = vs };
	int r;
	if (strlen(path) >= sizeof(vs->name)) {
		r = log_err_errno(-ENAMETOOLONG, "v4l2 %.60s…: the device path is longer than %zu "
				  "bytes", path, sizeof(vs->name) - 1);
		goto fail;
	}
	snprintf(vs->name, sizeof(vs->name), "%s", path);
	snprintf(vs->log_prefix, sizeof(vs->log_prefix), "v4l2 %.*s", LOG_PREFIX_MAX - 6, vs->name);
	/* Resolved at every open, so a /dev/v4l/by-id link finds its camera again after a replug
	 * gave it another /dev/videoN; a dangling link (unplugged) is open()'s ENOENT below. */
	if (v4l2_resolve_node(vs->name, vs->path, sizeof(vs->path)) < 0)
		snprintf(vs->path, sizeof(vs->path), "%s", vs->name);
	else if (strcmp(vs->path, vs->name) != 0)
		log_obj_info(vs->log_prefix, "is %s", vs->path);

	r = open_node(vs);
	if (r < 0)
		goto fail;
	struct v4l2_device_info info;
	r = v4l2_probe_fd(vs->fd, vs->path, &info);
	if (r < 0) {
		log_obj_err_errno(vs->log_prefix, r, "VIDIOC_QUERYCAP (not a V4L2 device?)");
		goto fail;
	}
	snprintf(vs->card, sizeof(vs->card), "%s", info.card);
	vs->type = v4l2_info_is_mplane(&info) ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
					      : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_pixfmt fmt;
	r = negotiate_format(vs, p, formats, n_formats, &info, &fmt);
	if (r < 0)
		goto fail;
	set_frame_rate(vs, p->fps ? p->fps : 30);
	set_flips(vs, p);
	r = allocate_buffers(vs, p, &fmt);
	if (r < 0)
		goto fail;
	int t = (int)vs->type;
	r = xioctl(vs->fd, VIDIOC_STREAMON, &t);
	if (r == -EBUSY) {
		r = busy_error(vs, "VIDIOC_STREAMON");
		goto fail;
	}
	if (r < 0) {
		log_err_errno(r, "%s (%s): VIDIOC_STREAMON%s", vs->log_prefix, vs->card,
			      r == -EPIPE ? " (a media-controller pipeline that is not set up: use "
			      "--source libcamera)" : "");
		goto fail;
	}
	vs->streaming = true;
	char node[V4L2_STABLE_PATH_MAX + 8] = "";
	if (strcmp(vs->path, vs->name) != 0)
		snprintf(node, sizeof(node), " → %s", vs->path);
	snprintf(vs->description, sizeof(vs->description), "v4l2 %s%s (%s) %s %ux%u@%u%s", vs->name,
		 node, vs->card, fourcc_str(vs->src.fourcc, a), vs->src.width, vs->src.height,
		 vs->src.fps, vs->src.dmabuf ? " dmabuf" : "");
	*out = &vs->src;
	return 0;
fail:
	v4l2_source_destroy(&vs->src);
	return r;
}

int source_v4l2_create(const struct source_params *p, struct source **out)
{
	const uint32_t *formats = p->formats ? p->formats : default_formats;
	unsigned n_formats = p->formats ? p->n_formats
					: (unsigned)ELEMENTSOF(default_formats);
	if (p->width == 0 || p->height == 0 || n_formats == 0)
		return log_err_errno(-EINVAL, "v4l2: bad parameters %ux%u, %u formats", p->width,
				     p->height, n_formats);
	if (p->device && p->device[0])
		return source_v4l2_open(p->device, p, formats, n_formats, out);

	/* The first capture node that is a camera with a format we take, in /dev/videoN order;
	 * one that fails to start (busy, a pipeline not set up) makes way for the next. */
	struct v4l2_device_info *devs = NULL;
	int n = v4l2_scan(&devs);
	if (n < 0)
		return log_err_errno(n, "v4l2: listing /dev");
	int r = -ENODEV;
	for (int i = 0; i < n; i++) {
		char why[256];
		if (v4l2_source_check(&devs[i], formats, n_formats, true, NULL, why, sizeof(why)) < 0) {
			log_debug("v4l2 %s (%s): skipped: %s", devs[i].path, devs[i].card, why);
			continue;
		}
		r = source_v4l2_open(devs[i].path, p, formats, n_formats, out);
		if (r == 0)
			break;
	}
	if (r < 0)
		log_info("v4l2: no usable camera among %d video device(s) (mjpegd --list-devices "
			 "says why)", n);
	free(devs);
	return r < 0 ? -ENODEV : 0;
}
