/* loadclient: N concurrent MJPEG stream viewers in one process (epoll, non-blocking sockets).
 *
 *   loadclient --port P [--host 127.0.0.1] [--path /stream.mjpg] -n N [--fps 30]
 *              [--warmup S] [--duration S] [--frames F] [--pid PID] [--during CMD] [--label L]
 *              [--rate BYTES_PER_S]
 *
 * Opens N connections to http://HOST:PORT/PATH (at most 64 connecting at once), parses each
 * multipart/x-mixed-replace stream (boundary from the response's Content-Type; every part needs a
 * Content-Length; X-Timestamp is read when present) and records, for every part, the wall-clock
 * time (CLOCK_REALTIME) at which the recv() that completed its body returned, minus the part's
 * X-Timestamp: the frame-to-last-byte latency (same machine, same clock).
 *
 * Phases: connect all, wait until every client has a first frame (or --ready-timeout), warm up,
 * then one measurement window of --duration seconds (or until every client got --frames parts in
 * the window). At the window's start and end it samples /proc/PID (the server: CPU time of all its
 * threads from /proc/PID/task/TID/schedstat in ns, utime/stime ticks from /proc/PID/stat, RSS from
 * /proc/PID/status; and the whole machine's busy time from /proc/stat: system_busy_s, every CPU,
 * every process and kernel thread). --during CMD is started (sh -c, own process group) 0.3 s
 * before the window opens (time to attach) and sent SIGINT when it closes, then waited for; the parts completed
 * while it ran are reported as frames_during_cmd, the denominator for strace -c / perf trace -s
 * counts (perf record profiles the same span).
 *
 * --rate makes every client a slow viewer that reads at most that many bytes a second;
 * latency_end_ms (mean latency over the window's last second) then shows how stale its frames are.
 *
 * Output: one JSON object on stdout. Exit 0 when at least one client streamed, else 1.
 * No third-party code: gcc -O2 bench/loadclient.c -o loadclient (-static works).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTING 64
#define LINE_MAX_BYTES 1024
#define HEAD_MAX_BYTES 8192
#define RECV_BUF (256 * 1024)

enum cstate { C_IDLE, C_CONNECTING, C_HEAD, C_SEEK, C_PART, C_BODY, C_DONE, C_FAILED };

struct client {
	int fd;
	enum cstate state;
	char boundary[80];
	size_t boundary_len;
	char head[HEAD_MAX_BYTES];
	size_t head_len;
	char line[LINE_MAX_BYTES];
	size_t line_len;
	bool line_truncated;
	size_t body_left;
	long long content_length;
	double part_ts; /* X-Timestamp of the part being read, or < 0 */
	double last_ts;
	uint64_t frames_total, frames_window, bytes_window;
	uint64_t skipped_window; /* from gaps between consecutive X-Timestamps */
	int http_status;
	const char *error;
	double allowance, rate_t; /* --rate */
};

static struct {
	const char *host, *path, *during, *label;
	int port, n;
	double fps, warmup, duration, ready_timeout;
	long frames;
	int pid;
	double rate; /* bytes/s each client reads at most (0: as fast as it can) */
} opt = { "127.0.0.1", "/stream.mjpg", NULL, "", 0, 1, 30.0, 2.0, 5.0, 30.0, 0, 0, 0 };

static struct client *clients;
static bool in_window, in_during;
static uint64_t frames_during; /* parts completed while the --during command ran */
static double *lat; /* seconds */
static double *lat_at; /* when each sample was taken (CLOCK_REALTIME s), for latency_end_ms */
static size_t lat_n, lat_cap;
static uint64_t frames_no_ts;

static double now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "loadclient: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ------------------------------------------------------------------ /proc sampling */

struct proc_sample {
	bool ok;
	double cpu_ns;        /* sum of schedstat run time over threads; < 0 when unavailable */
	double utime, stime;  /* seconds, tick-based */
	long rss_kib, hwm_kib, anon_kib, file_kib, shmem_kib;
	int threads;
	double t; /* monotonic */
	/* the whole machine (first line of /proc/stat, ticks): busy = all but idle and iowait */
	unsigned long long sys_busy, sys_total;
};

static void proc_stat_sample(struct proc_sample *s)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return;
	for (int i = 0; i < 8; i++)
		s->sys_total += v[i];
	s->sys_busy = s->sys_total - v[3] - v[4];
}

static long status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	if (!p)
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

static void proc_sample(int pid, struct proc_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->t = now_mono();
	s->cpu_ns = -1;
	proc_stat_sample(s);
	if (pid <= 0)
		return;
	char path[128], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return;
	unsigned long ut = 0, st = 0;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return;
	double tck = (double)sysconf(_SC_CLK_TCK);
	s->utime = (double)ut / tck;
	s->stime = (double)st / tck;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		s->rss_kib = status_field(buf, "VmRSS:");
		s->hwm_kib = status_field(buf, "VmHWM:");
		s->anon_kib = status_field(buf, "RssAnon:");
		s->file_kib = status_field(buf, "RssFile:");
		s->shmem_kib = status_field(buf, "RssShmem:");
		s->threads = (int)status_field(buf, "Threads:");
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (d) {
		double sum = 0;
		bool any = false;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char sp[320];
			snprintf(sp, sizeof(sp), "/proc/%d/task/%s/schedstat", pid, e->d_name);
			FILE *sf = fopen(sp, "re");
			if (!sf)
				continue;
			unsigned long long run = 0;
			if (fscanf(sf, "%llu", &run) == 1) {
				sum += (double)run;
				any = true;
			}
			fclose(sf);
		}
		closedir(d);
		if (any)
			s->cpu_ns = sum;
	}
	s->ok = true;
}

/* ------------------------------------------------------------------ the --during command */

static pid_t during_start(void)
{
	if (!opt.during)
		return -1;
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", opt.during, (char *)NULL);
		_exit(127);
	}
	setpgid(p, p);
	return p;
}

static int during_stop(pid_t p)
{
	if (p <= 0)
		return -1;
	kill(-p, SIGINT);
	int st = 0;
	for (int i = 0; i < 200; i++) { /* up to 20 s: perf record writes its file */
		pid_t r = waitpid(p, &st, WNOHANG);
		if (r == p)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kill(-p, SIGKILL);
	waitpid(p, &st, 0);
	return 137;
}

/* ------------------------------------------------------------------ streams */

static void client_fail(struct client *c, const char *why)
{
	if (c->state != C_FAILED && c->state != C_DONE)
		c->error = why;
	c->state = C_FAILED;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void lat_push(double v, double at)
{
	if (lat_n == lat_cap) {
		lat_cap = lat_cap ? 2 * lat_cap : 65536;
		lat = realloc(lat, lat_cap * sizeof(*lat));
		lat_at = realloc(lat_at, lat_cap * sizeof(*lat_at));
		if (!lat || !lat_at)
			die("realloc");
	}
	lat_at[lat_n] = at;
	lat[lat_n++] = v;
}

static void frame_done(struct client *c, double t)
{
	c->frames_total++;
	if (in_during)
		frames_during++;
	if (in_window) {
		c->frames_window++;
		c->bytes_window += (uint64_t)c->content_length;
		if (c->part_ts > 0) {
			lat_push(t - c->part_ts, t);
			if (c->last_ts > 0) {
				double dt = c->part_ts - c->last_ts;
				if (dt * opt.fps > 1.5)
					c->skipped_window += (uint64_t)llround(dt * opt.fps) - 1;
			}
		} else {
			frames_no_ts++;
		}
	}
	if (c->part_ts > 0)
		c->last_ts = c->part_ts;
}

/* One header line of the multipart stream (without CR LF). */
static void part_line(struct client *c, char *l, size_t n, double t)
{
	if (c->state == C_SEEK) {
		if (n >= 2 + c->boundary_len && l[0] == '-' && l[1] == '-' &&
		    memcmp(l + 2, c->boundary, c->boundary_len) == 0) {
			if (n >= 4 + c->boundary_len && l[2 + c->boundary_len] == '-') {
				c->state = C_DONE; /* closing delimiter */
				return;
			}
			c->state = C_PART;
			c->content_length = -1;
			c->part_ts = -1;
		}
		return;
	}
	/* C_PART */
	if (n == 0) {
		if (c->content_length < 0) {
			client_fail(c, "a part without Content-Length");
			return;
		}
		c->body_left = (size_t)c->content_length;
		c->state = C_BODY;
		if (c->body_left == 0) {
			frame_done(c, t);
			c->state = C_SEEK;
		}
		return;
	}
	l[n] = '\0';
	if (strncasecmp(l, "Content-Length:", 15) == 0)
		c->content_length = strtoll(l + 15, NULL, 10);
	else if (strncasecmp(l, "X-Timestamp:", 12) == 0)
		c->part_ts = strtod(l + 12, NULL);
}

static bool parse_head(struct client *c)
{
	c->head[c->head_len] = '\0';
	if (sscanf(c->head, "HTTP/1.%*d %d", &c->http_status) != 1 || c->http_status != 200) {
		client_fail(c, c->http_status == 503 ? "503 (server full)" : "not 200 OK");
		return false;
	}
	const char *b = strcasestr(c->head, "boundary=");
	if (!b) {
		client_fail(c, "no multipart boundary");
		return false;
	}
	b += 9;
	if (*b == '"')
		b++;
	if (b[0] == '-' && b[1] == '-') /* some servers put the dashes in the parameter */
		b += 2;
	size_t n = strcspn(b, "\"\r\n; ");
	if (n == 0 || n >= sizeof(c->boundary)) {
		client_fail(c, "bad boundary");
		return false;
	}
	memcpy(c->boundary, b, n);
	c->boundary[n] = '\0';
	c->boundary_len = n;
	return true;
}

static void feed(struct client *c, char *p, size_t n, double t)
{
	size_t i = 0;
	while (i < n && c->state != C_FAILED && c->state != C_DONE) {
		if (c->state == C_HEAD) {
			size_t room = sizeof(c->head) - 1 - c->head_len;
			size_t take = n - i < room ? n - i : room;
			memcpy(c->head + c->head_len, p + i, take);
			c->head_len += take;
			c->head[c->head_len] = '\0';
			char *end = strstr(c->head, "\r\n\r\n");
			if (!end) {
				if (c->head_len >= sizeof(c->head) - 1)
					client_fail(c, "response head too long");
				i += take;
				continue;
			}
			size_t head_bytes = (size_t)(end + 4 - c->head);
			/* bytes after the head in this chunk go to the part parser */
			i += take - (c->head_len - head_bytes);
			c->head_len = head_bytes;
			if (!parse_head(c))
				return;
			c->state = C_SEEK;
			c->line_len = 0;
			continue;
		}
		if (c->state == C_BODY) {
			size_t take = n - i < c->body_left ? n - i : c->body_left;
			c->body_left -= take;
			i += take;
			if (c->body_left == 0) {
				frame_done(c, t);
				c->state = C_SEEK;
				c->line_len = 0;
			}
			continue;
		}
		/* C_SEEK / C_PART: line by line */
		char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : n - i;
		size_t room = sizeof(c->line) - 1 - c->line_len;
		size_t copy = take < room ? take : room;
		memcpy(c->line + c->line_len, p + i, copy);
		c->line_len += copy;
		i += take;
		if (!nl)
			continue;
		i++; /* the '\n' */
		size_t ln = c->line_len;
		if (ln > 0 && c->line[ln - 1] == '\r')
			ln--;
		c->line_len = 0;
		part_line(c, c->line, ln, t);
	}
}

/* Reads until EAGAIN or limit bytes; returns the bytes read. */
static size_t drain(struct client *c, char *buf, size_t limit)
{
	size_t got = 0;
	while (got < limit) {
		size_t want = limit - got < RECV_BUF ? limit - got : RECV_BUF;
		ssize_t r = recv(c->fd, buf, want, 0);
		if (r > 0) {
			got += (size_t)r;
			feed(c, buf, (size_t)r, now_real());
			if (c->state == C_FAILED || c->state == C_DONE)
				break;
			continue;
		}
		if (r == 0) {
			client_fail(c, "server closed the connection");
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == EINTR)
			continue;
		client_fail(c, "recv error");
		break;
	}
	return got;
}

/* ------------------------------------------------------------------ connections */

static struct addrinfo *server_addr;

static int start_connect(struct client *c, int ep)
{
	int fd = socket(server_addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		client_fail(c, "socket() failed (RLIMIT_NOFILE?)");
		return -1;
	}
	int r = connect(fd, server_addr->ai_addr, server_addr->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		close(fd);
		client_fail(c, "connect failed");
		return -1;
	}
	c->fd = fd;
	c->state = C_CONNECTING;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
				  .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
	return 0;
}

static void send_request(struct client *c)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
			 "User-Agent: mjpegd-bench-loadclient\r\nAccept: */*\r\n\r\n",
			 opt.path, opt.host, opt.port);
	ssize_t w = send(c->fd, req, (size_t)n, MSG_NOSIGNAL);
	if (w != n) {
		client_fail(c, "request not sent");
		return;
	}
	c->state = C_HEAD;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	if (lat_n == 0)
		return NAN;
	size_t i = (size_t)ceil(p / 100.0 * (double)lat_n);
	if (i > 0)
		i--;
	if (i >= lat_n)
		i = lat_n - 1;
	return lat[i];
}

static void json_num(const char *k, double v, bool comma)
{
	if (isnan(v) || isinf(v))
		printf("\"%s\": null%s", k, comma ? ", " : "");
	else
		printf("\"%s\": %.9g%s", k, v, comma ? ", " : "");
}

static void usage(void)
{
	fprintf(stderr, "usage: loadclient --port P [--host H] [--path /stream.mjpg] [-n N] [--fps F]\n"
			"       [--warmup S] [--duration S] [--frames F] [--ready-timeout S] [--pid PID]\n"
			"       [--during CMD] [--label TEXT] [--rate BYTES_PER_S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
		if (ARG("--host")) opt.host = v;
		else if (ARG("--port")) opt.port = atoi(v);
		else if (ARG("--path")) opt.path = v;
		else if (ARG("-n") || ARG("--clients")) opt.n = atoi(v);
		else if (ARG("--fps")) opt.fps = atof(v);
		else if (ARG("--warmup")) opt.warmup = atof(v);
		else if (ARG("--duration")) opt.duration = atof(v);
		else if (ARG("--frames")) opt.frames = atol(v);
		else if (ARG("--ready-timeout")) opt.ready_timeout = atof(v);
		else if (ARG("--pid")) opt.pid = atoi(v);
		else if (ARG("--during")) opt.during = v;
		else if (ARG("--label")) opt.label = v;
		else if (ARG("--rate")) opt.rate = atof(v);
		else usage();
#undef ARG
	}
	if (opt.port <= 0 || opt.n <= 0 || opt.fps <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);

	/* one fd per client, plus slack */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t want = (rlim_t)opt.n + 64;
	if (rl.rlim_cur < want) {
		if (rl.rlim_max < want)
			rl.rlim_max = want; /* works as root */
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			fprintf(stderr, "loadclient: cannot raise RLIMIT_NOFILE to %lu: %s\n",
				(unsigned long)want, strerror(errno));
	}

	/* numeric addresses only: no resolver, so the static build needs no NSS at run time */
	static struct sockaddr_storage ss;
	static struct addrinfo ai;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, opt.host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)opt.port);
		ai.ai_addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, opt.host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)opt.port);
		ai.ai_addrlen = sizeof(*in6);
	} else {
		fprintf(stderr, "loadclient: --host must be a numeric IPv4/IPv6 address\n");
		return 2;
	}
	ai.ai_family = ss.ss_family;
	ai.ai_addr = (struct sockaddr *)&ss;
	server_addr = &ai;

	clients = calloc((size_t)opt.n, sizeof(*clients));
	char *buf = malloc(RECV_BUF);
	if (!clients || !buf)
		die("malloc");
	for (int i = 0; i < opt.n; i++)
		clients[i].fd = -1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");

	enum { P_CONNECT, P_WARMUP, P_ATTACH, P_WINDOW, P_END } phase = P_CONNECT;
	double t_start = now_mono(), t_phase = t_start, t_first_all = -1;
	double t_window_mono = 0, t_window_len = 0;
	int next_connect = 0, connecting = 0;
	struct proc_sample s0 = { 0 }, s1 = { 0 };
	struct rusage ru0 = { 0 }, ru1 = { 0 };
	pid_t during = -1;
	int during_rc = -1;
	struct epoll_event evs[256];

	while (phase != P_END) {
		/* keep up to MAX_CONNECTING connects in flight */
		while (next_connect < opt.n && connecting < MAX_CONNECTING) {
			if (start_connect(&clients[next_connect], ep) == 0)
				connecting++;
			next_connect++;
		}
		int ne = epoll_wait(ep, evs, 256, opt.rate > 0 ? 5 : 50);
		if (ne < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < ne; k++) {
			struct client *c = evs[k].data.ptr;
			if (c->state == C_FAILED || c->state == C_DONE)
				continue;
			if (c->state == C_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					connecting--;
					client_fail(c, "connect refused");
					continue;
				}
				if (!(evs[k].events & EPOLLOUT))
					continue;
				connecting--;
				send_request(c);
				if (c->state == C_FAILED)
					continue;
			}
			if (opt.rate <= 0)
				drain(c, buf, SIZE_MAX);
		}
		if (opt.rate > 0) {
			/* slow viewers: each reads at most rate × elapsed (bursts capped at 64 KiB) */
			double t = now_mono();
			for (int i = 0; i < opt.n; i++) {
				struct client *c = &clients[i];
				if (c->fd < 0 || c->state == C_CONNECTING || c->state == C_FAILED ||
				    c->state == C_DONE)
					continue;
				if (c->rate_t == 0)
					c->rate_t = t;
				c->allowance += opt.rate * (t - c->rate_t);
				c->rate_t = t;
				if (c->allowance > 65536)
					c->allowance = 65536;
				if (c->allowance >= 1)
					c->allowance -= (double)drain(c, buf, (size_t)c->allowance);
			}
		}

		double t = now_mono();
		if (phase == P_CONNECT) {
			int ready = 0, dead = 0;
			for (int i = 0; i < opt.n; i++) {
				if (clients[i].frames_total > 0)
					ready++;
				else if (clients[i].state == C_FAILED || clients[i].state == C_DONE)
					dead++;
			}
			bool all = next_connect == opt.n && ready + dead == opt.n;
			if (all || t - t_start > opt.ready_timeout) {
				t_first_all = t - t_start;
				phase = P_WARMUP;
				t_phase = t;
			}
		} else if (phase == P_WARMUP && t - t_phase >= opt.warmup) {
			/* strace/perf need a moment to attach to every thread: keep reading meanwhile */
			during = during_start();
			in_during = during > 0;
			phase = P_ATTACH;
			t_phase = t;
		} else if (phase == P_ATTACH && (during < 0 || t - t_phase >= 0.3)) {
			proc_sample(opt.pid, &s0);
			getrusage(RUSAGE_SELF, &ru0);
			in_window = true;
			phase = P_WINDOW;
			t_phase = t_window_mono = now_mono();
		} else if (phase == P_WINDOW) {
			bool done = t - t_phase >= opt.duration;
			if (opt.frames > 0) {
				done = true;
				for (int i = 0; i < opt.n; i++)
					if (clients[i].state != C_FAILED && clients[i].state != C_DONE &&
					    clients[i].frames_window < (uint64_t)opt.frames)
						done = false;
				if (t - t_phase > opt.duration * 10 + 30)
					done = true; /* safety */
			}
			if (done) {
				in_window = false;
				t_window_len = now_mono() - t_window_mono;
				proc_sample(opt.pid, &s1);
				getrusage(RUSAGE_SELF, &ru1);
				in_during = false;
				during_rc = during_stop(during);
				phase = P_END;
			}
		}
	}

	/* ------------------------------------------------------------ report */
	int streamed = 0, failed = 0;
	uint64_t frames = 0, frames_all = 0, bytes = 0, skipped = 0;
	double fmin = INFINITY, fmax = 0;
	const char *first_error = NULL;
	int n_errors = 0;
	for (int i = 0; i < opt.n; i++) {
		struct client *c = &clients[i];
		if (c->frames_total > 0)
			streamed++;
		if (c->state == C_FAILED) {
			failed++;
			if (!first_error)
				first_error = c->error;
			n_errors++;
		}
		frames += c->frames_window;
		frames_all += c->frames_total;
		bytes += c->bytes_window;
		skipped += c->skipped_window;
		double f = (double)c->frames_window / t_window_len;
		if (f < fmin)
			fmin = f;
		if (f > fmax)
			fmax = f;
	}
	/* mean latency of the parts that arrived in the window's last second (before sorting) */
	double lat_end_ms = NAN, t_last = 0, sum = 0;
	size_t n_end = 0;
	for (size_t i = 0; i < lat_n; i++)
		if (lat_at[i] > t_last)
			t_last = lat_at[i];
	for (size_t i = 0; i < lat_n; i++)
		if (lat_at[i] >= t_last - 1.0) {
			sum += lat[i];
			n_end++;
		}
	if (n_end)
		lat_end_ms = sum / (double)n_end * 1e3;
	qsort(lat, lat_n, sizeof(*lat), cmp_double);
	double cpu_s = s0.ok && s1.ok && s0.cpu_ns >= 0 && s1.cpu_ns >= 0
			       ? (s1.cpu_ns - s0.cpu_ns) * 1e-9 : NAN;
	double ut = s1.utime - s0.utime, st = s1.stime - s0.stime;
	double self_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
			  (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1e-6 +
			  (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			  (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1e-6;
	double expected = opt.fps * t_window_len * streamed;

	printf("{");
	printf("\"label\": \"%s\", \"clients\": %d, \"path\": \"%s\", ", opt.label, opt.n, opt.path);
	json_num("fps_target", opt.fps, true);
	json_num("window_s", t_window_len, true);
	json_num("time_to_all_streaming_s", t_first_all, true);
	printf("\"clients_streamed\": %d, \"clients_failed\": %d, ", streamed, failed);
	printf("\"first_error\": %s%s%s, ", first_error ? "\"" : "", first_error ? first_error : "null",
	       first_error ? "\"" : "");
	printf("\"frames_all\": %llu, \"frames\": %llu, \"bytes\": %llu, ",
	       (unsigned long long)frames_all, (unsigned long long)frames, (unsigned long long)bytes);
	json_num("frames_expected", expected, true);
	json_num("frames_missing_fraction", expected > 0 ? 1.0 - (double)frames / expected : NAN, true);
	printf("\"skipped_by_timestamp_gap\": %llu, ", (unsigned long long)skipped);
	json_num("skipped_per_client", streamed ? (double)skipped / streamed : NAN, true);
	json_num("client_fps_min", fmin, true);
	json_num("client_fps_max", fmax, true);
	json_num("client_fps_mean", streamed ? (double)frames / t_window_len / streamed : NAN, true);
	json_num("mean_part_bytes", frames ? (double)bytes / (double)frames : NAN, true);
	printf("\"latency_samples\": %zu, \"frames_without_timestamp\": %llu, ", lat_n,
	       (unsigned long long)frames_no_ts);
	json_num("latency_p50_ms", pct(50) * 1e3, true);
	json_num("latency_p90_ms", pct(90) * 1e3, true);
	json_num("latency_p99_ms", pct(99) * 1e3, true);
	json_num("latency_p999_ms", pct(99.9) * 1e3, true);
	json_num("latency_max_ms", lat_n ? lat[lat_n - 1] * 1e3 : NAN, true);
	json_num("latency_min_ms", lat_n ? lat[0] * 1e3 : NAN, true);
	json_num("latency_end_ms", lat_end_ms, true);
	printf("\"server\": {\"pid\": %d, \"sampled\": %s, ", opt.pid, s0.ok && s1.ok ? "true" : "false");
	json_num("cpu_s", cpu_s, true);
	json_num("utime_s", ut, true);
	json_num("stime_s", st, true);
	json_num("cpu_us_per_frame_client", frames ? cpu_s * 1e6 / (double)frames : NAN, true);
	json_num("cpu_us_per_frame_client_ticks", frames ? (ut + st) * 1e6 / (double)frames : NAN, true);
	json_num("cpu_fraction", cpu_s / t_window_len, true);
	printf("\"rss_kib\": %ld, \"hwm_kib\": %ld, \"rss_anon_kib\": %ld, \"rss_file_kib\": %ld, "
	       "\"rss_shmem_kib\": %ld, \"threads\": %d}, ",
	       s1.rss_kib, s1.hwm_kib, s1.anon_kib, s1.file_kib, s1.shmem_kib, s1.threads);
	json_num("loadclient_cpu_s", self_cpu, true);
	/* every CPU of the machine over the window, kernel threads and this process included */
	json_num("system_busy_s", (double)(s1.sys_busy - s0.sys_busy) / (double)sysconf(_SC_CLK_TCK),
		 true);
	json_num("system_busy_fraction", s1.sys_total > s0.sys_total ?
		 (double)(s1.sys_busy - s0.sys_busy) / (double)(s1.sys_total - s0.sys_total) : NAN, true);
	printf("\"during\": %s%s%s, \"during_rc\": %d, \"frames_during_cmd\": %llu",
	       opt.during ? "\"" : "", opt.during ? "set" : "null", opt.during ? "\"" : "", during_rc,
	       (unsigned long long)frames_during);
	printf("}\n");
	fflush(stdout);
	for (int i = 0; i < opt.n; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	if (n_errors && first_error)
		fprintf(stderr, "loadclient: %d client(s) failed, first: %s\n", n_errors, first_error);
	return streamed > 0 ? 0 : 1;
}
