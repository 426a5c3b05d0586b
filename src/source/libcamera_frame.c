/* The libcamera source's frames for an M2M encoder; see include/mjpegd/source/libcamera_frame.h.
 * Pure: no libcamera, no I/O. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/log.h"
#include "mjpegd/source/libcamera_frame.h"
#include "mjpegd/v4l2/layout.h"

/* Planes of the formats the shim maps (libcamera.cpp format_mappings): one per component for
 * the planar ones. */
static unsigned lc_format_planes(uint32_t fourcc)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_YUV420:
		return 3;
	case V4L2_PIX_FMT_NV12:
		return 2;
	default:
		return 1;
	}
}

/* Plane 0's smallest stride; 0 for compressed formats (MJPEG). */
static size_t lc_min_stride(uint32_t fourcc, unsigned width)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_RGB24:
	case V4L2_PIX_FMT_BGR24:
		return 3 * (size_t)width;
	default:
		return raw_min_bytesperline(fourcc, width);
	}
}

int libcamera_describe_frame(uint32_t fourcc, unsigned width, unsigned height, size_t stride,
			     const struct libcamera_plane *planes, unsigned n_planes,
			     struct raw_frame *f)
{
	unsigned components = lc_format_planes(fourcc);
	if (!planes || n_planes == 0 || n_planes > RAW_MAX_PLANES ||
	    (n_planes != 1 && n_planes != components))
		return -EINVAL;
	for (unsigned i = 0; i < n_planes; i++) {
		const struct libcamera_plane *p = &planes[i];
		if (p->dmabuf_size &&
		    (p->offset > p->dmabuf_size || p->length > p->dmabuf_size - p->offset))
			return -EINVAL;
	}
	if (stride == 0)
		stride = lc_min_stride(fourcc, width);

	*f = (struct raw_frame){ .fourcc = fourcc, .width = width, .height = height };
	if (n_planes == 1 && components > 1) {
		/* The whole image in one plane: its components follow each other as in a V4L2
		 * single-planar buffer, which is how libcamera splits such a buffer itself. */
		struct raw_layout l;
		if (raw_layout_compute(fourcc, width, height, stride, 1, 1, &l) < 0 ||
		    planes[0].length < l.sizeimage)
			return -EINVAL;
		f->n_planes = l.n_planes;
		for (unsigned i = 0; i < l.n_planes; i++)
			f->planes[i] = (struct raw_plane){
				.bytesperline = l.stride[i],
				.length = l.plane_size[i],
				.dmabuf_fd = planes[0].fd,
				.dmabuf_offset = planes[0].offset + l.offset[i],
				.buffer_size = planes[0].dmabuf_size,
			};
		return 0;
	}
	f->n_planes = n_planes;
	for (unsigned i = 0; i < n_planes; i++)
		f->planes[i] = (struct raw_plane){
			/* Planar 4:2:0 chroma rows are half as long as luma rows; NV12's
			 * interleaved chroma rows are as long. */
			.bytesperline = i > 0 && fourcc == V4L2_PIX_FMT_YUV420 ? stride / 2 : stride,
			.length = planes[i].length,
			.dmabuf_fd = planes[i].fd,
			.dmabuf_offset = planes[i].offset,
			.buffer_size = planes[i].dmabuf_size,
		};
	return 0;
}

bool libcamera_frame_importable(const struct raw_frame *f, unsigned stride_align,
				unsigned height_align, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (f->n_planes == 0 || f->n_planes > RAW_MAX_PLANES)
		return why_set(why, whylen, false, "a frame with %u planes", f->n_planes);
	int fd = f->planes[0].dmabuf_fd;
	for (unsigned i = 0; i < f->n_planes; i++) {
		if (f->planes[i].dmabuf_fd < 0)
			return why_set(why, whylen, false, "plane %u has no dma-buf", i);
		if (f->planes[i].dmabuf_fd != fd)
			return why_set(why, whylen, false,
					      "its planes are in separate dma-bufs (an M2M encoder "
					      "imports one, with the planes at offsets inside it)");
	}
	if (f->planes[0].dmabuf_offset != 0)
		return why_set(why, whylen, false, "the image starts %zu bytes into its dma-buf",
				      f->planes[0].dmabuf_offset);
	size_t stride = f->planes[0].bytesperline;
	if (stride_align > 1 && stride % stride_align)
		return why_set(why, whylen, false,
				      "libcamera set bytesperline %zu, the encoder reads rows of a "
				      "multiple of %u bytes",
				      stride, stride_align);
	size_t size = f->planes[0].buffer_size;
	if (size == 0)
		return why_set(why, whylen, false, "the size of its dma-bufs is unknown");

	struct raw_layout want;
	if (raw_min_bytesperline(f->fourcc, f->width) == 0) {
		/* Not a format mjpegd's M2M encoder takes (RGB from vimc, MJPEG): only the
		 * padded rows of one plane can be checked. */
		size_t need = stride * align_up(f->height, height_align);
		if (f->n_planes == 1 && stride && size < need)
			return why_set(why, whylen, false,
					      "dma-bufs of %zu bytes, the encoder reads %zu", size,
					      need);
		return true;
	}
	if (raw_layout_compute(f->fourcc, f->width, f->height, stride, 1, height_align, &want) < 0)
		return why_set(why, whylen, false, "bytesperline %zu does not fit %ux%u", stride,
				      f->width, f->height);
	if (f->n_planes != want.n_planes)
		return why_set(why, whylen, false, "%u planes, the encoder reads %u", f->n_planes,
				      want.n_planes);
	for (unsigned i = 0; i < want.n_planes; i++) {
		const struct raw_plane *p = &f->planes[i];
		if (p->dmabuf_offset != want.offset[i])
			return why_set(why, whylen, false,
					      "plane %u starts at byte %zu, the encoder reads it at "
					      "%zu (rows padded to %u)",
					      i, p->dmabuf_offset, want.offset[i], want.padded_height);
		if (p->bytesperline != want.stride[i])
			return why_set(why, whylen, false,
					      "plane %u has bytesperline %zu, the encoder reads %zu", i,
					      p->bytesperline, want.stride[i]);
	}
	if (size < want.sizeimage)
		return why_set(why, whylen, false,
				      "dma-bufs of %zu bytes, the encoder reads %zu (%u rows)", size,
				      want.sizeimage, want.padded_height);
	return true;
}

unsigned libcamera_rows(unsigned height, unsigned height_align, bool pad_rows)
{
	return pad_rows && height_align > 1 ? (unsigned)align_up(height, height_align) : height;
}
