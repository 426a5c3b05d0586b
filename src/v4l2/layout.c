/* Raw buffer layouts and M2M alignment rules; see include/mjpegd/v4l2/layout.h. Pure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/videodev2.h>

#include "mjpegd/v4l2/layout.h"

size_t align_up(size_t v, size_t a)
{
	if (a <= 1)
		return v;
	return (v + a - 1) / a * a;
}

size_t raw_min_bytesperline(uint32_t fourcc, unsigned width)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_YUYV:
		return 2 * (size_t)width;
	case V4L2_PIX_FMT_RGB24:
	case V4L2_PIX_FMT_BGR24:
		return 3 * (size_t)width;
	case V4L2_PIX_FMT_YUV420:
	case V4L2_PIX_FMT_NV12:
		return width;
	default:
		return 0;
	}
}

int raw_layout_compute(uint32_t fourcc, unsigned width, unsigned height, size_t bytesperline,
		       unsigned stride_align, unsigned height_align, struct raw_layout *out)
{
	size_t min_bpl = raw_min_bytesperline(fourcc, width);
	bool packed = fourcc == V4L2_PIX_FMT_YUYV || fourcc == V4L2_PIX_FMT_RGB24 ||
		      fourcc == V4L2_PIX_FMT_BGR24;
	if (min_bpl == 0 || height == 0 || width % 2)
		return -EINVAL;
	if (!packed && height % 2)
		return -EINVAL; /* 4:2:0: chroma rows cover two luma rows */
	if (bytesperline != 0 && bytesperline < min_bpl)
		return -EINVAL;

	size_t s = align_up(bytesperline ? bytesperline : min_bpl, stride_align);
	unsigned ph = (unsigned)align_up(height, height_align);
	if (!packed && ph % 2)
		ph++;
	struct raw_layout l = { .fourcc = fourcc, .width = width, .height = height,
				.padded_height = ph };

	switch (fourcc) {
	case V4L2_PIX_FMT_YUYV:
	case V4L2_PIX_FMT_RGB24:
	case V4L2_PIX_FMT_BGR24:
		l.n_planes = 1;
		l.stride[0] = s;
		l.plane_size[0] = s * ph;
		break;
	case V4L2_PIX_FMT_NV12:
		l.n_planes = 2;
		l.stride[0] = l.stride[1] = s;
		l.plane_size[0] = s * ph;
		l.plane_size[1] = s * (ph / 2);
		l.offset[1] = l.plane_size[0];
		break;
	case V4L2_PIX_FMT_YUV420:
		/* Cb and Cr rows are half the luma stride: an odd one cannot be halved. */
		if (s % 2)
			return -EINVAL;
		l.n_planes = 3;
		l.stride[0] = s;
		l.stride[1] = l.stride[2] = s / 2;
		l.plane_size[0] = s * ph;
		l.plane_size[1] = l.plane_size[2] = (s / 2) * (ph / 2);
		l.offset[1] = l.plane_size[0];
		l.offset[2] = l.offset[1] + l.plane_size[1];
		break;
	}
	for (unsigned i = 0; i < l.n_planes; i++)
		l.sizeimage += l.plane_size[i];
	*out = l;
	return 0;
}

static int mismatch(char *why, size_t whylen, const char *fmt, size_t a, size_t b)
{
	if (why && whylen)
		snprintf(why, whylen, fmt, a, b);
	return -EINVAL;
}

int raw_layout_match(const struct raw_layout *src, size_t src_buffer_size,
		     const struct raw_layout *dst, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (src->fourcc != dst->fourcc)
		return mismatch(why, whylen, "formats differ (%zx vs %zx)", src->fourcc, dst->fourcc);
	if (src->width != dst->width || src->height != dst->height)
		return mismatch(why, whylen, "sizes differ (width %zu vs %zu)", src->width,
				dst->width);
	for (unsigned i = 0; i < dst->n_planes; i++) {
		if (src->stride[i] != dst->stride[i])
			return mismatch(why, whylen, "bytesperline %zu, the encoder wants %zu",
					src->stride[i], dst->stride[i]);
		if (src->offset[i] != dst->offset[i])
			return mismatch(why, whylen,
					"chroma starts at byte %zu, the encoder reads it at %zu",
					src->offset[i], dst->offset[i]);
	}
	if (src_buffer_size < dst->sizeimage)
		return mismatch(why, whylen, "buffers of %zu bytes, the encoder needs %zu",
				src_buffer_size, dst->sizeimage);
	return 0;
}

bool raw_frame_fits_layout(const struct raw_frame *f, const struct raw_layout *l, char *why,
			   size_t whylen)
{
	char dummy[1];
	if (!why) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	if (f->fourcc != l->fourcc || f->width != l->width || f->height != l->height ||
	    f->n_planes != l->n_planes) {
		snprintf(why, whylen, "the frame is %.4s %ux%u in %u plane(s), the encoder expects "
			 "%.4s %ux%u in %u", (const char *)&f->fourcc, f->width, f->height,
			 f->n_planes, (const char *)&l->fourcc, l->width, l->height, l->n_planes);
		return false;
	}
	int fd = f->planes[0].dmabuf_fd;
	size_t base = f->planes[0].dmabuf_offset;
	if (fd < 0) {
		snprintf(why, whylen, "the frame has no dma-buf");
		return false;
	}
	if (base != 0) {
		/* V4L2 drivers may start the picture data_offset bytes into a multi-planar buffer
		 * (vivid does, by 128 bytes, for YUYV). An imported OUTPUT buffer is read from its
		 * first byte: bcm2835-codec, vicodec and vim2m all ignore data_offset there. */
		snprintf(why, whylen, "the camera puts the picture %zu bytes into its buffer "
			 "(data_offset), the encoder reads it from the first byte", base);
		return false;
	}
	if (f->planes[0].buffer_size < l->sizeimage) {
		snprintf(why, whylen, "the camera's buffer has %zu bytes, the encoder needs %zu "
			 "(its padded layout)", f->planes[0].buffer_size, l->sizeimage);
		return false;
	}
	for (unsigned i = 0; i < l->n_planes; i++) {
		const struct raw_plane *p = &f->planes[i];
		if (p->dmabuf_fd != fd || p->dmabuf_offset != l->offset[i] ||
		    p->bytesperline != l->stride[i]) {
			snprintf(why, whylen, "plane %u lies at offset %zu with %zu bytes per line, the "
				 "encoder expects %zu and %zu", i, p->dmabuf_offset, p->bytesperline,
				 l->offset[i], l->stride[i]);
			return false;
		}
	}
	return true;
}

void m2m_constraints_for(const char *driver, uint32_t fourcc, struct m2m_constraints *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(driver, "bcm2835-codec") != 0)
		return;
	/* Raspberry Pi's VideoCore codec (raspberrypi/linux,
	 * drivers/staging/vc04_services/bcm2835-codec/bcm2835-v4l2-codec.c):
	 *  - supported_formats[].bytesperline_align, per role {decode, encode, isp, image_fx,
	 *    encode_image}: the image encoder (the last column) takes rows of a multiple of 32
	 *    bytes for YUV420, NV12, RGB24 and BGR24, and of 64 for the YUYV family and 32-bit RGB
	 *    (the per-role column came with raspberrypi/linux#4746). Asking more than the image
	 *    encoder needs would copy where the Pi imports (libcamera's RGB3 at 1278 pixels).
	 *  - vidioc_try_fmt(): "For decoders and image encoders the buffer must have a vertical
	 *    alignment of 16 lines" (height = ALIGN(height, 16)); sizeimage is
	 *    bytesperline * aligned height (* 3/2 for 4:2:0), so chroma starts after the padded
	 *    luma rows.
	 *  - MAX_W_CODEC/MAX_H_CODEC = 1920: try_fmt clamps larger sizes (1920x1080 is the usual
	 *    statement of the limit; the driver's bound is 1920 on both axes). */
	out->stride_align = fourcc == V4L2_PIX_FMT_YUYV ? 64 : 32;
	out->height_align = 16;
	out->max_width = 1920;
	out->max_height = 1920;
}
