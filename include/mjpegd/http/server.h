/* The HTTP server: listening sockets and clients, all driven by the io_uring loop.
 *
 * Frame ownership: server_publish() takes its own reference to the newest frame (released when a
 * newer one comes). Each client sending a frame holds one reference until that send completes or
 * the client goes, so a client holds at most one frame: memory is bounded by the frame pool, and a
 * slow client only ever skips frames. */
#ifndef MJPEGD_HTTP_SERVER_H
#define MJPEGD_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/frame.h"
#include "mjpegd/http/listen_address.h"
#include "mjpegd/loop.h"
#include "mjpegd/http/status.h"

/* The longest --allow-origin and --auth-exempt the server keeps (longer ones are cut). */
#define SERVER_ORIGIN_MAX 200
#define SERVER_AUTH_EXEMPT_MAX 512

struct server;

/* Fills the pipeline's part of a status snapshot (the server fills the client part). */
typedef void (*server_status_fn)(void *ctx, struct status_snapshot *s);

/* What the server reads of the configuration, filled by config (config_server_options(),
 * src/config/translate.c). Read during server_create() and server_apply() only: the server keeps
 * copies of what it needs (its limits, the CORS lines, the parsed proxies), so the caller's
 * options and the strings they point to may go right after. */
struct server_options {
	/* --listen: TCP addresses and unix sockets; at create only (a reload does not move them) */
	const struct listen_address *listen;
	unsigned n_listen;
	unsigned max_clients;
	unsigned header_timeout_ms;
	unsigned idle_timeout_ms;
	/* A snapshot asked for before the first frame waits this long for it, then gets 503
	 * (--source-timeout-ms). */
	unsigned first_frame_timeout_ms;
	/* --auth-exempt: comma-separated paths served without credentials; at create (SIGHUP: with
	 * the users they go with, server_set_auth()) */
	const char *auth_exempt;
	const char *allow_origin; /* --allow-origin: "" (none), "*" or one origin */
	const char *trusted_proxy; /* --trusted-proxy: "ADDR[,ADDR]" whose X-Forwarded-For counts */
	bool controls_writable; /* --controls on|off */
	/* --on-demand, or --standby-after (a request asks the pipeline for a frame, which wakes
	 * it): see want_frame below */
	bool on_demand;
};

struct server_params {
	struct loop *loop;
	struct server_options opt;
	server_status_fn status_fill;
	void *status_ctx;
	/* Already-listening sockets handed over by systemd (socket activation); n_listen_fds == 0
	 * → bind listen[]. */
	const int *listen_fds;
	unsigned n_listen_fds;
	/* --auth-file's users (NULL: no authentication); the server takes ownership. */
	struct auth_users *auth_users;
	/* Camera controls (GET/POST /controls; NULL: 404). json: the document, malloc'd, or a
	 * negative errno (-ENODEV: no camera now → 503). set: applies a POST body (json: a JSON
	 * object, else a form), all or nothing; a negative errno with why (-ENODEV → 503, others
	 * 400). */
	int (*controls_json)(void *ctx, bool writable, char **out, size_t *len);
	int (*controls_set)(void *ctx, const char *body, size_t len, bool json, char *why,
			    size_t whylen);
	void *controls_ctx;
	/* opt.on_demand (include/mjpegd/demand.h): frames are encoded only when asked for while no
	 * stream client watches, so the newest frame may be old. frame_current() says whether it is
	 * the newest camera frame (none newer waits unencoded or is being encoded for a request);
	 * when it is not, a snapshot waits for a frame newer than the newest (want_frame() asks the
	 * pipeline for one, again every tick while it waits), and so does a new stream client's
	 * first part. Both called with want_frame_ctx. */
	void (*want_frame)(void *ctx);
	bool (*frame_current)(void *ctx);
	/* --snapshot-size: /snapshot.jpg asks for a full-size frame (pipeline_want_full(), also
	 * with want_frame_ctx), answered by server_publish_full(), again every tick while one
	 * waits; a negative errno: there is no full size now, the stream's is served. NULL: none. */
	int (*want_full)(void *ctx);
	void *want_frame_ctx;
};

/* Binds the listening sockets (errors name the address: EADDRINUSE, EACCES, bad host). */
int server_create(const struct server_params *p, struct server **out);
/* Arms the accepts on the loop. */
int server_start(struct server *srv);

/* A new frame: every idle stream client is sent it now (one batch of SQEs). */
void server_publish(struct server *srv, struct frame *f);
/* A full-size frame encoded for the snapshots waiting for one: each is answered with it
 * (the server keeps a reference to the newest, released when a newer one comes). */
void server_publish_full(struct server *srv, struct frame *f);
/* The frame served to snapshots and new streams (may be NULL before the first one: snapshots
 * asked for then wait for it, streams get their head and the frame when it comes). */
struct frame *server_newest(struct server *srv);
/* Standby (--standby-after): the newest frames are let go (they point into the encoder's or the
 * camera's memory, which is to be freed); the next snapshot or stream waits for a new one. */
void server_forget_newest(struct server *srv);

/* Timeouts (header, idle, stalled send), per-client fps; call a few times a second. */
void server_tick(struct server *srv, uint64_t now_ns);

/* SIGHUP: the options from now on, all but the listeners and --auth-exempt (read at create;
 * --auth-exempt changes with the users, server_set_auth()): the limits and timeouts,
 * --allow-origin, --controls, on demand, and --trusted-proxy for connections accepted from then
 * on (those connected keep what they were told at accept). */
void server_apply(struct server *srv, const struct server_options *opt);

/* SIGHUP: users replace the ones in use (ownership passes; NULL: no authentication any more).
 * Requests already checking their credentials finish against the hash they were given. */
int server_set_auth(struct server *srv, struct auth_users *users, const char *exempt);

/* Stops accepting and closes every client; completions drain through the loop. */
void server_shutdown(struct server *srv);
/* True when no operation of the server is in flight any more. */
bool server_drained(const struct server *srv);
void server_destroy(struct server *srv);

/* The port actually bound (for --listen HOST:0), first TCP listener; 0 when none. */
unsigned server_port(const struct server *srv);

struct server_stats {
	uint64_t frames_sent;
	uint64_t bytes_sent;
	uint64_t clients_accepted;
	uint64_t clients_rejected;
	unsigned clients;
	unsigned stream_clients;
};
const struct server_stats *server_get_stats(const struct server *srv);

/* Embedded index page (src/http/index_html.c). */
extern const char server_index_html[];
extern const unsigned server_index_html_len;

#endif
