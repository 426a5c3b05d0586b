/* writeloop: the floor for serving one MJPEG frame to N TCP clients — what a kernel copy per
 * client costs, with no HTTP server around it.
 *
 *   writeloop --dir DIR [--port 0] [--fps 30] [--nonblock [--notsent-lowat BYTES]]
 *
 * Loads every .jpg file of DIR (the same files the mjpegd fan-out bench replays), listens on 127.0.0.1,
 * accepts any number of clients (each gets a fixed 200 multipart head without its request being
 * parsed) and, on every tick of a 1/fps timerfd, sends the next JPEG as one multipart part — the
 * same three iovecs as mjpegd (part header with Content-Length and X-Timestamp, JPEG, closing
 * boundary) — with one sendmsg per client: blocking sockets by default (one system call per
 * frame·client, never partial on a reader that keeps up), or --nonblock (a client whose socket is
 * full keeps its unsent rest and skips frames until it is sent, like a real server).
 * --notsent-lowat sets TCP_NOTSENT_LOWAT on every client socket: the kernel then takes no more
 * than that many not-yet-sent bytes, so a slow viewer skips frames instead of queueing seconds of
 * them in the socket buffer (bench/run.py's "slow" section).
 * Prints "writeloop: port P" on stdout once listening. Runs until SIGINT/SIGTERM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BOUNDARY "mjpegdframe"
#define MAX_CLIENTS 4096
#define MAX_FILES 256

struct conn {
	int fd;
	/* --nonblock: the rest of a part still to send */
	struct iovec iov[3];
	struct msghdr msg;
	bool busy;
	char hdr[128];
};

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static struct { uint8_t *data; size_t len; } files[MAX_FILES];
static size_t n_files;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		exit(2);
	}
	char *names[MAX_FILES];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAX_FILES) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".jpg") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "rb");
		struct stat st;
		if (!f || fstat(fileno(f), &st) < 0) {
			perror(path);
			exit(2);
		}
		files[n_files].data = malloc((size_t)st.st_size);
		files[n_files].len = fread(files[n_files].data, 1, (size_t)st.st_size, f);
		fclose(f);
		n_files++;
		free(names[i]);
	}
	if (!n_files) {
		fprintf(stderr, "writeloop: no *.jpg in %s\n", dir);
		exit(2);
	}
}

static const char head[] = "HTTP/1.1 200 OK\r\n"
			   "Content-Type: multipart/x-mixed-replace;boundary=" BOUNDARY "\r\n"
			   "Cache-Control: no-cache\r\n"
			   "Connection: close\r\n\r\n--" BOUNDARY "\r\n";
static const char trailer[] = "\r\n--" BOUNDARY "\r\n";

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int port = 0;
	unsigned fps = 30;
	bool nonblock = false;
	int lowat = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--fps") && i + 1 < argc) fps = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--nonblock")) nonblock = true;
		else if (!strcmp(argv[i], "--notsent-lowat") && i + 1 < argc) lowat = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: writeloop --dir DIR [--port P] [--fps N] [--nonblock "
					"[--notsent-lowat BYTES]]\n");
			return 2;
		}
	}
	if (!dir || fps == 0)
		return 2;
	load_dir(dir);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1024) < 0) {
		perror("bind/listen");
		return 2;
	}
	socklen_t sl = sizeof(sa);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	printf("writeloop: port %u\n", ntohs(sa.sin_port));
	fflush(stdout);

	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	uint64_t ns = 1000000000ull / fps;
	struct itimerspec its = { .it_interval = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) },
				  .it_value = { 0, 1 } };
	timerfd_settime(tfd, 0, &its, NULL);

	static struct conn conns[MAX_CLIENTS];
	size_t n_conns = 0, frame = 0;
	while (!stop) {
		struct pollfd pf[2] = { { tfd, POLLIN, 0 }, { lfd, POLLIN, 0 } };
		if (poll(pf, 2, -1) < 0)
			continue;
		if (pf[1].revents & POLLIN) {
			for (;;) {
				int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd < 0)
					break;
				if (n_conns == MAX_CLIENTS) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				if (lowat > 0)
					setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
				char req[2048]; /* the request: read if it is there, never parsed */
				(void)!recv(fd, req, sizeof(req), MSG_DONTWAIT);
				if (send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(head) - 1) {
					close(fd);
					continue;
				}
				if (nonblock)
					fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
				conns[n_conns++] = (struct conn){ .fd = fd };
			}
		}
		if (!(pf[0].revents & POLLIN))
			continue;
		uint64_t exp;
		if (read(tfd, &exp, sizeof(exp)) != sizeof(exp))
			continue;
		/* the part header is built once per frame and shared, like mjpegd's */
		const uint8_t *jpeg = files[frame % n_files].data;
		size_t jlen = files[frame % n_files].len;
		frame++;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		char hdr[128];
		int hl = snprintf(hdr, sizeof(hdr),
				  "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
				  "X-Timestamp: %lld.%06ld\r\n\r\n",
				  jlen, (long long)now.tv_sec, now.tv_nsec / 1000);
		for (size_t i = 0; i < n_conns; i++) {
			struct conn *c = &conns[i];
			struct msghdr *m = &c->msg;
			if (c->fd < 0)
				continue; /* gone (slots are not reused: iovecs point into them) */
			if (!c->busy) {
				memcpy(c->hdr, hdr, (size_t)hl);
				c->iov[0] = (struct iovec){ c->hdr, (size_t)hl };
				c->iov[1] = (struct iovec){ (void *)jpeg, jlen };
				c->iov[2] = (struct iovec){ (void *)trailer, sizeof(trailer) - 1 };
				*m = (struct msghdr){ .msg_iov = c->iov, .msg_iovlen = 3 };
			}
			bool dead = false;
			while (m->msg_iovlen > 0) {
				ssize_t w = sendmsg(c->fd, m, MSG_NOSIGNAL);
				if (w < 0) {
					if (errno == EINTR)
						continue;
					dead = errno != EAGAIN;
					break;
				}
				size_t done = (size_t)w;
				while (m->msg_iovlen > 0 && done >= m->msg_iov[0].iov_len) {
					done -= m->msg_iov[0].iov_len;
					m->msg_iov++;
					m->msg_iovlen--;
				}
				if (m->msg_iovlen > 0) {
					m->msg_iov[0].iov_base = (char *)m->msg_iov[0].iov_base + done;
					m->msg_iov[0].iov_len -= done;
				}
			}
			c->busy = m->msg_iovlen > 0; /* --nonblock: finish it at the next tick */
			if (dead) {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
	for (size_t i = 0; i < n_conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	return 0;
}
