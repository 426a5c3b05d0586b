/* What /status (JSON) and /metrics (Prometheus text) report. Rendering is pure: main gathers a
 * snapshot from the pipeline and the server, these functions only format it. */
#ifndef MJPEGD_HTTP_STATUS_H
#define MJPEGD_HTTP_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/orientation.h"
#include "mjpegd/supervisor.h"

struct status_client {
	uint64_t id;
	char addr[128]; /* "IP:PORT", "unix", or "IP (via PROXY)" with --trusted-proxy */
	const char *kind; /* "stream", "snapshot", "http" */
	double fps;       /* frames delivered per second, last measurement window */
	uint64_t frames_sent;
	uint64_t frames_skipped; /* newer frames arrived while it was still sending: never sent */
	uint64_t connected_ms;
};

struct status_device {
	enum device_state state; /* named by device_state_name() */
	unsigned restarts;
	unsigned failures;
	const char *last_error; /* "" when none */
};

/* The libcamera plugin as its loader saw it (include/mjpegd/source/libcamera_plugin.h); every
 * string "" when it does not apply, state "not-tried" until a source or --list-devices asked. */
struct status_libcamera_plugin {
	const char *state; /* libcamera_plugin_state_name() */
	const char *path, *built_against, *running, *installed, *error, *hint;
};

struct status_snapshot {
	const char *version;
	uint64_t uptime_ms;
	const char *source;  /* description, e.g. "testpattern 640x480@30" */
	const char *encoder; /* description */
	unsigned width, height;
	unsigned fps_target;
	double fps_measured; /* frames encoded per second, last window */
	double fps_captured; /* frames from the camera per second, last window (also while idle) */
	uint64_t frames_captured;
	/* --on-demand: camera frames given back unencoded because no client would receive them */
	uint64_t frames_skipped_idle;
	bool on_demand; /* --on-demand on */
	/* --standby-after (0: never); state "active", "standby" or "waking"; wake_ms: the last
	 * wake-up's request to first frame, < 0 before the first */
	unsigned standby_after;
	const char *standby_state;
	uint64_t standby_entered;
	double standby_wake_ms;
	bool idle;      /* on demand and no stream client: frames are encoded only when asked for */
	uint64_t frames_encoded;
	uint64_t frames_sent; /* frame deliveries completed to stream and snapshot clients */
	uint64_t frames_dropped;
	uint64_t encode_errors;
	uint64_t frames_cut; /* JPEGs the encoder cut short (no EOI), dropped (in encode_errors) */
	uint64_t dmabuf_imports; /* M2M OUTPUT slots queued with another dma-buf than before */
	double max_gap_ms; /* the longest time between live frames over the last 10 s */
	/* encoded but not JPEG (the test bed's FWHT M2M encoder): counted, never served */
	uint64_t frames_not_published;
	uint64_t bytes_encoded; /* sum of the encoded frames' sizes */
	uint64_t bytes_copied;       /* image bytes memcpy'd in user space, ever */
	double bytes_copied_per_frame; /* bytes_copied / frames_encoded */
	uint64_t bytes_sent;
	unsigned clients;     /* connected now */
	unsigned stream_clients;
	unsigned max_clients;
	uint64_t clients_rejected; /* 503 because max_clients was reached */
	unsigned frame_pool_capacity, frame_pool_in_use;
	size_t frame_pool_bytes;
	uint64_t loop_enters, loop_completions;
	uint64_t loop_sends_announced, loop_waits_bounded; /* loop_expect_inline(), loop.h */
	struct status_device source_device, encoder_device;
	bool encoder_fallback; /* the software stand-in encodes while the encoder recovers */
	const char *m2m_refused; /* "" or why auto encodes in software: the M2M device refused a context */
	bool placeholder;      /* clients are shown the "no signal" picture */
	/* --rotation/--hflip/--vflip as configured, what the camera's sensor does of it, and the
	 * EXIF Orientation (1..8) the rest is sent as (include/mjpegd/orientation.h) */
	unsigned rotation;
	bool hflip, vflip;
	struct sensor_transform sensor_transform;
	unsigned exif_orientation;
	/* /snapshot.jpg (--snapshot-size): the size it has now (the full size, or the stream's
	 * when none is configured or the source gives one stream only), what was configured (0x0:
	 * "stream"), the full-size raw buffers' bytes (the camera's second stream), the full
	 * encoder's output frames' bytes, and its counts */
	unsigned snapshot_width, snapshot_height;
	bool snapshot_full;
	unsigned snapshot_configured_width, snapshot_configured_height, snapshot_buffers;
	size_t snapshot_buffers_bytes, snapshot_pool_bytes;
	uint64_t snapshots_encoded, snapshot_encode_errors, snapshot_frames_skipped;
	struct status_libcamera_plugin libcamera_plugin;
	size_t n_clients_listed;
	const struct status_client *client_list;
};

/* Returns a malloc'd NUL-terminated document (length in *len), or NULL on allocation failure. */
char *status_render_json(const struct status_snapshot *s, size_t *len);
char *status_render_prometheus(const struct status_snapshot *s, size_t *len);

#endif
