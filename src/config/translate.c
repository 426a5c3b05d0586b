/* What each module is given of the configuration (include/mjpegd/config.h): the module's own
 * options struct, declared in its header, filled here and nowhere else. The pipeline's and the
 * devices' strings are copied (each buffer at least as long as config's: checked below), so they
 * keep nothing that points into a struct config, which a reload replaces; the server's point into
 * cfg and are read at once (server_create(), server_apply() copy what they keep). */
#include <stdio.h>

#include "mjpegd/config.h"
#include "mjpegd/devices.h"
#include "mjpegd/pipeline.h"
#include "mjpegd/http/server.h"

#define FITS(to, from) _Static_assert(sizeof(to) >= sizeof(from), #to " is shorter than " #from)

FITS(((struct devices_options *)0)->source_path, ((struct config *)0)->source_path);
FITS(((struct devices_options *)0)->encoder_path, ((struct config *)0)->encoder_path);
FITS(((struct devices_options *)0)->inject_fault, ((struct config *)0)->inject_fault);
FITS(((struct pipeline_options *)0)->state_dir, ((struct config *)0)->state_dir);
/* the server's own copies (src/http/server_internal.h) */
_Static_assert(sizeof(((struct config *)0)->allow_origin) <= SERVER_ORIGIN_MAX,
	       "--allow-origin longer than the server keeps");
_Static_assert(sizeof(((struct config *)0)->auth_exempt) <= SERVER_AUTH_EXEMPT_MAX,
	       "--auth-exempt longer than the server keeps");

void config_devices_options(const struct config *cfg, struct devices_options *out)
{
	*out = (struct devices_options){
		.source = cfg->source,
		.encoder = cfg->encoder,
		.m2m_format = cfg->m2m_format,
		.capture_format = cfg->capture_format,
		.width = cfg->width,
		.height = cfg->height,
		.fps = cfg->fps,
		.camera_buffers = cfg->camera_buffers,
		.snapshot_width = cfg->snapshot_width,
		.snapshot_height = cfg->snapshot_height,
		.snapshot_buffers = cfg->snapshot_buffers,
		.rotation = cfg->rotation,
		.hflip = cfg->hflip,
		.vflip = cfg->vflip,
	};
	snprintf(out->source_path, sizeof(out->source_path), "%s", cfg->source_path);
	snprintf(out->encoder_path, sizeof(out->encoder_path), "%s", cfg->encoder_path);
	snprintf(out->inject_fault, sizeof(out->inject_fault), "%s", cfg->inject_fault);
}

void config_pipeline_options(const struct config *cfg, struct pipeline_options *out)
{
	*out = (struct pipeline_options){
		.quality = cfg->quality,
		.encoder_fallback = cfg->encoder_fallback,
		.source_timeout_ms = cfg->source_timeout_ms,
		.encoder_timeout_ms = cfg->encoder_timeout_ms,
		.on_demand = cfg->on_demand,
		.standby_after = cfg->standby_after,
		.controls = cfg->controls,
	};
	config_devices_options(cfg, &out->devices);
	snprintf(out->state_dir, sizeof(out->state_dir), "%s", cfg->state_dir);
}

void config_server_options(const struct config *cfg, struct server_options *out)
{
	*out = (struct server_options){
		.listen = cfg->listen,
		.n_listen = cfg->n_listen,
		.max_clients = cfg->max_clients,
		.header_timeout_ms = cfg->header_timeout_ms,
		.idle_timeout_ms = cfg->idle_timeout_ms,
		.first_frame_timeout_ms = cfg->source_timeout_ms,
		.auth_exempt = cfg->auth_exempt,
		.allow_origin = cfg->allow_origin,
		.trusted_proxy = cfg->trusted_proxy,
		.controls_writable = cfg->controls_writable,
		/* standby: a request asks the pipeline for a frame (that wakes it) as on demand does */
		.on_demand = cfg->on_demand || cfg->standby_after,
	};
}
