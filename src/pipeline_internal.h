/* What the rooms of the pipeline share; used by src/pipeline*.c only (the public interface is
 * include/mjpegd/pipeline.h).
 *
 *   pipeline.c           the core: create, tick, stop, destroy; the frame flow
 *                        (camera frame → encoder → published), failures, the software stand-in,
 *                        retiring devices until nothing points into them
 *   pipeline_open.c      opening and reopening the devices (an M2M encoder on a thread of its
 *                        own), the orientation split for the camera just opened
 *   pipeline_apply.c     SIGHUP's new options (pipeline_apply()): what changed, and reopening
 *                        only the device it concerns
 *   pipeline_on_demand.c --on-demand: the held newest camera frame, pipeline_want_frame()
 *   pipeline_standby.c   --standby-after: closing both devices, the wake-up
 *   pipeline_snapshot_size.c  --snapshot-size: the second, full-size stream and its encoder
 *   pipeline_controls.c  camera controls: the ones wanted, the state file they are kept in,
 *                        applying them whenever a camera opens, listing and setting them
 *   pipeline_status.c    /status and systemd's STATUS= from the pipeline's fields
 *
 * Everything runs on the loop thread, except the encoder reopen thread (struct encoder_opening
 * says what it may touch). */
#ifndef MJPEGD_PIPELINE_INTERNAL_H
#define MJPEGD_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mjpegd/control.h"
#include "mjpegd/devices.h"
#include "mjpegd/encoder.h"
#include "mjpegd/frame.h"
#include "mjpegd/gapwin.h"
#include "mjpegd/loop.h"
#include "mjpegd/orientation.h"
#include "mjpegd/pipeline.h"
#include "mjpegd/placeholder.h"
#include "mjpegd/source.h"
#include "mjpegd/supervisor.h"

#define MAX_RETIRED 8

struct encoder_opening {
	struct pipeline *pl;
	bool active; /* a thread runs, or its result waits for the loop */
	enum encoder_kind kind;
	struct encoder_params ep;
	char device[64], unfit[256]; /* ep's strings, copied: the thread outlives a probe */
	const struct source *src;    /* planned for (compared, never dereferenced by the thread) */
	struct encoder *enc;
	int r;
	int efd;
	pthread_t thread;
	bool stale; /* a reconfiguration came meanwhile: destroy what it opens */
	struct loop_poll poll;
};

struct pipeline {
	struct loop *loop;
	struct encoder_opening opening; /* an M2M encoder being reopened on a thread */
	/* an encoder that imported never gave a frame back: encoders copy from then on */
	bool encoder_force_copy;
	bool import_worked; /* a frame came back from an importing encoder for this source */
	struct gapwin live_gaps; /* between live frames handed on, for /status */
	struct pipeline_options opt; /* its own copy: pipeline_create(), then pipeline_apply() */
	struct frame_pool pool;
	pipeline_frame_fn on_frame;
	pipeline_frame_fn on_full_frame;
	void *on_frame_ctx;
	pipeline_viewers_fn viewers;
	bool stopping;
	struct devices dev; /* what the devices are chosen from, and opened by */
	const struct pipeline_openers *openers; /* tests: fakes instead of dev */

	/* the source */
	struct source *source;        /* NULL while failed */
	enum source_kind source_kind; /* what auto resolved to, reopened as such */
	struct supervised_device source_sup;
	struct loop_poll source_poll;
	uint64_t source_frame_ns;     /* last frame (or open) of this instance */
	char source_description[128];
	struct source_stats source_stats_retired;

	/* the encoder */
	struct encoder *encoder;       /* the configured one; NULL while failed */
	struct encoder *fallback;      /* software stand-in while it is failed */
	enum encoder_kind encoder_kind;
	struct supervised_device encoder_sup;
	struct loop_poll encoder_poll;  /* on the configured encoder */
	struct loop_poll fallback_poll; /* on the software stand-in */
	unsigned in_flight;            /* submitted to the active encoder, not collected */
	uint64_t encoder_progress_ns;  /* last submit into an idle encoder, or last collect */
	unsigned encoder_errors_in_row; /* frames back with an error since the last good one */
	/* what the configured encoder was opened for: a source that comes back different needs
	 * another encoder */
	uint32_t encoder_in_fourcc;
	unsigned encoder_in_width, encoder_in_height;
	size_t encoder_in_bytesperline;
	char encoder_description[128];
	struct encoder_stats encoder_stats_retired;
	/* the camera was busy at start: the encoder is chosen once it opens (as at start) */
	bool first_encoder_pending;

	struct source *retired_sources[MAX_RETIRED];
	unsigned n_retired_sources;
	struct encoder *retired_encoders[MAX_RETIRED];
	unsigned n_retired_encoders;

	/* publishing */
	uint64_t publish_sequence;
	uint64_t last_live_ns, outage_since_ns;
	struct placeholders placeholders;
	uint64_t frames_not_published, bytes_encoded;
	uint64_t frames_dropped; /* refused by the encoder (busy, no free output frame) or none open */
	uint64_t fps_window_start_ns, fps_window_frames, fps_window_captured;
	double fps, fps_captured;

	/* on demand (include/mjpegd/demand.h) */
	struct raw_frame *held;   /* the newest camera frame, not submitted; NULL: none */
	uint64_t held_ns;         /* when it was dequeued */
	bool one_wanted;          /* pipeline_want_frame() found no fresh frame: encode the next */
	/* a frame encoded for a request is in an encoder: asking again (the server does at every
	 * tick while a snapshot waits) waits for it rather than encoding another; cleared by any
	 * result collected and whenever an encoder is retired */
	bool wanted_in_flight;
	bool newest_unencoded; /* the newest camera frame was not given to an encoder */
	uint64_t frames_skipped_idle;
	/* camera controls (pipeline_controls.c): applied whenever a camera opens */
	struct control_assignments controls_wanted;
	/* set over HTTP, kept in state_dir/controls.conf ("": not kept) */
	struct control_assignments controls_kept;
	char state_dir[PIPELINE_PATH_MAX];
	/* --rotation/--hflip/--vflip: what the open camera does, and the EXIF Orientation every
	 * live frame is published with (pipeline_update_orientation()) */
	struct sensor_transform orientation_sensor;
	enum exif_orientation exif_orientation;

	/* --snapshot-size: the source's second, full-size stream (include/mjpegd/pipeline.h) */
	struct encoder *full_encoder; /* software, for full_fourcc at full_width x full_height */
	uint32_t full_fourcc;
	unsigned full_width, full_height;
	struct loop_poll full_poll;
	struct frame_pool full_pool;  /* the full encoder's output frames */
	struct raw_frame *full_held;  /* the newest full-size frame, not encoded; NULL: none */
	bool full_wanted;    /* asked for with none held: the next one is encoded */
	bool full_in_flight; /* one is in the full encoder: its result answers every request */
	bool full_warned;    /* the one warning that the source has no second stream was logged */
	uint64_t full_encoded, full_errors, full_skipped;

	/* --standby-after (include/mjpegd/pipeline.h): the camera and the encoder closed on purpose */
	bool standby;
	uint64_t standby_entered;  /* times standby was entered */
	uint64_t wake_ns;          /* a request woke them at: 0 once the first frame is published */
	double wake_ms;            /* the last wake-up, from the request to the first frame; < 0: none */
	unsigned settle_frames;    /* camera frames given back unencoded after a wake-up */
};

static inline struct encoder *active_encoder(const struct pipeline *pl)
{
	return pl->encoder ? pl->encoder : pl->fallback;
}

static inline void add_stats_source(struct source_stats *to, const struct source_stats *from)
{
	to->frames_captured += from->frames_captured;
	to->frames_dropped += from->frames_dropped;
}

static inline void add_stats_encoder(struct encoder_stats *to, const struct encoder_stats *from)
{
	to->frames_encoded += from->frames_encoded;
	to->encode_errors += from->encode_errors;
	to->frames_cut += from->frames_cut;
	to->dmabuf_imports += from->dmabuf_imports;
	to->bytes_copied += from->bytes_copied;
	to->encode_ns += from->encode_ns;
}

/* ---- pipeline.c */
/* raw goes back to its source (the release callback of every encoder of this pipeline) */
void pipeline_release_raw(void *ctx, struct raw_frame *raw);
/* What every encoder of this pipeline is created with for src: its output frames come from the
 * pool, its raw frames go back through pipeline_release_raw. */
struct encoder_params pipeline_encoder_params(struct pipeline *pl, const struct source *src);
/* The software stand-in (--encoder-fallback software) while the configured encoder is down. */
void pipeline_start_fallback(struct pipeline *pl);
void pipeline_stop_fallback(struct pipeline *pl);
/* Stop watching and feeding a device; it is destroyed once nothing points into it. */
void pipeline_detach_encoder(struct pipeline *pl);
void pipeline_detach_source(struct pipeline *pl);
/* Gives raw to the encoder that takes frames now; false when it was refused (and dropped). */
bool pipeline_encode_raw(struct pipeline *pl, struct raw_frame *raw, uint64_t now);

/* ---- pipeline_open.c */
int pipeline_open_source(struct pipeline *pl, enum source_kind kind, struct source **out,
			 enum source_kind *opened);
int pipeline_open_encoder(struct pipeline *pl, enum encoder_kind want, bool first,
			  struct encoder **out, enum encoder_kind *opened);
void pipeline_remember_source(struct pipeline *pl, struct source *src, uint64_t now);
void pipeline_remember_encoder(struct pipeline *pl, struct encoder *enc);
void pipeline_update_orientation(struct pipeline *pl, const struct source *src);
void pipeline_retry_source(struct pipeline *pl, uint64_t now);
void pipeline_retry_encoder(struct pipeline *pl, uint64_t now);
void pipeline_reopen_encoder(struct pipeline *pl, uint64_t now, const char *why);
/* pl->opening at create: no thread, its poll on the loop */
void pipeline_opening_init(struct pipeline *pl);
void pipeline_opening_finish(struct encoder_opening *o, bool from_loop);

/* ---- pipeline_on_demand.c */
void pipeline_release_held(struct pipeline *pl);
bool pipeline_viewers_now(const struct pipeline *pl);
void pipeline_hold_raw(struct pipeline *pl, struct raw_frame *raw, uint64_t now);

/* ---- pipeline_standby.c */
void pipeline_wake(struct pipeline *pl, uint64_t now);

/* ---- pipeline_snapshot_size.c */
/* the full encoder's output pool and poll, at create */
int pipeline_full_init(struct pipeline *pl);
void pipeline_release_full_held(struct pipeline *pl);
void pipeline_take_full(struct pipeline *pl, struct source *src);
void pipeline_setup_full(struct pipeline *pl, struct source *src);

/* ---- pipeline_controls.c */
/* at create: the state directory found, the kept controls read, the wanted ones set */
void pipeline_controls_init(struct pipeline *pl);
void pipeline_apply_controls(struct pipeline *pl, struct source *src);
/* SIGHUP: --control changed (pl->opt has the new ones): the wanted ones again (configured, then
 * kept), applied now */
void pipeline_controls_changed(struct pipeline *pl);

#endif
