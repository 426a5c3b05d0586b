/* The libcamera source: CSI cameras on a Raspberry Pi (Camera Module v1.3, v2, v3 with autofocus,
 * HQ, …) and any other camera libcamera supports. C API; the C++ stays in src/source/libcamera.cpp.
 *
 * Always built (C only): the shim it drives is the libcamera plugin, loaded on the first create or
 * list (include/mjpegd/source/libcamera_plugin.h). Built without libcamera (no plugin) these fail
 * with -EOPNOTSUPP ("built without libcamera"); with a plugin that cannot be loaded (missing,
 * refused, libcamera's soname changed, another ABI) with -ELIBACC, the reason logged once by the
 * loader and in libcamera_plugin_info().
 *
 * Frames arrive on libcamera's thread and reach the loop thread through a lock-free SPSC queue
 * (mjpegd/spsc.h) and an eventfd, which is the source's fd. Raw frames carry each plane's DMABUF
 * (dmabuf_fd/dmabuf_offset, for zero-copy encoders) and a read-only CPU mapping made once per
 * buffer at start (data, for the software encoder). release() gives the buffer back to the camera
 * (the same Request, reused). A failed frame makes dequeue return -EIO (the buffer is requeued at
 * once); a camera that went away makes it return -ENODEV, every time, until the source is
 * destroyed. Both are counted in stats.frames_dropped and logged once.
 *
 * libcamera allows one camera manager per process: at most one libcamera source at a time, and
 * source_libcamera_list() only while none is open.
 */
#ifndef MJPEGD_SOURCE_LIBCAMERA_SOURCE_H
#define MJPEGD_SOURCE_LIBCAMERA_SOURCE_H

#include <stdbool.h>
#include "mjpegd/source.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIBCAMERA_DEFAULT_BUFFERS 4
#define LIBCAMERA_MAX_BUFFERS 16

/* p->camera: NULL/"" for the first camera, "N" for the Nth (0-based, as --list-devices shows),
 * or a libcamera id ("/base/soc/i2c0mux/i2c@1/imx708@1a"). p->formats: what the encoder takes,
 * best first (NULL: YUV420, YUYV, BGR24, RGB24). p->buffers 0 means LIBCAMERA_DEFAULT_BUFFERS.
 * Errors are logged; no camera at all is -ENODEV with a hint about the ribbon cable and
 * camera_auto_detect; -ENOENT when the selected camera does not exist; -EOPNOTSUPP when mjpegd was
 * built without libcamera; -ELIBACC when the plugin cannot be loaded. */
int source_libcamera_create(const struct source_params *p, struct source **out);

/* For --source auto: like source_libcamera_create, but -ENODEV (no camera, or only external USB
 * cameras, which the V4L2 source serves with their own MJPEG) and -EOPNOTSUPP are returned
 * without an error message, -ELIBACC with the loader's one warning, so the caller can move on to
 * the next source. */
int source_libcamera_try_create(const struct source_params *p, struct source **out);

struct libcamera_camera_info {
	char id[192];
	char model[64];
	bool external; /* a USB camera (Location: External) */
};

/* Fills up to max entries (cams may be NULL when max is 0) and returns how many cameras exist,
 * -ENODEV when none, -EOPNOTSUPP without libcamera, -ELIBACC when the plugin cannot be loaded,
 * -EBUSY while a libcamera source is open.
 * Starts and stops libcamera's camera manager; nothing keeps running. */
int source_libcamera_list(struct libcamera_camera_info *cams, unsigned max);

/* True when mjpegd was built with libcamera (a plugin was built with it). */
bool source_libcamera_built(void);

/* Zero copy into an M2M encoder. Pure, built with or without libcamera (tests/unit).
 *
 * One plane of a libcamera FrameBuffer as FrameBuffer::planes() describes it. On a Raspberry Pi
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

/* libcamera_padded_crop(): src/source/libcamera_shim.h, where the shim that uses it sees it. */

#ifdef __cplusplus
}
#endif

#endif
