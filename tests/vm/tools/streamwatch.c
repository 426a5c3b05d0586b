/* streamwatch: stream clients and a snapshot poller against mjpegd, for the guest recovery tests
 * (tests/vm/guest/8x-*.sh; busybox wget cannot keep several streams and time their parts).
 *
 *   streamwatch [-p PORT] [-n CLIENTS] [-t SECONDS] [-i SNAP_MS] [-u PATH] [-d DIR] EVENTS
 *       Opens CLIENTS (3) connections to http://127.0.0.1:PORT/stream.mjpg and keeps them
 *       (never reconnects: a dropped client stays dropped), splits each multipart stream into
 *       its parts, and every SNAP_MS (500; 0: never) fetches /snapshot.jpg. Writes one line per
 *       event to EVENTS (line-buffered), until SIGTERM/SIGINT or SECONDS (0: no limit), then
 *       prints one JSON summary line per client on stdout. Times are CLOCK_BOOTTIME seconds,
 *       the clock of /proc/uptime, so a test can compare them with its own marks:
 *         open C T                     client C got its 200 multipart response head
 *         part C T LEN HASH OK         a whole part (OK: FF D8 … FF D9), HASH: FNV-1a 64 of it
 *         snap T STATUS RETRY LEN HASH a /snapshot.jpg answer (RETRY: it had "Retry-After")
 *         close C T REASON             the connection ended (REASON one word: eof, error, …)
 *         end T
 *       -u PATH polls PATH instead of /snapshot.jpg (e.g. /status), -n 0 with no stream client;
 *       each "snap" line then ends with the answer's latency in ms (request sent → body whole).
 *       SIGUSR1 pauses the snapshot poller (a line "paused T" once no snapshot is in flight),
 *       SIGUSR2 resumes it ("resumed T"): a test counting the daemon's fds does so meanwhile.
 *       With -d DIR, every distinct snapshot that came with Retry-After (a placeholder) is
 *       saved as DIR/placeholder-HASH.jpg.
 *
 *   streamwatch -a EVENTS FAULT BACK [END]
 *       Analyses an EVENTS file: FAULT is when the fault was made, BACK when the device came
 *       back (FAULT again for a fault with no outage of its own), END the end of the window
 *       (default: the "end" line). A part is a placeholder when a snapshot with Retry-After had
 *       its bytes, or when one client received those bytes twice (live frames never repeat:
 *       vivid draws a running clock into each). Prints one JSON line per client and a last
 *       line "all" with the worst of each figure across clients:
 *         connected      still connected at END (1/0)
 *         parts bad      parts received; parts that were not whole JPEGs
 *         live_before    live parts before FAULT
 *         ph_outage      placeholder parts from FAULT until the first live part after BACK
 *         first_ph       seconds from FAULT to the first placeholder (-1: none)
 *         live_outage    live parts between FAULT and BACK
 *         recover        seconds from BACK to the first live part at or after it (-1: none)
 *         live_after     live parts from BACK to END
 *         ph_after       placeholder parts after that first live part
 *         first_live     seconds from FAULT to the first live part at or after it (-1: none)
 *         last_live      seconds from BACK to the last live part (-1000: none)
 *         last_ph        seconds from BACK to the last placeholder part (-1000: none)
 *         max_gap        the longest time without any part, from the first part to END
 *         live_gap       the longest time without a live part that ended at or after FAULT
 *                        (from the last live part before it): how long the fault interrupted
 *                        the live picture
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 64
#define BUF_CAP 65536

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}
#define FNV_INIT 14695981039346656037ULL

/* ------------------------------------------------------------------ watching */

enum state { ST_HEAD, ST_PARTHDR, ST_BODY, ST_SNAPBODY, ST_DONE };

struct conn {
	int fd;
	int id; /* client number; -1: the snapshot poller */
	enum state state;
	unsigned char buf[BUF_CAP];
	size_t len;
	size_t body_left, body_len;
	uint64_t hash;
	unsigned char first[2], last[2];
	size_t seen;
	int status;
	bool retry_after;
	unsigned char *snap; /* the snapshot's bytes, to save a placeholder */
	size_t snap_len;
	/* summary */
	unsigned long parts, bad;
	unsigned long long bytes;
	double first_t, last_t;
	const char *closed;
};

static volatile sig_atomic_t stop, paused;
static FILE *ev;
static int port = 8000;
static const char *save_dir;
static uint64_t saved[256];
static unsigned n_saved;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		paused = 1;
	else if (sig == SIGUSR2)
		paused = 0;
	else
		stop = 1;
}

static int dial(const char *request)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void conn_close(struct conn *c, const char *why)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	c->state = ST_DONE;
	c->closed = why;
	if (c->id >= 0)
		fprintf(ev, "close %d %.3f %s\n", c->id, now_s(), why);
}

static void body_bytes(struct conn *c, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	c->hash = fnv(c->hash, p, n);
	for (size_t i = 0; i < n; i++) {
		if (c->seen + i < 2)
			c->first[c->seen + i] = p[i];
	}
	if (n >= 2) {
		c->last[0] = p[n - 2];
		c->last[1] = p[n - 1];
	} else {
		c->last[0] = c->last[1];
		c->last[1] = p[0];
	}
	c->seen += n;
	if (c->id < 0) {
		unsigned char *s = realloc(c->snap, c->snap_len + n);
		if (s) {
			memcpy(s + c->snap_len, p, n);
			c->snap = s;
			c->snap_len += n;
		}
	}
}

static void body_start(struct conn *c, size_t n)
{
	c->body_left = c->body_len = n;
	c->hash = FNV_INIT;
	c->seen = 0;
	memset(c->first, 0, 2);
	memset(c->last, 0, 2);
	c->snap_len = 0;
}

static bool body_is_jpeg(const struct conn *c)
{
	return c->body_len >= 4 && c->first[0] == 0xff && c->first[1] == 0xd8 &&
	       c->last[0] == 0xff && c->last[1] == 0xd9;
}

static double snap_started;

static void snapshot_done(struct conn *c)
{
	double t = now_s();
	fprintf(ev, "snap %.3f %d %d %zu %016" PRIx64 " %.1f\n", t, c->status,
		c->retry_after ? 1 : 0, c->body_len, c->hash, (t - snap_started) * 1000.0);
	if (!save_dir || !c->retry_after || c->status != 200 || c->snap_len != c->body_len)
		return;
	for (unsigned i = 0; i < n_saved; i++)
		if (saved[i] == c->hash)
			return;
	if (n_saved < sizeof(saved) / sizeof(saved[0]))
		saved[n_saved++] = c->hash;
	char path[512];
	snprintf(path, sizeof(path), "%s/placeholder-%016" PRIx64 ".jpg", save_dir, c->hash);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(c->snap, 1, c->snap_len, f);
		fclose(f);
	}
}

/* A header block (NUL-terminated, without the final blank line). */
static bool header_block(struct conn *c, char *h)
{
	char *cl = strcasestr(h, "\r\ncontent-length:");
	if (c->state == ST_HEAD) {
		if (sscanf(h + 2, "HTTP/1.%*d %d", &c->status) != 1)
			return false;
		c->retry_after = strcasestr(h, "\r\nretry-after:") != NULL;
		if (c->id < 0) { /* the snapshot */
			body_start(c, cl ? strtoul(cl + 17, NULL, 10) : 0);
			c->state = ST_SNAPBODY;
			return true;
		}
		if (c->status != 200 || !strcasestr(h, "multipart/x-mixed-replace"))
			return false;
		c->first_t = now_s();
		fprintf(ev, "open %d %.3f\n", c->id, c->first_t);
		c->state = ST_PARTHDR;
		return true;
	}
	/* a part header, after a boundary line */
	if (!strstr(h, "--mjpegdframe") || !cl)
		return false;
	body_start(c, strtoul(cl + 17, NULL, 10));
	c->state = ST_BODY;
	return true;
}

static void part_done(struct conn *c)
{
	double t = now_s();
	bool ok = body_is_jpeg(c);
	c->parts++;
	c->bad += !ok;
	c->bytes += c->body_len;
	c->last_t = t;
	fprintf(ev, "part %d %.3f %zu %016" PRIx64 " %d\n", c->id, t, c->body_len, c->hash, ok);
	c->state = ST_PARTHDR;
}

/* Consumes what is in c->buf. */
static void process(struct conn *c)
{
	for (;;) {
		if (c->state == ST_BODY || c->state == ST_SNAPBODY) {
			size_t n = c->len < c->body_left ? c->len : c->body_left;
			body_bytes(c, c->buf, n);
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			c->body_left -= n;
			if (c->body_left > 0)
				return;
			if (c->state == ST_SNAPBODY) {
				snapshot_done(c);
				conn_close(c, "done");
				return;
			}
			part_done(c);
			continue;
		}
		if (c->state == ST_DONE)
			return;
		unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (!e) {
			if (c->len == BUF_CAP)
				conn_close(c, "header-too-long");
			return;
		}
		size_t hl = (size_t)(e - c->buf);
		char *h = malloc(hl + 3);
		if (!h) {
			conn_close(c, "nomem");
			return;
		}
		h[0] = '\r';
		h[1] = '\n'; /* so that every header line starts with \r\n */
		memcpy(h + 2, c->buf, hl);
		h[hl + 2] = 0;
		bool ok = header_block(c, h);
		if (!ok) {
			fprintf(ev, "# client %d: bad header block: %.200s\n", c->id, h + 2);
			free(h);
			if (c->id < 0)
				fprintf(ev, "snap %.3f -3 0 0 0000000000000000\n", now_s());
			conn_close(c, "bad-header");
			return;
		}
		free(h);
		memmove(c->buf, c->buf + hl + 4, c->len - hl - 4);
		c->len -= hl + 4;
	}
}

static void conn_read(struct conn *c)
{
	for (;;) {
		if (c->len == BUF_CAP) {
			process(c);
			if (c->fd < 0 || c->len == BUF_CAP)
				return;
		}
		ssize_t n = read(c->fd, c->buf + c->len, BUF_CAP - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->id < 0 && c->state == ST_SNAPBODY && c->body_left == 0)
				snapshot_done(c);
			else if (c->id < 0)
				fprintf(ev, "snap %.3f %d 0 0 0000000000000000\n", now_s(),
					c->state == ST_HEAD ? 0 : -c->status);
			conn_close(c, n == 0 ? "eof" : "error");
			return;
		}
		c->len += (size_t)n;
		process(c);
		if (c->fd < 0)
			return;
	}
}

static int watch(int argc, char **argv)
{
	int n = 3, opt;
	double seconds = 0, snap_ms = 500;
	const char *snap_path = "/snapshot.jpg";
	while ((opt = getopt(argc, argv, "p:n:t:i:d:u:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'n': n = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'i': snap_ms = atof(optarg); break;
		case 'd': save_dir = optarg; break;
		case 'u': snap_path = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || n < 0 || n > MAX_CLIENTS || strlen(snap_path) > 200) {
		fprintf(stderr, "usage: streamwatch [-p PORT] [-n CLIENTS] [-t SECONDS] [-i SNAP_MS] "
				"[-u PATH] [-d DIR] EVENTS | streamwatch -a EVENTS FAULT BACK [END]\n");
		return 2;
	}
	ev = fopen(argv[optind], "w");
	if (!ev) {
		perror(argv[optind]);
		return 1;
	}
	setvbuf(ev, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	static struct conn clients[MAX_CLIENTS], snap;
	for (int i = 0; i < n; i++) {
		struct conn *c = &clients[i];
		c->id = i;
		c->state = ST_HEAD;
		c->fd = dial("GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
		if (c->fd < 0) {
			fprintf(ev, "close %d %.3f connect-failed\n", i, now_s());
			c->state = ST_DONE;
			c->closed = "connect-failed";
		}
	}
	snap.fd = -1;
	snap.id = -1;
	double t_end = seconds > 0 ? now_s() + seconds : 0, next_snap = now_s();
	bool pause_reported = false;
	while (!stop) {
		double t = now_s();
		if (t_end && t >= t_end)
			break;
		if (paused && !pause_reported && snap.fd < 0) {
			fprintf(ev, "paused %.3f\n", t);
			pause_reported = true;
		} else if (!paused && pause_reported) {
			fprintf(ev, "resumed %.3f\n", t);
			pause_reported = false;
		}
		if (snap_ms > 0 && !paused && snap.fd < 0 && t >= next_snap) {
			free(snap.snap);
			int id = snap.id;
			memset(&snap, 0, sizeof(snap));
			snap.id = id;
			snap.state = ST_HEAD;
			char req[256];
			snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				 "Connection: close\r\n\r\n", snap_path);
			snap.fd = dial(req);
			if (snap.fd < 0)
				fprintf(ev, "snap %.3f -1 0 0 0000000000000000\n", t);
			snap_started = t;
			next_snap = t + snap_ms / 1000.0;
		}
		if (snap.fd >= 0 && t - snap_started > 10) {
			fprintf(ev, "snap %.3f -2 0 0 0000000000000000\n", t);
			conn_close(&snap, "timeout");
		}
		struct pollfd pfd[MAX_CLIENTS + 1];
		struct conn *who[MAX_CLIENTS + 1];
		int k = 0;
		for (int i = 0; i <= n; i++) {
			struct conn *c = i < n ? &clients[i] : &snap;
			if (c->fd < 0)
				continue;
			pfd[k] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			who[k++] = c;
		}
		double wait = 0.1;
		if (snap_ms > 0 && snap.fd < 0 && next_snap - t < wait)
			wait = next_snap - t;
		if (t_end && t_end - t < wait)
			wait = t_end - t;
		if (wait < 0)
			wait = 0;
		int r = poll(pfd, (nfds_t)k, (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			perror("poll");
			break;
		}
		for (int i = 0; r > 0 && i < k; i++)
			if (pfd[i].revents)
				conn_read(who[i]);
	}
	double t = now_s();
	fprintf(ev, "end %.3f\n", t);
	fclose(ev);
	for (int i = 0; i < n; i++) {
		struct conn *c = &clients[i];
		printf("{\"client\": %d, \"connected\": %s, \"parts\": %lu, \"bad\": %lu, \"bytes\": %llu, "
		       "\"opened\": %.3f, \"last_part\": %.3f, \"closed\": \"%s\"}\n",
		       i, c->fd >= 0 ? "true" : "false", c->parts, c->bad, c->bytes, c->first_t,
		       c->last_t, c->closed ? c->closed : "");
		if (c->fd >= 0)
			close(c->fd);
	}
	return 0;
}

/* ------------------------------------------------------------------ analysis */

struct part {
	int client;
	double t;
	uint64_t hash;
	bool ok, ph;
};

static int analyse(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: streamwatch -a EVENTS FAULT BACK [END]\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	double fault = atof(argv[3]), back = atof(argv[4]), end = argc > 5 ? atof(argv[5]) : 0;
	struct part *parts = NULL;
	size_t np = 0, cap = 0;
	uint64_t ph[256];
	unsigned nph = 0;
	int nclients = 0;
	bool opened[MAX_CLIENTS] = { false }, closed[MAX_CLIENTS] = { false };
	double closed_at[MAX_CLIENTS] = { 0 };
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		int c, status, retry, ok;
		double t;
		size_t len;
		uint64_t h;
		char why[64];
		if (sscanf(line, "part %d %lf %zu %" SCNx64 " %d", &c, &t, &len, &h, &ok) == 5) {
			if (c < 0 || c >= MAX_CLIENTS)
				continue;
			if (np == cap) {
				cap = cap ? cap * 2 : 1024;
				parts = realloc(parts, cap * sizeof(*parts));
				if (!parts)
					return 1;
			}
			parts[np++] = (struct part){ .client = c, .t = t, .hash = h, .ok = ok };
		} else if (sscanf(line, "snap %lf %d %d %zu %" SCNx64, &t, &status, &retry, &len,
				  &h) == 5) {
			if (status == 200 && retry && nph < 256) {
				bool have = false;
				for (unsigned i = 0; i < nph; i++)
					have |= ph[i] == h;
				if (!have)
					ph[nph++] = h;
			}
		} else if (sscanf(line, "open %d %lf", &c, &t) == 2) {
			if (c >= 0 && c < MAX_CLIENTS) {
				opened[c] = true;
				if (c + 1 > nclients)
					nclients = c + 1;
			}
		} else if (sscanf(line, "close %d %lf %63s", &c, &t, why) == 3) {
			if (c >= 0 && c < MAX_CLIENTS) {
				closed[c] = true;
				closed_at[c] = t;
				if (c + 1 > nclients)
					nclients = c + 1;
			}
		} else if (sscanf(line, "end %lf", &t) == 1 && !end) {
			end = t;
		}
	}
	fclose(f);
	if (!end)
		end = now_s();
	unsigned learned = 0;
	for (size_t i = 0; i < np; i++) {
		for (unsigned k = 0; k < nph && !parts[i].ph; k++)
			parts[i].ph = parts[i].hash == ph[k];
		for (size_t j = 0; j < np && !parts[i].ph; j++)
			if (j != i && parts[j].client == parts[i].client &&
			    parts[j].hash == parts[i].hash) {
				parts[i].ph = true;
				learned++;
			}
	}
	/* the worst across clients */
	int all_connected = 1;
	unsigned long all_parts = (unsigned long)-1, all_bad = 0, all_live_before = (unsigned long)-1;
	unsigned long all_ph_outage = (unsigned long)-1, all_live_outage = (unsigned long)-1;
	unsigned long all_live_after = (unsigned long)-1, all_ph_after = 0;
	double all_first_ph = 0, all_recover = 0, all_max_gap = 0;
	double all_first_live = 0, all_last_live = -1000, all_last_ph = -1000, all_live_gap = 0;
	for (int c = 0; c < nclients; c++) {
		unsigned long n = 0, bad = 0, live_before = 0, ph_outage = 0, live_outage = 0;
		unsigned long live_after = 0, ph_after = 0;
		double first_ph = -1, recovered_at = -1, prev = -1, max_gap = 0;
		double first_live = -1, last_live = -1000, last_ph = -1000;
		double prev_live = -1, live_gap = 0;
		for (size_t i = 0; i < np; i++) {
			struct part *p = &parts[i];
			if (p->client != c || p->t > end)
				continue;
			n++;
			bad += !p->ok;
			if (prev >= 0 && p->t - prev > max_gap)
				max_gap = p->t - prev;
			prev = p->t;
			if (!p->ph) {
				if (prev_live >= 0 && p->t >= fault && p->t - prev_live > live_gap)
					live_gap = p->t - prev_live;
				prev_live = p->t;
				last_live = p->t - back;
				if (p->t >= fault && first_live < 0)
					first_live = p->t - fault;
			} else {
				last_ph = p->t - back;
			}
			if (!p->ph && p->t < fault)
				live_before++;
			if (!p->ph && p->t >= fault && p->t < back)
				live_outage++;
			if (!p->ph && p->t >= back) {
				live_after++;
				if (recovered_at < 0)
					recovered_at = p->t;
			}
			if (p->ph && p->t >= fault) {
				if (first_ph < 0)
					first_ph = p->t - fault;
				if (recovered_at < 0)
					ph_outage++;
				else
					ph_after++;
			}
		}
		double tail = closed[c] ? closed_at[c] : end;
		if (prev >= 0 && tail - prev > max_gap)
			max_gap = tail - prev;
		int connected = opened[c] && !closed[c];
		double recover = recovered_at < 0 ? -1 : recovered_at - back;
		printf("{\"client\": %d, \"connected\": %d, \"parts\": %lu, \"bad\": %lu, "
		       "\"live_before\": %lu, \"ph_outage\": %lu, \"first_ph\": %.3f, "
		       "\"live_outage\": %lu, \"recover\": %.3f, \"live_after\": %lu, "
		       "\"ph_after\": %lu, \"max_gap\": %.3f, \"first_live\": %.3f, "
		       "\"last_live\": %.3f, \"last_ph\": %.3f, \"live_gap\": %.3f}\n",
		       c, connected, n, bad, live_before, ph_outage, first_ph, live_outage, recover,
		       live_after, ph_after, max_gap, first_live, last_live, last_ph, live_gap);
		all_connected &= connected;
		if (n < all_parts)
			all_parts = n;
		all_bad += bad;
		if (live_before < all_live_before)
			all_live_before = live_before;
		if (ph_outage < all_ph_outage)
			all_ph_outage = ph_outage;
		if (live_outage < all_live_outage)
			all_live_outage = live_outage;
		if (live_after < all_live_after)
			all_live_after = live_after;
		if (ph_after > all_ph_after)
			all_ph_after = ph_after;
		if (first_ph < 0 || all_first_ph < 0)
			all_first_ph = -1;
		else if (first_ph > all_first_ph)
			all_first_ph = first_ph;
		if (recover < 0 || all_recover < 0)
			all_recover = -1;
		else if (recover > all_recover)
			all_recover = recover;
		if (max_gap > all_max_gap)
			all_max_gap = max_gap;
		if (first_live < 0 || all_first_live < 0)
			all_first_live = -1;
		else if (first_live > all_first_live)
			all_first_live = first_live;
		if (last_live > all_last_live)
			all_last_live = last_live;
		if (last_ph > all_last_ph)
			all_last_ph = last_ph;
		if (live_gap > all_live_gap)
			all_live_gap = live_gap;
	}
	if (nclients == 0) {
		all_connected = 0;
		all_parts = all_live_before = all_ph_outage = all_live_outage = all_live_after = 0;
		all_first_ph = all_recover = all_first_live = -1;
	}
	printf("{\"all\": %d, \"connected\": %d, \"parts\": %lu, \"bad\": %lu, \"live_before\": %lu, "
	       "\"ph_outage\": %lu, \"first_ph\": %.3f, \"live_outage\": %lu, \"recover\": %.3f, "
	       "\"live_after\": %lu, \"ph_after\": %lu, \"max_gap\": %.3f, "
	       "\"first_live\": %.3f, \"last_live\": %.3f, \"last_ph\": %.3f, \"live_gap\": %.3f, "
	       "\"placeholder_pictures\": %u}\n",
	       nclients, all_connected, all_parts, all_bad, all_live_before, all_ph_outage,
	       all_first_ph, all_live_outage, all_recover, all_live_after, all_ph_after, all_max_gap,
	       all_first_live, all_last_live, all_last_ph, all_live_gap, nph);
	(void)learned;
	free(parts);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-a") == 0)
		return analyse(argc, argv);
	return watch(argc, argv);
}
