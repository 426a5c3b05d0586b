/* The HTTP server: listeners, clients and their io_uring operations.
 *
 * Client state machine (one transition log line at debug level each):
 *
 *   READING ──request──▶ RESPONDING ──sent, keep-alive──▶ READING
 *      │                     └──sent, close──▶ CLOSING
 *      ├──stream request──▶ STREAMING (head, then newest frame whenever idle) ──error──▶ CLOSING
 *      ├──snapshot, no frame yet──▶ WAITING ──first frame / timeout (503)──▶ RESPONDING
 *      └──credentials (--auth-file)──▶ AUTHENTICATING ──verified──▶ READING (the request is served)
 *                                          └──wrong, or no verdict in time──▶ RESPONDING (401/503)
 *   any ──timeout / peer gone / shutdown──▶ CLOSING ──no op in flight──▶ freed
 *
 * A client has at most one recv and one send in flight; it is freed only when both completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <grp.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/http/auth_worker.h"
#include "mjpegd/clock.h"
#include "mjpegd/http/parser.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/http/multipart.h"
#include "mjpegd/http/proxy.h"
#include "mjpegd/control.h"
#include "mjpegd/ratelimit.h"
#include "mjpegd/http/server.h"

#define MAX_LISTENERS 4
#define REFUSED_LOG_INTERVAL_NS (10 * NSEC_PER_SEC)
#define HEAD_MAX 1024 /* status line, our headers, CORS (an origin of up to 200 bytes) */
/* Bytes a stream client may send after its request before it is closed: a viewer sends none. */
#define STREAM_UPLOAD_MAX (64 * 1024)
#define FPS_WINDOW_NS (1 * NSEC_PER_SEC)

/* Where bytes nobody reads go: recv(MSG_TRUNC) on TCP discards without copying, so nothing is
 * written here, but sanitizers check that the range passed exists (NULL would not do). */
static char discard_sink[STREAM_UPLOAD_MAX];

enum client_state {
	CLIENT_READING,
	CLIENT_RESPONDING,
	CLIENT_STREAMING,
	CLIENT_WAITING, /* a snapshot request before the first frame */
	CLIENT_AUTHENTICATING, /* a request whose credentials wait for their turn or their verdict */
	CLIENT_CLOSING,
};

static const char *const client_state_names[] = {
	[CLIENT_READING] = "reading",
	[CLIENT_RESPONDING] = "responding",
	[CLIENT_STREAMING] = "streaming",
	[CLIENT_WAITING] = "waiting for the first frame",
	[CLIENT_AUTHENTICATING] = "checking credentials",
	[CLIENT_CLOSING] = "closing",
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

	/* request bytes; a pipelined request's bytes stay after the one being answered. Allocated
	 * (HTTP_MAX_HEADER_BYTES) while requests are read; a stream client only needs to notice its
	 * viewer leaving, so it reads into discard[] and the 8 KiB go back. */
	char *in;
	size_t in_cap, in_len;
	char discard[64];
	bool keep_alive;
	bool head_only; /* the snapshot request a WAITING client made was HEAD */

	/* response being sent: iov[] point into head, body/heap_body, or frame */
	char head[HEAD_MAX];
	char *heap_body; /* owned; freed when the response is done */
	struct frame *frame; /* one reference while it is being sent */
	struct iovec iov[3];
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
	char unix_path[CONFIG_UNIX_PATH_MAX]; /* a unix socket we bound: removed at exit */
	dev_t unix_dev;
	ino_t unix_ino;
	struct loop_op accept_op;
	bool accept_pending;
	bool rearm_on_tick; /* accept failed for lack of fds/memory: retry on the next tick */
};

struct server {
	struct loop *loop;
	unsigned max_clients;
	uint64_t header_timeout_ns, idle_timeout_ns;
	uint64_t first_frame_timeout_ns;
	server_status_fn status_fill;
	void *status_ctx;
	uint64_t started_ns;

	struct listener listeners[MAX_LISTENERS];
	unsigned n_listeners;
	bool multishot_accept;
	bool shutting_down;

	struct client *clients; /* doubly linked */
	unsigned n_clients;     /* every allocated client, including closing ones */
	uint64_t next_client_id;

	struct frame *newest;
	bool live_seen; /* a frame from the camera was published (not only placeholders) */
	struct server_stats stats;
	struct ratelimit accept_error_rl;
	struct ratelimit refused_log_rl; /* one line per window; the rest are counted */

	/* --auth-file: NULL users → no authentication. users is owned here. */
	struct auth_users *auth_users;
	char auth_exempt[CONFIG_PATH_MAX];
	struct auth_worker *auth_worker;
	struct auth_throttle auth_throttle;
	struct ratelimit auth_queue_log_rl; /* "password checks already queued": one line per window */
	struct ratelimit auth_log_rl;
	struct proxy_trusted trusted; /* --trusted-proxy */

	/* --allow-origin: the CORS header lines every response carries ("" for none) */
	char allow_origin[CONFIG_ORIGIN_MAX];
	char cors[CONFIG_ORIGIN_MAX + 96];

	/* camera controls (GET/POST /controls) */
	int (*controls_json)(void *ctx, bool writable, char **out, size_t *len);
	int (*controls_set)(void *ctx, const char *body, size_t len, bool json, char *why,
			    size_t whylen);
	void *controls_ctx;
	bool controls_writable;
	struct ratelimit controls_log_rl; /* cross-site attempts: one line per window */
	char refused_response[CONFIG_ORIGIN_MAX + 400]; /* the 503 above --max-clients, CORS in */
	size_t refused_response_len;
};

static void client_recv(struct client *c);
static void client_free_input(struct client *c);
static void client_close(struct client *c, const char *why);
static void handle_request(struct client *c, const struct http_request *req);
static void process_input(struct client *c);
static void consume_input(struct client *c, size_t consumed);

/* ---------------------------------------------------------------- listeners */

static int listen_on(const char *host, unsigned port, int *out_fd)
{
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (r != 0) {
		log_err("--listen %s:%u: cannot resolve '%s': %s", host, port, host, gai_strerror(r));
		return -EINVAL;
	}
	int err = -EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		int one = 1, zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* "[::]" also serves IPv4 clients (dual stack), as users of "0.0.0.0" expect. */
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		/* SOMAXCONN: hundreds of viewers reconnecting at once (after a network blip) would
		 * overflow a backlog of 128 and wait for SYN retries (bench/, docs/performance.md). */
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
			err = -errno;
			close(fd);
			continue;
		}
		freeaddrinfo(res);
		*out_fd = fd;
		return 0;
	}
	freeaddrinfo(res);
	if (err == -EADDRINUSE)
		log_err("--listen %s:%u: address already in use (is another mjpegd or the old camera "
			"server running?)", host, port);
	else if (err == -EACCES)
		log_err("--listen %s:%u: permission denied (ports below 1024 need "
			"CAP_NET_BIND_SERVICE)", host, port);
	else
		log_err("--listen %s:%u: %s", host, port, strerror(-err));
	return err;
}

/* A socket file left by a process that died (SIGKILL, power loss) would make bind() fail with
 * EADDRINUSE. It is removed only when it is a socket and nothing answers a connect() on it: a
 * regular file of the same name, or a running mjpegd, is never touched. */
static int unix_remove_stale(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		int r = -errno;
		log_err("--listen unix:%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("--listen unix:%s: the path exists and is not a socket; not removing it", path);
		return -EEXIST;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		int r = -errno;
		log_err("--listen unix:%s: socket: %s", path, strerror(-r));
		return r;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int r = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(probe);
	if (r == 0 || r == -EAGAIN) {
		log_err("--listen unix:%s: another process is serving on it (is mjpegd running?)",
			path);
		return -EADDRINUSE;
	}
	if (r != -ECONNREFUSED) {
		log_err("--listen unix:%s: cannot tell whether the socket is in use: %s", path,
			strerror(-r));
		return r;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		log_err("--listen unix:%s: cannot remove the stale socket: %s", path, strerror(-r));
		return r;
	}
	log_notice("--listen unix:%s: removed a stale socket nobody was serving on", path);
	return 0;
}

static int listen_unix(const struct config_listen *cl, struct listener *l)
{
	int r = unix_remove_stale(cl->path);
	if (r < 0)
		return r;
	gid_t gid = (gid_t)-1;
	if (cl->group[0]) {
		struct group gr, *res = NULL;
		char buf[4096];
		int e = getgrnam_r(cl->group, &gr, buf, sizeof(buf), &res);
		if (e || !res) {
			log_err("--listen unix:%s: no group '%s'", cl->path, cl->group);
			return -ENOENT;
		}
		gid = res->gr_gid;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_err("--listen unix:%s: socket: %s", cl->path, strerror(-r));
		return r;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cl->path);
	/* The file is created with the mode asked for: never a moment with a wider one. umask is
	 * the process's; nothing else creates files while the server starts. */
	mode_t old_mask = umask(~cl->mode & 0777);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_mask);
	if (r < 0) {
		log_err("--listen unix:%s: %s", cl->path, strerror(-r));
		close(fd);
		return r;
	}
	struct stat st;
	if (gid != (gid_t)-1 && chown(cl->path, (uid_t)-1, gid) < 0) {
		r = -errno;
		log_err("--listen unix:%s: cannot give the socket to group '%s': %s (the service "
			"must be a member: SupplementaryGroups=)", cl->path, cl->group, strerror(-r));
	} else if (chmod(cl->path, cl->mode) < 0 || lstat(cl->path, &st) < 0) {
		r = -errno;
		log_err("--listen unix:%s: %s", cl->path, strerror(-r));
	} else if (listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		log_err("--listen unix:%s: listen: %s", cl->path, strerror(-r));
	}
	if (r < 0) {
		unlink(cl->path);
		close(fd);
		return r;
	}
	l->fd = fd;
	snprintf(l->unix_path, sizeof(l->unix_path), "%s", cl->path);
	l->unix_dev = st.st_dev;
	l->unix_ino = st.st_ino;
	return 0;
}

static void accept_arm(struct listener *l);

static void fd_to_addr(int fd, char *buf, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	buf[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, cap, "?");
		return;
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, cap, "%s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(buf, cap, "[%s]:%u", host, port);
	} else {
		snprintf(buf, cap, "unix");
	}
}

/* What the failed-login slow-down counts by: the IPv4 address, an IPv6 client's /64 (one host
 * commonly has a whole /64 to pick addresses from), or "local" for a unix socket peer. */
static void fd_to_peer_key(int fd, unsigned char *key, size_t cap, size_t *len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	*len = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET && cap >= 4) {
		memcpy(key, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		*len = 4;
	} else if (ss.ss_family == AF_INET6 && cap >= 8) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(key, &a->s6_addr[12], 4);
			*len = 4;
		} else {
			memcpy(key, a->s6_addr, 8);
			*len = 8;
		}
	}
}

static void client_set_state(struct client *c, enum client_state st)
{
	if (c->state == st)
		return;
	log_debug("client %llu (%s): %s → %s", (unsigned long long)c->id, c->addr,
		  client_state_names[c->state], client_state_names[st]);
	c->state = st;
}

static void client_free(struct client *c)
{
	struct server *s = c->srv;
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
	if (c->auth_job >= 0 && s->auth_worker)
		auth_worker_abandon(s->auth_worker, c->auth_job);
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

static void client_cancel(struct client *c, struct loop_op *op)
{
	struct io_uring_sqe *sqe = loop_sqe(c->srv->loop, NULL);
	io_uring_prep_cancel(sqe, op, 0);
}

static void client_close(struct client *c, const char *why)
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

static void send_complete(struct loop_op *op, int res, unsigned flags);
static void recv_complete(struct loop_op *op, int res, unsigned flags);

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
	c->send_pending = true;
	c->deadline_ns = loop_now(c->srv->loop) + c->srv->idle_timeout_ns;
}

/* Sends iov[0..n) (already filled). */
static void client_send_iov(struct client *c, unsigned n)
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

static void stream_send_newest(struct client *c, uint64_t now_ns);

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
		stream_send_newest(c, loop_now(c->srv->loop));
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
		client_submit_send(c); /* partial: the socket buffer was full */
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
			 c->keep_alive ? "keep-alive" : "close", c->srv->cors, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(c->head))
		return -ENOSPC;
	return n;
}

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
};

#define TEXT_PLAIN "text/plain; charset=utf-8"

static void respond(struct client *c, const struct response *r)
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
	if (!r->head_only && r->len > 0)
		c->iov[niov++] = (struct iovec){(void *)r->body, r->len};
	client_send_iov(c, niov);
}

static void respond_error(struct client *c, int status, const char *extra, bool head_only)
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
			 s->cors, head_only ? "" : MULTIPART_FIRST_BOUNDARY);
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
	c->iov[0] = (struct iovec){c->head, (size_t)n};
	client_send_iov(c, 1);
}

/* Sends the newest frame if the client is idle, has not had it yet and its fps cap allows. */
static void stream_send_newest(struct client *c, uint64_t now_ns)
{
	struct frame *f = c->srv->newest;
	if (c->state != CLIENT_STREAMING || c->send_pending || !f)
		return;
	if (c->sent_any && f->sequence <= c->last_sequence)
		return;
	if (!rate_cap_take(&c->fps_cap, now_ns))
		return;
	if (c->sent_any && f->sequence > c->last_sequence + 1)
		c->frames_skipped += f->sequence - c->last_sequence - 1;
	c->last_sequence = f->sequence;
	c->sent_any = true;
	c->frame = frame_ref(f);
	c->iov[0] = (struct iovec){f->part_header, f->part_header_len};
	c->iov[1] = (struct iovec){(void *)f->data, f->len};
	c->iov[2] = (struct iovec){(void *)MULTIPART_PART_TRAILER, STRLEN(MULTIPART_PART_TRAILER)};
	client_send_iov(c, 3);
}

static void respond_no_frame(struct client *c, bool head_only)
{
	respond(c, &(struct response){ .status = 503, .content_type = TEXT_PLAIN,
				       .body = "503 no frame yet\n", .len = STRLEN("503 no frame yet\n"),
				       .extra = "Retry-After: 1\r\n", .head_only = head_only });
}

static void handle_snapshot(struct client *c, bool head_only)
{
	struct frame *f = c->srv->newest;
	c->kind = KIND_SNAPSHOT;
	if (!f || !c->srv->live_seen) {
		/* Just started (with socket activation this very request started us): wait for the
		 * camera's first frame (the "starting" placeholder is no snapshot) as long as the
		 * source has to deliver one; server_publish() or server_tick() answers. */
		c->head_only = head_only;
		c->deadline_ns = now_mono_ns() + c->srv->first_frame_timeout_ns;
		client_set_state(c, CLIENT_WAITING);
		return;
	}
	char extra[128];
	/* During an outage the picture says why; Retry-After tells a poller when to look again. */
	snprintf(extra, sizeof(extra), "X-Timestamp: %llu.%06llu\r\n%s",
		 (unsigned long long)(f->timestamp_us / USEC_PER_SEC),
		 (unsigned long long)(f->timestamp_us % USEC_PER_SEC),
		 f->placeholder ? "Retry-After: 1\r\n" : "");
	respond(c, &(struct response){ .status = 200, .content_type = "image/jpeg", .body = f->data,
				       .len = f->len, .frame = frame_ref(f), .extra = extra,
				       .head_only = head_only });
}

/* OPTIONS: what a CORS preflight asks before a cross-origin request with credentials (a page's
 * fetch() with an Authorization header). 204 carries no Content-Length (RFC 9110 §8.6). */
static void respond_options(struct client *c)
{
	struct server *s = c->srv;
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 204 No Content\r\n"
			 "Server: mjpegd/" MJPEGD_VERSION "\r\n"
			 "Allow: GET, HEAD, POST, OPTIONS\r\n"
			 "%s%s"
			 "Connection: %s\r\n"
			 "\r\n",
			 s->cors,
			 s->cors[0] ? "Access-Control-Allow-Methods: GET, HEAD, POST, OPTIONS\r\n"
				      "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
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

static bool str_is(struct http_str v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

static bool str_is_nocase(struct http_str v, const char *s)
{
	return v.len == strlen(s) && strncasecmp(v.p, s, v.len) == 0;
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

/* A request that changes the camera must come from a page of this server (or of the one origin
 * --allow-origin names), never from another site's page in a viewer's browser: browsers send
 * Sec-Fetch-Site, and Origin with every POST; curl and scripts send neither. */
static bool same_origin(const struct client *c, const struct http_request *req, char *why,
			size_t whylen)
{
	const struct http_str *site = http_request_header(req, "Sec-Fetch-Site");
	if (site && !str_is(*site, "same-origin") && !str_is(*site, "none")) {
		snprintf(why, whylen, "a request from another site (Sec-Fetch-Site: %.*s)",
			 (int)(site->len > 20 ? 20 : site->len), site->p);
		return false;
	}
	const struct http_str *origin = http_request_header(req, "Origin");
	if (!origin)
		return true;
	const char *allowed = c->srv->allow_origin;
	if (allowed[0] && strcmp(allowed, "*") && str_is(*origin, allowed))
		return true;
	const struct http_str *host = http_request_header(req, "Host");
	/* Origin is scheme://host[:port]; Host is host[:port] as the browser addressed us. */
	const char *sep = memmem(origin->p, origin->len, "://", STRLEN("://"));
	if (host && sep) {
		const char *o_start = sep + STRLEN("://");
		struct http_str o = { o_start, origin->len - (size_t)(o_start - origin->p) };
		if (o.len == host->len && strncasecmp(o.p, host->p, o.len) == 0)
			return true;
	}
	snprintf(why, whylen, "a request from another origin (%.*s)",
		 (int)(origin->len > 80 ? 80 : origin->len), origin->p);
	return false;
}

/* POST /controls, or mjpg-streamer's POST /?action=command&id=NAME&value=VALUE */
static void handle_set_controls(struct client *c, const struct http_request *req, bool command)
{
	struct server *s = c->srv;
	char why[320] = "";
	if (!s->controls_writable) {
		respond_text(c, 403, "the camera's controls are read-only here (--controls off)");
		return;
	}
	if (!same_origin(c, req, why, sizeof(why))) {
		/* worth a line (a page tried to change the camera), but not one per attempt */
		if (ratelimit_allow(&s->controls_log_rl, now_mono_ns()))
			log_notice("client %llu (%s): controls not changed: %s%s",
				   (unsigned long long)c->id, c->addr, why,
				   s->controls_log_rl.suppressed ? " (and earlier ones not logged)" : "");
		ratelimit_take_suppressed(&s->controls_log_rl);
		respond_text(c, 403, why);
		return;
	}
	char form[2 * CONTROL_NAME_MAX + CONTROL_VALUE_MAX + 8];
	const char *body = req->body.p;
	size_t len = req->body.len;
	bool json = false;
	if (command) {
		char id[CONTROL_NAME_MAX], value[CONTROL_VALUE_MAX];
		if (http_query_get(req->query, "id", id, sizeof(id)) < 0 ||
		    http_query_get(req->query, "value", value, sizeof(value)) < 0) {
			respond_text(c, 400, "?action=command needs id=NAME and value=VALUE");
			return;
		}
		/* form-encode again: the control parser reads a form */
		int n = snprintf(form, sizeof(form), "%s=", id);
		for (const char *p = value; *p && (size_t)n + 4 < sizeof(form); p++)
			n += snprintf(form + n, sizeof(form) - (size_t)n, "%%%02X",
				      (unsigned char)*p);
		body = form;
		len = (size_t)n;
	} else {
		const struct http_str *type = http_request_header(req, "Content-Type");
		struct http_str t = type ? *type : (struct http_str){ "", 0 };
		const char *semi = memchr(t.p, ';', t.len);
		if (semi)
			t.len = (size_t)(semi - t.p);
		while (t.len && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
			t.len--;
		if (str_is_nocase(t, "application/json"))
			json = true;
		else if (!str_is_nocase(t, "application/x-www-form-urlencoded")) {
			respond_text(c, 415, "send application/json or application/x-www-form-urlencoded");
			return;
		}
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

static void handle_request(struct client *c, const struct http_request *req)
{
	bool head_only = req->method == HTTP_METHOD_HEAD;
	c->requests++;
	c->keep_alive = req->keep_alive && !c->srv->shutting_down;
	if (req->method == HTTP_METHOD_OTHER) {
		respond_error(c, 405, "Allow: GET, HEAD, OPTIONS\r\n", false);
		return;
	}
	if (req->method == HTTP_METHOD_OPTIONS) {
		respond_options(c);
		return;
	}
	bool root = path_is(req, "/");
	bool controls = c->srv->controls_json && path_is(req, "/controls");
	bool command = c->srv->controls_json && root && query_action_is(req, "command");
	if (req->method == HTTP_METHOD_POST) {
		if (controls || command)
			handle_set_controls(c, req, command);
		else
			respond_error(c, 405, "Allow: GET, HEAD, OPTIONS\r\n", false);
		return;
	}
	if (command) {
		/* GET never changes anything: mjpg-streamer's command form is taken as a POST */
		respond_error(c, 405, "Allow: POST\r\n", head_only);
		return;
	}
	if (controls) {
		respond_controls(c, head_only);
		return;
	}
	if (path_is(req, "/stream.mjpg") || path_is(req, "/stream") ||
	    (root && query_action_is(req, "stream"))) {
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
	} else if (path_is(req, "/snapshot.jpg") || path_is(req, "/snapshot") ||
		   (root && query_action_is(req, "snapshot"))) {
		handle_snapshot(c, head_only);
	} else if (path_is(req, "/status")) {
		respond_status(c, false, head_only);
	} else if (path_is(req, "/metrics")) {
		respond_status(c, true, head_only);
	} else if (root || path_is(req, "/index.html")) {
		respond(c, &(struct response){ .status = 200, .content_type = "text/html; charset=utf-8",
					       .body = server_index_html, .len = server_index_html_len,
					       .head_only = head_only });
	} else {
		respond_error(c, 404, NULL, head_only);
	}
}

/* ---------------------------------------------------------------- authentication */

#define AUTH_CHALLENGE "WWW-Authenticate: Basic realm=\"mjpegd\", charset=\"UTF-8\"\r\n"

enum auth_gate {
	AUTH_GATE_PASS,     /* serve the request */
	AUTH_GATE_ANSWERED, /* refused: a response is on its way; the request's bytes go */
	AUTH_GATE_DEFERRED, /* AUTHENTICATING: the request's bytes stay until the verdict */
};

/* Drops the request just answered; what a pipelining client sent after it moves up. The bytes
 * left behind are wiped: a request head may carry a password (Authorization). */
static void consume_input(struct client *c, size_t consumed)
{
	memmove(c->in, c->in + consumed, c->in_len - consumed);
	c->in_len -= consumed;
	explicit_bzero(c->in + c->in_len, consumed);
}

static void auth_log_failure(struct client *c, const char *what)
{
	struct server *s = c->srv;
	if (!ratelimit_allow(&s->auth_log_rl, now_mono_ns()))
		return;
	unsigned more = ratelimit_take_suppressed(&s->auth_log_rl);
	/* Only a name from the file is logged: what a client sends may hold control characters. */
	log_notice("client %llu (%s): %s%s%s%s", (unsigned long long)c->id, c->addr, what,
		   c->auth_user[0] ? " for user '" : " (unknown user)", c->auth_user,
		   c->auth_user[0] ? "'" : "");
	if (more)
		log_notice("(%u more failed logins not logged one by one)", more);
}

/* 401 for the request at the head of in[] (parsed again: its bytes are still there). */
static void auth_answer(struct client *c, int status, bool failed)
{
	struct server *s = c->srv;
	struct http_request req;
	size_t consumed = 0;
	int st = 0;
	if (http_parse_request(c->in, c->in_len, &req, &consumed, &st) != HTTP_PARSE_COMPLETE) {
		client_close(c, "request lost while checking credentials");
		return;
	}
	if (failed)
		auth_throttle_failed(&s->auth_throttle, c->peer_key, c->peer_key_len, now_mono_ns());
	c->requests++;
	c->keep_alive = req.keep_alive && !s->shutting_down;
	c->auth_job = -1;
	client_set_state(c, CLIENT_READING);
	bool head_only = req.method == HTTP_METHOD_HEAD;
	if (status == 401)
		respond_error(c, 401, AUTH_CHALLENGE, head_only);
	else
		respond_error(c, status, "Retry-After: 1\r\n", head_only);
	if (c->state != CLIENT_CLOSING)
		consume_input(c, consumed);
}

/* The request's credentials go to the worker (after the slow-down, if any, is over). */
static void auth_begin(struct client *c)
{
	struct server *s = c->srv;
	struct http_request req;
	size_t consumed = 0;
	int st = 0;
	if (!s->auth_users) { /* --auth-file dropped by a reload meanwhile */
		c->auth_granted = true;
		c->deadline_ns = 0;
		client_set_state(c, CLIENT_READING);
		process_input(c);
		return;
	}
	if (http_parse_request(c->in, c->in_len, &req, &consumed, &st) != HTTP_PARSE_COMPLETE) {
		client_close(c, "request lost while checking credentials");
		return;
	}
	const struct http_str *h = http_request_header(&req, "Authorization");
	char user[AUTH_USER_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
	size_t user_len = 0;
	c->auth_user[0] = '\0';
	if (!h || auth_parse_basic(*h, user, sizeof(user), &user_len, password,
				   sizeof(password)) < 0) {
		explicit_bzero(password, sizeof(password));
		auth_log_failure(c, "malformed credentials");
		auth_answer(c, 401, true);
		return;
	}
	const struct auth_user *u = auth_users_find(s->auth_users, user, user_len);
	if (u)
		snprintf(c->auth_user, sizeof(c->auth_user), "%s", u->name);
	/* An unknown user is checked against a real hash and refused: the same time as a wrong
	 * password, so the answer's delay does not tell which names exist. */
	int job = auth_worker_submit(s->auth_worker, u ? u->hash : s->auth_users->user[0].hash,
				     password, !u, c);
	explicit_bzero(password, sizeof(password));
	if (job < 0) {
		/* one line per window and a count, not one per refusal (a guessing flood) */
		uint64_t now = now_mono_ns();
		if (ratelimit_allow(&s->auth_queue_log_rl, now)) {
			unsigned more = ratelimit_take_suppressed(&s->auth_queue_log_rl);
			log_warn("client %llu (%s): %d password checks already queued: 503%s",
				 (unsigned long long)c->id, c->addr, AUTH_WORKER_QUEUE,
				 more ? " (and more since the last such line)" : "");
		}
		auth_answer(c, 503, false);
		return;
	}
	c->auth_job = job;
	c->deadline_ns = now_mono_ns() + s->header_timeout_ns;
}

/* The worker's verdict, on the loop's thread (the client abandons its job when it goes). */
static void auth_verdict(void *ctx, void *owner, bool ok)
{
	(void)ctx;
	struct client *c = owner;
	c->auth_job = -1;
	if (c->state != CLIENT_AUTHENTICATING)
		return;
	if (!ok) {
		auth_log_failure(c, "wrong password");
		auth_answer(c, 401, true);
		return;
	}
	log_debug("client %llu (%s): user '%s' authenticated", (unsigned long long)c->id, c->addr,
		  c->auth_user);
	c->auth_granted = true;
	c->deadline_ns = 0;
	client_set_state(c, CLIENT_READING);
	process_input(c);
}

static bool request_path_exempt(const struct server *s, const struct http_request *req)
{
	return auth_path_exempt(s->auth_exempt, req->path.p, req->path.len);
}

/* --trusted-proxy: a trusted proxy names the client in X-Forwarded-For's last hop, per request
 * (a proxy's keep-alive connection carries requests of many clients). Everyone else's
 * X-Forwarded-For is ignored: a client could write any address there. The slow-down of failed
 * logins then counts by that client, not by the proxy (which would slow everyone down). */
static void client_forwarded(struct client *c, const struct http_request *req)
{
	if (!c->peer_trusted)
		return;
	/* HAProxy's "option forwardfor" adds its own header line after the client's: the last
	 * line's last hop is the proxy's word. */
	const struct http_str *xff = NULL;
	for (size_t i = 0; i < req->n_headers; i++)
		if (str_is_nocase(req->headers[i].name, "X-Forwarded-For"))
			xff = &req->headers[i].value;
	char ip[INET6_ADDRSTRLEN];
	unsigned char key[16];
	size_t key_len = 0;
	if (xff && proxy_forwarded_for(*xff, ip, sizeof(ip), key, &key_len) == 0) {
		snprintf(c->addr, sizeof(c->addr), "%s (via %s)", ip, c->peer_addr);
		memcpy(c->peer_key, key, sizeof(key));
		c->peer_key_len = key_len;
	} else {
		snprintf(c->addr, sizeof(c->addr), "%s", c->peer_addr);
		memcpy(c->peer_key, c->socket_key, sizeof(c->peer_key));
		c->peer_key_len = c->socket_key_len;
	}
}

/* --auth-file: may this request be served now? */
static enum auth_gate auth_gate(struct client *c, const struct http_request *req)
{
	struct server *s = c->srv;
	if (!s->auth_users)
		return AUTH_GATE_PASS;
	if (c->auth_granted) {
		c->auth_granted = false;
		return AUTH_GATE_PASS;
	}
	/* A CORS preflight never carries credentials (the browser sends them afterwards); its
	 * answer tells nothing but the allowed methods. */
	if (req->method == HTTP_METHOD_OPTIONS || request_path_exempt(s, req))
		return AUTH_GATE_PASS;
	if (!http_request_header(req, "Authorization")) {
		/* Every browser asks without credentials first: not a failure. */
		c->requests++;
		c->keep_alive = req->keep_alive && !s->shutting_down;
		respond_error(c, 401, AUTH_CHALLENGE, req->method == HTTP_METHOD_HEAD);
		return AUTH_GATE_ANSWERED;
	}
	client_set_state(c, CLIENT_AUTHENTICATING);
	uint64_t now = now_mono_ns();
	unsigned delay_ms = auth_throttle_delay_ms(&s->auth_throttle, c->peer_key, c->peer_key_len,
						   now);
	if (delay_ms > 0) {
		/* Failed before: the check waits; server_tick() starts it. */
		log_debug("client %llu (%s): credentials checked in %u ms (failed logins before)",
			  (unsigned long long)c->id, c->addr, delay_ms);
		c->deadline_ns = now + (uint64_t)delay_ms * NSEC_PER_MSEC;
		return AUTH_GATE_DEFERRED;
	}
	/* Either queued, or refused at once (auth_answer() consumed the request then). */
	auth_begin(c);
	return AUTH_GATE_DEFERRED;
}

/* ---------------------------------------------------------------- receiving */

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
static void process_input(struct client *c)
{
	struct server *s = c->srv;
	if (c->state != CLIENT_READING)
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
		if (!c->recv_pending)
			client_recv(c);
		return;
	}
	if (pr == HTTP_PARSE_ERROR) {
		log_debug("client %llu (%s): bad request → %d", (unsigned long long)c->id, c->addr, status);
		c->keep_alive = false;
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
		ssize_t n = recv(c->fd, discard_sink, sizeof(discard_sink), MSG_DONTWAIT | MSG_TRUNC);
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

/* ---------------------------------------------------------------- accepting */

/* --allow-origin → the header lines of every response, and the 503 sent above --max-clients. */
static void server_set_cors(struct server *s, const char *origin)
{
	snprintf(s->allow_origin, sizeof(s->allow_origin), "%s", origin ? origin : "");
	if (!origin || !origin[0])
		s->cors[0] = '\0';
	else if (!strcmp(origin, "*"))
		snprintf(s->cors, sizeof(s->cors), "Access-Control-Allow-Origin: *\r\n");
	else /* one origin: its pages may also send credentials (a fetch() of /status) */
		snprintf(s->cors, sizeof(s->cors),
			 "Access-Control-Allow-Origin: %s\r\n"
			 "Access-Control-Allow-Credentials: true\r\n", origin);
	int n = snprintf(s->refused_response, sizeof(s->refused_response),
			 "HTTP/1.1 503 Service Unavailable\r\n"
			 "Server: mjpegd/" MJPEGD_VERSION "\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: 21\r\n"
			 "Cache-Control: no-cache, no-store, must-revalidate\r\n"
			 "Connection: close\r\n"
			 "%s"
			 "Retry-After: 5\r\n"
			 "\r\n"
			 "503 too many clients\n", s->cors);
	s->refused_response_len = n > 0 && (size_t)n < sizeof(s->refused_response) ? (size_t)n : 0;
}

/* Above --max-clients. The 503 leaves at once in one non-blocking send(): a new socket's empty
 * send buffer always takes these few bytes, so a refusal needs no client slot, no memory and no
 * io_uring operation, and every connection of a burst gets its answer (a slot per refusal, as
 * before, ran out after 32 and the rest were closed unanswered). */
static void refuse_connection(struct server *s, int fd)
{
	s->stats.clients_rejected++;
	/* Each line would name another address:port, so the log's repeat filter never caught a
	 * flood: the first refusal of a window is logged, the others are summed up. */
	if (ratelimit_allow(&s->refused_log_rl, now_mono_ns())) {
		char addr[64];
		fd_to_addr(fd, addr, sizeof(addr));
		log_warn("client %s refused: %u clients connected (--max-clients)", addr,
			 s->max_clients);
	}
	ssize_t n = send(fd, s->refused_response, s->refused_response_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)s->refused_response_len) {
		shutdown(fd, SHUT_WR);
		/* A request already here, left unread, would turn close() into a reset that can
		 * overtake the 503; MSG_TRUNC discards it without copying. */
		(void)recv(fd, discard_sink, sizeof(discard_sink), MSG_DONTWAIT | MSG_TRUNC);
	}
	close(fd);
}

static void accept_new(struct server *s, int fd)
{
	if (s->shutting_down) {
		close(fd);
		return;
	}
	if (s->n_clients >= s->max_clients) {
		refuse_connection(s, fd);
		return;
	}
	struct client *c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("out of memory accepting a client");
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->id = ++s->next_client_id;
	c->connected_ns = now_mono_ns();
	c->recv_op.complete = recv_complete;
	c->send_op.complete = send_complete;
	c->state = CLIENT_READING;
	fd_to_addr(fd, c->peer_addr, sizeof(c->peer_addr));
	snprintf(c->addr, sizeof(c->addr), "%s", c->peer_addr);
	fd_to_peer_key(fd, c->socket_key, sizeof(c->socket_key), &c->socket_key_len);
	memcpy(c->peer_key, c->socket_key, sizeof(c->peer_key));
	c->peer_key_len = c->socket_key_len;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		c->peer_trusted = proxy_trusted_has(&s->trusted, (struct sockaddr *)&ss);
	c->auth_job = -1;
	int one = 1;
	/* Each frame leaves in one sendmsg; Nagle would only hold its tail back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	s->stats.clients = s->n_clients;
	s->stats.clients_accepted++;
	log_debug("client %llu (%s): connected", (unsigned long long)c->id, c->addr);
	process_input(c);
}

static void accept_complete(struct loop_op *op, int res, unsigned flags)
{
	struct listener *l = container_of(op, struct listener, accept_op);
	struct server *s = l->srv;
	bool more = flags & IORING_CQE_F_MORE;
	if (!more)
		l->accept_pending = false;
	if (res >= 0) {
		accept_new(s, res);
	} else if (res == -ECANCELED) {
		return;
	} else if (res == -EINVAL && s->multishot_accept && !more) {
		log_info("multishot accept refused by the kernel; using single-shot accept");
		s->multishot_accept = false;
	} else if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
		if (ratelimit_allow(&s->accept_error_rl, now_mono_ns()))
			log_err("accept failed: %s (raise LimitNOFILE or lower --max-clients); "
				"retrying", strerror(-res));
		if (!more)
			l->rearm_on_tick = true;
		return;
	} else if (ratelimit_allow(&s->accept_error_rl, now_mono_ns())) {
		log_warn("accept failed: %s", strerror(-res));
	}
	if (!l->accept_pending && !s->shutting_down)
		accept_arm(l);
}

static void accept_arm(struct listener *l)
{
	struct server *s = l->srv;
	struct io_uring_sqe *sqe = loop_sqe(s->loop, &l->accept_op);
	if (s->multishot_accept)
		io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	l->accept_pending = true;
	l->rearm_on_tick = false;
}

/* The refusals not logged one by one, once their window is over (or at shutdown). */
static void log_refused_summary(struct server *s, uint64_t now, bool force)
{
	struct ratelimit *rl = &s->refused_log_rl;
	if (!rl->suppressed || (!force && now - rl->window_start_ns < rl->interval_ns))
		return;
	unsigned n = ratelimit_take_suppressed(rl);
	log_warn("%u more client%s refused in the last %llu s: %u clients connected (--max-clients)",
		 n, n == 1 ? "" : "s",
		 (unsigned long long)((now - rl->window_start_ns + NSEC_PER_SEC / 2) / NSEC_PER_SEC),
		 s->max_clients);
}

/* ---------------------------------------------------------------- public */

int server_create(const struct server_params *p, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = p->loop;
	for (unsigned i = 0; i < MAX_LISTENERS; i++)
		s->listeners[i].fd = -1;
	s->max_clients = p->max_clients;
	s->header_timeout_ns = (uint64_t)p->header_timeout_ms * NSEC_PER_MSEC;
	s->idle_timeout_ns = (uint64_t)p->idle_timeout_ms * NSEC_PER_MSEC;
	s->first_frame_timeout_ns = (uint64_t)p->first_frame_timeout_ms * NSEC_PER_MSEC;
	s->status_fill = p->status_fill;
	s->status_ctx = p->status_ctx;
	s->multishot_accept = p->loop->multishot_accept;
	s->started_ns = now_mono_ns();
	s->accept_error_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 1);
	s->refused_log_rl = (struct ratelimit)RATELIMIT_INIT(REFUSED_LOG_INTERVAL_NS, 1);
	s->auth_log_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 5);
	s->auth_queue_log_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 1);
	server_set_cors(s, p->allow_origin);
	s->controls_json = p->controls_json;
	s->controls_set = p->controls_set;
	s->controls_ctx = p->controls_ctx;
	s->controls_writable = p->controls_writable;
	s->controls_log_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 1);
	if (proxy_trusted_parse(p->trusted_proxy ? p->trusted_proxy : "", &s->trusted) < 0)
		memset(&s->trusted, 0, sizeof(s->trusted)); /* config checked it already */
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = now_mono_ns() ^ (uint64_t)getpid() << 32;
	auth_throttle_init(&s->auth_throttle, seed);
	if (p->n_listen_fds > 0) {
		for (unsigned i = 0; i < p->n_listen_fds && i < MAX_LISTENERS; i++)
			s->listeners[s->n_listeners++].fd = p->listen_fds[i];
	} else {
		for (unsigned i = 0; i < p->n_listen && i < MAX_LISTENERS; i++) {
			struct listener *l = &s->listeners[i];
			int r = p->listen[i].is_unix ? listen_unix(&p->listen[i], l)
						     : listen_on(p->listen[i].host, p->listen[i].port,
								 &l->fd);
			if (r < 0) {
				server_destroy(s);
				return r;
			}
			s->n_listeners++;
		}
	}
	for (unsigned i = 0; i < s->n_listeners; i++) {
		s->listeners[i].srv = s;
		s->listeners[i].accept_op.complete = accept_complete;
	}
	/* Last: on failure the caller still owns p->auth_users. */
	if (p->auth_users) {
		int r = auth_worker_create(s->loop, auth_verdict, s, &s->auth_worker);
		if (r < 0) {
			log_err("cannot start the password-checking thread: %s", strerror(-r));
			server_destroy(s);
			return r;
		}
		s->auth_users = p->auth_users;
		snprintf(s->auth_exempt, sizeof(s->auth_exempt), "%s",
			 p->auth_exempt ? p->auth_exempt : "");
	}
	*out = s;
	return 0;
}

int server_start(struct server *s)
{
	for (unsigned i = 0; i < s->n_listeners; i++)
		accept_arm(&s->listeners[i]);
	return 0;
}

unsigned server_port(const struct server *s)
{
	for (unsigned i = 0; i < s->n_listeners; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		if (getsockname(s->listeners[i].fd, (struct sockaddr *)&ss, &len) < 0)
			continue;
		if (ss.ss_family == AF_INET)
			return ntohs(((struct sockaddr_in *)&ss)->sin_port);
		if (ss.ss_family == AF_INET6)
			return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
}

void server_publish(struct server *s, struct frame *f)
{
	/* The part header is written here, once per frame, and sent from the frame by every stream
	 * client (no copy per client). */
	int n = multipart_part_header(f->part_header, sizeof(f->part_header), f->len,
				      f->timestamp_us);
	f->part_header_len = n > 0 ? (size_t)n : 0;
	if (s->newest)
		frame_unref(s->newest);
	s->newest = frame_ref(f);
	if (!f->placeholder)
		s->live_seen = true;
	uint64_t now = loop_now(s->loop);
	struct client *next;
	for (struct client *c = s->clients; c; c = next) {
		next = c->next; /* answering a waiting snapshot may close (and free) it */
		if (c->state == CLIENT_STREAMING && !c->send_pending)
			stream_send_newest(c, now);
		else if (c->state == CLIENT_WAITING && s->live_seen)
			handle_snapshot(c, c->head_only);
	}
}

struct frame *server_newest(struct server *s)
{
	return s->newest;
}

void server_tick(struct server *s, uint64_t now)
{
	for (unsigned i = 0; i < s->n_listeners; i++)
		if (s->listeners[i].rearm_on_tick && !s->shutting_down)
			accept_arm(&s->listeners[i]);
	log_refused_summary(s, now, false);
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
		if (!c->deadline_ns || now < c->deadline_ns)
			continue;
		if (c->send_pending) {
			client_close(c, "send stalled (client not reading)");
		} else if (c->state == CLIENT_WAITING) {
			respond_no_frame(c, c->head_only);
		} else if (c->state == CLIENT_AUTHENTICATING && c->auth_job < 0) {
			auth_begin(c); /* the slow-down is over */
		} else if (c->state == CLIENT_AUTHENTICATING) {
			auth_worker_abandon(s->auth_worker, c->auth_job);
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
}

void server_set_allow_origin(struct server *s, const char *origin)
{
	server_set_cors(s, origin);
}

void server_set_controls_writable(struct server *s, bool writable)
{
	s->controls_writable = writable;
}

void server_set_trusted_proxy(struct server *s, const char *list)
{
	if (proxy_trusted_parse(list, &s->trusted) < 0)
		memset(&s->trusted, 0, sizeof(s->trusted));
	/* Clients connected already keep what they were told at accept. */
}

void server_set_limits(struct server *s, unsigned max_clients, unsigned header_timeout_ms,
		       unsigned idle_timeout_ms, unsigned first_frame_timeout_ms)
{
	s->first_frame_timeout_ns = (uint64_t)first_frame_timeout_ms * NSEC_PER_MSEC;
	s->max_clients = max_clients;
	s->header_timeout_ns = (uint64_t)header_timeout_ms * NSEC_PER_MSEC;
	s->idle_timeout_ns = (uint64_t)idle_timeout_ms * NSEC_PER_MSEC;
}

int server_set_auth(struct server *s, struct auth_users *users, const char *exempt)
{
	if (users && !s->auth_worker) {
		int r = auth_worker_create(s->loop, auth_verdict, s, &s->auth_worker);
		if (r < 0) {
			free(users);
			log_err("cannot start the password-checking thread: %s", strerror(-r));
			return r;
		}
	}
	free(s->auth_users);
	s->auth_users = users;
	snprintf(s->auth_exempt, sizeof(s->auth_exempt), "%s", exempt ? exempt : "");
	return 0;
}

void server_shutdown(struct server *s)
{
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	if (s->auth_worker)
		auth_worker_stop(s->auth_worker);
	log_refused_summary(s, now_mono_ns(), true);
	for (unsigned i = 0; i < s->n_listeners; i++) {
		struct listener *l = &s->listeners[i];
		if (l->accept_pending) {
			struct io_uring_sqe *sqe = loop_sqe(s->loop, NULL);
			io_uring_prep_cancel(sqe, &l->accept_op, 0);
		}
	}
	struct client *next;
	for (struct client *c = s->clients; c; c = next) {
		next = c->next;
		client_close(c, "shutting down");
	}
}

bool server_drained(const struct server *s)
{
	if (s->clients || (s->auth_worker && !auth_worker_idle(s->auth_worker)))
		return false;
	for (unsigned i = 0; i < s->n_listeners; i++)
		if (s->listeners[i].accept_pending)
			return false;
	return true;
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
	for (unsigned i = 0; i < s->n_listeners; i++) {
		struct listener *l = &s->listeners[i];
		struct stat st;
		/* Our socket file, unless another process has bound its own there since. */
		if (l->unix_path[0] && lstat(l->unix_path, &st) == 0 && st.st_dev == l->unix_dev &&
		    st.st_ino == l->unix_ino)
			unlink(l->unix_path);
		if (l->fd >= 0)
			close(l->fd);
	}
	frame_unref(s->newest);
	auth_worker_destroy(s->auth_worker);
	free(s->auth_users);
	free(s);
}

const struct server_stats *server_get_stats(const struct server *s)
{
	return &s->stats;
}
