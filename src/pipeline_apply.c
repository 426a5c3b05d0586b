/* SIGHUP's new options (include/mjpegd/pipeline.h: pipeline_apply()): what changed is decided
 * from the options alone (pipeline_options_changes(), pure and unit-tested), then only the device
 * it concerns is reopened. */
#include <stdint.h>
#include <string.h>

#include "mjpegd/clock.h"
#include "mjpegd/log.h"

#include "pipeline_internal.h"

static bool controls_equal(const struct control_assignments *a, const struct control_assignments *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->a[i].name, b->a[i].name) || strcmp(a->a[i].value, b->a[i].value))
			return false;
	return true;
}

void pipeline_options_changes(const struct pipeline_options *old,
			      const struct pipeline_options *new, struct pipeline_changes *c)
{
	const struct devices_options *o = &old->devices, *n = &new->devices;
	struct orientation_plan plan, old_plan;
	orientation_plan(n->rotation, n->hflip, n->vflip, &plan);
	orientation_plan(o->rotation, o->hflip, o->vflip, &old_plan);
	*c = (struct pipeline_changes){
		.quality = new->quality != old->quality,
		.encoder = n->encoder != o->encoder || strcmp(n->encoder_path, o->encoder_path) ||
			   n->m2m_format != o->m2m_format,
		.source = n->source != o->source || n->capture_format != o->capture_format ||
			  strcmp(n->source_path, o->source_path) || n->width != o->width ||
			  n->height != o->height || n->fps != o->fps ||
			  n->camera_buffers != o->camera_buffers ||
			  n->snapshot_width != o->snapshot_width ||
			  n->snapshot_height != o->snapshot_height ||
			  n->snapshot_buffers != o->snapshot_buffers,
		.sensor = !sensor_transform_equal(&plan.sensor, &old_plan.sensor),
		.size = n->width != o->width || n->height != o->height,
		.snapshot_size = n->snapshot_width != o->snapshot_width ||
				 n->snapshot_height != o->snapshot_height,
		.controls = !controls_equal(&new->controls, &old->controls),
	};
}

/* The camera and the encoder: reopened for what changed (pl->opt holds the new options). */
static void apply_devices(struct pipeline *pl, const struct pipeline_changes *c)
{
	const struct devices_options *o = &pl->opt.devices;
	uint64_t now = now_mono_ns();
	bool source_changed = c->source;
	if (c->snapshot_size)
		pl->full_warned = false; /* a source without a second stream says so again */
	/* A new rotation reopens only a camera that turns its sensor, and only when the sensor's
	 * part changed: what EXIF carries goes with the next frame published. */
	if (c->sensor && (pl->source_kind == SOURCE_LIBCAMERA ||
			  (pl->source && pl->source->sensor_transformed)))
		source_changed = true;
	else if (pl->source)
		pipeline_update_orientation(pl, pl->source);
	if (c->size)
		placeholders_render(&pl->placeholders, o->width, o->height);
	if (c->encoder) {
		pl->encoder_kind = o->encoder;
		devices_probe(&pl->dev);
	}
	if ((c->encoder || source_changed) &&
	    devices_plan_capture(&pl->dev, o->capture_format) < 0) {
		log_warn("--format: the camera's format is chosen as with auto");
		devices_plan_capture(&pl->dev, 0);
	}
	if (pl->standby) {
		if (source_changed)
			pl->source_kind = o->source;
		return; /* opened as configured now at the wake-up */
	}
	if (source_changed) {
		log_notice("source: reopening for the new configuration");
		pipeline_detach_source(pl);
		supervisor_stopped(&pl->source_sup, now);
		pl->source_kind = o->source;
		pipeline_retry_source(pl, now);
	}
	if (c->encoder && pl->source) {
		pipeline_stop_fallback(pl);
		pipeline_reopen_encoder(pl, now, "the new configuration");
	}
}

void pipeline_apply(struct pipeline *pl, const struct pipeline_options *new)
{
	struct pipeline_changes c;
	pipeline_options_changes(&pl->opt, new, &c);
	pl->opt = *new;
	devices_apply(&pl->dev, &new->devices);
	if (c.quality) {
		int r = pipeline_set_quality(pl, new->quality);
		if (r < 0)
			log_warn_errno(r, "SIGHUP: quality %u not applied", new->quality);
	}
	/* Camera or encoder settings restart only the device they concern; changed --control
	 * values are applied. */
	apply_devices(pl, &c);
	if (c.controls)
		pipeline_controls_changed(pl);
}
