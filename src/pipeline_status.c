/* /status and systemd's STATUS= line, from the pipeline's fields (include/mjpegd/http/status.h). */
#include <stdio.h>

#include "mjpegd/clock.h"

#include "pipeline_internal.h"

static void fill_device(struct status_device *d, const struct supervised_device *sup)
{
	d->state = sup->state;
	d->restarts = sup->restarts;
	d->failures = sup->failures;
	d->last_error = sup->last_error;
}

void pipeline_fill_status(struct pipeline *pl, struct status_snapshot *s)
{
	struct encoder_stats es = pl->encoder_stats_retired;
	struct source_stats ss = pl->source_stats_retired;
	for (unsigned i = 0; i < pl->n_retired_encoders; i++)
		add_stats_encoder(&es, &pl->retired_encoders[i]->stats);
	if (pl->encoder)
		add_stats_encoder(&es, &pl->encoder->stats);
	if (pl->fallback)
		add_stats_encoder(&es, &pl->fallback->stats);
	for (unsigned i = 0; i < pl->n_retired_sources; i++)
		add_stats_source(&ss, &pl->retired_sources[i]->stats);
	if (pl->source)
		add_stats_source(&ss, &pl->source->stats);
	/* While a device is down, say so rather than name the instance that failed. */
	s->source = pl->source ? pl->source_description : "none (failed: see devices.source)";
	s->encoder = pl->encoder ? pl->encoder_description
		     : pl->fallback ? pl->fallback->description
				    : "none (failed: see devices.encoder)";
	s->width = pl->source ? pl->source->width : pl->opt.devices.width;
	s->height = pl->source ? pl->source->height : pl->opt.devices.height;
	s->fps_target = pl->opt.devices.fps;
	s->fps_measured = pl->fps;
	s->fps_captured = pl->fps_captured;
	s->frames_captured = ss.frames_captured;
	s->frames_skipped_idle = pl->frames_skipped_idle;
	s->on_demand = pl->opt.on_demand;
	s->idle = pl->opt.on_demand && !pipeline_viewers_now(pl);
	s->frames_encoded = es.frames_encoded;
	s->frames_dropped = ss.frames_dropped + pl->frames_dropped;
	s->encode_errors = es.encode_errors;
	s->frames_cut = es.frames_cut;
	s->dmabuf_imports = es.dmabuf_imports;
	s->max_gap_ms = (double)gapwin_max_ns(&pl->live_gaps, now_mono_ns()) / 1e6;
	s->frames_not_published = pl->frames_not_published;
	s->bytes_encoded = pl->bytes_encoded;
	s->bytes_copied = es.bytes_copied;
	s->bytes_copied_per_frame =
		es.frames_encoded ? (double)es.bytes_copied / (double)es.frames_encoded : 0.0;
	s->frame_pool_capacity = pl->pool.capacity;
	s->frame_pool_in_use = pl->pool.in_use;
	s->frame_pool_bytes = pl->pool.bytes_reserved;
	fill_device(&s->source_device, &pl->source_sup);
	fill_device(&s->encoder_device, &pl->encoder_sup);
	s->encoder_fallback = pl->fallback != NULL;
	s->m2m_refused = pl->dev.m2m_refused;
	s->rotation = pl->opt.devices.rotation;
	s->hflip = pl->opt.devices.hflip;
	s->vflip = pl->opt.devices.vflip;
	s->sensor_transform = pl->orientation_sensor;
	s->exif_orientation = pl->exif_orientation;
	s->placeholder = pl->placeholders.showing;
	s->snapshot_full = pipeline_snapshot_size(pl, &s->snapshot_width, &s->snapshot_height);
	s->snapshot_configured_width = pl->opt.devices.snapshot_width;
	s->snapshot_configured_height = pl->opt.devices.snapshot_height;
	s->snapshot_buffers = pl->opt.devices.snapshot_buffers;
	s->snapshot_buffers_bytes = s->snapshot_full ? pl->source->full_bytes : 0;
	s->snapshot_pool_bytes = pl->full_pool.bytes_reserved;
	s->snapshots_encoded = pl->full_encoded;
	s->snapshot_encode_errors = pl->full_errors;
	s->snapshot_frames_skipped = pl->full_skipped;
	s->standby_after = pl->opt.standby_after;
	s->standby_state = pl->standby ? "standby" : pl->wake_ns ? "waking" : "active";
	s->standby_entered = pl->standby_entered;
	s->standby_wake_ms = pl->wake_ms;
}

void pipeline_describe(const struct pipeline *pl, char *buf, size_t len)
{
	if (pl->standby) {
		snprintf(buf, len, "standby (camera and encoder closed until a request)");
		return;
	}
	snprintf(buf, len, "source %s, encoder %s%s%s", device_state_name(pl->source_sup.state),
		 device_state_name(pl->encoder_sup.state), pl->fallback ? " (software fallback)" : "",
		 pl->opt.on_demand && !pipeline_viewers_now(pl) ? ", idle (encoding on demand)" : "");
}
