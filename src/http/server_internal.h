/* What the rooms of the HTTP server share; used by src/http/ only (the public interface is
 * include/mjpegd/http/server.h).
 *
 *   server.c  the public face: create, publish, tick, reload setters, shutdown, destroy
 *   listen.c  TCP and unix listeners, accept, the refusal above --max-clients
 *   client.c  the client: its receive/send state machine and the response it is sending
 *   routes.c  which path takes which method, and every handler (stream, snapshot, status,
 *             controls, the page, OPTIONS)
 *   gate.c    who may be served: --auth-file (hand-off to auth_worker.c), X-Forwarded-For from
 *             --trusted-proxy, CORS (--allow-origin) and the same-origin check of controls
 *
 * Each field of struct server says which room writes it; the others only read it.
 */
#ifndef MJPEGD_HTTP_SERVER_INTERNAL_H
#define MJPEGD_HTTP_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mjpegd/clock.h"
#include "mjpegd/frame.h"
#include "mjpegd/http/auth.h"
#include "mjpegd/http/parser.h"
#include "mjpegd/http/proxy.h"
#include "mjpegd/http/server.h"
#include "mjpegd/loop.h"
#include "mjpegd/orientation.h"
#include "mjpegd/ratelimit.h"

#define MAX_LISTENERS 4
#define HEAD_MAX 1024 /* status line, our headers, CORS (an origin of up to 200 bytes) */
/* Bytes a stream client may send after its request before it is closed: a viewer sends none. */
#define STREAM_UPLOAD_MAX (64 * 1024)
#define FPS_WINDOW_NS (1 * NSEC_PER_SEC)
#define TEXT_PLAIN "text/plain; charset=utf-8"
/* The methods every path but the controls takes (405's Allow); routes.c's route_allow() says
 * which. */
#define ALLOW_GET_HEAD_OPTIONS "Allow: GET, HEAD, OPTIONS\r\n"
#define ALLOW_WITH_POST "Allow: GET, HEAD, POST, OPTIONS\r\n"

enum client_state {
	CLIENT_READING,
	CLIENT_RESPONDING,
	CLIENT_STREAMING,
	CLIENT_WAITING, /* a snapshot request before the first frame, or (on demand) a fresh one */
	CLIENT_AUTHENTICATING, /* a request whose credentials wait for their turn or their verdict */
	CLIENT_CLOSING,
};

enum client_kind {
	KIND_HTTP,
	KIND_STREAM,
	KIND_SNAPSHOT,
};

struct client {
	struct server *srv;
	struct client *prev, *next;
	uint64_t id;
	int fd;
	char addr[128];      /* what the log and /status call the client (see client_forwarded()) */
	char peer_addr[64];  /* the socket's peer: IP:PORT or "unix" */
	bool peer_trusted;   /* --trusted-proxy: its X-Forwarded-For names the client */
	enum client_state state;
	enum client_kind kind;
	uint64_t connected_ns;
	uint64_t deadline_ns; /* 0: none */
	unsigned requests;

	struct loop_op recv_op, send_op;
	bool recv_pending, send_pending;
	/* The last response or part left in one send: the socket had room for it, so a
	 * stream's next part is announced to the loop as finishing at once (loop_expect_inline()). A
	 * send the socket took only part of (a slow or stalled reader) clears it until a response
	 * again leaves in one go. */
	bool sends_whole;
	bool send_resumed; /* the send in flight carries the rest of a partial one */

	/* request bytes; a pipelined request's bytes stay after the one being answered. Allocated
	 * (HTTP_MAX_HEADER_BYTES) while requests are read; a stream client only needs to notice its
	 * viewer leaving, so it reads into discard[] and the 8 KiB go back. */
	char *in;
	size_t in_cap, in_len;
	char discard[64];
	bool keep_alive;
	bool head_only; /* the snapshot request a WAITING client made was HEAD */
	/* the snapshot asked for is the full size (--snapshot-size): answered from newest_full by
	 * a full-size frame published after wait_after_sequence (server_publish_full()) */
	bool full;
	/* a WAITING snapshot is answered by, and (--on-demand) a stream client's first part is, a
	 * frame published after this sequence */
	uint64_t wait_after_sequence;
	/* The head of the request at in[0] came before its body and was answered from: refused
	 * at once, or 100 Continue sent (sending_continue while it is on its way). */
	bool head_checked;
	bool sending_continue;
	uint64_t continue_deadline_ns; /* the request's deadline, back when the 100 is out */

	/* response being sent: iov[] point into head, body/heap_body, or frame */
	char head[HEAD_MAX];
	char *heap_body; /* owned; freed when the response is done */
	struct frame *frame; /* one reference while it is being sent */
	/* head or part header, the JPEG with its EXIF segment (JPEG_ORIENTED_IOV_MAX), trailer */
	struct iovec iov[2 + JPEG_ORIENTED_IOV_MAX];
	struct msghdr msg;

	/* streaming */
	uint64_t last_sequence;
	bool sent_any;
	struct rate_cap fps_cap; /* ?fps=N */
	uint64_t frames_sent, frames_skipped;
	uint64_t fps_window_start_ns, fps_window_frames;
	double fps;
	uint64_t stream_bytes_received; /* after the request; discarded */

	/* --auth-file: the request at the head of in[] waits in AUTHENTICATING; its bytes stay
	 * there (it is parsed again when the verdict comes). */
	int auth_job;          /* the worker's job number, -1: none (waiting for the slow-down) */
	bool auth_granted;     /* the verdict for the request at the head of in[] was yes */
	char auth_user[AUTH_USER_MAX + 1]; /* a name from the file ("" when unknown), for the log */
	unsigned char peer_key[16]; /* the address without port (IPv6: its /64), for the slow-down */
	size_t peer_key_len;
	unsigned char socket_key[16]; /* peer_key of the socket's peer itself */
	size_t socket_key_len;
};

struct listener {
	struct server *srv;
	int fd;
	char unix_path[LISTEN_UNIX_PATH_MAX]; /* a unix socket we bound: removed at exit */
	dev_t unix_dev;
	ino_t unix_ino;
	struct loop_op accept_op;
	bool accept_pending;
	bool rearm_on_tick; /* accept failed for lack of fds/memory: retry on the next tick */
};

/* gate.c's: who may be served. */
struct gate {
	/* --auth-file: NULL users → no authentication. users is owned here. */
	struct auth_users *auth_users;
	char auth_exempt[SERVER_AUTH_EXEMPT_MAX];
	struct auth_worker *auth_worker;
	struct auth_throttle auth_throttle;
	struct ratelimit auth_queue_log_rl; /* "password checks already queued": one line per window */
	struct ratelimit auth_log_rl;
	struct proxy_trusted trusted; /* --trusted-proxy */

	/* --allow-origin: the CORS header lines every response carries ("" for none) */
	char allow_origin[SERVER_ORIGIN_MAX];
	char cors[SERVER_ORIGIN_MAX + 96];
};

struct server {
	struct loop *loop;
	/* server.c: the limits (server_apply()) and the shutdown */
	unsigned max_clients;
	uint64_t header_timeout_ns, idle_timeout_ns;
	uint64_t first_frame_timeout_ns;
	bool shutting_down;
	struct server_stats stats; /* counted where each thing happens */

	/* listen.c */
	struct listener listeners[MAX_LISTENERS];
	unsigned n_listeners;
	bool multishot_accept;
	struct ratelimit accept_error_rl;
	struct ratelimit refused_log_rl; /* one line per window; the rest are counted */
	char refused_response[SERVER_ORIGIN_MAX + 400]; /* the 503 above --max-clients, CORS in */
	size_t refused_response_len;

	/* client.c */
	struct client *clients; /* doubly linked */
	/* server_publish() starts each frame's sends here and moves it on by one client, so that
	 * no client is always served last; NULL: the head. client_free() keeps it valid. */
	struct client *publish_from;
	unsigned n_clients;     /* every allocated client, including closing ones */
	uint64_t next_client_id;

	/* routes.c (newest and live_seen: server_publish()) */
	struct frame *newest;
	/* --snapshot-size: the newest full-size frame (server_publish_full()), NULL: none yet;
	 * want_full asks the pipeline for one (a negative errno: none can come, serve the stream's) */
	struct frame *newest_full;
	int (*want_full)(void *ctx);
	bool live_seen; /* a frame from the camera was published (not only placeholders) */
	/* --on-demand (server.c: server_apply()) */
	bool on_demand;
	void (*want_frame)(void *ctx);
	bool (*frame_current)(void *ctx);
	void *want_frame_ctx;
	server_status_fn status_fill;
	void *status_ctx;
	uint64_t started_ns;
	/* camera controls (GET/POST /controls) */
	int (*controls_json)(void *ctx, bool writable, char **out, size_t *len);
	int (*controls_set)(void *ctx, const char *body, size_t len, bool json, char *why,
			    size_t whylen);
	void *controls_ctx;
	bool controls_writable;
	struct ratelimit controls_log_rl; /* cross-site attempts: one line per window */

	struct gate gate;
};

/* One response, described with designated initialisers:
 *   respond(c, &(struct response){ .status = 503, .content_type = ..., .body = ..., .len = ... });
 * Ownership passes to the client with the call, whatever happens: heap_body (usually the same
 * bytes as body) is freed when the response is done; frame carries the caller's reference. */
struct response {
	int status;
	const char *content_type;
	const void *body; /* len bytes, sent after the head unless head_only */
	size_t len;       /* Content-Length (also for HEAD) */
	char *heap_body;  /* malloc'd, may be NULL */
	struct frame *frame; /* a reference the client drops when the response is sent */
	const char *extra;   /* header lines ("Name: value\r\n"…), may be NULL */
	bool head_only;
	bool jpeg; /* the body is frame's JPEG, sent with its EXIF segment (len counts it) */
};

static inline bool str_is(struct http_str v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

static inline bool str_is_nocase(struct http_str v, const char *s)
{
	return v.len == strlen(s) && strncasecmp(v.p, s, v.len) == 0;
}

/* ---------------------------------------------------------------- client.c */

/* A new client on an accepted socket, linked into the server's list, in READING. */
struct client *client_create(struct server *s, int fd);
void client_set_state(struct client *c, enum client_state st);
void client_close(struct client *c, const char *why);
/* Frees a client whatever is in flight (server_destroy(): the ring dies with it). */
void client_free(struct client *c);
void client_cancel(struct client *c, struct loop_op *op);
/* Sends iov[0..n) (already filled). */
void client_send_iov(struct client *c, unsigned n);
void respond(struct client *c, const struct response *r);
/* "STATUS Reason\n" as text; a protocol error (400, 408, 413, …) also ends keep-alive. */
void respond_error(struct client *c, int status, const char *extra, bool head_only);
/* Parses what is buffered: answers a complete request, asks for more, or refuses. */
void process_input(struct client *c);
/* Drops the request just answered (its bytes are wiped). */
void consume_input(struct client *c, size_t consumed);
/* Reads and drops what the peer sent without copying it (MSG_TRUNC); returns recv()'s answer. */
ssize_t socket_discard(int fd);

/* ---------------------------------------------------------------- routes.c */

void handle_request(struct client *c, const struct http_request *req);
/* A POST's head whose body is still to come, refused from the head (405, 403, 415, 400): true
 * when answered. */
bool routes_refuse_head(struct client *c, const struct http_request *req);
/* 405 with the Allow line of req's path (RFC 9110 §15.5.6; for a path not served, that of the
 * viewing paths). */
void respond_method_not_allowed(struct client *c, const struct http_request *req);
/* full: /snapshot.jpg's full size (--snapshot-size) when the pipeline has one, else the
 * stream's */
void handle_snapshot(struct client *c, bool head_only, bool full);
/* Answers a snapshot with the newest frame, the newest full-size one for c->full
 * (c->head_only: HEAD). */
void snapshot_respond(struct client *c);
void respond_no_frame(struct client *c, bool head_only);
/* The iovecs that send f's JPEG (with its EXIF Orientation segment, if any) and their total:
 * frame_jpeg_iov() fills at most JPEG_ORIENTED_IOV_MAX; nothing is copied. */
static inline unsigned frame_jpeg_iov(const struct frame *f, struct iovec *iov)
{
	return jpeg_oriented_iov(f->data, f->len, (enum exif_orientation)f->exif_orientation,
				 f->own_exif_off, f->own_exif_len, iov);
}
size_t frame_jpeg_len(const struct frame *f);
/* Whether newest may answer a request now: always, but on demand only when the pipeline says no
 * newer camera frame waits unencoded or is being encoded for a request (frame_current()), or
 * when it is the "no signal" picture. */
bool newest_current(const struct server *s);
/* On demand: asks the pipeline for a frame (a snapshot waits, a stream client just came). */
void server_want_frame(struct server *s);
/* Sends the newest frame if the client is idle, has not had it yet and its fps cap allows. The
 * loop's time is asked for only then: the completion of a send with no newer frame to follow
 * reads no clock. */
void stream_send_newest(struct client *c);

/* ---------------------------------------------------------------- gate.c */

enum auth_gate {
	AUTH_GATE_PASS,     /* serve the request */
	AUTH_GATE_ANSWERED, /* refused: a response is on its way; the request's bytes go */
	AUTH_GATE_DEFERRED, /* AUTHENTICATING: the request's bytes stay until the verdict */
};

/* server_create()'s part for the gate: rate limits, the slow-down's seed, CORS, trusted
 * proxies; then, last (on failure the caller still owns p->auth_users), --auth-file's worker. */
int gate_init(struct server *s, const struct server_params *p);
int gate_start_auth(struct server *s, const struct server_params *p);
/* At create and on SIGHUP (server_apply()): CORS and the trusted proxies. */
void gate_apply(struct server *s, const struct server_options *o);
void gate_destroy(struct server *s);
/* --trusted-proxy: the client's name and slow-down key for this request. */
void client_forwarded(struct client *c, const struct http_request *req);
/* --auth-file: may this request be served now? */
enum auth_gate auth_gate(struct client *c, const struct http_request *req);
/* The request's credentials go to the worker (after the slow-down, if any, is over). */
void auth_begin(struct client *c);
/* 401 or 503 for the request at the head of in[] (parsed again: its bytes are still there). */
void auth_answer(struct client *c, int status, bool failed);
/* A head whose body is still to come, without credentials while --auth-file asks for them:
 * 401 at once (true). */
bool gate_refuses_head(struct client *c, const struct http_request *req);
/* Whether a request that changes the camera comes from a page of this server (or of the one
 * origin --allow-origin names); why not when it does not. */
bool same_origin(const struct client *c, const struct http_request *req, char *why,
		 size_t whylen);

/* ---------------------------------------------------------------- listen.c */

/* Binds --listen's addresses, or takes the sockets systemd passed. */
int listeners_open(struct server *s, const struct server_params *p);
void listeners_start(struct server *s);
/* Re-arms accepts that failed for lack of fds; sums up refusals not logged one by one. */
void listeners_tick(struct server *s, uint64_t now);
void listeners_stop(struct server *s);
bool listeners_idle(const struct server *s);
void listeners_close(struct server *s);
/* The 503 sent above --max-clients (it carries the CORS lines: call after they change). */
void refusal_format(struct server *s);

#endif
