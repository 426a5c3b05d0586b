/* The C API of the libcamera shim (src/source/libcamera.cpp): the only C++ in mjpegd.
 *
 * The shim opens, configures and runs one camera and reports completed frames through callbacks;
 * it knows nothing of struct source. src/source/libcamera_source.c builds the source on top of it
 * (queue to the loop thread, eventfd, CPU mappings, raw frames).
 *
 * Threads: lcshim_open/start/close and lcshim_list run on the caller's thread (the loop thread).
 * The callbacks run on libcamera's own thread, between lcshim_start() and the return of
 * lcshim_close(); they must not block and must not call back into the shim. lcshim_requeue() may
 * be called from one thread at a time (the loop thread) while the camera runs.
 *
 * libcamera allows one CameraManager per process: at most one shim (or lcshim_list call) exists at
 * a time; a second lcshim_open() fails with -EBUSY rather than letting libcamera abort.
 */
#ifndef MJPEGD_LIBCAMERA_SHIM_H
#define MJPEGD_LIBCAMERA_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/control.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LCSHIM_MAX_BUFFERS 16
#define LCSHIM_MAX_PLANES 3
#define LCSHIM_ID_MAX 192
#define LCSHIM_MODEL_MAX 64

struct lcshim_params {
	/* NULL or "": the first camera; all digits: an index into the list; otherwise a camera id */
	const char *camera;
	/* NULL/"" only: skip cameras whose Location property is External (USB webcams: the V4L2
	 * source serves them better, with their own MJPEG) */
	bool skip_external;
	unsigned width, height, fps;
	/* rows of height that are the picture (< height when the camera is asked for rows an
	 * encoder pads): the shim sets a ScalerCrop that keeps the picture's proportions */
	unsigned picture_height;
	/* V4L2 fourccs in order of preference; the first one the stream supports is used */
	const uint32_t *formats;
	unsigned n_formats;
	unsigned rotation; /* 0 or 180 */
	bool hflip, vflip;
	unsigned buffers; /* 1..LCSHIM_MAX_BUFFERS; the pipeline handler may raise it */
	/* --snapshot-size: a second, full-size stream of full_buffers (1..LCSHIM_MAX_BUFFERS)
	 * buffers in the stream's format, when full_width > 0; configured as the first (main)
	 * output and the stream as the second (libcamera_plan_streams()). 0: one stream. */
	unsigned full_width, full_height, full_buffers;
};

struct lcshim_plane {
	int fd; /* DMABUF, owned by libcamera; valid until lcshim_close() */
	size_t offset;
	size_t length;
};

struct lcshim_buffer {
	unsigned n_planes;
	struct lcshim_plane planes[LCSHIM_MAX_PLANES];
};

/* What lcshim_open() configured. */
struct lcshim_stream {
	char camera_id[LCSHIM_ID_MAX];
	char model[LCSHIM_MODEL_MAX];
	uint32_t fourcc; /* V4L2 fourcc */
	unsigned width, height;
	size_t stride; /* bytes per line of the first plane */
	unsigned n_buffers;
	struct lcshim_buffer buffers[LCSHIM_MAX_BUFFERS];
	bool frame_duration_set; /* the camera takes FrameDurationLimits: fps is enforced */
	bool autofocus;          /* continuous autofocus was switched on */
	bool transform_applied;  /* rotation/flips were accepted as asked */
	bool padded_crop_set;    /* a ScalerCrop keeps the picture's proportions (picture_height) */
	/* The highest frame rate the configured sensor mode allows (FrameDurationLimits' minimum
	 * after configure()); 0: the camera does not say */
	unsigned max_fps;
	/* The second, full-size stream (lcshim_params.full_width): granted when n_full_buffers > 0,
	 * in the stream's fourcc; asked for and refused: full_refused says why, one stream runs */
	unsigned full_width, full_height;
	size_t full_stride;
	unsigned n_full_buffers;
	struct lcshim_buffer full_buffers[LCSHIM_MAX_BUFFERS];
	char full_refused[160];
};

struct lcshim_completion {
	unsigned buffer;    /* index into lcshim_stream.buffers */
	int status;         /* 0; -EIO: the frame failed; -ECANCELED: the request was cancelled */
	uint64_t sequence;  /* the sensor's frame counter */
	uint64_t timestamp_ns; /* CLOCK_MONOTONIC, start of exposure as libcamera reports it */
	size_t bytesused[LCSHIM_MAX_PLANES];
	/* The full-size buffer of this request (index into lcshim_stream.full_buffers), -1 when it
	 * carried none (all were held); the caller's until lcshim_requeue_full(full_buffer), also
	 * when the request failed. full_status: 0 or -EIO, as status, for that buffer alone. */
	int full_buffer;
	int full_status;
	size_t full_bytesused[LCSHIM_MAX_PLANES];
};

struct lcshim_callbacks {
	/* A request came back; its buffer is the caller's until lcshim_requeue(buffer). */
	void (*completed)(void *ctx, const struct lcshim_completion *c);
	/* The camera went away (unplugged, driver error); no more completions will come. */
	void (*disconnected)(void *ctx);
	void *ctx;
};

struct lcshim;

/* Starts a CameraManager, picks, acquires and configures the camera and allocates its buffers.
 * -ENODEV: no camera at all (nothing logged: the caller words it); -ENOENT: the selected index or
 * id does not exist; -EBUSY: another shim exists, or the camera is in use; -EINVAL: none of the
 * formats is supported or the configuration is refused; others from libcamera. Errors other than
 * -ENODEV are logged here. */
int lcshim_open(const struct lcshim_params *p, const struct lcshim_callbacks *cb,
		struct lcshim **out, struct lcshim_stream *info);

/* Queues every buffer and starts streaming (with FrameDurationLimits, continuous AF). */
int lcshim_start(struct lcshim *s);

/* Gives a completed buffer back to the camera. -ENODEV after a disconnect, -EACCES when stopped. */
int lcshim_requeue(struct lcshim *s, unsigned buffer);

/* Gives a completed full-size buffer back: it goes into the next request requeued (or started)
 * with none, so a held full-size buffer never holds a request back. Loop thread only, like
 * lcshim_requeue(). -EINVAL for an index out of range. */
int lcshim_requeue_full(struct lcshim *s, unsigned buffer);

/* The camera's controls (its ControlInfoMap: booleans, integers, floats, enums as menus, the
 * ScalerCrop rectangle; arrays and strings left out), the values last set shown as current. */
int lcshim_controls(struct lcshim *s, struct control_list *l);

/* Sets set (checked against a list lcshim_controls() filled) on the next request queued, all
 * together (lcshim_requeue()). Loop thread only. */
int lcshim_set_controls(struct lcshim *s, const struct control_list *l, const struct control_set *set,
			char *why, size_t whylen);

/* Stops the camera (no callback runs once this returns), frees the buffers, releases the camera
 * and stops the CameraManager. NULL is allowed. */
void lcshim_close(struct lcshim *s);

struct lcshim_camera {
	char id[LCSHIM_ID_MAX];
	char model[LCSHIM_MODEL_MAX];
	bool external; /* Location property says External (e.g. a UVC webcam) */
};

/* Lists up to max cameras into cams (may be NULL with max 0) and returns how many exist, or
 * -ENODEV when none; the CameraManager is stopped again before it returns. */
int lcshim_list(struct lcshim_camera *cams, unsigned max);

/* The libcamera version the shim runs with (CameraManager::version()), for logs. */
const char *lcshim_version(void);

struct libcamera_rect {
	int x, y;
	unsigned width, height;
};

/* The ScalerCrop (sensor pixels) that keeps the picture's proportions when a camera is asked for
 * width x rows of which only the top picture_rows are kept (libcamera_rows()): the picture is
 * the largest rectangle of aspect width:picture_rows centred in def (the camera's default crop),
 * and the crop extends it downwards so that width x rows has square pixels, moved up (and, only if
 * it must, shrunk, centred) to stay inside max. Without it the ISP would scale def into the padded
 * rows and stretch the picture by rows/picture_rows (0.74 % at 1080). -EINVAL for empty input. */
int libcamera_padded_crop(struct libcamera_rect def, struct libcamera_rect max, unsigned width,
			  unsigned rows, unsigned picture_rows, struct libcamera_rect *out);

/* Two streams from one camera (--snapshot-size): the full size is asked as the first (main)
 * configuration with role StillCapture and the stream's size as the second with role
 * VideoRecording, both in the stream's format. The first is the larger on purpose: the Pi's VC4
 * ISP gives its second output (low-res) only in YUV420 and never larger than the first; the
 * Pi 5's PiSP has no such limit, other handlers (vimc, uvcvideo) give one stream only.
 * libcamera_plan_streams: -EINVAL (why set) when no such pair exists: a full size not at least
 * the stream's in both dimensions, or equal to it. */
int libcamera_plan_streams(unsigned width, unsigned height, unsigned full_width,
			   unsigned full_height, char *why, size_t whylen);

/* What validate() left of that pair, judged: n_configs (config->size()) 2, both in fourcc (the
 * one asked for), the second exactly width x height, the first at least as large in both
 * dimensions and larger in one (it may have been adjusted down, e.g. to the sensor's size).
 * False, why set, when the camera adjusted the second stream away. */
bool libcamera_streams_granted(unsigned n_configs, uint32_t fourcc, unsigned width,
			       unsigned height, uint32_t main_fourcc, unsigned main_width,
			       unsigned main_height, uint32_t second_fourcc, unsigned second_width,
			       unsigned second_height, char *why, size_t whylen);

/* --fps on a camera that lists FrameDurationLimits but does not pace its frames: libcamera
 * 0.7.1's virtual handler fills a buffer as soon as a request is queued, so without this it runs
 * as fast as mjpegd gives buffers back, a CPU of its own for frames the encoder then drops.
 * libcamera_pace_note() is given each completed frame's timestamp (libcamera's thread) and turns
 * pacing on, for good, after LIBCAMERA_PACE_FAST intervals in a row shorter than half the frame
 * duration (true that once: the caller logs it); a real sensor's intervals never are.
 * libcamera_pace_due() (the loop thread) then says when a request given back at now_ns may be
 * queued: at once while pacing is off, else at the next free slot of one frame duration, never
 * before now_ns. Times in ns of one clock each; frame_ns 0: never paces. */
#define LIBCAMERA_PACE_FAST 8
struct libcamera_pace {
	uint64_t frame_ns;
	uint64_t last_ts_ns; /* the previous frame's timestamp, 0: none yet */
	unsigned fast;       /* intervals in a row shorter than frame_ns / 2 */
	bool on;
	uint64_t next_ns; /* the next free slot once on */
};
bool libcamera_pace_note(struct libcamera_pace *p, uint64_t ts_ns);
uint64_t libcamera_pace_due(struct libcamera_pace *p, uint64_t now_ns);

/* ---- The plugin boundary (docs/architecture.md, "The libcamera plugin") -------------------
 *
 * The shim is built as its own shared object, mjpegd-libcamera.so (libcamera.cpp plus
 * src/plugin/libcamera_entry.c and its own copies of the pure libcamera_log.c and
 * libcamera_crop.c); the daemon links neither libcamera nor libstdc++ and reaches the functions
 * above only through struct lcshim_ops, which src/source/libcamera_plugin.c gets with dlopen().
 *
 * The plugin exports exactly two symbols:
 *   const uint32_t mjpegd_lcplugin_abi;   == LCSHIM_ABI_VERSION of the headers it was built with
 *   const struct lcshim_ops *mjpegd_lcplugin_init(const struct lcshim_host *host);
 * The loader reads mjpegd_lcplugin_abi first and calls nothing unless it matches; then init, whose
 * table must carry the same version and the same layout (struct sizes) as the daemon's headers.
 * Bump LCSHIM_ABI_VERSION whenever a struct above, struct lcshim_host/lcshim_ops, control.h's
 * control_list/control_set or the meaning of a call changes. */
#define LCSHIM_ABI_VERSION 2u /* 2: the full-size stream (params, stream, completion, requeue_full) */
#define LCSHIM_ABI_SYMBOL "mjpegd_lcplugin_abi"
#define LCSHIM_INIT_SYMBOL "mjpegd_lcplugin_init"

/* What the daemon lends the plugin: its logger (one process-wide level and repeat filter, so the
 * plugin has no logging state of its own). Owned by the daemon, valid for the process's life. */
struct lcshim_host {
	uint32_t abi_version; /* LCSHIM_ABI_VERSION */
	uint32_t size;        /* sizeof(struct lcshim_host) */
	/* log_msg(level, "%s", text): one finished line (prefix and errno text already in it) */
	void (*log_text)(int level, const char *text);
	/* log_get_level() */
	int (*log_level)(void);
};

/* sizeof() of every struct that crosses the boundary, as each side was compiled: a plugin built
 * from other headers with an unchanged version number is still refused. */
struct lcshim_layout {
	uint32_t params, stream, completion, callbacks, camera, control_list, control_set, host, ops;
};

#define LCSHIM_LAYOUT_INIT                                                                        \
	{                                                                                          \
		sizeof(struct lcshim_params), sizeof(struct lcshim_stream),                        \
		sizeof(struct lcshim_completion), sizeof(struct lcshim_callbacks),                 \
		sizeof(struct lcshim_camera), sizeof(struct control_list),                         \
		sizeof(struct control_set), sizeof(struct lcshim_host), sizeof(struct lcshim_ops)  \
	}

/* The plugin's table; static in the plugin, never freed (the plugin is never unloaded). */
struct lcshim_ops {
	uint32_t abi_version; /* LCSHIM_ABI_VERSION */
	struct lcshim_layout layout;
	const char *built_against; /* libcamera's version at build time (pkg-config), e.g. "0.0.3" */
	int (*open)(const struct lcshim_params *p, const struct lcshim_callbacks *cb,
		    struct lcshim **out, struct lcshim_stream *info);
	int (*start)(struct lcshim *s);
	int (*requeue)(struct lcshim *s, unsigned buffer);
	int (*requeue_full)(struct lcshim *s, unsigned buffer);
	int (*controls)(struct lcshim *s, struct control_list *l);
	int (*set_controls)(struct lcshim *s, const struct control_list *l,
			    const struct control_set *set, char *why, size_t whylen);
	void (*close)(struct lcshim *s);
	int (*list)(struct lcshim_camera *cams, unsigned max);
	const char *(*version)(void);
};

#ifdef __cplusplus
}
#endif

#endif
