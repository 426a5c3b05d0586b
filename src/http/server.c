/* The HTTP server's public face (include/mjpegd/http/server.h): creating it, publishing frames
 * to its clients, the housekeeping tick, live limits, shutdown. The rooms it is built of are
 * listed in server_internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/http/auth_worker.h"
#include "mjpegd/http/multipart.h"
#include "mjpegd/log.h"
#include "server_internal.h"

/* The options create and SIGHUP share (server_apply()); the gate's are gate_apply()'s. */
static void apply_options(struct server *s, const struct server_options *o)
{
	s->max_clients = o->max_clients;
	s->header_timeout_ns = (uint64_t)o->header_timeout_ms * NSEC_PER_MSEC;
	s->idle_timeout_ns = (uint64_t)o->idle_timeout_ms * NSEC_PER_MSEC;
	s->first_frame_timeout_ns = (uint64_t)o->first_frame_timeout_ms * NSEC_PER_MSEC;
	s->controls_writable = o->controls_writable;
	s->on_demand = o->on_demand;
}

int server_create(const struct server_params *p, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = p->loop;
	apply_options(s, &p->opt);
	s->status_fill = p->status_fill;
	s->status_ctx = p->status_ctx;
	s->started_ns = now_mono_ns();
	s->controls_json = p->controls_json;
	s->controls_set = p->controls_set;
	s->controls_ctx = p->controls_ctx;
	s->controls_log_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 1);
	s->want_frame = p->want_frame;
	s->frame_current = p->frame_current;
	s->want_full = p->want_full;
	s->want_frame_ctx = p->want_frame_ctx;
	int r = gate_init(s, p);
	if (r >= 0)
		r = listeners_open(s, p);
	if (r >= 0)
		r = gate_start_auth(s, p);
	if (r < 0) {
		server_destroy(s);
		return r;
	}
	*out = s;
	return 0;
}

int server_start(struct server *s)
{
	listeners_start(s);
	return 0;
}

static void publish_to(struct server *s, struct client *c)
{
	if (c->state == CLIENT_STREAMING && !c->send_pending)
		stream_send_newest(c);
	else if (c->state == CLIENT_WAITING && !c->full && s->live_seen &&
		 s->newest->sequence > c->wait_after_sequence)
		snapshot_respond(c);
}

void server_publish(struct server *s, struct frame *f)
{
	/* The part header is written here, once per frame, and sent from the frame by every stream
	 * client (no copy per client). */
	f->own_exif_off = f->own_exif_len = 0;
	if (f->exif_orientation > EXIF_ORIENTATION_NORMAL &&
	    jpeg_find_exif(f->data, f->len, &f->own_exif_off, &f->own_exif_len) <= 0)
		f->own_exif_off = f->own_exif_len = 0;
	int n = multipart_part_header(f->part_header, sizeof(f->part_header), frame_jpeg_len(f),
				      f->timestamp_us);
	f->part_header_len = n > 0 ? (size_t)n : 0;
	if (s->newest)
		frame_unref(s->newest);
	s->newest = frame_ref(f);
	if (!f->placeholder)
		s->live_seen = true;
	/* From publish_from to the end, then from the head up to publish_from: every client once,
	 * the first one another each frame. A client freed on the way (answering a waiting
	 * snapshot may close it) moves publish_from on (client_free()), so the second pass still
	 * stops where the first began; when that was the last client, publish_from becomes NULL
	 * and the second pass runs to the end of the list, which the first pass never reached. */
	struct client *next, *start = s->publish_from;
	for (struct client *c = start ? start : s->clients; c; c = next) {
		next = c->next;
		publish_to(s, c);
	}
	if (start)
		for (struct client *c = s->clients; c && c != s->publish_from; c = next) {
			next = c->next;
			publish_to(s, c);
		}
	s->publish_from = s->publish_from ? s->publish_from->next : s->clients ? s->clients->next : NULL;
}

void server_publish_full(struct server *s, struct frame *f)
{
	f->own_exif_off = f->own_exif_len = 0;
	if (f->exif_orientation > EXIF_ORIENTATION_NORMAL &&
	    jpeg_find_exif(f->data, f->len, &f->own_exif_off, &f->own_exif_len) <= 0)
		f->own_exif_off = f->own_exif_len = 0;
	if (s->newest_full)
		frame_unref(s->newest_full);
	s->newest_full = frame_ref(f);
	struct client *next;
	for (struct client *c = s->clients; c; c = next) {
		next = c->next;
		if (c->state == CLIENT_WAITING && c->full && f->sequence > c->wait_after_sequence)
			snapshot_respond(c);
	}
}

size_t frame_jpeg_len(const struct frame *f)
{
	struct iovec iov[JPEG_ORIENTED_IOV_MAX];
	unsigned n = frame_jpeg_iov(f, iov);
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

bool newest_current(const struct server *s)
{
	const struct frame *f = s->newest;
	return f && (!s->on_demand || f->placeholder || !s->frame_current ||
		     s->frame_current(s->want_frame_ctx));
}

void server_want_frame(struct server *s)
{
	if (s->on_demand && s->want_frame && !s->shutting_down)
		s->want_frame(s->want_frame_ctx);
}

struct frame *server_newest(struct server *s)
{
	return s->newest;
}

void server_forget_newest(struct server *s)
{
	if (s->newest)
		frame_unref(s->newest);
	s->newest = NULL;
	if (s->newest_full)
		frame_unref(s->newest_full);
	s->newest_full = NULL;
}

void server_tick(struct server *s, uint64_t now)
{
	listeners_tick(s, now);
	bool waiting = false, waiting_full = false;
	struct client *next;
	for (struct client *c = s->clients; c; c = next) {
		next = c->next;
		if (c->state == CLIENT_CLOSING)
			continue;
		if (c->kind == KIND_STREAM && now - c->fps_window_start_ns >= FPS_WINDOW_NS) {
			c->fps = (double)c->fps_window_frames * (double)NSEC_PER_SEC /
				 (double)(now - c->fps_window_start_ns);
			c->fps_window_frames = 0;
			c->fps_window_start_ns = now;
		}
		waiting |= c->state == CLIENT_WAITING && !c->full;
		waiting_full |= c->state == CLIENT_WAITING && c->full;
		if (!c->deadline_ns || now < c->deadline_ns)
			continue;
		if (c->send_pending) {
			client_close(c, "send stalled (client not reading)");
		} else if (c->state == CLIENT_WAITING) {
			respond_no_frame(c, c->head_only);
		} else if (c->state == CLIENT_AUTHENTICATING && c->auth_job < 0) {
			auth_begin(c); /* the slow-down is over */
		} else if (c->state == CLIENT_AUTHENTICATING) {
			auth_worker_abandon(s->gate.auth_worker, c->auth_job);
			log_warn("client %llu (%s): no verdict on its password in time: 503",
				 (unsigned long long)c->id, c->addr);
			auth_answer(c, 503, false);
		} else if (c->state == CLIENT_READING && (c->in_len > 0 || c->requests == 0)) {
			/* slowloris or silent connection: tell it, then hang up */
			c->keep_alive = false;
			c->deadline_ns = 0;
			if (c->recv_pending)
				client_cancel(c, &c->recv_op);
			respond_error(c, 408, NULL, false);
		} else {
			client_close(c, "idle");
		}
	}
	/* An encode asked for may have failed (an encoder error, a busy encoder): ask again. */
	if (waiting)
		server_want_frame(s);
	/* The same for the full size; when none can come any more (the camera reopened without
	 * its second stream), the snapshots waiting for one wait for the stream's instead. */
	if (waiting_full && !s->shutting_down && s->want_full(s->want_frame_ctx) < 0)
		for (struct client *c = s->clients; c; c = next) {
			next = c->next;
			if (c->state != CLIENT_WAITING || !c->full)
				continue;
			/* as handle_snapshot() does for the stream's size */
			c->full = false;
			if (s->newest && s->live_seen && newest_current(s)) {
				snapshot_respond(c);
				continue;
			}
			c->wait_after_sequence = s->newest && s->live_seen ? s->newest->sequence : 0;
			server_want_frame(s);
		}
}

void server_apply(struct server *s, const struct server_options *opt)
{
	apply_options(s, opt);
	gate_apply(s, opt);
}

void server_shutdown(struct server *s)
{
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	if (s->gate.auth_worker)
		auth_worker_stop(s->gate.auth_worker);
	listeners_stop(s);
	struct client *next;
	for (struct client *c = s->clients; c; c = next) {
		next = c->next;
		client_close(c, "shutting down");
	}
}

bool server_drained(const struct server *s)
{
	if (s->clients || (s->gate.auth_worker && !auth_worker_idle(s->gate.auth_worker)))
		return false;
	return listeners_idle(s);
}

void server_destroy(struct server *s)
{
	if (!s)
		return;
	/* Anything still in flight dies with the ring (the caller destroys it after us). */
	while (s->clients) {
		struct client *c = s->clients;
		c->state = CLIENT_CLOSING;
		c->recv_pending = c->send_pending = false;
		client_free(c);
	}
	listeners_close(s);
	frame_unref(s->newest);
	if (s->newest_full)
		frame_unref(s->newest_full);
	gate_destroy(s);
	free(s);
}

const struct server_stats *server_get_stats(const struct server *s)
{
	return &s->stats;
}
