/* The libcamera source's frames as an M2M encoder sees them: a FrameBuffer's planes as a
 * raw_frame, whether an encoder can import that layout, and how many rows to ask the camera for.
 * Pure, built with or without libcamera, unit-tested (tests/unit/test_libcamera_planes.c); the
 * source itself is include/mjpegd/source/libcamera_source.h. */
#ifndef MJPEGD_SOURCE_LIBCAMERA_FRAME_H
#define MJPEGD_SOURCE_LIBCAMERA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/source.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One plane of a libcamera FrameBuffer as FrameBuffer::planes() describes it. On a Raspberry Pi
 * the ISP's YUV420 buffer is one dma-buf split into three planes (the same fd, offsets 0,
 * stride*height, +stride/2*height/2); other pipeline handlers may give separate dma-bufs. */
struct libcamera_plane {
	int fd;             /* dma-buf; planes of one buffer compare equal when they share it */
	size_t offset;      /* where the plane starts inside the dma-buf */
	size_t length;      /* bytes of the plane */
	size_t dmabuf_size; /* bytes of the whole dma-buf behind fd (0: unknown) */
};

/* Describes f's planes over one FrameBuffer: fourcc/width/height/n_planes, and per plane
 * bytesperline (stride for plane 0 and NV12's chroma, stride/2 for YUV420's Cb and Cr), length,
 * dmabuf_fd, dmabuf_offset and buffer_size; data is left NULL (the caller maps). stride is
 * StreamConfiguration::stride (0: derived from plane 0's length, else the smallest). A single plane
 * holding all of a YUV420/NV12 image is split at the V4L2 single-planar offsets. -EINVAL: no
 * plane, more than RAW_MAX_PLANES, a plane past the end of its dma-buf, or a planar format with
 * neither one plane nor one per component. */
int libcamera_describe_frame(uint32_t fourcc, unsigned width, unsigned height, size_t stride,
			     const struct libcamera_plane *planes, unsigned n_planes,
			     struct raw_frame *f);

/* True when an M2M encoder can import frames laid out as f (V4L2_MEMORY_DMABUF, single-planar:
 * one fd, chroma at offsets inside it): every plane in one dma-buf, plane 0 at its start, a
 * plane-0 stride that is a multiple of stride_align, and, for the formats the encoder takes
 * (YUV420, NV12, YUYV), the planes where a buffer padded to height_align rows has them and a
 * dma-buf at least that large (0: no constraint). Otherwise false with the reason in why (may be
 * NULL). libcamera reports the stride and sizes the buffers itself (StreamConfiguration::stride
 * cannot be asked for in 0.0.3), so a mismatch means the encoder copies each frame. */
bool libcamera_frame_importable(const struct raw_frame *f, unsigned stride_align,
				unsigned height_align, char *why, size_t whylen);

/* The rows to ask a camera for: height, or with pad_rows height rounded up to height_align (an
 * encoder that reads padded rows, bcm2835-codec's 16, imports a libcamera buffer only when the
 * camera wrote them all: 1080 → 1088, 972 → 976). */
unsigned libcamera_rows(unsigned height, unsigned height_align, bool pad_rows);

#ifdef __cplusplus
}
#endif

#endif
