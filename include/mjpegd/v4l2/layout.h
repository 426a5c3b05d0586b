/* Raw image layouts in one V4L2 buffer, and the stride/alignment arithmetic that decides whether
 * an encoder can read a camera's buffer as it is (dma-buf import, zero copy) or needs a copy.
 *
 * Pure: no device is touched, so every rule here is unit-tested (tests/unit/test_v4l2_layout.c).
 * Formats: V4L2_PIX_FMT_YUV420 (I420, three planes one after the other), V4L2_PIX_FMT_NV12 (Y then
 * interleaved CbCr), V4L2_PIX_FMT_YUYV (packed 4:2:2). Planes of a single-planar V4L2 buffer
 * follow each other without gaps; a chroma plane's stride is derived from the luma stride (the
 * V4L2 single-planar rule), so one bytesperline describes the whole buffer.
 */
#ifndef MJPEGD_V4L2_LAYOUT_H
#define MJPEGD_V4L2_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/source.h"

struct raw_layout {
	uint32_t fourcc;
	unsigned width, height;  /* the visible image */
	unsigned padded_height;  /* rows each plane is allocated for (height rounded up) */
	unsigned n_planes;       /* planes inside the one buffer: 3 (YUV420), 2 (NV12), 1 (YUYV) */
	size_t stride[RAW_MAX_PLANES];
	size_t offset[RAW_MAX_PLANES];
	size_t plane_size[RAW_MAX_PLANES];
	size_t sizeimage;        /* bytes the whole buffer needs */
};

/* What an M2M encoder needs of the buffers it reads (its OUTPUT queue). Zero: no constraint. */
struct m2m_constraints {
	unsigned stride_align; /* bytes; plane 0's bytesperline must be a multiple */
	unsigned height_align; /* rows; the driver allocates (and reads chroma after) this many */
	unsigned max_width, max_height;
};

/* Rounds v up to a multiple of a (any a >= 1; 0 and 1 leave v alone). */
size_t align_up(size_t v, size_t a);

/* Bytes of one row of plane 0 without padding (YUYV: 2 per pixel, the others 1), 0 when the
 * format is not one of the three. */
size_t raw_min_bytesperline(uint32_t fourcc, unsigned width);

/* The layout of a fourcc/width/height buffer whose plane-0 stride is bytesperline (0: the
 * smallest) rounded up to stride_align, and whose planes are padded to height_align rows.
 * -EINVAL: unknown format, zero or odd size for a 4:2:0/4:2:2 format, a bytesperline below the
 * minimum, or an odd luma stride for YUV420 (the chroma stride is half of it). */
int raw_layout_compute(uint32_t fourcc, unsigned width, unsigned height, size_t bytesperline,
		       unsigned stride_align, unsigned height_align, struct raw_layout *out);

/* 0 when a device expecting layout dst can read buffers laid out as src, of src_buffer_size bytes,
 * without a copy: same format, size, strides and plane offsets, and the buffer is at least as large
 * as dst->sizeimage (vb2 refuses a smaller imported dma-buf). Otherwise -EINVAL with the reason in
 * why (may be NULL). */
int raw_layout_match(const struct raw_layout *src, size_t src_buffer_size,
		     const struct raw_layout *dst, char *why, size_t whylen);

/* True when frame can be handed to a device expecting layout l by its dma-buf alone: every plane
 * has a dma-buf, all the same fd, the picture at the buffer's first byte (no data_offset), at
 * l's offsets and strides, in a buffer of at least l->sizeimage bytes. Otherwise false, with the
 * reason in why (may be NULL). */
bool raw_frame_fits_layout(const struct raw_frame *frame, const struct raw_layout *l, char *why,
			   size_t whylen);

/* What the M2M encoder driver named driver (QUERYCAP) needs for fourcc; {0} for drivers without
 * known constraints (vicodec, vim2m: they compute bytesperline themselves). */
void m2m_constraints_for(const char *driver, uint32_t fourcc, struct m2m_constraints *out);

#endif
