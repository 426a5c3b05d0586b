/* The HTTP server's doors: TCP and unix listeners (or the sockets systemd passed), accepting
 * connections on the loop, and the refusal above --max-clients, which needs no client slot. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "server_internal.h"

#define REFUSED_LOG_INTERVAL_NS (10 * NSEC_PER_SEC)

/* ---------------------------------------------------------------- binding */

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
		log_err_errno(err, "--listen %s:%u", host, port);
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
		return log_err_errno(r, "--listen unix:%s", path);
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("--listen unix:%s: the path exists and is not a socket; not removing it", path);
		return -EEXIST;
	}
	int probe _cleanup_close_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		int r = -errno;
		return log_err_errno(r, "--listen unix:%s: socket", path);
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int r = connect(probe, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (r == 0 || r == -EAGAIN) {
		log_err("--listen unix:%s: another process is serving on it (is mjpegd running?)",
			path);
		return -EADDRINUSE;
	}
	if (r != -ECONNREFUSED) {
		return log_err_errno(r, "--listen unix:%s: cannot tell whether the socket is in use",
				     path);
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		return log_err_errno(r, "--listen unix:%s: cannot remove the stale socket", path);
	}
	log_notice("--listen unix:%s: removed a stale socket nobody was serving on", path);
	return 0;
}

static int listen_unix(const struct listen_address *cl, struct listener *l)
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
	int fd _cleanup_close_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_err_errno(-errno, "--listen unix:%s: socket", cl->path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cl->path);
	/* The file is created with the mode asked for: never a moment with a wider one. umask is
	 * the process's; nothing else creates files while the server starts. */
	mode_t old_mask = umask(~cl->mode & 0777);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_mask);
	if (r < 0)
		return log_err_errno(r, "--listen unix:%s", cl->path);
	struct stat st;
	if (gid != (gid_t)-1 && chown(cl->path, (uid_t)-1, gid) < 0) {
		r = -errno;
		log_err_errno(r, "--listen unix:%s: cannot give the socket to group '%s' (the "
			      "service must be a member: SupplementaryGroups=)", cl->path, cl->group);
	} else if (chmod(cl->path, cl->mode) < 0 || lstat(cl->path, &st) < 0) {
		r = -errno;
		log_err_errno(r, "--listen unix:%s", cl->path);
	} else if (listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		log_err_errno(r, "--listen unix:%s: listen", cl->path);
	}
	if (r < 0) {
		unlink(cl->path);
		return r;
	}
	l->fd = fd;
	fd = -1; /* the listener's now */
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

/* ---------------------------------------------------------------- accepting */

/* The 503 sent above --max-clients, written whenever the CORS lines change. */
void refusal_format(struct server *s)
{
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
			 "503 too many clients\n", s->gate.cors);
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
		(void)socket_discard(fd);
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
	struct client *c = client_create(s, fd);
	if (!c) {
		log_err("out of memory accepting a client");
		close(fd);
		return;
	}
	fd_to_addr(fd, c->peer_addr, sizeof(c->peer_addr));
	snprintf(c->addr, sizeof(c->addr), "%s", c->peer_addr);
	fd_to_peer_key(fd, c->socket_key, sizeof(c->socket_key), &c->socket_key_len);
	memcpy(c->peer_key, c->socket_key, sizeof(c->peer_key));
	c->peer_key_len = c->socket_key_len;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		c->peer_trusted = proxy_trusted_has(&s->gate.trusted, (struct sockaddr *)&ss);
	int one = 1;
	/* Each frame leaves in one sendmsg; Nagle would only hold its tail back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
			log_err_errno(res, "accept failed, retrying (raise LimitNOFILE or lower "
				      "--max-clients)");
		if (!more)
			l->rearm_on_tick = true;
		return;
	} else if (ratelimit_allow(&s->accept_error_rl, now_mono_ns())) {
		log_warn_errno(res, "accept failed");
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

/* ---------------------------------------------------------------- the server's listeners */

int listeners_open(struct server *s, const struct server_params *p)
{
	for (unsigned i = 0; i < MAX_LISTENERS; i++)
		s->listeners[i].fd = -1;
	s->multishot_accept = p->loop->multishot_accept;
	s->accept_error_rl = (struct ratelimit)RATELIMIT_INIT(10 * NSEC_PER_SEC, 1);
	s->refused_log_rl = (struct ratelimit)RATELIMIT_INIT(REFUSED_LOG_INTERVAL_NS, 1);
	if (p->n_listen_fds > 0) {
		for (unsigned i = 0; i < p->n_listen_fds && i < MAX_LISTENERS; i++)
			s->listeners[s->n_listeners++].fd = p->listen_fds[i];
	} else {
		for (unsigned i = 0; i < p->opt.n_listen && i < MAX_LISTENERS; i++) {
			const struct listen_address *a = &p->opt.listen[i];
			struct listener *l = &s->listeners[i];
			int r = a->is_unix ? listen_unix(a, l) : listen_on(a->host, a->port, &l->fd);
			if (r < 0)
				return r;
			s->n_listeners++;
		}
	}
	for (unsigned i = 0; i < s->n_listeners; i++) {
		s->listeners[i].srv = s;
		s->listeners[i].accept_op.complete = accept_complete;
	}
	return 0;
}

void listeners_start(struct server *s)
{
	for (unsigned i = 0; i < s->n_listeners; i++)
		accept_arm(&s->listeners[i]);
}

void listeners_tick(struct server *s, uint64_t now)
{
	for (unsigned i = 0; i < s->n_listeners; i++)
		if (s->listeners[i].rearm_on_tick && !s->shutting_down)
			accept_arm(&s->listeners[i]);
	log_refused_summary(s, now, false);
}

void listeners_stop(struct server *s)
{
	log_refused_summary(s, now_mono_ns(), true);
	for (unsigned i = 0; i < s->n_listeners; i++) {
		struct listener *l = &s->listeners[i];
		if (l->accept_pending) {
			struct io_uring_sqe *sqe = loop_sqe(s->loop, NULL);
			io_uring_prep_cancel(sqe, &l->accept_op, 0);
		}
	}
}

bool listeners_idle(const struct server *s)
{
	for (unsigned i = 0; i < s->n_listeners; i++)
		if (s->listeners[i].accept_pending)
			return false;
	return true;
}

void listeners_close(struct server *s)
{
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
