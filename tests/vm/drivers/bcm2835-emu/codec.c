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
 * The real driver's timing and quirks (each at once; the default is the Pi's behaviour):
 *   teardown_timeout_ms (2000)
 *                         STREAMOFF (or close) of a queue whose buffers a hung VPU holds (a job
 *                         held by stall=1) waits this long for them, then forces them back with
 *                         V4L2_BUF_FLAG_ERROR; per queue, so ~2 s for OUTPUT and ~2 s for
 *                         CAPTURE. Nothing held: no wait. DRIVER: bcm2835_codec_stop_streaming()
 *                         disables the port, then bcm2835_codec_flush_buffers() waits on
 *                         frame_cmplt for up to COMPLETE_TIMEOUT (2 * HZ).
 *   import_hang (0)       1: a job whose OUTPUT buffer is DMABUF is held (the VPU never gets the
 *                         buffer) until cleared or streaming stops; logged once per stream;
 *                         MMAP jobs encode. STREAMOFF does not wait for it (emu_return_held()).
 *   dmabuf_reimports (0)  counter (module-wide; write 0 to reset): OUTPUT dma-buf imports into
 *                         the VPU, the first one of a buffer slot and each one after the slot is
 *                         queued with another dma-buf. DRIVER: bcm2835_codec_buf_prepare().
 *   output_early (1)      the OUTPUT buffer comes back when the job starts (the VPU has consumed
 *                         it), its JPEG delay_ms later; 0: both together at the end of the job.
 *                         DRIVER: ip_buffer_cb() and op_buffer_cb() complete each on its own.
 *   quality_live (0)      0: the JPEG quality is latched at CAPTURE STREAMON (a change while
 *                         streaming waits for the next STREAMON); 1: from the next frame.
 *                         DRIVER: bcm2835_codec_s_ctrl(); UNKNOWN what the firmware does.
 *   jpeg_max_bytes (0)    room for the JPEG: min(this, the CAPTURE buffer's size), 0: the
 *                         buffer's size. A longer JPEG is delivered cut at the room, without
 *                         its EOI and without an error flag. DRIVER: op_buffer_cb().
 *   ignore_crop (0)       1: encode the OUTPUT port's whole width x buffer height instead of the
 *                         S_SELECTION crop (a firmware that ignores the crop; only a Pi tells).
 * Unbinding and binding through /sys/bus/platform/drivers/bcm2835-codec/{unbind,bind}
 * (device "bcm2835-codec") removes and restores the node; open files get ENODEV meanwhile.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/version.h>
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

/*
 * GUESS: the firmware has room for a limited number of image_encode components and their
 * buffers (gpu_mem, CMA); the driver then fails the component's creation or the buffers'
 * allocation. Which errno a real Pi returns at which call is not confirmed; modelled as
 * VIDIOC_REQBUFS failing with ENOMEM for a context beyond max_contexts, so that probing
 * (open, QUERYCAP, TRY_FMT) still works, as it does on a busy Pi.
 */
static unsigned int max_contexts;
module_param(max_contexts, uint, 0644);
MODULE_PARM_DESC(max_contexts, "contexts that may hold buffers at once; one more fails REQBUFS with ENOMEM (0: no limit)");

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

/* DRIVER: COMPLETE_TIMEOUT, 2 * HZ */
static unsigned int teardown_timeout_ms = 2000;
module_param(teardown_timeout_ms, uint, 0644);
MODULE_PARM_DESC(teardown_timeout_ms, "STREAMOFF waits this long per queue for buffers a hung VPU holds (stall=1), ms");

static bool import_hang;
module_param(import_hang, bool, 0644);
MODULE_PARM_DESC(import_hang, "DMABUF OUTPUT buffers fail their import into the VPU: their jobs are held until cleared");

static unsigned int dmabuf_reimports;
module_param(dmabuf_reimports, uint, 0644);
MODULE_PARM_DESC(dmabuf_reimports, "counter of OUTPUT dma-buf (re-)imports into the VPU, per buffer slot whose dma-buf changed (write 0 to reset)");

static bool output_early = true;
module_param(output_early, bool, 0644);
MODULE_PARM_DESC(output_early, "return the OUTPUT buffer when the job starts, before its JPEG (0: together)");

static bool quality_live;
module_param(quality_live, bool, 0644);
MODULE_PARM_DESC(quality_live, "a quality change while streaming applies from the next frame (0: from the next CAPTURE STREAMON)");

static unsigned int jpeg_max_bytes;
module_param(jpeg_max_bytes, uint, 0644);
MODULE_PARM_DESC(jpeg_max_bytes, "room for a JPEG, at most the CAPTURE buffer's size (0: the buffer's size); a longer JPEG is cut");

static bool ignore_crop;
module_param(ignore_crop, bool, 0644);
MODULE_PARM_DESC(ignore_crop, "encode the OUTPUT port's whole width x buffer height, not the crop");

struct emu_fmt {
	u32 fourcc;
	u8 depth;		/* DRIVER: supported_formats[].depth, bits per pixel of plane 0 */
	u8 bpl_align;		/* DRIVER: supported_formats[].bytesperline_align[ENCODE_IMAGE] */
	u8 size_mult_x2;	/* DRIVER: sizeimage = bytesperline * height * this / 2 */
	u32 flags;
};

/*
 * DRIVER: bytesperline_align is supported_formats[].bytesperline_align[ENCODE_IMAGE] (checked at
 * 00d3b7dcd7d8): 32 for YU12, YV12, NV12, NV21, RGB565, RGB24 and BGR24; 64 for the YUYV
 * family and the 32-bit RGB formats.
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
	atomic_t contexts_with_buffers;	/* counted against max_contexts */
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
	bool counted;			/* holds one of max_contexts until release */
	struct v4l2_ctrl_handler hdl;
	struct emu_q_data q_data[2];
	/* DRIVER: one set of colorimetry for both queues ("copying the behaviour of vicodec") */
	enum v4l2_colorspace colorspace;
	enum v4l2_ycbcr_encoding ycbcr_enc;
	enum v4l2_xfer_func xfer_func;
	enum v4l2_quantization quant;
	unsigned int framerate_num;
	unsigned int framerate_denom;
	int quality;			/* the control's value */
	int stream_quality;		/* latched at CAPTURE STREAMON (quality_live=0) */
	struct delayed_work work;	/* the "VPU": runs one job */
	bool aborting;
	unsigned int frames;		/* completed since the CAPTURE queue started, for error_after */
	struct emu_jpeg_scratch *scratch;

	/* the running job; job_lock orders it against ENCODER_CMD */
	struct mutex job_lock;
	bool job_new;			/* set by device_run, the buffers not taken yet */
	bool job_early;			/* output_early, as it was when the job started */
	bool job_encoded;		/* the JPEG is in job_dst */
	bool job_last;			/* the JPEG of the last OUTPUT buffer before ENCODER_CMD STOP */
	bool job_dst_taken;		/* job_dst is off the ready list (output_early) */
	struct vb2_v4l2_buffer *job_src;	/* NULL once returned (output_early) */
	struct vb2_v4l2_buffer *job_dst;
	int job_len;
	enum vb2_buffer_state job_state;
	u64 job_timestamp;
	/* buffers held jobs left with the "VPU" when they were aborted, [EMU_SRC] and [EMU_DST] */
	struct list_head vpu_held[2];
	bool import_logged;		/* import_hang said so in this OUTPUT stream */
};

/* DRIVER: struct m2m_mmal_buffer, with the dma-buf the VPU last imported for this slot */
struct emu_buf {
	struct v4l2_m2m_buffer m2m;
	struct dma_buf *imported;
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
 * it is queued (device_run()); the VPU pairs them. Here a job needs one OUTPUT and one CAPTURE
 * buffer (the mem2mem default).
 * DRIVER: the VPU gives each buffer back through its own callback, the raw one through
 * ip_buffer_cb() and the JPEG through op_buffer_cb(). INFERRED: that image_encode releases the
 * raw buffer once it has read it, before the JPEG is written out; output_early=1 (default)
 * does so: the frame is encoded when the job starts and the OUTPUT buffer returned then, the
 * JPEG delay_ms later. output_early=0: both at the end, after delay_ms.
 */
static void emu_device_run(void *priv)
{
	struct emu_ctx *ctx = priv;
	bool early = READ_ONCE(output_early);

	mutex_lock(&ctx->job_lock);
	ctx->job_new = true;
	ctx->job_early = early;
	mutex_unlock(&ctx->job_lock);
	queue_delayed_work(system_unbound_wq, &ctx->work,
			   early ? 0 : msecs_to_jiffies(READ_ONCE(delay_ms)));
}

static void emu_send_eos(struct emu_ctx *ctx)
{
	static const struct v4l2_event ev = { .type = V4L2_EVENT_EOS };

	v4l2_event_queue_fh(&ctx->fh, &ev);
}

/*
 * Whether the job is held. stall=1: the VPU does not answer (both buffers stay with it).
 * import_hang=1 with a DMABUF OUTPUT buffer: DRIVER: device_run() submits the raw buffer with
 * vchiq_mmal_submit_buffer(), which first imports its dma-buf into the VPU's memory
 * (vc_sm_cma_import_dmabuf(), in raspberrypi/linux's mmal-vchiq.c); when that fails it logs and
 * returns before the buffer is sent, device_run() logs that the submission failed, and nothing
 * ever completes that buffer: no error, no JPEG, a stall. (The driver does that for every such
 * buffer; here the first one holds the job and the others wait behind it.)
 */
static bool emu_job_held(struct emu_ctx *ctx)
{
	struct vb2_v4l2_buffer *src = ctx->job_src;

	if (READ_ONCE(stall))
		return true;
	if (!src || src->vb2_buf.memory != VB2_MEMORY_DMABUF || !READ_ONCE(import_hang))
		return false;
	if (!ctx->import_logged) {
		ctx->import_logged = true;
		v4l2_err(&ctx->dev->v4l2_dev,
			 "OUTPUT buffer %u: its dma-buf could not be imported into the VPU (import_hang): not submitted, it will not complete\n",
			 src->vb2_buf.index);
	}
	return true;
}

/* the frame into job_dst; the room is the CAPTURE buffer, or less with jpeg_max_bytes */
static void emu_encode(struct emu_ctx *ctx)
{
	struct emu_dev *dev = ctx->dev;
	const struct emu_q_data *out = &ctx->q_data[EMU_SRC];
	struct vb2_v4l2_buffer *src = ctx->job_src, *dst = ctx->job_dst;
	struct emu_jpeg_src jsrc;
	unsigned int nth, after = READ_ONCE(error_after), max = READ_ONCE(jpeg_max_bytes);
	unsigned int room = vb2_plane_size(&dst->vb2_buf, 0);
	int quality = READ_ONCE(quality_live) ? READ_ONCE(ctx->quality) : ctx->stream_quality;
	bool cut = false;
	u8 *jpeg;
	int len;

	ctx->job_state = VB2_BUF_STATE_DONE;
	/*
	 * UNKNOWN: what the VPU encodes when the CAPTURE format's size differs from OUTPUT's, and
	 * with an OUTPUT bytesused short of sizeimage. Here: the OUTPUT crop rectangle, read from
	 * the whole plane, whatever bytesused says. A crop height of 0 (S_FMT height 0) or one
	 * beyond the buffer (S_FMT height above 1920), which the driver would pass on, is clamped.
	 * DRIVER: setup_mmal_port_format() gives the input port a width of bytesperline in pixels,
	 * the buffer's height and the crop (from 0,0); UNKNOWN: whether image_encode honours that
	 * crop. ignore_crop=1 encodes that whole width x height instead (at most 1920 wide).
	 */
	jsrc.fourcc = out->fmt->fourcc;
	jsrc.data = vb2_plane_vaddr(&src->vb2_buf, 0);
	jsrc.size = vb2_plane_size(&src->vb2_buf, 0);
	jsrc.bytesperline = out->bytesperline;
	jsrc.buffer_height = out->height;
	if (READ_ONCE(ignore_crop) && out->fmt->depth) {
		jsrc.width = min((out->bytesperline << 3) / out->fmt->depth, (unsigned int)MAX_W);
		jsrc.height = out->height;
	} else {
		jsrc.width = clamp(READ_ONCE(out->crop_width), 1u, (unsigned int)MAX_W);
		jsrc.height = clamp(READ_ONCE(out->crop_height), 1u, out->height);
	}
	/*
	 * DRIVER: op_buffer_cb() sets the CAPTURE payload to the length the VPU reports and flags
	 * an error only for MMAL_BUFFER_HEADER_FLAG_CORRUPTED: nothing checks that the JPEG is
	 * whole. INFERRED: a JPEG longer than the buffer comes back cut at its end, without EOI and
	 * without an error (MMAL may put the rest in the next buffer: a fragment without
	 * MMAL_BUFFER_HEADER_FLAG_FRAME_END, which the driver does not look at; here the rest is
	 * dropped). jpeg_max_bytes makes the room smaller so that tests can cut a small JPEG.
	 */
	if (max && max < room)
		room = max;
	jpeg = vb2_plane_vaddr(&dst->vb2_buf, 0);
	if (!jsrc.data || !jpeg) {
		len = -EFAULT;
	} else {
		len = emu_jpeg_encode(&jsrc, quality, READ_ONCE(exif), ctx->scratch, jpeg, room,
				      &cut);
	}
	if (cut)
		v4l2_dbg(1, debug, &dev->v4l2_dev, "JPEG cut at %d bytes (room %u)\n", len, room);
	/* UNKNOWN: how the VPU reports a failed encode; here an ERROR buffer */
	if (len < 0) {
		v4l2_err(&dev->v4l2_dev, "frame not encoded (%d): %ux%u bpl %u in %u bytes\n", len,
			 jsrc.width, jsrc.height, jsrc.bytesperline, jsrc.size);
		len = 0;
		ctx->job_state = VB2_BUF_STATE_ERROR;
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
		ctx->job_state = VB2_BUF_STATE_ERROR;
		v4l2_dbg(1, debug, &dev->v4l2_dev, "frame %u flagged ERROR (error_after=%u)\n", nth,
			 after);
	}
	ctx->job_len = len;
	/*
	 * DRIVER: the timestamp travels through the VPU in microseconds (mmal pts = ns / 1000,
	 * back as pts * 1000).
	 */
	ctx->job_timestamp = div_u64(src->vb2_buf.timestamp, 1000) * 1000;
	ctx->job_encoded = true;
}

/* a buffer off the ready lists stays with the "VPU" until its queue stops */
static void emu_hold(struct emu_ctx *ctx, unsigned int idx, struct vb2_v4l2_buffer *vbuf)
{
	list_add_tail(&container_of(vbuf, struct v4l2_m2m_buffer, vb)->list, &ctx->vpu_held[idx]);
}

static void emu_work(struct work_struct *work)
{
	struct emu_ctx *ctx = container_of(to_delayed_work(work), struct emu_ctx, work);
	struct emu_dev *dev = ctx->dev;
	struct v4l2_m2m_ctx *m2m_ctx = ctx->fh.m2m_ctx;
	struct vb2_v4l2_buffer *src, *dst;

	mutex_lock(&ctx->job_lock);
	if (ctx->job_new) {
		/*
		 * The job's buffers stay on the ready lists until they are done (or, with
		 * output_early, until the OUTPUT buffer is), so that ENCODER_CMD STOP during the job
		 * finds the OUTPUT buffer being encoded as the last one to drain.
		 */
		ctx->job_new = false;
		ctx->job_encoded = false;
		ctx->job_last = false;
		ctx->job_dst_taken = false;
		ctx->job_src = v4l2_m2m_next_src_buf(m2m_ctx);
		ctx->job_dst = v4l2_m2m_next_dst_buf(m2m_ctx);
		if (WARN_ON(!ctx->job_src || !ctx->job_dst)) {
			ctx->job_src = NULL;
			ctx->job_dst = NULL;
			goto finish;
		}
	}
	src = ctx->job_src;
	dst = ctx->job_dst;

	if (emu_job_held(ctx)) {
		if (!READ_ONCE(ctx->aborting)) {
			/* the job stays running: its buffers stay with the driver */
			mutex_unlock(&ctx->job_lock);
			queue_delayed_work(system_unbound_wq, &ctx->work, msecs_to_jiffies(20));
			return;
		}
		/*
		 * Aborted (STREAMOFF or close): the VPU keeps what it holds; each queue's
		 * stop_streaming gets its buffer back (emu_stop_streaming()).
		 */
		if (src) {
			v4l2_m2m_src_buf_remove_by_buf(m2m_ctx, src);
			emu_hold(ctx, EMU_SRC, src);
		}
		if (!ctx->job_dst_taken)
			v4l2_m2m_dst_buf_remove_by_buf(m2m_ctx, dst);
		emu_hold(ctx, EMU_DST, dst);
		goto done;
	}
	if (READ_ONCE(ctx->aborting)) {
		if (src) {
			v4l2_m2m_src_buf_remove_by_buf(m2m_ctx, src);
			v4l2_m2m_buf_done(src, VB2_BUF_STATE_ERROR);
		}
		if (!ctx->job_dst_taken)
			v4l2_m2m_dst_buf_remove_by_buf(m2m_ctx, dst);
		v4l2_m2m_buf_done(dst, VB2_BUF_STATE_ERROR);
		goto done;
	}

	if (!ctx->job_encoded) {
		emu_encode(ctx);
		if (ctx->job_early) {
			/* the raw buffer goes back now; the VPU keeps the CAPTURE buffer */
			ctx->job_last = v4l2_m2m_is_last_draining_src_buf(m2m_ctx, src);
			v4l2_m2m_src_buf_remove_by_buf(m2m_ctx, src);
			v4l2_m2m_dst_buf_remove_by_buf(m2m_ctx, dst);
			ctx->job_dst_taken = true;
			ctx->job_src = NULL;
			v4l2_m2m_buf_done(src, VB2_BUF_STATE_DONE);
			mutex_unlock(&ctx->job_lock);
			queue_delayed_work(system_unbound_wq, &ctx->work,
					   msecs_to_jiffies(READ_ONCE(delay_ms)));
			return;
		}
	}

	/*
	 * DRIVER: the field is NONE; sequence is never set (it stays 0); no other flag is copied.
	 * INFERRED: that the firmware sets no KEYFRAME flag on a JPEG.
	 */
	vb2_set_plane_payload(&dst->vb2_buf, 0, ctx->job_len);
	dst->vb2_buf.timestamp = ctx->job_timestamp;
	dst->field = V4L2_FIELD_NONE;

	/* INFERRED: after ENCODER_CMD STOP the VPU marks the last JPEG; here the mem2mem helpers */
	if (src) {
		ctx->job_last = v4l2_m2m_is_last_draining_src_buf(m2m_ctx, src);
		v4l2_m2m_src_buf_remove_by_buf(m2m_ctx, src);
	}
	if (!ctx->job_dst_taken)
		v4l2_m2m_dst_buf_remove_by_buf(m2m_ctx, dst);
	if (ctx->job_last) {
		dst->flags |= V4L2_BUF_FLAG_LAST;
		v4l2_m2m_mark_stopped(m2m_ctx);
		emu_send_eos(ctx);
	}
	if (src)
		v4l2_m2m_buf_done(src, VB2_BUF_STATE_DONE);
	v4l2_m2m_buf_done(dst, ctx->job_state);
done:
	ctx->job_src = NULL;
	ctx->job_dst = NULL;
finish:
	mutex_unlock(&ctx->job_lock);
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
 * not pixels, as the driver has it), CROP is the picture; S_SELECTION(CROP) only: left and top
 * are forced to 0, the width is clamped to the current crop width (it can only shrink until
 * the next S_FMT), the height to the buffer's height (so 1080 in a 1088-row buffer), and
 * selection_set is set, which makes a later S_FMT keep the crop height (vidioc_s_fmt(); the
 * width is reset to S_FMT's). Once the component exists (the first REQBUFS) the driver sends
 * the crop to the input port at once, as es.video.crop (setup_mmal_port_format(), then
 * vchiq_mmal_port_set_format()), also while streaming. UNKNOWN: whether the firmware takes a
 * format change on an enabled port, and whether image_encode encodes the crop at all
 * (ignore_crop=1: it does not). Here the crop applies from the next frame.
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
	mutex_lock(&ctx->job_lock);
	if (ec->cmd == V4L2_ENC_CMD_STOP && ctx->job_dst && ctx->job_dst_taken &&
	    !v4l2_m2m_num_src_bufs_ready(m2m_ctx) && !m2m_ctx->is_draining &&
	    !m2m_ctx->has_stopped) {
		/*
		 * output_early: the last OUTPUT buffer is back, its JPEG still being written. On a Pi
		 * the EOS buffer queues behind that frame in the VPU, so the JPEG comes first; the
		 * mem2mem helpers, seeing no OUTPUT buffer, would mark the next CAPTURE buffer LAST
		 * at once, ahead of it. Mark the JPEG being written instead.
		 */
		m2m_ctx->is_draining = true;
		m2m_ctx->last_src_buf = NULL;
		ctx->job_last = true;
		ret = 0;
	} else {
		ret = v4l2_m2m_ioctl_encoder_cmd(file, priv, ec);
	}
	mutex_unlock(&ctx->job_lock);
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
	 * DRIVER: bcm2835_codec_s_ctrl() sets V4L2_CID_JPEG_COMPRESSION_QUALITY on the output
	 * port as MMAL_PARAMETER_JPEG_Q_FACTOR whenever the component exists (from the first
	 * REQBUFS; bcm2835_codec_create_component() applies the value set before), also while
	 * streaming, with MMAL_PARAMETER_JPEG_IJG_SCALING on (IJG: libjpeg's quality scaling).
	 * UNKNOWN: whether the firmware applies a new Q factor to a running (enabled) component.
	 * quality_live=0 (default, as mjpegd's issue 17 reads a Pi: "may not reach the firmware"):
	 * the quality is latched at CAPTURE STREAMON (emu_start_streaming()); 1: the next frame.
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
	if (!ctx->counted) {
		/* GUESS: see max_contexts */
		if (atomic_inc_return(&ctx->dev->contexts_with_buffers) > max_contexts &&
		    max_contexts) {
			atomic_dec(&ctx->dev->contexts_with_buffers);
			return -ENOMEM;
		}
		ctx->counted = true;
	}
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
	 * DRIVER: bcm2835_codec_buf_prepare() keeps, per buffer slot, the dma-buf of a DMABUF
	 * buffer; when the slot comes with another one (vb2 has called bcm2835_codec_buffer_cleanup()
	 * first, which frees the VPU's import of the old one through mmal_vchi_buffer_cleanup()), the
	 * next submission to the VPU imports the new one (vchiq_mmal_submit_buffer():
	 * vc_sm_cma_import_dmabuf()). The same dma-buf again on the same slot is not imported again.
	 * dmabuf_reimports counts those imports of OUTPUT dma-bufs, the first of each slot included.
	 */
	if (V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type) && vb->memory == VB2_MEMORY_DMABUF) {
		struct emu_buf *buf = container_of(vbuf, struct emu_buf, m2m.vb);

		if (buf->imported != vb->planes[0].dbuf) {
			buf->imported = vb->planes[0].dbuf;
			WRITE_ONCE(dmabuf_reimports, READ_ONCE(dmabuf_reimports) + 1);
			v4l2_dbg(1, debug, &ctx->dev->v4l2_dev,
				 "OUTPUT slot %u: new dma-buf, imported into the VPU (%u so far)\n",
				 vb->index, READ_ONCE(dmabuf_reimports));
		}
	}
	/*
	 * DIFFERS: the driver presets a CAPTURE buffer's payload to sizeimage here; emu_buf_queue()
	 * sets 0, so that a buffer the mem2mem draining helpers mark LAST without a JPEG in it says
	 * 0 bytes (INFERRED: as the VPU's empty EOS buffer does). The driver also exports every MMAP
	 * buffer as a dma-buf for the VPU here.
	 */
	return 0;
}

/* DRIVER: bcm2835_codec_buffer_cleanup(): the VPU's import goes with the old dma-buf */
static void emu_buf_cleanup(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);

	container_of(vbuf, struct emu_buf, m2m.vb)->imported = NULL;
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
	if (V4L2_TYPE_IS_CAPTURE(q->type)) {
		ctx->frames = 0;
		ctx->stream_quality = READ_ONCE(ctx->quality);
	} else {
		ctx->import_logged = false;
	}
	return 0;
}

/*
 * DRIVER: bcm2835_codec_stop_streaming() disables the port, which asks the VPU for the buffers
 * it holds, and bcm2835_codec_flush_buffers() waits up to COMPLETE_TIMEOUT (2 s) for them, then
 * logs a timeout and returns; vb2 then forces the buffers still out back with ERROR (and a
 * WARN: "driver bug: stop_streaming operation is leaving buf ... in active state").
 * Here a VPU that holds a job because of stall=1 answers nothing until stall is cleared:
 * teardown_timeout_ms per queue, then the buffer comes back with ERROR (DIFFERS: no WARN).
 * INFERRED: that a VPU this stuck still answers the port-disable message itself (otherwise
 * each message costs SYNC_MSG_TIMEOUT, 3 s, more; not modelled).
 * import_hang: DRIVER: the failed buffer never reached the VPU (buffer_from_host() was not
 * called, so port->buffers_with_vpu does not count it): no wait, vb2 forces it back at once
 * (with that WARN on a Pi); the CAPTURE buffer the VPU holds comes back at the port disable.
 */
static void emu_return_held(struct emu_ctx *ctx, unsigned int idx)
{
	struct v4l2_m2m_buffer *b, *n;
	unsigned int limit = READ_ONCE(teardown_timeout_ms);
	unsigned long end = jiffies + msecs_to_jiffies(limit);

	if (list_empty(&ctx->vpu_held[idx]))
		return;
	/* a stall cleared meanwhile ends the wait: the VPU answers again */
	while (READ_ONCE(stall) && time_before(jiffies, end))
		msleep(min(20u, jiffies_to_msecs(end - jiffies) + 1));
	if (READ_ONCE(stall))
		v4l2_err(&ctx->dev->v4l2_dev,
			 "%s: the VPU did not give the %s buffers back within %u ms: forced back\n",
			 __func__, idx == EMU_SRC ? "OUTPUT" : "CAPTURE", limit);
	list_for_each_entry_safe(b, n, &ctx->vpu_held[idx], list) {
		list_del(&b->list);
		v4l2_m2m_buf_done(&b->vb, VB2_BUF_STATE_ERROR);
	}
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
	emu_return_held(ctx, V4L2_TYPE_IS_OUTPUT(q->type) ? EMU_SRC : EMU_DST);
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
	.buf_cleanup	 = emu_buf_cleanup,
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
	src_vq->buf_struct_size = sizeof(struct emu_buf);
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
	dst_vq->buf_struct_size = sizeof(struct emu_buf);
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
	mutex_init(&ctx->job_lock);
	INIT_LIST_HEAD(&ctx->vpu_held[EMU_SRC]);
	INIT_LIST_HEAD(&ctx->vpu_held[EMU_DST]);

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
	if (ctx->counted)
		atomic_dec(&dev->contexts_with_buffers);
	mutex_destroy(&ctx->job_lock);
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

static void emu_remove_dev(struct platform_device *pdev)
{
	struct emu_dev *dev = platform_get_drvdata(pdev);

	v4l2_info(&dev->v4l2_dev, "Removing " MEM2MEM_NAME ", " ROLE_NAME "\n");
	media_device_unregister(&dev->mdev);
	v4l2_m2m_unregister_media_controller(dev->m2m_dev);
	video_unregister_device(&dev->vfd);
}

/* platform_driver.remove returns void since Linux 6.11 (the compiled test-bed kernel is 6.1,
 * Debian trixie's 6.12: tests/vm/bed/debian-kernel.sh) */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void emu_remove(struct platform_device *pdev)
{
	emu_remove_dev(pdev);
}
#else
static int emu_remove(struct platform_device *pdev)
{
	emu_remove_dev(pdev);
	return 0;
}
#endif

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
