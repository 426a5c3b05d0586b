/* The pipeline wires a source to an encoder and hands each encoded frame to a consumer (the
 * server). It owns the source, the encoder and the frame pool, and watches their fds on the loop.
 *
 * Raw frames: dequeued from the source, submitted to the encoder, which gives each back through
 * pipeline_release_raw → source_release. Refused submissions are released here (a drop).
 * Encoded frames: collected with one reference, passed to on_frame (which takes its own), then
 * unreferenced here.
 *
 * On demand (--on-demand on, include/mjpegd/demand.h): with no stream client (viewers() false)
 * camera frames are not submitted. The newest one is held (pl->held: one raw frame, owned by the
 * pipeline until it is submitted or a newer frame replaces it, then given back to its source at
 * once), so that pipeline_want_frame() can encode it without waiting for the camera. Pass-through
 * frames are not held: a held frame and the server's newest (which points into a camera buffer)
 * would keep two of the camera's buffers, all of them at --camera-buffers 2.
 *
 * Full size (--snapshot-size): a source with a second stream lends its full-size frames too
 * (source_dequeue_full()); the pipeline holds the newest (pl->full_held, owned until it goes to
 * the full encoder or a newer one replaces it, then given back at once) and encodes it only when
 * pipeline_want_full() asks.
 *
 * Standby (--standby-after): pipeline_standby() closes the camera and the encoder (retired: each
 * is destroyed, its device closed, once nothing points into its memory; the caller first drops
 * the server's newest frame) and their supervisors go to STANDBY; the tick then does nothing but
 * free what was retired. The next pipeline_want_frame() wakes them: the source reopens by its
 * configured name, then the encoder; the frame asked for is the first the camera gives, except
 * from libcamera, whose first STANDBY_SETTLE_FRAMES_LIBCAMERA (5) frames are given back
 * unencoded while its auto exposure settles again. pipeline_frame_current() is false from
 * standby until the first frame after the wake-up is published. */
#ifndef MJPEGD_PIPELINE_H
#define MJPEGD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/control.h"
#include "mjpegd/devices.h"
#include "mjpegd/encoder.h"
#include "mjpegd/frame.h"
#include "mjpegd/loop.h"
#include "mjpegd/source.h"
#include "mjpegd/http/status.h"

#define PIPELINE_PATH_MAX 512

/* What the pipeline reads of the configuration, filled by config (config_pipeline_options(),
 * src/config/translate.c). The pipeline keeps its own copy, strings included (pipeline_create(),
 * then pipeline_apply()): nothing in it points into a configuration, which a reload replaces. */
struct pipeline_options {
	struct devices_options devices; /* the camera and the encoder, and what opens them */
	unsigned quality;            /* --quality 1..100 */
	bool encoder_fallback;       /* --encoder-fallback software: a stand-in while it is down */
	unsigned source_timeout_ms;  /* no camera frame for that long: the camera is reopened */
	unsigned encoder_timeout_ms; /* a frame not back for that long: the encoder is reopened */
	bool on_demand;              /* --on-demand: encode only for a viewer (demand.h) */
	unsigned standby_after;      /* --standby-after, s (0: never); main decides when */
	struct control_assignments controls; /* --control NAME=VALUE */
	char state_dir[PIPELINE_PATH_MAX]; /* --state-dir ("": $STATE_DIRECTORY); read at create */
};

/* What new options change against old, decided from the options alone (pipeline_apply() acts on
 * it; tests/unit/test_pipeline.c checks it). Every other field takes effect where it is next
 * read (the timeouts, --on-demand, --encoder-fallback, --standby-after); --state-dir is read at
 * create only. */
struct pipeline_changes {
	bool quality;  /* set on the encoders in place (an M2M encoder reopens for it) */
	bool encoder;  /* --encoder, its path, --m2m-format: the encoder is reopened */
	bool source;   /* --source, its path, --format, --size, --fps, --camera-buffers,
			* --snapshot-size, --snapshot-buffers: the camera is reopened */
	bool sensor;   /* the sensor's part of --rotation/--hflip/--vflip: a camera that turns its
			* sensor is reopened; otherwise the EXIF Orientation changes in place */
	bool size;     /* --size: the placeholders are drawn again */
	bool snapshot_size; /* --snapshot-size: a source with one stream says so again */
	bool controls; /* --control: the wanted ones set again and applied now */
};
void pipeline_options_changes(const struct pipeline_options *old,
			      const struct pipeline_options *new, struct pipeline_changes *c);

typedef void (*pipeline_frame_fn)(void *ctx, struct frame *f);
/* Whether a stream client watches now (on_frame_ctx); asked at every camera frame. */
typedef bool (*pipeline_viewers_fn)(void *ctx);

/* A test seam: how the pipeline opens its devices when not through src/devices.c (what
 * select.c chose, the real back ends). The unit tests pass fakes. p carries the pool, the release
 * callback, the source's format and size, and the quality. */
struct pipeline_openers {
	int (*source)(void *ctx, enum source_kind kind, struct source **out);
	int (*encoder)(void *ctx, enum encoder_kind kind, const struct encoder_params *p,
		       struct encoder **out);
	void *ctx;
};

struct pipeline_params {
	struct loop *loop;
	const struct pipeline_options *options; /* copied at create: the caller's may go */
	unsigned frame_pool_capacity;
	pipeline_frame_fn on_frame;
	/* --snapshot-size: each full-size JPEG encoded for pipeline_want_full() (its sequence
	 * counts those only), with on_frame_ctx; NULL: dropped */
	pipeline_frame_fn on_full_frame;
	void *on_frame_ctx;
	/* --on-demand: NULL counts as nobody watching (only requested frames are encoded) */
	pipeline_viewers_fn viewers;
	const struct pipeline_openers *openers; /* NULL: src/devices.c */
};

struct pipeline;

/* Opens the source and encoder the configuration asks for (auto: the best available). */
int pipeline_create(const struct pipeline_params *p, struct pipeline **out);
int pipeline_start(struct pipeline *pl);
void pipeline_tick(struct pipeline *pl, uint64_t now_ns);
void pipeline_fill_status(struct pipeline *pl, struct status_snapshot *s);
int pipeline_set_quality(struct pipeline *pl, unsigned quality);
/* A snapshot or a new stream client wants a frame (--on-demand): the newest camera frame is
 * submitted now if it is fresh, else the next one the camera delivers. While a frame encoded for
 * a request is still in the encoder, asking again does nothing; the server asks again on every
 * tick while a snapshot waits, so an encode that failed or was refused is retried. In standby:
 * wakes the camera and the encoder first (the frame is the first good one they give). */
void pipeline_want_frame(struct pipeline *pl);
/* --snapshot-size: a snapshot wants a full-size frame. The newest full-size frame the camera gave
 * (held: one of its --snapshot-buffers, the older ones given back at once) goes to a second
 * software encoder on its own worker thread, never encoded on the loop thread; none held: the
 * next one. While one is being encoded, asking again does nothing: its result (on_full_frame)
 * answers every request. -EOPNOTSUPP: no full size now (none configured, a source with one
 * stream, no camera): the caller serves the stream's size. */
int pipeline_want_full(struct pipeline *pl);
/* The size snapshots have now: the full size (true) or the stream's (false). */
bool pipeline_snapshot_size(const struct pipeline *pl, unsigned *width, unsigned *height);
/* Whether the last frame published is the camera's newest as far as encoding goes: no newer
 * camera frame was left unencoded (held or given back) and none is in the encoder for a request.
 * True while every frame is encoded (a viewer, --on-demand off). */
bool pipeline_frame_current(const struct pipeline *pl);
/* --standby-after: close the camera and the encoder now (nothing when in standby already). */
void pipeline_standby(struct pipeline *pl, uint64_t now_ns);
bool pipeline_in_standby(const struct pipeline *pl);
/* SIGHUP: the options from now on, replacing the pipeline's copy; what changed against that copy
 * (pipeline_options_changes()) is acted on: a new quality is set in place (logged when it cannot
 * be), a changed camera setting reopens the source only, a changed encoder setting the encoder
 * only; changed --control values are applied. */
void pipeline_apply(struct pipeline *pl, const struct pipeline_options *new);
/* "source running, encoder failed (software fallback)": for systemd's STATUS=. */
void pipeline_describe(const struct pipeline *pl, char *buf, size_t len);
/* Camera controls (src/pipeline_controls.c; the values: include/mjpegd/control.h). The pipeline
 * keeps the controls wanted, by name: --control's (options.controls), then those set over HTTP and
 * kept in STATE_DIR/controls.conf (--state-dir, else $STATE_DIRECTORY; read at create), and
 * applies them whenever a camera opens, so they survive a recovery; pipeline_apply()
 * applies a changed --control at once.
 * GET /controls: what the camera offers now as JSON (*out malloc'ed, the caller's); -ENODEV when
 * there is no camera at the moment. */
int pipeline_controls_json(struct pipeline *pl, bool writable, char **out, size_t *len);
/* POST /controls: a request body (control_parse_request()) applied to the camera, all or
 * nothing; what it set is kept in the state file (atomically; a file that cannot be written is
 * logged, the controls stay applied). -ENODEV: no camera now; -EOPNOTSUPP: this source has no
 * controls; other negative errno: refused, why says what. */
int pipeline_set_controls(struct pipeline *pl, const char *body, size_t len, bool json, char *why,
			  size_t whylen);
/* Cancels the loop operations; pipeline_drained() turns true when they completed. */
void pipeline_stop(struct pipeline *pl);
bool pipeline_drained(const struct pipeline *pl);
/* Every encoded frame must have been unreferenced by consumers first. */
void pipeline_destroy(struct pipeline *pl);

#endif
