// SPDX-License-Identifier: GPL-2.0
/*
 * bcm2835_codec_emu: the V4L2 interface of Raspberry Pi's hardware JPEG encoder, the
 * "encode_image" node of the bcm2835-codec driver (/dev/video31, card
 * "bcm2835-codec-encode_image"), emulated for mjpegd's QEMU test bed. No Pi, no VPU, no
 * firmware: the encoding is done here, on the CPU, by jpeg.c (8x8 block means, a real baseline
 * JPEG).
 *
 * Modelled on raspberrypi/linux drivers/staging/vc04_services/bcm2835-codec/
 * bcm2835-v4l2-codec.c (read at commit 00d3b7dcd7d8, a 6.x branch) and on the firmware's format
 * lists posted by Raspberry Pi in raspberrypi/linux#4923. Every comment below says where a
 * behaviour comes from:
 *   DRIVER:   as the driver source does it;
 *   FIRMWARE: as the firmware answered on a Pi (posted output);
 *   INFERRED: not in the source nor in anything posted; what the firmware or the driver most
 *             probably does, and a guess;
 *   UNKNOWN:  the emulation had to pick something; the Pi may well differ;
 *   DIFFERS:  deliberately not what the Pi does, and why.
 * docs/testing.md ("The emulated Raspberry Pi JPEG encoder") repeats the INFERRED, UNKNOWN and
 * DIFFERS items.
 *
 * DIFFERS: only the encode_image node exists here: the driver's other four nodes (decode
 * /dev/video10, encode /dev/video11, isp /dev/video12, image_fx /dev/video18) are not emulated,
 * the media device holds this node's entities alone, and the platform device "bcm2835-codec" is
 * registered by this module (on a Pi by the vchiq driver; unbinding it there removes all five).
 *
 * What the VPU makes of a frame is not in the driver (jpeg.c writes the emulation's JPEG):
 *   UNKNOWN: its bitstream: Huffman tables (Annex K here), chroma sampling (4:2:0 here for
 *            every input; the VPU may keep 4:2:2 from YUYV), restart markers (none here), the
 *            Exif content (an empty IFD0 here), whether RGB is converted with BT.601 full range
 *            (JFIF, here) and whether YUV input's range is changed (not here);
 *   INFERRED: its quantisation tables: libjpeg's scaling of the Annex K tables, as the driver
 *            turns on MMAL_PARAMETER_JPEG_IJG_SCALING; an APP1 Exif segment, as the driver
 *            leaves MMAL_PARAMETER_EXIF_DISABLE at 0;
 *   DIFFERS: quality of the picture (8x8 block means here), speed (the CPU under TCG here),
 *            memory (the test bed's 256 MiB CMA pool; a Pi's is set by its dtoverlay, and the
 *            VPU's own memory, gpu_mem, is not modelled).
 *
 * Module parameters (/sys/module/bcm2835_codec_emu/parameters/):
 *   encode_image_nr (31)  node number, as the driver's parameter of that name; at bind
 *   no_formats (0)        bit 0: the OUTPUT (raw) list is empty, bit 1: the CAPTURE (JPEG) list
 *                         is empty; read at bind (the driver asks the firmware at probe)
 *   nv12 (0)              also offer NV12 and NV21 on OUTPUT; read at bind
 *   error_after (0)       in each CAPTURE stream, frames error_after .. error_after +
 *                         error_count - 1 (counted from 0) complete with V4L2_BUF_FLAG_ERROR and a
 *                         truncated JPEG; 0: never; at once
 *   error_count (1)
 *   error_all (0)         1: every frame of every stream (a new one's first frame too) completes
 *                         as error_after flags it, until it is 0 again; at once
 *   stall (0)             1: jobs do not complete (buffers stay queued) until it is 0 again or
 *                         the stream stops; at once
 *   delay_ms (0)          extra time per frame; at once
 *   exif (1)              APP1 Exif after SOI (as the driver leaves Exif on), 0: APP0 JFIF
 *   debug (0)             v4l2_dbg level
 * Unbinding and binding through /sys/bus/platform/drivers/bcm2835-codec/{unbind,bind}
 * (device "bcm2835-codec") removes and restores the node; open files get ENODEV meanwhile.
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <media/v4l2-ctrls.h>
#include <media/v4l2-device.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>
#include <media/v4l2-mem2mem.h>
#include <media/videobuf2-dma-contig.h>

#include "jpeg.h"

#define MEM2MEM_NAME		"bcm2835-codec"
#define ROLE_NAME		"encode_image"

/* DRIVER: MIN_W, MIN_H, MAX_W_CODEC, MAX_H_CODEC; DEFAULT_WIDTH/HEIGHT at open */
#define MIN_W			32
#define MIN_H			32
#define MAX_W			1920
#define MAX_H			1920
#define DEFAULT_WIDTH		32
#define DEFAULT_HEIGHT		32
/* DRIVER: DEF_COMP_BUF_SIZE_JPEG, "for paranoid reasons 4MB is used" */
#define DEF_COMP_BUF_SIZE_JPEG	(4096 << 10)
/*
 * DIFFERS: the driver takes any bytesperline the client asks for; capped here so that
 * bytesperline * height stays far from overflow.
 */
#define MAX_BYTESPERLINE	(MAX_W * 4 * 4)

static int encode_image_nr = 31;
module_param(encode_image_nr, int, 0644);
MODULE_PARM_DESC(encode_image_nr, "encoder image device number (at bind)");

static unsigned int no_formats;
module_param(no_formats, uint, 0644);
MODULE_PARM_DESC(no_formats, "firmware without the image encoder: bit 0 empties the OUTPUT format list, bit 1 the CAPTURE list (at bind)");

static bool nv12;
module_param(nv12, bool, 0644);
MODULE_PARM_DESC(nv12, "also offer NV12/NV21 on OUTPUT, which no posted firmware list has (at bind)");

static unsigned int error_after;
module_param(error_after, uint, 0644);
MODULE_PARM_DESC(error_after, "flag CAPTURE buffers with V4L2_BUF_FLAG_ERROR from this frame of each stream (0: never)");

static unsigned int error_count = 1;
module_param(error_count, uint, 0644);
MODULE_PARM_DESC(error_count, "how many frames error_after flags");

static bool error_all;
module_param(error_all, bool, 0644);
MODULE_PARM_DESC(error_all, "flag every CAPTURE buffer with V4L2_BUF_FLAG_ERROR, a new stream's first too, until cleared");

static bool stall;
module_param(stall, bool, 0644);
MODULE_PARM_DESC(stall, "hold every job until cleared or the stream stops");

static unsigned int delay_ms;
module_param(delay_ms, uint, 0644);
MODULE_PARM_DESC(delay_ms, "extra processing time per frame, ms");

static bool exif = true;
module_param(exif, bool, 0644);
MODULE_PARM_DESC(exif, "start the JPEG with an APP1 Exif segment (else APP0 JFIF)");

static unsigned int debug;
module_param(debug, uint, 0644);
MODULE_PARM_DESC(debug, "activates debug info (0-3)");

struct emu_fmt {
	u32 fourcc;
	u8 depth;		/* DRIVER: supported_formats[].depth, bits per pixel of plane 0 */
	u8 bpl_align;		/* DRIVER: supported_formats[].bytesperline_align[ENCODE_IMAGE] */
	u8 size_mult_x2;	/* DRIVER: sizeimage = bytesperline * height * this / 2 */
	u32 flags;
};

/*
 * FIRMWARE: ril.image_encode's input port lists RGB2 RGB3 BGR3 RGBA BGRA I420 I422 YUYV YVYU
 * VYUY UYVY OPQV (6by9 in raspberrypi/linux#4923, firmware of 2022-01-20); the driver keeps
 * those its supported_formats[] maps (I422 and OPQV have no V4L2 format), in the firmware's
 * order, so ENUM_FMT lists these ten and the default (index 0) is RGB565.
 * UNKNOWN: whether other firmware lists others (no NV12 in this one; nv12=1 adds NV12/NV21).
 * DRIVER: RGBA32's alignment was 0 (stride and size 0) before raspberrypi/linux#5426 (2023-04).
 */
static const struct emu_fmt fw_output_fmts[] = {
	{ V4L2_PIX_FMT_RGB565, 16, 32, 2, 0 },
	{ V4L2_PIX_FMT_RGB24, 24, 32, 2, 0 },
	{ V4L2_PIX_FMT_BGR24, 24, 32, 2, 0 },
	{ V4L2_PIX_FMT_RGBA32, 32, 64, 2, 0 },
	{ V4L2_PIX_FMT_BGR32, 32, 64, 2, 0 },
	{ V4L2_PIX_FMT_YUV420, 8, 32, 3, 0 },
	{ V4L2_PIX_FMT_YUYV, 16, 64, 2, 0 },
	{ V4L2_PIX_FMT_YVYU, 16, 64, 2, 0 },
	{ V4L2_PIX_FMT_VYUY, 16, 64, 2, 0 },
	{ V4L2_PIX_FMT_UYVY, 16, 64, 2, 0 },
};

static const struct emu_fmt nv12_fmts[] = {
	{ V4L2_PIX_FMT_NV12, 8, 32, 3, 0 },
	{ V4L2_PIX_FMT_NV21, 8, 32, 3, 0 },
};

/*
 * FIRMWARE: the output port lists GIF BMP JPEG PNG PPM TGA; only JPEG has a V4L2 format in
 * supported_formats[] (depth 0, no alignment: bytesperline is 0).
 */
static const struct emu_fmt fmt_jpeg = {
	V4L2_PIX_FMT_JPEG, 0, 0, 0, V4L2_FMT_FLAG_COMPRESSED
};

/*
 * INFERRED: with no usable encoding on a port the driver's list is empty and open() takes its
 * "default" list[0], a zeroed entry (fourcc 0, depth 0, alignment 0) when the firmware answered
 * encodings the driver does not know. G_FMT then reports fourcc 0, bytesperline 0, sizeimage 0.
 * (Had the firmware answered no encoding at all, list[0] is ZERO_SIZE_PTR and open() oopses.)
 */
static const struct emu_fmt fmt_none;

enum { EMU_SRC = 0, EMU_DST = 1 };	/* OUTPUT (raw in), CAPTURE (JPEG out) */

struct emu_fmt_list {
	const struct emu_fmt *fmt[ARRAY_SIZE(fw_output_fmts) + ARRAY_SIZE(nv12_fmts)];
	unsigned int num;
};

struct emu_dev {
	struct platform_device *pdev;
	struct v4l2_device v4l2_dev;
	struct video_device vfd;
	struct media_device mdev;
	struct mutex dev_mutex;		/* DRIVER: one lock for ioctls and both queues */
	struct v4l2_m2m_dev *m2m_dev;
	struct emu_fmt_list fmts[2];	/* [EMU_SRC] OUTPUT, [EMU_DST] CAPTURE */
};

/* DRIVER: struct bcm2835_codec_q_data, the fields the image encoder uses */
struct emu_q_data {
	unsigned int bytesperline;
	unsigned int height;		/* rows of the buffer (raw: padded to 16) */
	unsigned int crop_width;	/* the picture */
	unsigned int crop_height;
	bool selection_set;
	unsigned int sizeimage;
	enum v4l2_field field;
	const struct emu_fmt *fmt;
};

struct emu_ctx {
	struct v4l2_fh fh;
	struct emu_dev *dev;
	struct v4l2_ctrl_handler hdl;
	struct emu_q_data q_data[2];
	/* DRIVER: one set of colorimetry for both queues ("copying the behaviour of vicodec") */
	enum v4l2_colorspace colorspace;
	enum v4l2_ycbcr_encoding ycbcr_enc;
	enum v4l2_xfer_func xfer_func;
	enum v4l2_quantization quant;
	unsigned int framerate_num;
	unsigned int framerate_denom;
	int quality;
	struct delayed_work work;	/* the "VPU": runs one job */
	bool aborting;
	unsigned int frames;		/* completed since the CAPTURE queue started, for error_after */
	struct emu_jpeg_scratch *scratch;
};

static inline struct emu_ctx *file2ctx(struct file *file)
{
	return container_of(file->private_data, struct emu_ctx, fh);
}

static struct emu_q_data *get_q_data(struct emu_ctx *ctx, enum v4l2_buf_type type)
{
	switch (type) {
	case V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE:
		return &ctx->q_data[EMU_SRC];
	case V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE:
		return &ctx->q_data[EMU_DST];
	default:
		return NULL;
	}
}

/* ALIGN(x, 0) is 0 in the driver (an unaligned format has bytesperline 0) */
static unsigned int align_or_zero(unsigned int x, unsigned int a)
{
	return a ? ALIGN(x, a) : 0;
}

/* DRIVER: get_bytesperline() */
static unsigned int get_bytesperline(unsigned int width, const struct emu_fmt *fmt)
{
	return align_or_zero((width * fmt->depth) >> 3, fmt->bpl_align);
}

/* DRIVER: get_sizeimage() (JPEG: DEF_COMP_BUF_SIZE_JPEG whatever the size) */
static unsigned int get_sizeimage(unsigned int bpl, const struct emu_fmt *fmt,
				  unsigned int height)
{
	if (fmt->flags & V4L2_FMT_FLAG_COMPRESSED)
		return DEF_COMP_BUF_SIZE_JPEG;
	return (bpl * height * fmt->size_mult_x2) >> 1;
}

static const struct emu_fmt *default_format(struct emu_dev *dev, bool capture)
{
	const struct emu_fmt_list *l = &dev->fmts[capture];

	return l->num ? l->fmt[0] : &fmt_none;
}

static const struct emu_fmt *find_format(struct emu_dev *dev, u32 fourcc, bool capture)
{
	const struct emu_fmt_list *l = &dev->fmts[capture];
	unsigned int k;

	for (k = 0; k < l->num; k++)
		if (l->fmt[k]->fourcc == fourcc)
			return l->fmt[k];
	return NULL;
}

/* --- mem2mem: the job ----------------------------------------------------------------- */

static void emu_job_abort(void *priv)
{
	struct emu_ctx *ctx = priv;

	WRITE_ONCE(ctx->aborting, true);
}

/*
 * DIFFERS: the driver marks both queues "buffered" and hands each buffer to the VPU as soon as
 * it is queued; the VPU pairs them. Here a job needs one OUTPUT and one CAPTURE buffer (the
 * mem2mem default), and the OUTPUT buffer comes back when its JPEG is done.
 * INFERRED: that the VPU, too, holds a raw buffer until its JPEG is written (zero copy is on).
 */
static void emu_device_run(void *priv)
{
	struct emu_ctx *ctx = priv;

	queue_delayed_work(system_unbound_wq, &ctx->work,
			   msecs_to_jiffies(READ_ONCE(delay_ms)));
}

static void emu_send_eos(struct emu_ctx *ctx)
{
	static const struct v4l2_event ev = { .type = V4L2_EVENT_EOS };

	v4l2_event_queue_fh(&ctx->fh, &ev);
}

static void emu_work(struct work_struct *work)
{
	struct emu_ctx *ctx = container_of(to_delayed_work(work), struct emu_ctx, work);
	struct emu_dev *dev = ctx->dev;
	struct v4l2_m2m_ctx *m2m_ctx = ctx->fh.m2m_ctx;
	const struct emu_q_data *out = &ctx->q_data[EMU_SRC];
	enum vb2_buffer_state state = VB2_BUF_STATE_DONE;
	struct vb2_v4l2_buffer *src, *dst;
	struct emu_jpeg_src jsrc;
	unsigned int nth, after = READ_ONCE(error_after);
	u8 *jpeg;
	int len;

	if (READ_ONCE(stall) && !READ_ONCE(ctx->aborting)) {
		/* the job stays running: both buffers stay with the driver */
		queue_delayed_work(system_unbound_wq, &ctx->work, msecs_to_jiffies(20));
		return;
	}
	/*
	 * The job's buffers stay on the ready lists until they are done, so that ENCODER_CMD STOP
	 * during the job finds the OUTPUT buffer being encoded as the last one to drain.
	 */
	src = v4l2_m2m_next_src_buf(m2m_ctx);
	dst = v4l2_m2m_next_dst_buf(m2m_ctx);
	if (WARN_ON(!src || !dst))
		goto finish;
	if (READ_ONCE(ctx->aborting)) {
		v4l2_m2m_src_buf_remove_by_buf(m2m_ctx, src);
		v4l2_m2m_dst_buf_remove_by_buf(m2m_ctx, dst);
		v4l2_m2m_buf_done(src, VB2_BUF_STATE_ERROR);
		v4l2_m2m_buf_done(dst, VB2_BUF_STATE_ERROR);
		goto finish;
	}

	/*
	 * UNKNOWN: what the VPU encodes when the CAPTURE format's size differs from OUTPUT's, and
	 * with an OUTPUT bytesused short of sizeimage. Here: the OUTPUT crop rectangle, read from
	 * the whole plane, whatever bytesused says. A crop height of 0 (S_FMT height 0) or one
	 * beyond the buffer (S_FMT height above 1920), which the driver would pass on, is clamped.
	 */
	jsrc.fourcc = out->fmt->fourcc;
	jsrc.data = vb2_plane_vaddr(&src->vb2_buf, 0);
	jsrc.size = vb2_plane_size(&src->vb2_buf, 0);
	jsrc.bytesperline = out->bytesperline;
	jsrc.buffer_height = out->height;
	jsrc.width = clamp(READ_ONCE(out->crop_width), 1u, (unsigned int)MAX_W);
	jsrc.height = clamp(READ_ONCE(out->crop_height), 1u, out->height);
	jpeg = vb2_plane_vaddr(&dst->vb2_buf, 0);
	if (!jsrc.data || !jpeg) {
		len = -EFAULT;
	} else {
		len = emu_jpeg_encode(&jsrc, READ_ONCE(ctx->quality), READ_ONCE(exif),
				      ctx->scratch, jpeg, vb2_plane_size(&dst->vb2_buf, 0));
	}
	/* UNKNOWN: how the VPU reports a failed or oversized encode; here an ERROR buffer */
	if (len < 0) {
		v4l2_err(&dev->v4l2_dev, "frame not encoded (%d): %ux%u bpl %u in %u bytes\n", len,
			 jsrc.width, jsrc.height, jsrc.bytesperline, jsrc.size);
		len = 0;
		state = VB2_BUF_STATE_ERROR;
	}

	nth = ctx->frames++;
	if (READ_ONCE(error_all) ||
	    (after && nth >= after && nth - after < READ_ONCE(error_count))) {
		/*
		 * DRIVER: a frame the VPU flags MMAL_BUFFER_HEADER_FLAG_CORRUPTED completes with
		 * VB2_BUF_STATE_ERROR, its length set; the raw buffer completes normally.
		 * UNKNOWN: what such a buffer holds; here the first half of the JPEG (no EOI), so that
		 * a client that ignores the flag serves a broken picture.
		 */
		len /= 2;
		state = VB2_BUF_STATE_ERROR;
		v4l2_dbg(1, debug, &dev->v4l2_dev, "frame %u flagged ERROR (error_after=%u)\n", nth,
			 after);
	}
	vb2_set_plane_payload(&dst->vb2_buf, 0, len);

	/*
	 * DRIVER: the timestamp travels through the VPU in microseconds (mmal pts = ns / 1000,
	 * back as pts * 1000); the field is NONE; sequence is never set (it stays 0); no other
	 * flag is copied. INFERRED: that the firmware sets no KEYFRAME flag on a JPEG.
	 */
	dst->vb2_buf.timestamp = div_u64(src->vb2_buf.timestamp, 1000) * 1000;
	dst->field = V4L2_FIELD_NONE;

	/* INFERRED: after ENCODER_CMD STOP the VPU marks the last JPEG; here the mem2mem helpers */
	v4l2_m2m_src_buf_remove_by_buf(m2m_ctx, src);
	v4l2_m2m_dst_buf_remove_by_buf(m2m_ctx, dst);
	if (v4l2_m2m_is_last_draining_src_buf(m2m_ctx, src)) {
		dst->flags |= V4L2_BUF_FLAG_LAST;
		v4l2_m2m_mark_stopped(m2m_ctx);
		emu_send_eos(ctx);
	}
	v4l2_m2m_buf_done(src, VB2_BUF_STATE_DONE);
	v4l2_m2m_buf_done(dst, state);
finish:
	v4l2_m2m_job_finish(dev->m2m_dev, m2m_ctx);
}

/* --- ioctls --------------------------------------------------------------------------- */

static int vidioc_querycap(struct file *file, void *priv, struct v4l2_capability *cap)
{
	struct emu_dev *dev = video_drvdata(file);

	/* DRIVER: vidioc_querycap() */
	strscpy(cap->driver, MEM2MEM_NAME, sizeof(cap->driver));
	strscpy(cap->card, dev->vfd.name, sizeof(cap->card));
	snprintf(cap->bus_info, sizeof(cap->bus_info), "platform:%s", MEM2MEM_NAME);
	return 0;
}

static int enum_fmt(struct emu_ctx *ctx, struct v4l2_fmtdesc *f, bool capture)
{
	const struct emu_fmt_list *l = &ctx->dev->fmts[capture];

	/* DRIVER: enum_fmt(); with no_formats the list is empty: -EINVAL at index 0 */
	if (f->index >= l->num)
		return -EINVAL;
	f->pixelformat = l->fmt[f->index]->fourcc;
	f->flags = l->fmt[f->index]->flags;
	return 0;
}

static int vidioc_enum_fmt_vid_cap(struct file *file, void *priv, struct v4l2_fmtdesc *f)
{
	return enum_fmt(file2ctx(file), f, true);
}

static int vidioc_enum_fmt_vid_out(struct file *file, void *priv, struct v4l2_fmtdesc *f)
{
	return enum_fmt(file2ctx(file), f, false);
}

/* DRIVER: vidioc_g_fmt() (width is the crop width, height the buffer's) */
static int vidioc_g_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	struct emu_ctx *ctx = file2ctx(file);
	struct emu_q_data *q = get_q_data(ctx, f->type);

	if (!q)
		return -EINVAL;
	f->fmt.pix_mp.width = q->crop_width;
	f->fmt.pix_mp.height = q->height;
	f->fmt.pix_mp.pixelformat = q->fmt->fourcc;
	f->fmt.pix_mp.field = q->field;
	f->fmt.pix_mp.colorspace = ctx->colorspace;
	f->fmt.pix_mp.plane_fmt[0].sizeimage = q->sizeimage;
	f->fmt.pix_mp.plane_fmt[0].bytesperline = q->bytesperline;
	f->fmt.pix_mp.num_planes = 1;
	f->fmt.pix_mp.ycbcr_enc = ctx->ycbcr_enc;
	f->fmt.pix_mp.quantization = ctx->quant;
	f->fmt.pix_mp.xfer_func = ctx->xfer_func;
	memset(f->fmt.pix_mp.plane_fmt[0].reserved, 0,
	       sizeof(f->fmt.pix_mp.plane_fmt[0].reserved));
	return 0;
}

/* DRIVER: vidioc_try_fmt() for the ENCODE_IMAGE role */
static void try_fmt(struct v4l2_format *f, const struct emu_fmt *fmt)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	unsigned int sizeimage, min_bpl;

	pix->width = min_t(u32, pix->width, MAX_W);
	pix->height = min_t(u32, pix->height, MAX_H);
	if (!(fmt->flags & V4L2_FMT_FLAG_COMPRESSED)) {
		/* only raw formats get the minimum; their buffers have 16-row alignment */
		pix->width = max_t(u32, pix->width, MIN_W);
		pix->height = max_t(u32, pix->height, MIN_H);
		pix->height = ALIGN(pix->height, 16);
	}
	pix->num_planes = 1;
	min_bpl = get_bytesperline(pix->width, fmt);
	if (pix->plane_fmt[0].bytesperline < min_bpl)
		pix->plane_fmt[0].bytesperline = min_bpl;
	pix->plane_fmt[0].bytesperline = min_t(u32, pix->plane_fmt[0].bytesperline,
					       MAX_BYTESPERLINE);
	pix->plane_fmt[0].bytesperline = align_or_zero(pix->plane_fmt[0].bytesperline,
						       fmt->bpl_align);
	sizeimage = get_sizeimage(pix->plane_fmt[0].bytesperline, fmt, pix->height);
	/* raw: the driver's size; JPEG: at least 4 MiB, more if the client asks */
	if (!(fmt->flags & V4L2_FMT_FLAG_COMPRESSED) ||
	    pix->plane_fmt[0].sizeimage < sizeimage)
		pix->plane_fmt[0].sizeimage = sizeimage;
	memset(pix->plane_fmt[0].reserved, 0, sizeof(pix->plane_fmt[0].reserved));
	pix->field = V4L2_FIELD_NONE;
}

/*
 * DIFFERS: with an empty format list the driver's try_fmt finds no format, not even its
 * default, and dereferences NULL (INFERRED from the source: an oops with the device mutex
 * held, the node dead until reboot). Here: -EINVAL.
 */
static const struct emu_fmt *try_find(struct emu_ctx *ctx, struct v4l2_format *f, bool capture)
{
	const struct emu_fmt *fmt = find_format(ctx->dev, f->fmt.pix_mp.pixelformat, capture);

	if (!fmt) {
		f->fmt.pix_mp.pixelformat = default_format(ctx->dev, capture)->fourcc;
		fmt = find_format(ctx->dev, f->fmt.pix_mp.pixelformat, capture);
	}
	if (!fmt)
		v4l2_warn(&ctx->dev->v4l2_dev,
			  "TRY/S_FMT with no %s format: the real driver dereferences NULL here\n",
			  capture ? "CAPTURE" : "OUTPUT");
	return fmt;
}

static int vidioc_try_fmt_vid_cap(struct file *file, void *priv, struct v4l2_format *f)
{
	const struct emu_fmt *fmt = try_find(file2ctx(file), f, true);

	if (!fmt)
		return -EINVAL;
	try_fmt(f, fmt);
	return 0;
}

static int vidioc_try_fmt_vid_out(struct file *file, void *priv, struct v4l2_format *f)
{
	struct emu_ctx *ctx = file2ctx(file);
	const struct emu_fmt *fmt = try_find(ctx, f, false);

	if (!fmt)
		return -EINVAL;
	if (!f->fmt.pix_mp.colorspace)
		f->fmt.pix_mp.colorspace = ctx->colorspace;
	try_fmt(f, fmt);
	return 0;
}

/* DRIVER: vidioc_s_fmt(), after try_fmt; requested_height: the height before try_fmt */
static int s_fmt(struct emu_ctx *ctx, struct v4l2_format *f, unsigned int requested_height)
{
	struct vb2_queue *vq = v4l2_m2m_get_vq(ctx->fh.m2m_ctx, f->type);
	struct emu_q_data *q = get_q_data(ctx, f->type);

	if (!vq || !q)
		return -EINVAL;
	if (vb2_is_busy(vq)) {
		v4l2_err(&ctx->dev->v4l2_dev, "%s queue busy\n", __func__);
		return -EBUSY;
	}
	q->fmt = find_format(ctx->dev, f->fmt.pix_mp.pixelformat,
			     f->type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	q->crop_width = f->fmt.pix_mp.width;
	q->height = f->fmt.pix_mp.height;
	/* DRIVER: the crop keeps the height asked for, unpadded and unclamped */
	if (!q->selection_set || (q->fmt->flags & V4L2_FMT_FLAG_COMPRESSED))
		q->crop_height = requested_height;
	ctx->colorspace = f->fmt.pix_mp.colorspace;
	ctx->xfer_func = f->fmt.pix_mp.xfer_func;
	ctx->ycbcr_enc = f->fmt.pix_mp.ycbcr_enc;
	ctx->quant = f->fmt.pix_mp.quantization;
	q->field = f->fmt.pix_mp.field;
	q->bytesperline = f->fmt.pix_mp.plane_fmt[0].bytesperline;
	q->sizeimage = f->fmt.pix_mp.plane_fmt[0].sizeimage;

	/*
	 * DRIVER: on the image encoder a compressed format with a size "replicates" it to the
	 * CAPTURE side, which is this same queue: its height becomes the requested height padded
	 * to 16, bytesperline 0 and sizeimage DEF_COMP_BUF_SIZE_JPEG again, even when the client
	 * asked for a larger sizeimage (TRY_FMT's answer).
	 */
	if ((q->fmt->flags & V4L2_FMT_FLAG_COMPRESSED) && q->crop_width && q->height) {
		q->height = ALIGN(q->crop_height, 16);
		q->bytesperline = get_bytesperline(f->fmt.pix_mp.width, q->fmt);
		q->sizeimage = get_sizeimage(q->bytesperline, q->fmt, q->height);
	}
	return 0;
}

static int vidioc_s_fmt_vid_cap(struct file *file, void *priv, struct v4l2_format *f)
{
	unsigned int height = f->fmt.pix_mp.height;
	int ret = vidioc_try_fmt_vid_cap(file, priv, f);

	return ret ? ret : s_fmt(file2ctx(file), f, height);
}

static int vidioc_s_fmt_vid_out(struct file *file, void *priv, struct v4l2_format *f)
{
	unsigned int height = f->fmt.pix_mp.height;
	int ret = vidioc_try_fmt_vid_out(file, priv, f);

	return ret ? ret : s_fmt(file2ctx(file), f, height);
}

/*
 * DRIVER: vidioc_g/s_selection() for ENCODE_IMAGE: OUTPUT only (the core turns the _MPLANE
 * types into the plain ones); CROP_DEFAULT and CROP_BOUNDS are bytesperline x height (bytes,
 * not pixels, as the driver has it), CROP is the picture; S_SELECTION(CROP) can only shrink it.
 */
static int vidioc_g_selection(struct file *file, void *priv, struct v4l2_selection *s)
{
	struct emu_q_data *q = &file2ctx(file)->q_data[EMU_SRC];

	if (s->type != V4L2_BUF_TYPE_VIDEO_OUTPUT)
		return -EINVAL;
	s->r.left = 0;
	s->r.top = 0;
	switch (s->target) {
	case V4L2_SEL_TGT_CROP_DEFAULT:
	case V4L2_SEL_TGT_CROP_BOUNDS:
		s->r.width = q->bytesperline;
		s->r.height = q->height;
		return 0;
	case V4L2_SEL_TGT_CROP:
		s->r.width = q->crop_width;
		s->r.height = q->crop_height;
		return 0;
	default:
		return -EINVAL;
	}
}

static int vidioc_s_selection(struct file *file, void *priv, struct v4l2_selection *s)
{
	struct emu_q_data *q = &file2ctx(file)->q_data[EMU_SRC];

	if (s->type != V4L2_BUF_TYPE_VIDEO_OUTPUT || s->target != V4L2_SEL_TGT_CROP)
		return -EINVAL;
	s->r.top = 0;
	s->r.left = 0;
	s->r.width = min(s->r.width, q->crop_width);
	s->r.height = min(s->r.height, q->height);
	WRITE_ONCE(q->crop_width, s->r.width);
	WRITE_ONCE(q->crop_height, s->r.height);
	q->selection_set = true;
	return 0;
}

/* DRIVER: vidioc_g/s_parm(): the frame rate, OUTPUT only; INFERRED: no effect on a JPEG */
static int vidioc_g_parm(struct file *file, void *priv, struct v4l2_streamparm *parm)
{
	struct emu_ctx *ctx = file2ctx(file);

	if (parm->type != V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE)
		return -EINVAL;
	parm->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
	parm->parm.output.timeperframe.denominator = ctx->framerate_num;
	parm->parm.output.timeperframe.numerator = ctx->framerate_denom;
	return 0;
}

static int vidioc_s_parm(struct file *file, void *priv, struct v4l2_streamparm *parm)
{
	struct emu_ctx *ctx = file2ctx(file);

	if (parm->type != V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE)
		return -EINVAL;
	if (!parm->parm.output.timeperframe.denominator ||
	    !parm->parm.output.timeperframe.numerator)
		return -EINVAL;
	ctx->framerate_num = parm->parm.output.timeperframe.denominator;
	ctx->framerate_denom = parm->parm.output.timeperframe.numerator;
	parm->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
	return 0;
}

/* DRIVER: vidioc_subscribe_evt() */
static int vidioc_subscribe_event(struct v4l2_fh *fh, const struct v4l2_event_subscription *sub)
{
	switch (sub->type) {
	case V4L2_EVENT_EOS:
		return v4l2_event_subscribe(fh, sub, 2, NULL);
	case V4L2_EVENT_SOURCE_CHANGE:
		return v4l2_src_change_event_subscribe(fh, sub);
	default:
		return v4l2_ctrl_subscribe_event(fh, sub);
	}
}

/* DRIVER: vidioc_try_encoder_cmd() accepts STOP and START, flags unchecked */
static int vidioc_try_encoder_cmd(struct file *file, void *priv, struct v4l2_encoder_cmd *ec)
{
	return ec->cmd == V4L2_ENC_CMD_STOP || ec->cmd == V4L2_ENC_CMD_START ? 0 : -EINVAL;
}

/*
 * DRIVER: STOP sends an empty EOS buffer to the VPU. INFERRED: the VPU then returns the last
 * JPEG with the EOS flag, which the driver turns into V4L2_BUF_FLAG_LAST and an EOS event;
 * here the mem2mem draining helpers do that.
 */
static int vidioc_encoder_cmd(struct file *file, void *priv, struct v4l2_encoder_cmd *ec)
{
	struct emu_ctx *ctx = file2ctx(file);
	struct v4l2_m2m_ctx *m2m_ctx = ctx->fh.m2m_ctx;
	int ret = vidioc_try_encoder_cmd(file, priv, ec);

	if (ret)
		return ret;
	if (!vb2_is_streaming(&m2m_ctx->cap_q_ctx.q) || !vb2_is_streaming(&m2m_ctx->out_q_ctx.q))
		return 0;
	ret = v4l2_m2m_ioctl_encoder_cmd(file, priv, ec);
	if (ret)
		return ret;
	if (ec->cmd == V4L2_ENC_CMD_STOP && v4l2_m2m_has_stopped(m2m_ctx))
		emu_send_eos(ctx);
	if (ec->cmd == V4L2_ENC_CMD_START && v4l2_m2m_has_stopped(m2m_ctx))
		vb2_clear_last_buffer_dequeued(&m2m_ctx->cap_q_ctx.q);
	return 0;
}

/* DRIVER: vidioc_enum_framesizes(): stepwise 32..1920, step 2, for any listed format */
static int vidioc_enum_framesizes(struct file *file, void *priv, struct v4l2_frmsizeenum *fsize)
{
	struct emu_ctx *ctx = file2ctx(file);

	if (!find_format(ctx->dev, fsize->pixel_format, true) &&
	    !find_format(ctx->dev, fsize->pixel_format, false))
		return -EINVAL;
	if (fsize->index)
		return -EINVAL;
	fsize->type = V4L2_FRMSIZE_TYPE_STEPWISE;
	fsize->stepwise.min_width = MIN_W;
	fsize->stepwise.max_width = MAX_W;
	fsize->stepwise.step_width = 2;
	fsize->stepwise.min_height = MIN_H;
	fsize->stepwise.max_height = MAX_H;
	fsize->stepwise.step_height = 2;
	return 0;
}

static const struct v4l2_ioctl_ops emu_ioctl_ops = {
	.vidioc_querycap		= vidioc_querycap,

	.vidioc_enum_fmt_vid_cap	= vidioc_enum_fmt_vid_cap,
	.vidioc_g_fmt_vid_cap_mplane	= vidioc_g_fmt,
	.vidioc_try_fmt_vid_cap_mplane	= vidioc_try_fmt_vid_cap,
	.vidioc_s_fmt_vid_cap_mplane	= vidioc_s_fmt_vid_cap,

	.vidioc_enum_fmt_vid_out	= vidioc_enum_fmt_vid_out,
	.vidioc_g_fmt_vid_out_mplane	= vidioc_g_fmt,
	.vidioc_try_fmt_vid_out_mplane	= vidioc_try_fmt_vid_out,
	.vidioc_s_fmt_vid_out_mplane	= vidioc_s_fmt_vid_out,

	.vidioc_reqbufs			= v4l2_m2m_ioctl_reqbufs,
	.vidioc_querybuf		= v4l2_m2m_ioctl_querybuf,
	.vidioc_qbuf			= v4l2_m2m_ioctl_qbuf,
	.vidioc_dqbuf			= v4l2_m2m_ioctl_dqbuf,
	.vidioc_prepare_buf		= v4l2_m2m_ioctl_prepare_buf,
	.vidioc_create_bufs		= v4l2_m2m_ioctl_create_bufs,
	.vidioc_expbuf			= v4l2_m2m_ioctl_expbuf,

	.vidioc_streamon		= v4l2_m2m_ioctl_streamon,
	.vidioc_streamoff		= v4l2_m2m_ioctl_streamoff,

	.vidioc_g_selection		= vidioc_g_selection,
	.vidioc_s_selection		= vidioc_s_selection,

	.vidioc_g_parm			= vidioc_g_parm,
	.vidioc_s_parm			= vidioc_s_parm,

	.vidioc_subscribe_event		= vidioc_subscribe_event,
	.vidioc_unsubscribe_event	= v4l2_event_unsubscribe,

	.vidioc_encoder_cmd		= vidioc_encoder_cmd,
	.vidioc_try_encoder_cmd		= vidioc_try_encoder_cmd,
	.vidioc_enum_framesizes		= vidioc_enum_framesizes,
};

/* --- controls ------------------------------------------------------------------------- */

static int emu_s_ctrl(struct v4l2_ctrl *ctrl)
{
	struct emu_ctx *ctx = container_of(ctrl->handler, struct emu_ctx, hdl);

	/*
	 * DRIVER: V4L2_CID_JPEG_COMPRESSION_QUALITY becomes MMAL_PARAMETER_JPEG_Q_FACTOR, with
	 * MMAL_PARAMETER_JPEG_IJG_SCALING on (IJG: libjpeg's quality scaling).
	 * INFERRED: that a change takes effect from the next frame, also while streaming.
	 */
	if (ctrl->id != V4L2_CID_JPEG_COMPRESSION_QUALITY)
		return -EINVAL;
	WRITE_ONCE(ctx->quality, ctrl->val);
	return 0;
}

static const struct v4l2_ctrl_ops emu_ctrl_ops = {
	.s_ctrl = emu_s_ctrl,
};

/* --- vb2 queues ----------------------------------------------------------------------- */

static int emu_queue_setup(struct vb2_queue *vq, unsigned int *nbuffers, unsigned int *nplanes,
			   unsigned int sizes[], struct device *alloc_devs[])
{
	struct emu_ctx *ctx = vb2_get_drv_priv(vq);
	struct emu_q_data *q = get_q_data(ctx, vq->type);

	/* DIFFERS: with no format the driver hands vb2 a size of 0 (a WARN and -EINVAL) */
	if (!q || !q->sizeimage)
		return -EINVAL;
	if (*nplanes)
		return sizes[0] < q->sizeimage ? -EINVAL : 0;
	*nplanes = 1;
	sizes[0] = q->sizeimage;
	/* FIRMWARE: both image_encode ports need 1 buffer at least (#4923) */
	if (*nbuffers < 1)
		*nbuffers = 1;
	return 0;
}

static int emu_buf_prepare(struct vb2_buffer *vb)
{
	struct emu_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);
	struct emu_q_data *q = get_q_data(ctx, vb->vb2_queue->type);

	/* DRIVER: bcm2835_codec_buf_prepare() */
	if (V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type) && vbuf->field == V4L2_FIELD_ANY)
		vbuf->field = V4L2_FIELD_NONE;
	/*
	 * DRIVER: a plane shorter than sizeimage is refused: a 1920x1080 frame in a buffer of
	 * 1080 rows where the driver wants 1088 fails QBUF with EINVAL (raspberrypi/linux#4669).
	 * For DMABUF, vb2 refuses a dma-buf shorter than the queue's size first, also EINVAL.
	 */
	if (vb2_plane_size(vb, 0) < q->sizeimage) {
		v4l2_dbg(1, debug, &ctx->dev->v4l2_dev, "%s data will not fit into plane (%lu < %u)\n",
			 __func__, vb2_plane_size(vb, 0), q->sizeimage);
		return -EINVAL;
	}
	/*
	 * DIFFERS: the driver presets a CAPTURE buffer's payload to sizeimage here; emu_buf_queue()
	 * sets 0, so that a buffer the mem2mem draining helpers mark LAST without a JPEG in it says
	 * 0 bytes (INFERRED: as the VPU's empty EOS buffer does). The driver also exports every MMAP
	 * buffer as a dma-buf for the VPU here.
	 */
	return 0;
}

static void emu_buf_queue(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);
	struct emu_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);

	if (V4L2_TYPE_IS_CAPTURE(vb->vb2_queue->type) && vb2_is_streaming(vb->vb2_queue) &&
	    v4l2_m2m_dst_buf_is_last(ctx->fh.m2m_ctx)) {
		vb2_set_plane_payload(vb, 0, 0);
		vbuf->field = V4L2_FIELD_NONE;
		v4l2_m2m_last_buffer_done(ctx->fh.m2m_ctx, vbuf);
		emu_send_eos(ctx);
		return;
	}
	if (V4L2_TYPE_IS_CAPTURE(vb->vb2_queue->type))
		vb2_set_plane_payload(vb, 0, 0);
	v4l2_m2m_buf_queue(ctx->fh.m2m_ctx, vbuf);
}

static int emu_start_streaming(struct vb2_queue *q, unsigned int count)
{
	struct emu_ctx *ctx = vb2_get_drv_priv(q);

	v4l2_m2m_update_start_streaming_state(ctx->fh.m2m_ctx, q);
	WRITE_ONCE(ctx->aborting, false);
	if (V4L2_TYPE_IS_CAPTURE(q->type))
		ctx->frames = 0;
	return 0;
}

/*
 * DRIVER: buffers still queued come back as VB2_BUF_STATE_QUEUED when the VPU port is
 * disabled; DIFFERS: VB2_BUF_STATE_ERROR here (vb2 dequeues both the same way on STREAMOFF).
 */
static void emu_stop_streaming(struct vb2_queue *q)
{
	struct emu_ctx *ctx = vb2_get_drv_priv(q);
	struct vb2_v4l2_buffer *vbuf;

	/* mem2mem has cancelled (aborted and waited for) a running job before this */
	cancel_delayed_work_sync(&ctx->work);
	for (;;) {
		if (V4L2_TYPE_IS_OUTPUT(q->type))
			vbuf = v4l2_m2m_src_buf_remove(ctx->fh.m2m_ctx);
		else
			vbuf = v4l2_m2m_dst_buf_remove(ctx->fh.m2m_ctx);
		if (!vbuf)
			break;
		v4l2_m2m_buf_done(vbuf, VB2_BUF_STATE_ERROR);
	}
	v4l2_m2m_update_stop_streaming_state(ctx->fh.m2m_ctx, q);
	if (V4L2_TYPE_IS_OUTPUT(q->type) && v4l2_m2m_has_stopped(ctx->fh.m2m_ctx))
		emu_send_eos(ctx);
}

static const struct vb2_ops emu_qops = {
	.queue_setup	 = emu_queue_setup,
	.buf_prepare	 = emu_buf_prepare,
	.buf_queue	 = emu_buf_queue,
	.start_streaming = emu_start_streaming,
	.stop_streaming  = emu_stop_streaming,
	.wait_prepare	 = vb2_ops_wait_prepare,
	.wait_finish	 = vb2_ops_wait_finish,
};

/*
 * DRIVER: queue_init(): MMAP and DMABUF (no USERPTR), videobuf2-dma-contig, timestamps copied
 * from OUTPUT to CAPTURE, the device mutex as the queues' lock. The buffers are physically
 * contiguous: a dma-buf whose memory is not (vmalloc, the system heap, udmabuf) fails QBUF
 * ("contiguous chunk is too small", EFAULT) as it fails on a Pi.
 */
static int emu_queue_init(void *priv, struct vb2_queue *src_vq, struct vb2_queue *dst_vq)
{
	struct emu_ctx *ctx = priv;
	int ret;

	src_vq->type = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
	src_vq->io_modes = VB2_MMAP | VB2_DMABUF;
	src_vq->drv_priv = ctx;
	src_vq->buf_struct_size = sizeof(struct v4l2_m2m_buffer);
	src_vq->ops = &emu_qops;
	src_vq->mem_ops = &vb2_dma_contig_memops;
	src_vq->dev = &ctx->dev->pdev->dev;
	src_vq->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	src_vq->lock = &ctx->dev->dev_mutex;
	ret = vb2_queue_init(src_vq);
	if (ret)
		return ret;

	dst_vq->type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
	dst_vq->io_modes = VB2_MMAP | VB2_DMABUF;
	dst_vq->drv_priv = ctx;
	dst_vq->buf_struct_size = sizeof(struct v4l2_m2m_buffer);
	dst_vq->ops = &emu_qops;
	dst_vq->mem_ops = &vb2_dma_contig_memops;
	dst_vq->dev = &ctx->dev->pdev->dev;
	dst_vq->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	dst_vq->lock = &ctx->dev->dev_mutex;
	return vb2_queue_init(dst_vq);
}

/* --- file operations ------------------------------------------------------------------ */

static void init_q_data(struct emu_q_data *q, const struct emu_fmt *fmt)
{
	/* DRIVER: bcm2835_codec_open(): 32x32 in the list's first format */
	q->fmt = fmt;
	q->crop_width = DEFAULT_WIDTH;
	q->crop_height = DEFAULT_HEIGHT;
	q->height = DEFAULT_HEIGHT;
	q->bytesperline = get_bytesperline(DEFAULT_WIDTH, fmt);
	q->sizeimage = get_sizeimage(q->bytesperline, fmt, DEFAULT_HEIGHT);
	q->field = V4L2_FIELD_NONE;
}

static int emu_open(struct file *file)
{
	struct emu_dev *dev = video_drvdata(file);
	struct emu_ctx *ctx;
	struct v4l2_ctrl_handler *hdl;
	int rc = 0;

	if (mutex_lock_interruptible(&dev->dev_mutex))
		return -ERESTARTSYS;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx) {
		rc = -ENOMEM;
		goto open_unlock;
	}
	ctx->scratch = kvzalloc(sizeof(*ctx->scratch), GFP_KERNEL);
	if (!ctx->scratch) {
		rc = -ENOMEM;
		goto free_ctx;
	}
	init_q_data(&ctx->q_data[EMU_SRC], default_format(dev, false));
	init_q_data(&ctx->q_data[EMU_DST], default_format(dev, true));
	ctx->colorspace = V4L2_COLORSPACE_REC709;
	ctx->framerate_num = 30;
	ctx->framerate_denom = 1;
	ctx->quality = 80;
	ctx->dev = dev;
	INIT_DELAYED_WORK(&ctx->work, emu_work);

	v4l2_fh_init(&ctx->fh, video_devdata(file));
	file->private_data = &ctx->fh;

	/* DRIVER: the image encoder's one control: quality 1..100, step 1, default 80 */
	hdl = &ctx->hdl;
	v4l2_ctrl_handler_init(hdl, 1);
	v4l2_ctrl_new_std(hdl, &emu_ctrl_ops, V4L2_CID_JPEG_COMPRESSION_QUALITY, 1, 100, 1, 80);
	if (hdl->error) {
		rc = hdl->error;
		goto free_hdl;
	}
	ctx->fh.ctrl_handler = hdl;
	v4l2_ctrl_handler_setup(hdl);

	ctx->fh.m2m_ctx = v4l2_m2m_ctx_init(dev->m2m_dev, ctx, &emu_queue_init);
	if (IS_ERR(ctx->fh.m2m_ctx)) {
		rc = PTR_ERR(ctx->fh.m2m_ctx);
		goto free_hdl;
	}
	v4l2_fh_add(&ctx->fh);
	mutex_unlock(&dev->dev_mutex);
	return 0;

free_hdl:
	v4l2_ctrl_handler_free(hdl);
	v4l2_fh_exit(&ctx->fh);
	kvfree(ctx->scratch);
free_ctx:
	kfree(ctx);
open_unlock:
	mutex_unlock(&dev->dev_mutex);
	return rc;
}

static int emu_release(struct file *file)
{
	struct emu_dev *dev = video_drvdata(file);
	struct emu_ctx *ctx = file2ctx(file);

	v4l2_fh_del(&ctx->fh);
	v4l2_fh_exit(&ctx->fh);
	v4l2_ctrl_handler_free(&ctx->hdl);
	mutex_lock(&dev->dev_mutex);
	v4l2_m2m_ctx_release(ctx->fh.m2m_ctx);	/* aborts a running (or stalled) job */
	mutex_unlock(&dev->dev_mutex);
	cancel_delayed_work_sync(&ctx->work);
	kvfree(ctx->scratch);
	kfree(ctx);
	return 0;
}

static const struct v4l2_file_operations emu_fops = {
	.owner		= THIS_MODULE,
	.open		= emu_open,
	.release	= emu_release,
	.poll		= v4l2_m2m_fop_poll,
	.unlocked_ioctl	= video_ioctl2,
	.mmap		= v4l2_m2m_fop_mmap,
};

/*
 * DIFFERS: the driver's objects are devm-allocated and freed at unbind even while a file is
 * open (INFERRED: a use-after-free when that file is closed later); here they live until the
 * last file is closed, as in vim2m, so unbinding with open files is safe.
 */
static void emu_vfd_release(struct video_device *vfd)
{
	struct emu_dev *dev = container_of(vfd, struct emu_dev, vfd);

	v4l2_device_unregister(&dev->v4l2_dev);
	v4l2_m2m_release(dev->m2m_dev);
	media_device_cleanup(&dev->mdev);
	kfree(dev);
}

static const struct v4l2_m2m_ops emu_m2m_ops = {
	.device_run	= emu_device_run,
	.job_abort	= emu_job_abort,
};

/* --- the platform device -------------------------------------------------------------- */

/*
 * DRIVER: the lists are what the firmware answers at probe (MMAL_PARAMETER_SUPPORTED_ENCODINGS
 * of ril.image_encode's ports), kept until the next probe: no_formats and nv12 act at bind.
 * FIRMWARE (raspberrypi/linux#4923): "without start_x=1 ... /dev/video31 will not have any format
 * for encoding". UNKNOWN: which list that empties (the OUTPUT list: no_formats=1; the CAPTURE
 * list: no_formats=2, as mjpegd's unit-test fixture fx_bcm2835_image_nofw assumes; or both), and
 * whether such firmware has the component at all (if not, the driver's probe fails and none of
 * its five nodes appears).
 */
static void init_formats(struct emu_dev *dev)
{
	struct emu_fmt_list *out = &dev->fmts[EMU_SRC], *cap = &dev->fmts[EMU_DST];
	unsigned int i;

	if (!(no_formats & 1)) {
		for (i = 0; i < ARRAY_SIZE(fw_output_fmts); i++)
			out->fmt[out->num++] = &fw_output_fmts[i];
		for (i = 0; nv12 && i < ARRAY_SIZE(nv12_fmts); i++)
			out->fmt[out->num++] = &nv12_fmts[i];
	}
	if (!(no_formats & 2))
		cap->fmt[cap->num++] = &fmt_jpeg;
}

static int emu_probe(struct platform_device *pdev)
{
	struct emu_dev *dev;
	struct video_device *vfd;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->pdev = pdev;
	init_formats(dev);

	ret = v4l2_device_register(&pdev->dev, &dev->v4l2_dev);
	if (ret)
		goto free_dev;
	mutex_init(&dev->dev_mutex);

	vfd = &dev->vfd;
	vfd->fops = &emu_fops;
	vfd->ioctl_ops = &emu_ioctl_ops;
	vfd->release = emu_vfd_release;
	vfd->vfl_dir = VFL_DIR_M2M;
	vfd->minor = -1;
	vfd->lock = &dev->dev_mutex;
	vfd->v4l2_dev = &dev->v4l2_dev;
	vfd->device_caps = V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING;
	/* DRIVER: "bcm2835-codec-" + the role, the card name of VIDIOC_QUERYCAP */
	snprintf(vfd->name, sizeof(vfd->name), "%s-%s", MEM2MEM_NAME, ROLE_NAME);
	video_set_drvdata(vfd, dev);
	platform_set_drvdata(pdev, dev);

	dev->m2m_dev = v4l2_m2m_init(&emu_m2m_ops);
	if (IS_ERR(dev->m2m_dev)) {
		ret = PTR_ERR(dev->m2m_dev);
		goto unreg_v4l2;
	}

	/* DRIVER: one media device for the driver's nodes */
	dev->mdev.dev = &pdev->dev;
	strscpy(dev->mdev.model, MEM2MEM_NAME, sizeof(dev->mdev.model));
	strscpy(dev->mdev.serial, "0000", sizeof(dev->mdev.serial));
	snprintf(dev->mdev.bus_info, sizeof(dev->mdev.bus_info), "platform:%s", pdev->name);
	dev->mdev.hw_revision = 1;
	media_device_init(&dev->mdev);
	dev->v4l2_dev.mdev = &dev->mdev;

	ret = video_register_device(vfd, VFL_TYPE_VIDEO, encode_image_nr);
	if (ret) {
		v4l2_err(&dev->v4l2_dev, "Failed to register video device\n");
		goto release_m2m;
	}
	v4l2_info(&dev->v4l2_dev, "Device registered as /dev/video%d\n", vfd->num);

	ret = v4l2_m2m_register_media_controller(dev->m2m_dev, vfd,
						 MEDIA_ENT_F_PROC_VIDEO_ENCODER);
	if (ret)
		goto unreg_vfd;
	ret = media_device_register(&dev->mdev);
	if (ret)
		goto unreg_mc;
	v4l2_info(&dev->v4l2_dev, "Loaded V4L2 %s (emulated: %u OUTPUT, %u CAPTURE formats)\n",
		  ROLE_NAME, dev->fmts[EMU_SRC].num, dev->fmts[EMU_DST].num);
	return 0;

unreg_mc:
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
unreg_vfd:
	video_unregister_device(vfd);	/* emu_vfd_release frees the rest */
	return ret;
release_m2m:
	media_device_cleanup(&dev->mdev);
	v4l2_m2m_release(dev->m2m_dev);
unreg_v4l2:
	v4l2_device_unregister(&dev->v4l2_dev);
free_dev:
	kfree(dev);
	return ret;
}

static int emu_remove(struct platform_device *pdev)
{
	struct emu_dev *dev = platform_get_drvdata(pdev);

	v4l2_info(&dev->v4l2_dev, "Removing " MEM2MEM_NAME ", " ROLE_NAME "\n");
	media_device_unregister(&dev->mdev);
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
	video_unregister_device(&dev->vfd);
	return 0;
}

static struct platform_driver emu_driver = {
	.probe	= emu_probe,
	.remove	= emu_remove,
	.driver	= {
		.name = MEM2MEM_NAME,
	},
};

/* DRIVER: on a Pi the vchiq driver registers the "bcm2835-codec" platform device */
static struct platform_device *emu_pdev;

static int __init emu_init(void)
{
	int ret;

	emu_pdev = platform_device_register_simple(MEM2MEM_NAME, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(emu_pdev))
		return PTR_ERR(emu_pdev);
	ret = platform_driver_register(&emu_driver);
	if (ret)
		platform_device_unregister(emu_pdev);
	return ret;
}

static void __exit emu_exit(void)
{
	platform_driver_unregister(&emu_driver);
	platform_device_unregister(emu_pdev);
}

module_init(emu_init);
module_exit(emu_exit);

MODULE_DESCRIPTION("Emulation of the BCM2835 codec's JPEG image encoder (V4L2 M2M) for tests");
MODULE_LICENSE("GPL");
MODULE_ALIAS("platform:bcm2835-codec");
