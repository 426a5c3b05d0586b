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
#include "mjpegd/source/libcamera_frame.h"

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

/* libcamera_describe_frame(), libcamera_frame_importable(), libcamera_rows(): the pure part,
 * mjpegd/source/libcamera_frame.h (included above). */

/* libcamera_padded_crop(): src/source/libcamera_shim.h, where the shim that uses it sees it. */

#ifdef __cplusplus
}
#endif

#endif
