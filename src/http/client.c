/* The HTTP server's client: its receive/send state machine and its io_uring operations.
 *
 * Client state machine (one transition log line at debug level each):
 *
 *   READING ──request──▶ RESPONDING ──sent, keep-alive──▶ READING
 *      │                     └──sent, close──▶ CLOSING
 *      ├──head, body to come: refused by the head alone──▶ RESPONDING (then CLOSING)
 *      │                      Expect: 100-continue──▶ READING (100 Continue sent, body read)
 *      ├──stream request──▶ STREAMING (head, then newest frame whenever idle) ──error──▶ CLOSING
 *      ├──snapshot, no frame yet──▶ WAITING ──first frame / timeout (503)──▶ RESPONDING
 *      └──credentials (--auth-file)──▶ AUTHENTICATING ──verified──▶ READING (the request is served)
 *                                          └──wrong, or no verdict in time──▶ RESPONDING (401/503)
 *   any ──timeout / peer gone / shutdown──▶ CLOSING ──no op in flight──▶ freed
 *
 * A client has at most one recv and one send in flight; it is freed only when both completed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mjpegd/http/auth_worker.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "server_internal.h"

/* Where bytes nobody reads go: recv(MSG_TRUNC) on TCP discards without copying, so nothing is
 * written here, but sanitizers check that the range passed exists (NULL would not do). */
static char discard_sink[STREAM_UPLOAD_MAX];

static const char *const client_state_names[] = {
	[CLIENT_READING] = "reading",
	[CLIENT_RESPONDING] = "responding",
	[CLIENT_STREAMING] = "streaming",
	[CLIENT_WAITING] = "waiting for a frame",
	[CLIENT_AUTHENTICATING] = "checking credentials",
	[CLIENT_CLOSING] = "closing",
};

static void send_complete(struct loop_op *op, int res, unsigned flags);
static void recv_complete(struct loop_op *op, int res, unsigned flags);
static void client_recv(struct client *c);
static void client_free_input(struct client *c);

ssize_t socket_discard(int fd)
{
	return recv(fd, discard_sink, sizeof(discard_sink), MSG_DONTWAIT | MSG_TRUNC);
}

struct client *client_create(struct server *s, int fd)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = s;
	c->fd = fd;
	c->id = ++s->next_client_id;
	c->connected_ns = now_mono_ns();
	c->recv_op.complete = recv_complete;
	c->send_op.complete = send_complete;
	c->state = CLIENT_READING;
	c->sends_whole = true; /* an empty socket buffer */
	c->auth_job = -1;
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	s->stats.clients = s->n_clients;
	return c;
}

void client_set_state(struct client *c, enum client_state st)
{
	if (c->state == st)
		return;
	log_debug("client %llu (%s): %s → %s", (unsigned long long)c->id, c->addr,
		  client_state_names[c->state], client_state_names[st]);
	c->state = st;
}

void client_free(struct client *c)
{
	struct server *s = c->srv;
	if (s->publish_from == c)
		s->publish_from = c->next;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->kind == KIND_STREAM && s->stats.stream_clients > 0)
		s->stats.stream_clients--;
	s->n_clients--;
	s->stats.clients = s->n_clients;
	if (c->auth_job >= 0 && s->gate.auth_worker)
		auth_worker_abandon(s->gate.auth_worker, c->auth_job);
	frame_unref(c->frame);
	free(c->heap_body);
	client_free_input(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void client_maybe_free(struct client *c)
{
	if (c->state == CLIENT_CLOSING && !c->recv_pending && !c->send_pending)
		client_free(c);
}

void client_cancel(struct client *c, struct loop_op *op)
{
	struct io_uring_sqe *sqe = loop_sqe(c->srv->loop, NULL);
	io_uring_prep_cancel(sqe, op, 0);
}

void client_close(struct client *c, const char *why)
{
	if (c->state == CLIENT_CLOSING)
		return;
	log_debug("client %llu (%s): closing: %s", (unsigned long long)c->id, c->addr, why);
	client_set_state(c, CLIENT_CLOSING);
	/* shutdown() wakes an operation blocked on a peer that never reads; the cancels cover
	 * anything still queued. */
	shutdown(c->fd, SHUT_RDWR);
	if (c->recv_pending)
		client_cancel(c, &c->recv_op);
	if (c->send_pending)
		client_cancel(c, &c->send_op);
	client_maybe_free(c);
}

/* ---------------------------------------------------------------- sending */

static size_t iov_total(const struct msghdr *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

static void client_submit_send(struct client *c)
{
	struct io_uring_sqe *sqe = loop_sqe(c->srv->loop, &c->send_op);
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
	/* A stream's parts only: a response's completion may have more to do at once (close the
	 * connection, answer a pipelined request, read the body after a 100 Continue). */
	if (c->state == CLIENT_STREAMING && c->sends_whole && !c->send_resumed)
		loop_expect_inline(c->srv->loop);
	c->send_pending = true;
	c->deadline_ns = loop_now(c->srv->loop) + c->srv->idle_timeout_ns;
}

/* Sends iov[0..n) (already filled). */
void client_send_iov(struct client *c, unsigned n)
{
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = n;
	client_submit_send(c);
}

static void iov_advance(struct msghdr *m, size_t done)
{
	while (m->msg_iovlen > 0 && done >= m->msg_iov[0].iov_len) {
		done -= m->msg_iov[0].iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (m->msg_iovlen > 0 && done > 0) {
		m->msg_iov[0].iov_base = (char *)m->msg_iov[0].iov_base + done;
		m->msg_iov[0].iov_len -= done;
	}
}

static void response_done(struct client *c)
{
	free(c->heap_body);
	c->heap_body = NULL;
	if (c->frame) {
		struct server *s = c->srv;
		s->stats.frames_sent++;
		c->frames_sent++;
		c->fps_window_frames++;
		frame_unref(c->frame);
		c->frame = NULL;
	}
	c->deadline_ns = 0;
	switch (c->state) {
	case CLIENT_RESPONDING:
		if (!c->keep_alive || c->srv->shutting_down) {
			client_close(c, "response sent");
			return;
		}
		client_set_state(c, CLIENT_READING);
		c->kind = KIND_HTTP;
		process_input(c);
		return;
	case CLIENT_STREAMING:
		stream_send_newest(c);
		return;
	default:
		return;
	}
}

static void send_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct client *c = container_of(op, struct client, send_op);
	c->send_pending = false;
	if (c->state == CLIENT_CLOSING) {
		client_maybe_free(c);
		return;
	}
	if (res < 0) {
		client_close(c, res == -EPIPE || res == -ECONNRESET ? "peer went away"
								    : strerror(-res));
		return;
	}
	c->srv->stats.bytes_sent += (uint64_t)res;
	iov_advance(&c->msg, (size_t)res);
	if (iov_total(&c->msg) > 0) {
		/* partial: the socket buffer was full */
		c->sends_whole = false;
		c->send_resumed = true;
		client_submit_send(c);
		return;
	}
	c->sends_whole = !c->send_resumed;
	c->send_resumed = false;
	if (c->sending_continue) {
		/* the 100 is out: the request goes on (its body may be here already) */
		c->sending_continue = false;
		c->deadline_ns = c->continue_deadline_ns;
		process_input(c);
		return;
	}
	response_done(c);
}

/* ---------------------------------------------------------------- responses */

static int format_head(struct client *c, int status, const char *content_type, size_t length,
		       const char *extra)
{
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 %d %s\r\n"
			 "Server: mjpegd/" MJPEGD_VERSION "\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-cache, no-store, must-revalidate\r\n"
			 "Connection: %s\r\n"
			 "%s%s\r\n",
			 status, http_status_reason(status), content_type, length,
			 c->keep_alive ? "keep-alive" : "close", c->srv->gate.cors,
			 extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(c->head))
		return -ENOSPC;
	return n;
}

/* Ownership of r's heap_body and frame passes to the client, whatever happens. */
void respond(struct client *c, const struct response *r)
{
	int n = format_head(c, r->status, r->content_type, r->len, r->extra);
	if (n < 0) {
		free(r->heap_body);
		frame_unref(r->frame);
		client_close(c, "response head too long");
		return;
	}
	client_set_state(c, CLIENT_RESPONDING);
	c->heap_body = r->heap_body;
	c->frame = r->frame;
	c->iov[0] = (struct iovec){c->head, (size_t)n};
	unsigned niov = 1;
	if (!r->head_only && r->jpeg)
		niov += frame_jpeg_iov(r->frame, c->iov + niov);
	else if (!r->head_only && r->len > 0)
		c->iov[niov++] = (struct iovec){(void *)r->body, r->len};
	client_send_iov(c, niov);
}

void respond_error(struct client *c, int status, const char *extra, bool head_only)
{
	char *body = NULL;
	int len = asprintf(&body, "%d %s\n", status, http_status_reason(status));
	if (len < 0) {
		client_close(c, "out of memory");
		return;
	}
	if (status >= 400 && status != 401 && status != 404 && status != 405)
		c->keep_alive = false; /* after a protocol error the byte stream cannot be trusted */
	respond(c, &(struct response){ .status = status, .content_type = TEXT_PLAIN, .body = body,
				       .len = (size_t)len, .heap_body = body, .extra = extra,
				       .head_only = head_only });
}

/* Drops the request just answered; what a pipelining client sent after it moves up. The bytes
 * left behind are wiped: a request head may carry a password (Authorization). */
void consume_input(struct client *c, size_t consumed)
{
	c->head_checked = false;
	memmove(c->in, c->in + consumed, c->in_len - consumed);
	c->in_len -= consumed;
	explicit_bzero(c->in + c->in_len, consumed);
}

/* ---------------------------------------------------------------- receiving */

static bool expects_continue(const struct http_request *req)
{
	const struct http_str *e = http_request_header(req, "Expect");
	/* HTTP/1.0 clients cannot ask for it (RFC 9110 section 10.1.1: ignored) */
	return e && req->version_minor >= 1 && str_is_nocase(*e, "100-continue");
}

/* The head of a request whose body is still to come (RFC 9110 section 10.1.1). When the head
 * alone decides the answer (401 without credentials, 405, the controls' 403, 415, 400) it is
 * sent now and the connection closed: the body is never read, and a client that waits for a
 * 100 before sending it would otherwise wait for ever. Otherwise a client that asked gets
 * 100 Continue, once, unless some of the body came already. */
static void head_arrived(struct client *c, const struct http_request *req)
{
	c->head_checked = true;
	client_forwarded(c, req);
	bool keep_alive = c->keep_alive;
	c->keep_alive = false;
	if (gate_refuses_head(c, req) || routes_refuse_head(c, req)) {
		c->requests++;
		log_debug("client %llu (%s): answered from the request's head; closing",
			  (unsigned long long)c->id, c->addr);
		return;
	}
	c->keep_alive = keep_alive;
	if (!expects_continue(req) || c->in_len > req->head_len)
		return;
	static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";
	c->sending_continue = true;
	c->continue_deadline_ns = c->deadline_ns; /* the header time still runs */
	c->iov[0] = (struct iovec){(void *)continue_100, sizeof(continue_100) - 1};
	client_send_iov(c, 1);
}

static void client_free_input(struct client *c)
{
	if (c->in != c->discard)
		free(c->in);
	c->in = NULL;
	c->in_cap = c->in_len = 0;
}

static void client_recv(struct client *c)
{
	if (!c->in) {
		c->in = malloc(HTTP_MAX_HEADER_BYTES + HTTP_MAX_BODY);
		if (!c->in) {
			client_close(c, "out of memory for the request");
			return;
		}
		c->in_cap = HTTP_MAX_HEADER_BYTES + HTTP_MAX_BODY;
	}
	struct io_uring_sqe *sqe = loop_sqe(c->srv->loop, &c->recv_op);
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	c->recv_pending = true;
}

/* Parses what is buffered: answers a complete request, asks for more, or refuses. */
void process_input(struct client *c)
{
	struct server *s = c->srv;
	/* (a send while READING is the 100 Continue: send_complete() comes back here) */
	if (c->state != CLIENT_READING || c->send_pending)
		return;
	if (c->in_len == 0) {
		c->deadline_ns = now_mono_ns() + (c->requests ? s->idle_timeout_ns : s->header_timeout_ns);
		if (!c->recv_pending)
			client_recv(c);
		return;
	}
	struct http_request req;
	size_t consumed = 0;
	int status = 0;
	enum http_parse_result pr = http_parse_request(c->in, c->in_len, &req, &consumed, &status);
	if (pr == HTTP_PARSE_INCOMPLETE) {
		/* A partial request left over from a pipelined write is seen here right after the
		 * previous response ended (which cleared the deadline): its header time starts now.
		 * Without this it had no deadline at all and held a client slot for ever. */
		if (!c->deadline_ns)
			c->deadline_ns = now_mono_ns() + s->header_timeout_ns;
		if (req.head_len && !c->head_checked) {
			head_arrived(c, &req);
			if (c->state != CLIENT_READING)
				return;
		}
		if (!c->recv_pending)
			client_recv(c);
		return;
	}
	if (pr == HTTP_PARSE_ERROR) {
		log_debug("client %llu (%s): bad request → %d", (unsigned long long)c->id, c->addr, status);
		c->keep_alive = false;
		if (status == 405)
			respond_method_not_allowed(c, &req);
		else
			respond_error(c, status, NULL, false);
		return;
	}
	/* The request's strings point into c->in: answer it, then drop its bytes. The response
	 * does not reference the request, so moving the pipelined rest is safe afterwards. */
	client_forwarded(c, &req);
	enum auth_gate gate = auth_gate(c, &req);
	if (gate == AUTH_GATE_DEFERRED)
		return;
	if (gate == AUTH_GATE_PASS)
		handle_request(c, &req);
	if (c->state == CLIENT_CLOSING)
		return;
	if (c->state == CLIENT_STREAMING) {
		/* Keep a recv armed so a viewer that closes is noticed even between frames. */
		client_free_input(c);
		c->in = c->discard;
		c->in_cap = sizeof(c->discard);
		client_recv(c);
		return;
	}
	consume_input(c, consumed);
}

static void recv_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct client *c = container_of(op, struct client, recv_op);
	c->recv_pending = false;
	if (c->state == CLIENT_CLOSING) {
		client_maybe_free(c);
		return;
	}
	if (res == -ECANCELED)
		return; /* we cancelled it (request timeout); a response is on its way */
	if (res == 0) {
		client_close(c, "peer closed");
		return;
	}
	if (res < 0) {
		client_close(c, res == -ECONNRESET ? "peer reset" : strerror(-res));
		return;
	}
	if (c->state == CLIENT_STREAMING) {
		/* A viewer has nothing to say. What it sends anyway is discarded in bulk (MSG_TRUNC:
		 * no copy), not 64 bytes per completion, and one that keeps sending is not a viewer. */
		c->in_len = 0;
		c->stream_bytes_received += (uint64_t)res;
		ssize_t n = socket_discard(c->fd);
		if (n > 0)
			c->stream_bytes_received += (uint64_t)n;
		if (c->stream_bytes_received > STREAM_UPLOAD_MAX) {
			client_close(c, "kept sending data to a stream");
			return;
		}
		client_recv(c);
		return;
	}
	bool was_empty = c->in_len == 0;
	c->in_len += (size_t)res;
	if (was_empty && c->requests > 0)
		c->deadline_ns = now_mono_ns() + c->srv->header_timeout_ns;
	process_input(c);
}

