/* /status and /metrics rendering; see include/mjpegd/http/status.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/http/status.h"
#include "mjpegd/json.h"

static const char *dev_state(const struct status_device *d)
{
	return device_state_name(d->state);
}

static void prometheus_device(struct json_out *f, const char *name, const struct status_device *d)
{
	for (int i = 0; i < DEVICE_STATE_COUNT; i++)
		json_printf(f, "mjpegd_device_state{device=\"%s\",state=\"%s\"} %d\n", name,
			device_state_name((enum device_state)i), d->state == (enum device_state)i);
	json_printf(f, "mjpegd_device_restarts_total{device=\"%s\"} %u\n", name, d->restarts);
	json_printf(f, "mjpegd_device_failures_total{device=\"%s\"} %u\n", name, d->failures);
}

char *status_render_json(const struct status_snapshot *s, size_t *len)
{
	struct json_out o = JSON_OUT_HEAP;
	char wake_ms[32] = "null";
	if (s->standby_wake_ms >= 0)
		snprintf(wake_ms, sizeof(wake_ms), "%.1f", s->standby_wake_ms);
	json_printf(&o, "{\n  \"version\": ");
	json_string(&o, s->version);
	json_printf(&o, ",\n  \"uptime_ms\": %llu,\n  \"source\": ", (unsigned long long)s->uptime_ms);
	json_string(&o, s->source);
	json_printf(&o, ",\n  \"encoder\": ");
	json_string(&o, s->encoder);
	json_printf(&o,
		    ",\n"
		    "  \"width\": %u,\n"
		    "  \"height\": %u,\n"
		    "  \"fps_target\": %u,\n"
		    "  \"fps_measured\": %.2f,\n"
		    "  \"fps_captured\": %.2f,\n"
		    "  \"on_demand\": {\"enabled\": %s, \"idle\": %s},\n"
		    "  \"standby\": {\"after_s\": %u, \"state\": \"%s\", \"entered\": %llu, "
		    "\"last_wake_ms\": %s},\n"
		    "  \"frames\": {\"captured\": %llu, \"encoded\": %llu, \"skipped_idle\": %llu, \"sent\": %llu, "
		    "\"dropped\": %llu, \"encode_errors\": %llu, \"cut\": %llu, \"not_published\": %llu, \"max_gap_ms\": %.1f},\n"
		    "  \"dmabuf_imports\": %llu,\n"
		    "  \"bytes_encoded\": %llu,\n"
		    "  \"bytes_copied\": %llu,\n"
		    "  \"bytes_copied_per_frame\": %.1f,\n"
		    "  \"bytes_sent\": %llu,\n"
		    "  \"frame_pool\": {\"capacity\": %u, \"in_use\": %u, \"bytes\": %zu},\n"
		    "  \"loop\": {\"io_uring_enters\": %llu, \"completions\": %llu, \"sends_announced\": %llu, "
		    "\"waits_bounded\": %llu},\n"
		    "  \"devices\": {\n"
		    "    \"source\": {\"state\": \"%s\", \"restarts\": %u, \"failures\": %u, "
		    "\"last_error\": ",
		    s->width, s->height, s->fps_target, s->fps_measured, s->fps_captured,
		    s->on_demand ? "true" : "false", s->idle ? "true" : "false",
		    s->standby_after, s->standby_state ? s->standby_state : "active",
		    (unsigned long long)s->standby_entered, wake_ms,
		    (unsigned long long)s->frames_captured, (unsigned long long)s->frames_encoded,
		    (unsigned long long)s->frames_skipped_idle, (unsigned long long)s->frames_sent, (unsigned long long)s->frames_dropped,
		    (unsigned long long)s->encode_errors, (unsigned long long)s->frames_cut,
		    (unsigned long long)s->frames_not_published, s->max_gap_ms,
		    (unsigned long long)s->dmabuf_imports, (unsigned long long)s->bytes_encoded,
		    (unsigned long long)s->bytes_copied, s->bytes_copied_per_frame,
		    (unsigned long long)s->bytes_sent, s->frame_pool_capacity, s->frame_pool_in_use,
		    s->frame_pool_bytes, (unsigned long long)s->loop_enters,
		    (unsigned long long)s->loop_completions,
		    (unsigned long long)s->loop_sends_announced,
		    (unsigned long long)s->loop_waits_bounded, dev_state(&s->source_device),
		    s->source_device.restarts, s->source_device.failures);
	json_string(&o, s->source_device.last_error);
	json_printf(&o,
		    "},\n"
		    "    \"encoder\": {\"state\": \"%s\", \"restarts\": %u, \"failures\": %u, "
		    "\"last_error\": ",
		    dev_state(&s->encoder_device), s->encoder_device.restarts,
		    s->encoder_device.failures);
	json_string(&o, s->encoder_device.last_error);
	json_printf(&o, ", \"m2m_refused\": ");
	json_string(&o, s->m2m_refused ? s->m2m_refused : "");
	json_printf(&o,
		    ", \"software_fallback\": %s}},\n"
		    "  \"placeholder\": %s,\n"
		    "  \"orientation\": {\"rotation\": %u, \"hflip\": %s, \"vflip\": %s, "
		    "\"sensor\": {\"rotation\": %u, \"hflip\": %s, \"vflip\": %s}, "
		    "\"exif_orientation\": %u, \"exif\": \"%s\"},\n",
		    s->encoder_fallback ? "true" : "false", s->placeholder ? "true" : "false",
		    s->rotation, s->hflip ? "true" : "false", s->vflip ? "true" : "false",
		    s->sensor_transform.rotation, s->sensor_transform.hflip ? "true" : "false",
		    s->sensor_transform.vflip ? "true" : "false", s->exif_orientation,
		    exif_orientation_name((enum exif_orientation)s->exif_orientation));
	char configured[32];
	if (s->snapshot_configured_width)
		snprintf(configured, sizeof(configured), "%ux%u", s->snapshot_configured_width,
			 s->snapshot_configured_height);
	else
		snprintf(configured, sizeof(configured), "stream");
	json_printf(&o,
		    "  \"snapshot\": {\"width\": %u, \"height\": %u, \"full_size\": %s, "
		    "\"configured\": \"%s\", \"stream_width\": %u, \"stream_height\": %u, "
		    "\"buffers\": %u, \"buffers_bytes\": %zu, \"pool_bytes\": %zu, "
		    "\"encoded\": %llu, \"encode_errors\": %llu, \"skipped\": %llu},\n",
		    s->snapshot_width, s->snapshot_height, s->snapshot_full ? "true" : "false",
		    configured, s->width, s->height, s->snapshot_full ? s->snapshot_buffers : 0,
		    s->snapshot_buffers_bytes, s->snapshot_pool_bytes,
		    (unsigned long long)s->snapshots_encoded,
		    (unsigned long long)s->snapshot_encode_errors,
		    (unsigned long long)s->snapshot_frames_skipped);
	const struct status_libcamera_plugin *lp = &s->libcamera_plugin;
	const char *const plugin_fields[][2] = {
		{ "state", lp->state },		{ "path", lp->path },
		{ "built_against", lp->built_against }, { "running", lp->running },
		{ "installed", lp->installed }, { "error", lp->error },
		{ "hint", lp->hint },
	};
	json_printf(&o, "  \"libcamera_plugin\": {");
	for (size_t i = 0; i < sizeof(plugin_fields) / sizeof(plugin_fields[0]); i++) {
		json_printf(&o, "%s\"%s\": ", i ? ", " : "", plugin_fields[i][0]);
		json_string(&o, plugin_fields[i][1] ? plugin_fields[i][1] : "");
	}
	json_printf(&o,
		    "},\n"
		    "  \"clients\": {\"count\": %u, \"streams\": %u, \"max\": %u, \"rejected\": %llu, "
		    "\"list\": [",
		    s->clients, s->stream_clients, s->max_clients,
		    (unsigned long long)s->clients_rejected);
	for (size_t i = 0; i < s->n_clients_listed; i++) {
		const struct status_client *c = &s->client_list[i];
		json_printf(&o, "%s\n    {\"id\": %llu, \"addr\": ", i ? "," : "",
			    (unsigned long long)c->id);
		json_string(&o, c->addr);
		json_printf(&o, ", \"kind\": ");
		json_string(&o, c->kind);
		json_printf(&o,
			    ", \"fps\": %.2f, \"frames_sent\": %llu, \"frames_skipped\": %llu, "
			    "\"connected_ms\": %llu}",
			    c->fps, (unsigned long long)c->frames_sent,
			    (unsigned long long)c->frames_skipped, (unsigned long long)c->connected_ms);
	}
	json_printf(&o, "%s]}\n}\n", s->n_clients_listed ? "\n  " : "");
	return json_out_take(&o, len);
}

char *status_render_prometheus(const struct status_snapshot *s, size_t *len)
{
	struct json_out o = JSON_OUT_HEAP, *f = &o;
	/* Prometheus label values escape like JSON strings for the characters that matter here. */
	json_printf(f,
		    "# HELP mjpegd_info Build and pipeline description.\n"
		    "# TYPE mjpegd_info gauge\n"
		    "mjpegd_info{version=\"%s\",source=",
		    s->version);
	json_string(f, s->source);
	json_printf(f, ",encoder=");
	json_string(f, s->encoder);
	json_printf(f, ",width=\"%u\",height=\"%u\"} 1\n", s->width, s->height);
#define METRIC(name, type, help, fmt, val) \
	json_printf(f, "# HELP mjpegd_" name " " help "\n# TYPE mjpegd_" name " " type "\nmjpegd_" name " " fmt "\n", val)
	METRIC("uptime_seconds", "gauge", "Seconds since start.", "%.3f", (double)s->uptime_ms / 1000.0);
	METRIC("fps_target", "gauge", "Configured frames per second.", "%u", s->fps_target);
	METRIC("fps_measured", "gauge", "Frames encoded per second, last window.", "%.2f", s->fps_measured);
	METRIC("fps_captured", "gauge", "Frames from the camera per second, last window.", "%.2f", s->fps_captured);
	METRIC("frames_captured_total", "counter", "Frames produced by the source.", "%llu", (unsigned long long)s->frames_captured);
	METRIC("frames_encoded_total", "counter", "Frames produced by the encoder.", "%llu", (unsigned long long)s->frames_encoded);
	METRIC("frames_skipped_idle_total", "counter", "Camera frames not encoded because no client would receive them (--on-demand).", "%llu", (unsigned long long)s->frames_skipped_idle);
	METRIC("idle", "gauge", "1 while no stream client watches and frames are encoded only on request (--on-demand).", "%d", s->idle ? 1 : 0);
	METRIC("standby", "gauge", "1 while the camera and the encoder are closed for want of requests (--standby-after).", "%d", s->standby_state && !strcmp(s->standby_state, "standby") ? 1 : 0);
	METRIC("standby_entered_total", "counter", "Times standby was entered (--standby-after).", "%llu", (unsigned long long)s->standby_entered);
	METRIC("standby_wake_seconds", "gauge", "The last wake-up from standby: request to first frame (0 before the first).", "%.3f", s->standby_wake_ms >= 0 ? s->standby_wake_ms / 1000.0 : 0.0);
	METRIC("frames_sent_total", "counter", "Frame deliveries completed to clients.", "%llu", (unsigned long long)s->frames_sent);
	METRIC("frames_dropped_total", "counter", "Frames dropped before encoding (no free buffer).", "%llu", (unsigned long long)s->frames_dropped);
	METRIC("encode_errors_total", "counter", "Frames the encoder failed on.", "%llu", (unsigned long long)s->encode_errors);
	METRIC("dmabuf_imports_total", "counter", "M2M OUTPUT slots queued with another dma-buf than before (VPU imports on a Pi).", "%llu", (unsigned long long)s->dmabuf_imports);
	METRIC("frame_max_gap_seconds", "gauge", "Longest time between live frames over the last 10 s.", "%.3f", s->max_gap_ms / 1000.0);
	METRIC("frames_cut_total", "counter", "JPEGs the encoder cut short (no EOI), dropped.", "%llu", (unsigned long long)s->frames_cut);
	METRIC("frames_not_published_total", "counter", "Encoded frames not served (not JPEG).", "%llu", (unsigned long long)s->frames_not_published);
	METRIC("bytes_encoded_total", "counter", "Bytes of encoded frames.", "%llu", (unsigned long long)s->bytes_encoded);
	METRIC("bytes_copied_total", "counter", "Image bytes copied in user space.", "%llu", (unsigned long long)s->bytes_copied);
	METRIC("bytes_copied_per_frame", "gauge", "Image bytes copied in user space per encoded frame.", "%.1f", s->bytes_copied_per_frame);
	METRIC("bytes_sent_total", "counter", "Bytes sent to clients.", "%llu", (unsigned long long)s->bytes_sent);
	METRIC("clients", "gauge", "Connected clients.", "%u", s->clients);
	METRIC("stream_clients", "gauge", "Connected stream clients.", "%u", s->stream_clients);
	METRIC("max_clients", "gauge", "Configured client limit.", "%u", s->max_clients);
	METRIC("clients_rejected_total", "counter", "Connections refused with 503 at the client limit.", "%llu", (unsigned long long)s->clients_rejected);
	METRIC("frame_pool_in_use", "gauge", "Encoded frames referenced now.", "%u", s->frame_pool_in_use);
	METRIC("frame_pool_capacity", "gauge", "Encoded frame pool size.", "%u", s->frame_pool_capacity);
	METRIC("frame_pool_bytes", "gauge", "Bytes reserved by the frame pool.", "%zu", s->frame_pool_bytes);
	METRIC("snapshot_buffers_bytes", "gauge",
	       "Bytes of the camera's full-size raw buffers (--snapshot-size).", "%zu",
	       s->snapshot_buffers_bytes);
	METRIC("snapshots_full_encoded_total", "counter", "Full-size snapshots encoded.", "%llu",
	       (unsigned long long)s->snapshots_encoded);
	METRIC("io_uring_enters_total", "counter", "io_uring_enter calls by the event loop.", "%llu", (unsigned long long)s->loop_enters);
	METRIC("encoder_software_fallback", "gauge", "1 while the software encoder stands in.", "%d", s->encoder_fallback ? 1 : 0);
	METRIC("placeholder", "gauge", "1 while clients are shown the no-signal picture.", "%d", s->placeholder ? 1 : 0);
	METRIC("exif_orientation", "gauge", "EXIF Orientation sent with every live frame (1: none, 6: turned 90 degrees clockwise, 8: 270).", "%u", s->exif_orientation);
#undef METRIC
	json_printf(f, "# HELP mjpegd_device_state Supervisor state of each device (1 = current).\n"
		   "# TYPE mjpegd_device_state gauge\n"
		   "# HELP mjpegd_device_restarts_total Reopens after a failure.\n"
		   "# TYPE mjpegd_device_restarts_total counter\n"
		   "# HELP mjpegd_device_failures_total Failures seen.\n"
		   "# TYPE mjpegd_device_failures_total counter\n");
	prometheus_device(f, "source", &s->source_device);
	prometheus_device(f, "encoder", &s->encoder_device);
	return json_out_take(f, len);
}
