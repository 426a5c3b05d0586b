/* The HTTP server's routes: which path takes which method, and every handler: the stream, the
 * snapshot (waiting for the camera's first frame), /status and /metrics, the camera controls,
 * the page and the CORS preflight. A handler answers through respond() (client.c); who may be
 * served at all was decided before (gate.c). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "mjpegd/control.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/http/multipart.h"
#include "server_internal.h"

static void status_collect(struct server *s, struct status_snapshot *st, struct status_client **list)
{
	memset(st, 0, sizeof(*st));
	if (s->status_fill)
		s->status_fill(s->status_ctx, st);
	uint64_t now = now_mono_ns();
	st->clients = s->stats.clients;
	st->stream_clients = s->stats.stream_clients;
	st->max_clients = s->max_clients;
	st->clients_rejected = s->stats.clients_rejected;
	st->frames_sent = s->stats.frames_sent;
	st->bytes_sent = s->stats.bytes_sent;
	*list = calloc(s->n_clients ? s->n_clients : 1, sizeof(**list));
	size_t n = 0;
	for (struct client *c = s->clients; c && *list; c = c->next) {
		if (c->state == CLIENT_CLOSING)
			continue;
		struct status_client *sc = &(*list)[n++];
		sc->id = c->id;
		snprintf(sc->addr, sizeof(sc->addr), "%s", c->addr);
		sc->kind = c->kind == KIND_STREAM ? "stream" : c->kind == KIND_SNAPSHOT ? "snapshot" : "http";
		sc->fps = c->fps;
		sc->frames_sent = c->frames_sent;
		sc->frames_skipped = c->frames_skipped;
		sc->connected_ms = (now - c->connected_ns) / NSEC_PER_MSEC;
	}
	st->client_list = *list;
	st->n_clients_listed = *list ? n : 0;
}

static void respond_status(struct client *c, bool prometheus, bool head_only)
{
	struct status_snapshot st;
	struct status_client *list = NULL;
	status_collect(c->srv, &st, &list);
	size_t len = 0;
	char *doc = prometheus ? status_render_prometheus(&st, &len) : status_render_json(&st, &len);
	free(list);
	if (!doc) {
		respond_error(c, 500, NULL, head_only);
		return;
	}
	respond(c, &(struct response){
			   .status = 200,
			   .content_type = prometheus ? "text/plain; version=0.0.4; charset=utf-8"
						      : "application/json",
			   .body = doc, .len = len, .heap_body = doc, .head_only = head_only });
}

static void stream_start(struct client *c, const struct http_request *req, uint64_t min_interval_ns)
{
	struct server *s = c->srv;
	bool head_only = req->method == HTTP_METHOD_HEAD;
	c->keep_alive = false;
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 200 OK\r\n"
			 "Server: mjpegd/" MJPEGD_VERSION "\r\n"
			 "Content-Type: " MULTIPART_CONTENT_TYPE "\r\n"
			 "Cache-Control: no-cache, no-store, must-revalidate\r\n"
			 "Pragma: no-cache\r\n"
			 "%s"
			 "Connection: close\r\n"
			 "\r\n%s",
			 s->gate.cors, head_only ? "" : MULTIPART_FIRST_BOUNDARY);
	if (head_only) {
		c->iov[0] = (struct iovec){c->head, (size_t)n};
		client_set_state(c, CLIENT_RESPONDING);
		client_send_iov(c, 1);
		return;
	}
	c->kind = KIND_STREAM;
	s->stats.stream_clients++;
	/* Keep at most 64 KiB unsent in the kernel: a viewer on a slow link then waits for its
	 * socket to drain and gets the newest frame, instead of queueing megabytes of old ones and
	 * watching video seconds late (measured in bench/: 5.3 s behind after 10 s at 500 kB/s
	 * without it, 0.26 s with it). */
	int lowat = 64 * 1024;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
	c->fps_cap.interval_ns = min_interval_ns;
	c->fps_window_start_ns = now_mono_ns();
	client_set_state(c, CLIENT_STREAMING);
	/* On demand the newest frame may be old: the first part is one published from now on, and
	 * the newest camera frame is encoded for it now, not at the next capture. */
	c->wait_after_sequence = s->newest && !newest_current(s) ? s->newest->sequence : 0;
	server_want_frame(s);
	c->iov[0] = (struct iovec){c->head, (size_t)n};
	client_send_iov(c, 1);
}

void stream_send_newest(struct client *c)
{
	struct frame *f = c->srv->newest;
	if (c->state != CLIENT_STREAMING || c->send_pending || !f)
		return;
	if (c->sent_any && f->sequence <= c->last_sequence)
		return;
	/* on demand, the first frame is a fresh one (asked for when the stream began) */
	if (!c->sent_any && f->sequence <= c->wait_after_sequence)
		return;
	if (!rate_cap_take(&c->fps_cap, loop_now(c->srv->loop)))
		return;
	if (c->sent_any && f->sequence > c->last_sequence + 1)
		c->frames_skipped += f->sequence - c->last_sequence - 1;
	c->last_sequence = f->sequence;
	c->sent_any = true;
	c->frame = frame_ref(f);
	/* part header, the JPEG (its EXIF segment an iovec of its own), the closing boundary */
	c->iov[0] = (struct iovec){f->part_header, f->part_header_len};
	unsigned n = 1 + frame_jpeg_iov(f, c->iov + 1);
	c->iov[n++] = (struct iovec){(void *)MULTIPART_PART_TRAILER, STRLEN(MULTIPART_PART_TRAILER)};
	client_send_iov(c, n);
}

void respond_no_frame(struct client *c, bool head_only)
{
	respond(c, &(struct response){ .status = 503, .content_type = TEXT_PLAIN,
				       .body = "503 no frame yet\n", .len = STRLEN("503 no frame yet\n"),
				       .extra = "Retry-After: 1\r\n", .head_only = head_only });
}

void handle_snapshot(struct client *c, bool head_only, bool full)
{
	struct server *s = c->srv;
	struct frame *f = s->newest;
	c->kind = KIND_SNAPSHOT;
	c->full = false;
	if (full && s->want_full && !s->shutting_down && s->want_full(s->want_frame_ctx) == 0) {
		/* Always a fresh one: the newest full-size frame the camera gave when this request
		 * came, encoded now on the encoder's thread (or the one being encoded: it came at
		 * most a frame interval ago). server_publish_full() or server_tick() answers. */
		c->full = true;
		c->head_only = head_only;
		c->wait_after_sequence = s->newest_full ? s->newest_full->sequence : 0;
		c->deadline_ns = now_mono_ns() + s->first_frame_timeout_ns;
		client_set_state(c, CLIENT_WAITING);
		return;
	}
	if (!f || !s->live_seen || !newest_current(s)) {
		/* Just started (with socket activation this very request started us): wait for the
		 * camera's first frame (the "starting" placeholder is no snapshot) as long as the
		 * source has to deliver one. On demand with nobody watching, the newest frame may be
		 * old: wait for the one asked for now, any frame published after this request.
		 * server_publish() or server_tick() answers. */
		c->head_only = head_only;
		c->wait_after_sequence = f && s->live_seen ? f->sequence : 0;
		c->deadline_ns = now_mono_ns() + s->first_frame_timeout_ns;
		client_set_state(c, CLIENT_WAITING);
		server_want_frame(s);
		return;
	}
	c->head_only = head_only;
	snapshot_respond(c);
}

void snapshot_respond(struct client *c)
{
	struct frame *f = c->full ? c->srv->newest_full : c->srv->newest;
	bool head_only = c->head_only;
	char extra[128];
	/* During an outage the picture says why; Retry-After tells a poller when to look again. */
	snprintf(extra, sizeof(extra), "X-Timestamp: %llu.%06llu\r\n%s",
		 (unsigned long long)(f->timestamp_us / USEC_PER_SEC),
		 (unsigned long long)(f->timestamp_us % USEC_PER_SEC),
		 f->placeholder ? "Retry-After: 1\r\n" : "");
	respond(c, &(struct response){ .status = 200, .content_type = "image/jpeg", .body = f->data,
				       .len = frame_jpeg_len(f), .frame = frame_ref(f), .extra = extra,
				       .head_only = head_only, .jpeg = true });
}

/* OPTIONS: what a CORS preflight asks before a cross-origin request with credentials (a page's
 * fetch() with an Authorization header). allow is the path's route_allow(). 204 carries no
 * Content-Length (RFC 9110 §8.6). */
static void respond_options(struct client *c, const char *allow)
{
	struct server *s = c->srv;
	/* "Allow: GET, HEAD, OPTIONS\r\n" → "GET, HEAD, OPTIONS" */
	const char *methods = allow + STRLEN("Allow: ");
	int methods_len = (int)(strlen(methods) - STRLEN("\r\n"));
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 204 No Content\r\n"
			 "Server: mjpegd/" MJPEGD_VERSION "\r\n"
			 "%s%s%s%.*s%s"
			 "Connection: %s\r\n"
			 "\r\n",
			 allow, s->gate.cors,
			 s->gate.cors[0] ? "Access-Control-Allow-Methods: " : "",
			 s->gate.cors[0] ? methods_len : 0, methods,
			 s->gate.cors[0] ? "\r\nAccess-Control-Allow-Headers: Authorization, Content-Type\r\n"
					   "Access-Control-Max-Age: 600\r\n" : "",
			 c->keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(c->head)) {
		client_close(c, "response head too long");
		return;
	}
	client_set_state(c, CLIENT_RESPONDING);
	c->iov[0] = (struct iovec){c->head, (size_t)n};
	client_send_iov(c, 1);
}

static bool query_action_is(const struct http_request *req, const char *action)
{
	char v[32];
	return http_query_get(req->query, "action", v, sizeof(v)) >= 0 && strcmp(v, action) == 0;
}

static bool path_is(const struct http_request *req, const char *p)
{
	return req->path.len == strlen(p) && memcmp(req->path.p, p, req->path.len) == 0;
}
/* GET /controls */
static void respond_controls(struct client *c, bool head_only)
{
	struct server *s = c->srv;
	char *doc = NULL;
	size_t len = 0;
	int r = s->controls_json(s->controls_ctx, s->controls_writable, &doc, &len);
	if (r == -ENODEV) {
		respond(c, &(struct response){ .status = 503, .content_type = TEXT_PLAIN,
					       .body = "503 no camera at the moment\n",
					       .len = STRLEN("503 no camera at the moment\n"),
					       .extra = "Retry-After: 1\r\n", .head_only = head_only });
		return;
	}
	if (r < 0) {
		respond_error(c, 500, NULL, head_only);
		return;
	}
	respond(c, &(struct response){ .status = 200, .content_type = "application/json",
				       .body = doc, .len = len, .heap_body = doc,
				       .head_only = head_only });
}

static void respond_text(struct client *c, int status, const char *text)
{
	char *body = NULL;
	int len = asprintf(&body, "%d %s: %s\n", status, http_status_reason(status), text);
	if (len < 0) {
		client_close(c, "out of memory");
		return;
	}
	respond(c, &(struct response){ .status = status, .content_type = TEXT_PLAIN, .body = body,
				       .len = (size_t)len, .heap_body = body });
}

/* What a POST to the controls is refused for from its head alone (who may write, what it
 * sends); true when answered. *json: the body is JSON (else a form). */
static bool controls_refused(struct client *c, const struct http_request *req, bool command,
			     bool *json)
{
	struct server *s = c->srv;
	char why[320] = "";
	if (!s->controls_writable) {
		respond_text(c, 403, "the camera's controls are read-only here (--controls off)");
		return true;
	}
	if (!same_origin(c, req, why, sizeof(why))) {
		/* worth a line (a page tried to change the camera), but not one per attempt */
		if (ratelimit_allow(&s->controls_log_rl, now_mono_ns()))
			log_notice("client %llu (%s): controls not changed: %s%s",
				   (unsigned long long)c->id, c->addr, why,
				   s->controls_log_rl.suppressed ? " (and earlier ones not logged)" : "");
		ratelimit_take_suppressed(&s->controls_log_rl);
		respond_text(c, 403, why);
		return true;
	}
	*json = false;
	if (command) {
		char id[CONTROL_NAME_MAX], value[CONTROL_VALUE_MAX];
		if (http_query_get(req->query, "id", id, sizeof(id)) < 0 ||
		    http_query_get(req->query, "value", value, sizeof(value)) < 0) {
			respond_text(c, 400, "?action=command needs id=NAME and value=VALUE");
			return true;
		}
		return false;
	}
	const struct http_str *type = http_request_header(req, "Content-Type");
	struct http_str t = type ? *type : (struct http_str){ "", 0 };
	const char *semi = memchr(t.p, ';', t.len);
	if (semi)
		t.len = (size_t)(semi - t.p);
	while (t.len && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
		t.len--;
	if (str_is_nocase(t, "application/json")) {
		*json = true;
	} else if (!str_is_nocase(t, "application/x-www-form-urlencoded")) {
		respond_text(c, 415, "send application/json or application/x-www-form-urlencoded");
		return true;
	}
	return false;
}

/* POST /controls, or mjpg-streamer's POST /?action=command&id=NAME&value=VALUE */
static void handle_set_controls(struct client *c, const struct http_request *req, bool command)
{
	struct server *s = c->srv;
	bool json = false;
	if (controls_refused(c, req, command, &json))
		return;
	char why[320] = "";
	char form[2 * CONTROL_NAME_MAX + CONTROL_VALUE_MAX + 8];
	const char *body = req->body.p;
	size_t len = req->body.len;
	if (command) {
		char id[CONTROL_NAME_MAX], value[CONTROL_VALUE_MAX];
		/* controls_refused() made sure both are there */
		(void)http_query_get(req->query, "id", id, sizeof(id));
		(void)http_query_get(req->query, "value", value, sizeof(value));
		/* form-encode again: the control parser reads a form */
		int n = snprintf(form, sizeof(form), "%s=", id);
		for (const char *p = value; *p && (size_t)n + 4 < sizeof(form); p++)
			n += snprintf(form + n, sizeof(form) - (size_t)n, "%%%02X",
				      (unsigned char)*p);
		body = form;
		len = (size_t)n;
	}
	int r = s->controls_set(s->controls_ctx, body, len, json, why, sizeof(why));
	if (r == -ENODEV) {
		respond_text(c, 503, why);
		return;
	}
	if (r < 0) {
		/* the client is told why; the log need not repeat every bad value */
		log_debug("client %llu (%s): controls not changed: %s", (unsigned long long)c->id,
			  c->addr, why);
		respond_text(c, 400, why);
		return;
	}
	respond_controls(c, false);
}

/* What a request's path (and, on "/", its ?action=) names: one place for handle_request(),
 * routes_refuse_head() and respond_method_not_allowed(). */
enum route {
	ROUTE_NONE,     /* not served: 404 */
	ROUTE_SERVER,   /* "*" (OPTIONS only: the parser refuses it on any other method) */
	ROUTE_COMMAND,  /* /?action=command (mjpg-streamer's controls; POST only) */
	ROUTE_CONTROLS, /* /controls */
	ROUTE_STREAM,
	ROUTE_SNAPSHOT,
	ROUTE_STATUS,
	ROUTE_METRICS,
	ROUTE_PAGE,
};

static enum route route_of(const struct server *s, const struct http_request *req)
{
	bool root = path_is(req, "/");
	if (path_is(req, "*"))
		return ROUTE_SERVER;
	if (s->controls_json && root && query_action_is(req, "command"))
		return ROUTE_COMMAND;
	if (s->controls_json && path_is(req, "/controls"))
		return ROUTE_CONTROLS;
	if (path_is(req, "/stream.mjpg") || path_is(req, "/stream") ||
	    (root && query_action_is(req, "stream")))
		return ROUTE_STREAM;
	if (path_is(req, "/snapshot.jpg") || path_is(req, "/snapshot") ||
	    (root && query_action_is(req, "snapshot")))
		return ROUTE_SNAPSHOT;
	if (path_is(req, "/status"))
		return ROUTE_STATUS;
	if (path_is(req, "/metrics"))
		return ROUTE_METRICS;
	if (root || path_is(req, "/index.html"))
		return ROUTE_PAGE;
	return ROUTE_NONE;
}

/* The Allow header line ("Allow: …\r\n") of a route, "*" the server's as a whole; NULL for a
 * path not served (404). What OPTIONS answers and a 405 sends (RFC 9110 §15.5.6). */
static const char *route_allow(const struct server *s, enum route route)
{
	switch (route) {
	case ROUTE_NONE:
		return NULL;
	case ROUTE_SERVER:
		return s->controls_json ? ALLOW_WITH_POST : ALLOW_GET_HEAD_OPTIONS;
	case ROUTE_COMMAND:
		return "Allow: POST, OPTIONS\r\n";
	case ROUTE_CONTROLS:
		return ALLOW_WITH_POST;
	default:
		return ALLOW_GET_HEAD_OPTIONS;
	}
}

void respond_method_not_allowed(struct client *c, const struct http_request *req)
{
	const char *allow = route_allow(c->srv, route_of(c->srv, req));
	respond_error(c, 405, allow ? allow : ALLOW_GET_HEAD_OPTIONS, false);
}

void handle_request(struct client *c, const struct http_request *req)
{
	bool head_only = req->method == HTTP_METHOD_HEAD;
	c->requests++;
	c->full = false; /* set by handle_snapshot() for this request only */
	c->keep_alive = req->keep_alive && !c->srv->shutting_down;
	enum route route = route_of(c->srv, req);
	if (req->method == HTTP_METHOD_OTHER) {
		respond_method_not_allowed(c, req);
		return;
	}
	if (req->method == HTTP_METHOD_OPTIONS) {
		/* a preflight for a path we do not serve: what the request itself would get */
		const char *allow = route_allow(c->srv, route);
		if (allow)
			respond_options(c, allow);
		else
			respond_error(c, 404, NULL, false);
		return;
	}
	if (req->method == HTTP_METHOD_POST) {
		if (route == ROUTE_CONTROLS || route == ROUTE_COMMAND)
			handle_set_controls(c, req, route == ROUTE_COMMAND);
		else
			respond_method_not_allowed(c, req);
		return;
	}
	switch (route) {
	case ROUTE_COMMAND:
		/* GET never changes anything: mjpg-streamer's command form is taken as a POST */
		respond_error(c, 405, route_allow(c->srv, route), head_only);
		break;
	case ROUTE_CONTROLS:
		respond_controls(c, head_only);
		break;
	case ROUTE_STREAM: {
		uint64_t interval = 0;
		unsigned fps;
		int r = http_query_get_uint(req->query, "fps", 1, 120, &fps);
		if (r >= 0) {
			interval = NSEC_PER_SEC / fps;
		} else if (r != -ENOENT) {
			respond_error(c, 400, NULL, head_only);
			return;
		}
		stream_start(c, req, interval);
		break;
	}
	case ROUTE_SNAPSHOT: {
		char size[16];
		int r = http_query_get(req->query, "size", size, sizeof(size));
		if (r >= 0 && strcmp(size, "stream") && strcmp(size, "full")) {
			respond_text(c, 400, "size: give 'stream' (the stream's size) or 'full' (the "
					     "default: --snapshot-size's)");
			return;
		}
		handle_snapshot(c, head_only, r < 0 || strcmp(size, "stream") != 0);
		break;
	}
	case ROUTE_STATUS:
		respond_status(c, false, head_only);
		break;
	case ROUTE_METRICS:
		respond_status(c, true, head_only);
		break;
	case ROUTE_PAGE:
		respond(c, &(struct response){ .status = 200, .content_type = "text/html; charset=utf-8",
					       .body = server_index_html, .len = server_index_html_len,
					       .head_only = head_only });
		break;
	case ROUTE_NONE:
	case ROUTE_SERVER:
		respond_error(c, 404, NULL, head_only);
		break;
	}
}

/* The head of a request whose body is still to come (only POST's is waited for: the parser
 * answers a body on any other method itself). What handle_request() would refuse it for without
 * looking at the body is answered now; true then. */
bool routes_refuse_head(struct client *c, const struct http_request *req)
{
	if (req->method != HTTP_METHOD_POST)
		return false;
	enum route route = route_of(c->srv, req);
	if (route != ROUTE_CONTROLS && route != ROUTE_COMMAND) {
		respond_method_not_allowed(c, req);
		return true;
	}
	bool json;
	return controls_refused(c, req, route == ROUTE_COMMAND, &json);
}
