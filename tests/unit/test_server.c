/* The server's client state machine (src/http/client.c) without a network and without io_uring:
 * a snapshot asked for before the first frame waits for it, a request split over several recvs,
 * keep-alive and a second request, a slow stream client given only the newest frame, a frame
 * with an EXIF Orientation sent without copying (its segment an iovec of its own), the header
 * timeout (408), the snapshot's wait timeout (503) and the refusal above --max-clients.
 *
 * The loop is stubbed at link time: the server's only use of it is loop_sqe() (loop_now() reads
 * the struct), defined below, so src/loop.c is never linked in. Each SQE the server prepares is
 * recorded; the test plays the kernel: it completes an accept with a socketpair() end as the
 * client's fd, fills a recv's buffer, gathers a sendmsg's iovecs into the client's "wire" and
 * calls the operation's complete() with the result, possibly short. The socketpairs are only
 * there for the calls the server makes on the fd itself (shutdown, setsockopt, getpeername,
 * the refusal's send). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/frame.h"
#include "mjpegd/loop.h"
#include "mjpegd/http/multipart.h"
#include "mjpegd/http/server.h"
#include "mjpegd/orientation.h"

#define SEC (1000ULL * 1000ULL * 1000ULL)
#define MSEC (1000ULL * 1000ULL)

/* ---------------------------------------------------------------- the stubbed loop */

#define MAX_SQES 512

struct recorded_sqe {
	struct io_uring_sqe sqe;
	struct loop_op *op; /* NULL: fire and forget (a cancellation) */
	bool done;
};

static struct recorded_sqe sqes[MAX_SQES];
static unsigned n_sqes;

struct io_uring_sqe *loop_sqe(struct loop *loop, struct loop_op *op)
{
	(void)loop;
	assert_true(n_sqes < MAX_SQES);
	struct recorded_sqe *r = &sqes[n_sqes++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->done = op == NULL;
	r->sqe.user_data = (uint64_t)(uintptr_t)op;
	return &r->sqe;
}

/* The newest operation of that kind on fd still in flight, or NULL. */
static struct recorded_sqe *pending(uint8_t opcode, int fd)
{
	for (unsigned i = n_sqes; i-- > 0;)
		if (!sqes[i].done && sqes[i].sqe.opcode == opcode && sqes[i].sqe.fd == fd)
			return &sqes[i];
	return NULL;
}

static void complete(struct recorded_sqe *r, int res)
{
	r->done = true;
	r->op->complete(r->op, res, 0);
}

/* ---------------------------------------------------------------- the test's kernel */

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct loop fake_loop;
static struct server *srv;
static int listen_fd = -1;
static struct frame_pool pool;

#define MAX_PEERS 16
static struct peer {
	int server_fd, fd; /* the server's end, the test's end */
	char wire[256 * 1024];
	size_t wire_len;
} peers[MAX_PEERS];
static unsigned n_peers;

/* A client connects: the pending accept completes with the server's end of a socketpair. */
static struct peer *connect_client(void)
{
	struct recorded_sqe *a = pending(IORING_OP_ACCEPT, listen_fd);
	assert_non_null(a);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_true(n_peers < MAX_PEERS);
	struct peer *p = &peers[n_peers++];
	p->server_fd = sv[0];
	p->fd = sv[1];
	p->wire_len = 0;
	complete(a, sv[0]);
	return p;
}

/* The client's bytes arrive: the pending recv gets them (all must fit). */
static void client_says(struct peer *p, const char *bytes)
{
	struct recorded_sqe *r = pending(IORING_OP_RECV, p->server_fd);
	assert_non_null(r);
	size_t n = strlen(bytes);
	assert_true(n <= r->sqe.len);
	memcpy((void *)(uintptr_t)r->sqe.addr, bytes, n);
	complete(r, (int)n);
}

static bool send_in_flight(const struct peer *p)
{
	return pending(IORING_OP_SENDMSG, p->server_fd) != NULL;
}

static unsigned sends_in_flight(const struct peer *p)
{
	unsigned n = 0;
	for (unsigned i = 0; i < n_sqes; i++)
		if (!sqes[i].done && sqes[i].sqe.opcode == IORING_OP_SENDMSG &&
		    sqes[i].sqe.fd == p->server_fd)
			n++;
	return n;
}

/* The socket takes up to max bytes of the pending sendmsg; they go to the peer's wire. */
static size_t socket_takes(struct peer *p, size_t max)
{
	struct recorded_sqe *r = pending(IORING_OP_SENDMSG, p->server_fd);
	assert_non_null(r);
	const struct msghdr *m = (const struct msghdr *)(uintptr_t)r->sqe.addr;
	size_t n = 0;
	for (size_t i = 0; i < m->msg_iovlen && n < max; i++) {
		size_t take = m->msg_iov[i].iov_len;
		if (take > max - n)
			take = max - n;
		assert_true(p->wire_len + take <= sizeof(p->wire));
		memcpy(p->wire + p->wire_len, m->msg_iov[i].iov_base, take);
		p->wire_len += take;
		n += take;
	}
	complete(r, (int)n);
	return n;
}

/* Everything pending is sent (a response, or one frame of a stream). */
static void socket_drains(struct peer *p)
{
	socket_takes(p, SIZE_MAX);
}

/* The wire as a string, then emptied. */
static char wire_text[sizeof(peers[0].wire) + 1];
static const char *take_wire(struct peer *p)
{
	memcpy(wire_text, p->wire, p->wire_len);
	wire_text[p->wire_len] = '\0';
	p->wire_len = 0;
	return wire_text;
}

static struct frame *make_frame(uint64_t sequence, size_t len, bool placeholder)
{
	struct frame *f = frame_pool_acquire(&pool);
	assert_non_null(f);
	assert_int_equal(frame_reserve(f, len), 0);
	for (size_t i = 0; i < len; i++)
		f->buf[i] = (uint8_t)('a' + (sequence + i) % 26);
	f->len = len;
	f->sequence = sequence;
	f->timestamp_us = 1700000000000000ULL + sequence * 33333;
	f->placeholder = placeholder;
	return f;
}

/* The pipeline publishes a frame and drops its own reference. */
static void publish(uint64_t sequence, size_t len, bool placeholder)
{
	struct frame *f = make_frame(sequence, len, placeholder);
	server_publish(srv, f);
	frame_unref(f);
}

/* The camera's controls, faked: the document is the last body set. */
static char controls_doc[128] = "{}";

static int fake_controls_json(void *ctx, bool writable, char **out, size_t *len)
{
	(void)ctx;
	(void)writable;
	*out = strdup(controls_doc);
	*len = strlen(controls_doc);
	return *out ? 0 : -ENOMEM;
}

static int fake_controls_set(void *ctx, const char *body, size_t len, bool json, char *why,
			     size_t whylen)
{
	(void)ctx;
	(void)json;
	(void)why;
	(void)whylen;
	snprintf(controls_doc, sizeof(controls_doc), "{\"set\": \"%.*s\"}", (int)len, body);
	return 0;
}

static bool with_controls;
static bool with_on_demand;
static unsigned frames_wanted; /* want_frame() calls (--on-demand) */
static bool frame_is_current;  /* what frame_current() answers */

static bool with_full;
static unsigned fulls_wanted; /* want_full() calls (--snapshot-size) */
static int full_answer;       /* what want_full() returns (-EOPNOTSUPP: no full size now) */

static int fake_want_full(void *ctx)
{
	(void)ctx;
	fulls_wanted++;
	return full_answer;
}

static void fake_want_frame(void *ctx)
{
	(void)ctx;
	frames_wanted++;
}

static bool fake_frame_current(void *ctx)
{
	(void)ctx;
	return frame_is_current;
}

static void start_server(unsigned max_clients)
{
	memset(&fake_loop, 0, sizeof(fake_loop));
	fake_loop.now_ns = now_mono_ns();
	n_sqes = 0;
	n_peers = 0;
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); /* never listened on */
	assert_true(listen_fd >= 0);
	assert_int_equal(frame_pool_init(&pool, 8), 0);
	struct server_params params = {
		.loop = &fake_loop,
		.opt = { .max_clients = max_clients, .header_timeout_ms = 5000,
			 .idle_timeout_ms = 10000, .first_frame_timeout_ms = 3000 },
		.listen_fds = &listen_fd,
		.n_listen_fds = 1,
	};
	if (with_on_demand) {
		params.opt.on_demand = true;
		params.want_frame = fake_want_frame;
		params.frame_current = fake_frame_current;
	}
	frames_wanted = 0;
	fulls_wanted = 0;
	full_answer = 0;
	if (with_full)
		params.want_full = fake_want_full;
	if (with_controls) {
		params.controls_json = fake_controls_json;
		params.controls_set = fake_controls_set;
		params.opt.controls_writable = true;
	}
	assert_int_equal(server_create(&params, &srv), 0);
	assert_int_equal(server_start(srv), 0);
}

static int setup(void **state)
{
	(void)state;
	start_server(4);
	return 0;
}

static int setup_controls(void **state)
{
	(void)state;
	with_controls = true;
	snprintf(controls_doc, sizeof(controls_doc), "{}");
	start_server(4);
	with_controls = false;
	return 0;
}

static int setup_on_demand(void **state)
{
	(void)state;
	with_on_demand = true;
	start_server(4);
	with_on_demand = false;
	return 0;
}

static int setup_full(void **state)
{
	(void)state;
	with_full = true;
	start_server(4);
	with_full = false;
	return 0;
}

static int setup_one_client(void **state)
{
	(void)state;
	start_server(1);
	return 0;
}

/* Shutdown: every operation in flight completes (cancelled), every client and frame goes. */
static int teardown(void **state)
{
	(void)state;
	server_shutdown(srv);
	for (unsigned i = 0; i < n_sqes; i++)
		if (!sqes[i].done)
			complete(&sqes[i], -ECANCELED);
	assert_true(server_drained(srv));
	server_destroy(srv);
	assert_int_equal(pool.in_use, 0); /* every reference the server took was dropped */
	frame_pool_destroy(&pool);
	for (unsigned i = 0; i < n_peers; i++)
		close(peers[i].fd);
	return 0;
}

#define SNAPSHOT_REQUEST "GET /snapshot.jpg HTTP/1.1\r\nHost: cam\r\n\r\n"

/* ---------------------------------------------------------------- tests */

/* Before the camera's first frame a snapshot waits (the "starting" placeholder is no answer);
 * the first camera frame answers it. */
static void test_snapshot_waits_for_first_frame(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, SNAPSHOT_REQUEST);
	assert_false(send_in_flight(p));
	publish(1, 100, true);
	assert_false(send_in_flight(p));
	publish(2, 1234, false);
	assert_true(send_in_flight(p));
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Content-Type: image/jpeg\r\n"));
	assert_non_null(strstr(w, "Content-Length: 1234\r\n"));
	assert_non_null(strstr(w, "Connection: keep-alive\r\n"));
	const char *body = strstr(w, "\r\n\r\n");
	assert_non_null(body);
	assert_int_equal(strlen(body + 4), 1234);
	assert_int_equal(body[4], 'a' + 2 % 26);
	assert_int_equal(server_get_stats(srv)->frames_sent, 1);
	/* keep-alive: a recv is armed for the next request */
	assert_non_null(pending(IORING_OP_RECV, p->server_fd));
}

/* No frame within --source-timeout-ms: 503 with Retry-After. */
static void test_snapshot_wait_times_out(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, SNAPSHOT_REQUEST);
	server_tick(srv, now_mono_ns() + 1 * SEC);
	assert_false(send_in_flight(p));
	server_tick(srv, now_mono_ns() + 4 * SEC);
	assert_true(send_in_flight(p));
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 503 "));
	assert_non_null(strstr(w, "Retry-After: 1\r\n"));
	assert_non_null(strstr(w, "\r\n\r\n503 no frame yet\n"));
	assert_non_null(strstr(w, "Content-Length: 17\r\n"));
}

/* On demand, nobody streaming: the camera has a newer frame than the newest published (the
 * pipeline's frame_current() says so), so a snapshot asks the pipeline for one (again at every
 * tick while it waits) and is answered by the next frame published, whatever the pipeline says
 * then; with the newest current it is answered from it; the "no signal" picture answers at once. */
static void test_on_demand_snapshot_waits_for_fresh_frame(void **state)
{
	(void)state;
	publish(1, 100, false);
	frame_is_current = false;
	struct peer *p = connect_client();
	client_says(p, SNAPSHOT_REQUEST);
	assert_false(send_in_flight(p));
	assert_int_equal(frames_wanted, 1);
	server_tick(srv, fake_loop.now_ns + 250 * MSEC);
	assert_int_equal(frames_wanted, 2);
	assert_false(send_in_flight(p));
	publish(2, 222, false); /* a newer camera frame is already held again: still the answer */
	assert_true(send_in_flight(p));
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Content-Length: 222\r\n"));
	/* current: the next request is answered from it, nothing asked */
	frame_is_current = true;
	client_says(p, SNAPSHOT_REQUEST);
	assert_true(send_in_flight(p));
	assert_int_equal(frames_wanted, 2);
	socket_drains(p);
	assert_non_null(strstr(take_wire(p), "Content-Length: 222\r\n"));
	/* an outage: the "no signal" picture says why at once */
	publish(3, 33, true);
	frame_is_current = false;
	client_says(p, SNAPSHOT_REQUEST);
	assert_true(send_in_flight(p));
	socket_drains(p);
	w = take_wire(p);
	assert_non_null(strstr(w, "Content-Length: 33\r\n"));
	assert_non_null(strstr(w, "Retry-After: 1\r\n"));
	assert_int_equal(frames_wanted, 2);
	/* no frame comes: 503 after --source-timeout-ms, as before the first frame */
	publish(4, 44, false);
	client_says(p, SNAPSHOT_REQUEST);
	assert_false(send_in_flight(p));
	server_tick(srv, now_mono_ns() + 4 * SEC);
	assert_true(send_in_flight(p));
	socket_drains(p);
	assert_true(starts_with(take_wire(p), "HTTP/1.1 503 "));
}

/* The pipeline encoded a full-size frame for the snapshots waiting. */
static void publish_full(uint64_t sequence, size_t len)
{
	struct frame *f = make_frame(sequence, len, false);
	server_publish_full(srv, f);
	frame_unref(f);
}

/* --snapshot-size: /snapshot.jpg asks the pipeline for a full-size frame and is answered by the
 * next one published (not by the stream's frames, and not by the one from before it asked);
 * ?size=stream is the stream's newest as before; a bad size is 400; with no full size now
 * (want_full() refuses) the stream's is served, also to one already waiting. */
static void test_full_size_snapshot(void **state)
{
	(void)state;
	publish(1, 100, false);
	publish_full(1, 5000);
	struct peer *p = connect_client();
	client_says(p, SNAPSHOT_REQUEST);
	assert_int_equal(fulls_wanted, 1);
	assert_false(send_in_flight(p));
	publish(2, 200, false); /* a stream frame is no answer */
	assert_false(send_in_flight(p));
	server_tick(srv, fake_loop.now_ns + 250 * MSEC); /* asked again while it waits */
	assert_int_equal(fulls_wanted, 2);
	publish_full(2, 6000);
	assert_true(send_in_flight(p));
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Content-Length: 6000\r\n"));

	client_says(p, "GET /snapshot.jpg?size=stream HTTP/1.1\r\nHost: cam\r\n\r\n");
	assert_true(send_in_flight(p));
	assert_int_equal(fulls_wanted, 2);
	socket_drains(p);
	assert_non_null(strstr(take_wire(p), "Content-Length: 200\r\n"));

	client_says(p, "GET /?action=snapshot HTTP/1.1\r\nHost: cam\r\n\r\n");
	assert_int_equal(fulls_wanted, 3);
	publish_full(3, 7000);
	assert_true(send_in_flight(p));
	socket_drains(p);
	assert_non_null(strstr(take_wire(p), "Content-Length: 7000\r\n"));

	client_says(p, "GET /snapshot.jpg?size=big HTTP/1.1\r\nHost: cam\r\n\r\n");
	assert_true(send_in_flight(p));
	socket_drains(p);
	assert_true(starts_with(take_wire(p), "HTTP/1.1 400 "));

	/* no full size now: the stream's newest at once */
	full_answer = -EOPNOTSUPP;
	client_says(p, SNAPSHOT_REQUEST);
	assert_true(send_in_flight(p));
	socket_drains(p);
	assert_non_null(strstr(take_wire(p), "Content-Length: 200\r\n"));
	/* one waiting when the full size goes: the next tick gives it the stream's */
	full_answer = 0;
	client_says(p, SNAPSHOT_REQUEST);
	assert_false(send_in_flight(p));
	full_answer = -EOPNOTSUPP;
	server_tick(srv, fake_loop.now_ns + 250 * MSEC);
	assert_true(send_in_flight(p));
	socket_drains(p);
	assert_non_null(strstr(take_wire(p), "Content-Length: 200\r\n"));
	/* none comes in time: 503 */
	full_answer = 0;
	client_says(p, SNAPSHOT_REQUEST);
	server_tick(srv, now_mono_ns() + 4 * SEC);
	assert_true(send_in_flight(p));
	socket_drains(p);
	assert_true(starts_with(take_wire(p), "HTTP/1.1 503 "));
}

/* On demand, a new stream client asks for a frame and is not sent the old newest one; the next
 * frame published is its first. */
static void test_on_demand_stream_first_frame_fresh(void **state)
{
	(void)state;
	publish(1, 100, false);
	frame_is_current = false;
	struct peer *p = connect_client();
	client_says(p, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n");
	assert_int_equal(frames_wanted, 1);
	socket_drains(p); /* the head */
	take_wire(p);
	assert_int_equal(sends_in_flight(p), 0); /* not frame 1 */
	publish(2, 200, false);
	assert_int_equal(sends_in_flight(p), 1);
	socket_drains(p);
	char expect[FRAME_PART_HEADER_MAX];
	int n = multipart_part_header(expect, sizeof(expect), 200, 1700000000000000ULL + 2 * 33333);
	assert_true(n > 0 && strncmp(take_wire(p), expect, (size_t)n) == 0);
	assert_int_equal(server_get_stats(srv)->stream_clients, 1);
}

/* A request that comes in three pieces is answered once, when it is complete. */
static void test_request_split_over_recvs(void **state)
{
	(void)state;
	publish(1, 50, false);
	struct peer *p = connect_client();
	client_says(p, "GET /snap");
	assert_false(send_in_flight(p));
	client_says(p, "shot.jpg HTTP/1.1\r\nHo");
	assert_false(send_in_flight(p));
	client_says(p, "st: cam\r\n\r\n");
	assert_true(send_in_flight(p));
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Content-Length: 50\r\n"));
}

/* keep-alive: after the first response (sent in short pieces) the same connection asks again;
 * Connection: close ends it after the second. */
static void test_keep_alive_second_request(void **state)
{
	(void)state;
	publish(1, 3000, false);
	struct peer *p = connect_client();
	client_says(p, SNAPSHOT_REQUEST);
	/* the socket buffer is nearly full: the rest is sent again from where it stopped */
	assert_int_equal(socket_takes(p, 10), 10);
	assert_true(send_in_flight(p));
	assert_int_equal(socket_takes(p, 1000), 1000);
	socket_drains(p);
	assert_false(send_in_flight(p));
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	const char *body = strstr(w, "\r\n\r\n");
	assert_int_equal(strlen(body + 4), 3000);

	client_says(p, "GET /nothing-here HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n");
	socket_drains(p);
	w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 404 "));
	assert_non_null(strstr(w, "Connection: close\r\n"));
	/* closed after the response: nothing more is read */
	assert_null(pending(IORING_OP_RECV, p->server_fd));
	assert_int_equal(server_get_stats(srv)->clients, 0);
}

/* A stream client whose send completes late is given the newest frame, never a queue of the ones
 * published meanwhile; each part is the part header written once per frame, the JPEG and the
 * closing boundary. */
static void test_slow_stream_client_gets_newest(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n");
	socket_drains(p); /* the head */
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Content-Type: " MULTIPART_CONTENT_TYPE "\r\n"));
	size_t wl = strlen(w);
	assert_true(wl > strlen(MULTIPART_FIRST_BOUNDARY));
	assert_string_equal(w + wl - strlen(MULTIPART_FIRST_BOUNDARY), MULTIPART_FIRST_BOUNDARY);
	assert_int_equal(server_get_stats(srv)->stream_clients, 1);

	publish(1, 200, false);
	assert_int_equal(sends_in_flight(p), 1);
	publish(2, 300, false); /* the client is still sending frame 1: skipped */
	publish(3, 400, false);
	assert_int_equal(sends_in_flight(p), 1);

	socket_drains(p); /* frame 1 leaves; the newest (3) follows at once */
	char expect[FRAME_PART_HEADER_MAX];
	int n = multipart_part_header(expect, sizeof(expect), 200, 1700000000000000ULL + 33333);
	assert_true(n > 0);
	w = take_wire(p);
	assert_true(strncmp(w, expect, (size_t)n) == 0);
	assert_int_equal(strlen(w), (size_t)n + 200 + strlen(MULTIPART_PART_TRAILER));
	assert_string_equal(w + n + 200, MULTIPART_PART_TRAILER);

	assert_int_equal(sends_in_flight(p), 1);
	socket_drains(p);
	n = multipart_part_header(expect, sizeof(expect), 400, 1700000000000000ULL + 3 * 33333);
	w = take_wire(p);
	assert_true(strncmp(w, expect, (size_t)n) == 0);
	assert_int_equal(strlen(w), (size_t)n + 400 + strlen(MULTIPART_PART_TRAILER));

	/* nothing newer: the client waits for the next publish */
	assert_int_equal(sends_in_flight(p), 0);
	assert_int_equal(server_get_stats(srv)->frames_sent, 2);
	publish(4, 10, false);
	assert_int_equal(sends_in_flight(p), 1);
}

/* A JPEG-shaped frame: SOI, (an own APP1 Exif of 36 bytes when own_exif), letters, EOI. */
static struct frame *make_jpeg_frame(uint64_t sequence, size_t len, bool own_exif)
{
	static const uint8_t camera_exif[36] = {
		0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 0x2a, 0x00, 0x08, 0, 0, 0,
		0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0, 0x03, 0x00, 0, 0, 0, 0, 0, 0,
	};
	struct frame *f = make_frame(sequence, len, false);
	f->buf[0] = 0xff;
	f->buf[1] = 0xd8;
	if (own_exif)
		memcpy(f->buf + 2, camera_exif, sizeof(camera_exif));
	else
		memcpy(f->buf + 2, "\xff\xdb\x00\x04\x00\x00", 6); /* a segment that is not Exif */
	f->buf[len - 2] = 0xff;
	f->buf[len - 1] = 0xd9;
	return f;
}

/* --rotation 90: the EXIF segment goes out as its own iovec between the SOI and the rest,
 * pointing into static storage and the frame (nothing copied), for a stream part (its
 * Content-Length counting the segment) and a snapshot; a frame's own Exif segment is left out;
 * orientation 1 sends the frame as one iovec. */
static void test_rotated_frame_iovecs(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n");
	socket_drains(p);
	p->wire_len = 0;

	struct frame *f = make_jpeg_frame(1, 300, false);
	f->exif_orientation = 6;
	server_publish(srv, f);
	struct recorded_sqe *r = pending(IORING_OP_SENDMSG, p->server_fd);
	const struct msghdr *m = (const struct msghdr *)(uintptr_t)r->sqe.addr;
	assert_int_equal(m->msg_iovlen, 5); /* part header, SOI, segment, rest, trailer */
	assert_ptr_equal(m->msg_iov[1].iov_base, f->data);
	assert_int_equal(m->msg_iov[1].iov_len, 2);
	assert_ptr_equal(m->msg_iov[2].iov_base, exif_segment(6));
	assert_int_equal(m->msg_iov[2].iov_len, EXIF_SEGMENT_LEN);
	assert_ptr_equal(m->msg_iov[3].iov_base, f->data + 2);
	assert_int_equal(m->msg_iov[3].iov_len, 298);
	socket_drains(p);
	char expect[FRAME_PART_HEADER_MAX];
	int n = multipart_part_header(expect, sizeof(expect), 300 + EXIF_SEGMENT_LEN,
				      f->timestamp_us);
	assert_true(n > 0);
	assert_int_equal(p->wire_len, (size_t)n + 300 + EXIF_SEGMENT_LEN +
					  strlen(MULTIPART_PART_TRAILER));
	assert_memory_equal(p->wire, expect, (size_t)n);
	assert_memory_equal(p->wire + n, "\xff\xd8", 2);
	assert_memory_equal(p->wire + n + 2, exif_segment(6), EXIF_SEGMENT_LEN);
	assert_memory_equal(p->wire + n + 2 + EXIF_SEGMENT_LEN, f->data + 2, 298);
	p->wire_len = 0;
	frame_unref(f);

	/* a snapshot of a frame with its own Exif: ours in, its own out, Content-Length to match */
	f = make_jpeg_frame(2, 400, true);
	f->exif_orientation = 8;
	server_publish(srv, f);
	socket_drains(p); /* the stream client's part */
	p->wire_len = 0;
	struct peer *q = connect_client();
	client_says(q, SNAPSHOT_REQUEST);
	socket_drains(q);
	char head[64];
	snprintf(head, sizeof(head), "Content-Length: %u\r\n", 400);
	const char *end = memmem(q->wire, q->wire_len, "\r\n\r\n", 4);
	assert_non_null(end);
	size_t head_len = (size_t)(end - q->wire) + 4;
	assert_non_null(memmem(q->wire, head_len, head, strlen(head)));
	assert_int_equal(q->wire_len, head_len + 400);
	const char *body = q->wire + head_len;
	assert_memory_equal(body, "\xff\xd8", 2);
	assert_memory_equal(body + 2, exif_segment(8), EXIF_SEGMENT_LEN);
	assert_memory_equal(body + 2 + EXIF_SEGMENT_LEN, f->data + 2 + 36, 400 - 2 - 36);
	q->wire_len = 0;
	frame_unref(f);

	/* orientation 1: one iovec, the frame as it is */
	f = make_jpeg_frame(3, 100, true);
	server_publish(srv, f);
	r = pending(IORING_OP_SENDMSG, p->server_fd);
	m = (const struct msghdr *)(uintptr_t)r->sqe.addr;
	assert_int_equal(m->msg_iovlen, 3);
	assert_ptr_equal(m->msg_iov[1].iov_base, f->data);
	assert_int_equal(m->msg_iov[1].iov_len, 100);
	socket_drains(p);
	frame_unref(f);
}

/* The fd of the first sendmsg prepared after SQE number from. */
static int first_send_fd(unsigned from)
{
	for (unsigned i = from; i < n_sqes; i++)
		if (sqes[i].sqe.opcode == IORING_OP_SENDMSG)
			return sqes[i].sqe.fd;
	return -1;
}

/* The loop's time is read at most once per iteration, and not at all by the completion of a
 * send that no newer frame follows (in a guest without a vDSO clock, or on a Pi Zero, each read
 * is a system call). */
static void test_send_completion_reads_no_clock(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n");
	socket_drains(p);
	take_wire(p);

	fake_loop.now_ns = 0; /* a new iteration (loop_run_once()) */
	uint64_t reads = fake_loop.clock_reads;
	publish(1, 100, false);
	assert_int_equal(sends_in_flight(p), 1);
	assert_int_equal(fake_loop.clock_reads, reads + 1); /* the fps cap and the send deadline */
	assert_true(fake_loop.now_ns > 0);

	fake_loop.now_ns = 0; /* the send's completion comes in the next iteration */
	reads = fake_loop.clock_reads;
	socket_drains(p);
	assert_int_equal(fake_loop.clock_reads, reads);
	assert_int_equal(fake_loop.now_ns, 0);
	assert_int_equal(server_get_stats(srv)->frames_sent, 1);

	/* a newer frame waiting when the send completes is sent at once, the clock read once */
	publish(2, 100, false);
	publish(3, 100, false); /* frame 2 still on its way: 3 waits */
	fake_loop.now_ns = 0;
	reads = fake_loop.clock_reads;
	socket_drains(p);
	assert_int_equal(fake_loop.clock_reads, reads + 1);
	assert_int_equal(server_get_stats(srv)->frames_sent, 2);
	assert_int_equal(sends_in_flight(p), 1); /* frame 3's */
	socket_drains(p);
	assert_int_equal(server_get_stats(srv)->frames_sent, 3);
	take_wire(p);
}

/* A stream's part is announced to the loop as finishing at its submission (loop_expect_inline():
 * the wait does not end for its completion alone) while the client's sends leave whole; a part the
 * socket took only in part stops that, and its rest is not announced, until a part leaves whole
 * again; responses other than a stream's parts are never announced. */
static void test_stream_parts_announced_to_the_wait(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n");
	socket_drains(p);
	take_wire(p);
	fake_loop.expect = 0;
	uint64_t announced = fake_loop.stats.expected;

	publish(1, 100, false);
	assert_int_equal(sends_in_flight(p), 1);
	assert_int_equal(fake_loop.expect, 1);
	fake_loop.expect = 0; /* the wait took it */
	socket_drains(p);

	/* the socket takes 10 bytes: the rest goes unannounced, and so does the next part */
	publish(2, 4000, false);
	assert_int_equal(fake_loop.expect, 1);
	fake_loop.expect = 0;
	assert_int_equal(socket_takes(p, 10), 10);
	assert_int_equal(sends_in_flight(p), 1); /* the rest */
	assert_int_equal(fake_loop.expect, 0);
	socket_drains(p);
	publish(3, 100, false);
	assert_int_equal(fake_loop.expect, 0);
	socket_drains(p); /* left whole */
	publish(4, 100, false);
	assert_int_equal(fake_loop.expect, 1);
	fake_loop.expect = 0;
	socket_drains(p);
	assert_int_equal(server_get_stats(srv)->frames_sent, 4);
	take_wire(p);

	/* a response is not announced */
	struct peer *q = connect_client();
	client_says(q, "GET /status HTTP/1.1\r\nHost: cam\r\n\r\n");
	assert_int_equal(sends_in_flight(q), 1);
	assert_int_equal(fake_loop.expect, 0);
	socket_drains(q);
	take_wire(q);
	assert_int_equal(fake_loop.stats.expected, announced + 3);
}

/* No stream client is always served last: each frame's sends start one client further on, and
 * every client gets every frame once; a client leaving between frames changes nothing. */
static void test_fair_order_of_sends(void **state)
{
	(void)state;
	struct peer *p[3];
	for (int i = 0; i < 3; i++) {
		p[i] = connect_client();
		client_says(p[i], "GET /stream.mjpg HTTP/1.1\r\nHost: cam\r\n\r\n");
		socket_drains(p[i]);
		take_wire(p[i]);
	}
	int firsts[6];
	for (int frame = 0; frame < 6; frame++) {
		unsigned from = n_sqes;
		publish((uint64_t)frame + 1, 100, false);
		firsts[frame] = first_send_fd(from);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(sends_in_flight(p[i]), 1);
			socket_drains(p[i]);
			take_wire(p[i]);
		}
	}
	for (int i = 0; i < 3; i++) {
		int count = 0;
		for (int frame = 0; frame < 6; frame++)
			count += firsts[frame] == p[i]->server_fd;
		assert_int_equal(count, 2); /* first twice in six frames */
	}
	/* the client that would come first next leaves: the others still get the frame */
	assert_int_equal(server_get_stats(srv)->frames_sent, 18);
	for (int i = 0; i < 3; i++) {
		unsigned from = n_sqes;
		publish(100 + (uint64_t)i, 50, false);
		int first = first_send_fd(from);
		for (int j = 0; j < 3; j++)
			if (p[j] && sends_in_flight(p[j]))
				socket_drains(p[j]);
		if (i == 0) {
			for (int j = 0; j < 3; j++)
				if (p[j]->server_fd == first) {
					shutdown(p[j]->fd, SHUT_RDWR);
					struct recorded_sqe *r = pending(IORING_OP_RECV, p[j]->server_fd);
					assert_non_null(r);
					complete(r, 0); /* the viewer hung up */
					p[j] = NULL;
					break;
				}
		}
	}
	unsigned left = 0;
	for (int j = 0; j < 3; j++)
		left += p[j] != NULL;
	assert_int_equal(left, 2);
	assert_int_equal(server_get_stats(srv)->frames_sent, 18 + 3 + 2 + 2);
}

/* A request not complete within --header-timeout-ms: 408, then the connection closes. */
static void test_header_timeout_408(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, "GET / HT");
	server_tick(srv, now_mono_ns() + 1 * SEC);
	assert_false(send_in_flight(p));
	server_tick(srv, now_mono_ns() + 6 * SEC);
	assert_true(send_in_flight(p));
	/* the recv still armed was cancelled; the kernel reports it */
	struct recorded_sqe *r = pending(IORING_OP_RECV, p->server_fd);
	assert_non_null(r);
	complete(r, -ECANCELED);
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 408 "));
	assert_non_null(strstr(w, "Connection: close\r\n"));
	assert_int_equal(server_get_stats(srv)->clients, 0);
}

/* Above --max-clients a connection is answered 503 at once on its own socket, without a slot. */
static void test_max_clients_refusal(void **state)
{
	(void)state;
	struct peer *first = connect_client();
	struct peer *second = connect_client();
	char buf[1024];
	ssize_t n = read(second->fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(starts_with(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n503 too many clients\n"));
	assert_int_equal(server_get_stats(srv)->clients_rejected, 1);
	assert_int_equal(server_get_stats(srv)->clients, 1);
	/* the first client is served as usual */
	publish(1, 20, false);
	client_says(first, SNAPSHOT_REQUEST);
	socket_drains(first);
	assert_true(starts_with(take_wire(first), "HTTP/1.1 200 OK\r\n"));
}

/* SIGHUP's options (server_apply()): a higher --max-clients lets a second client in, a longer
 * --header-timeout-ms holds, --allow-origin's header is on the responses from then on. */
static void test_apply_options(void **state)
{
	(void)state;
	char origin[8] = "*";
	struct server_options o = { .max_clients = 2, .header_timeout_ms = 20000,
				    .idle_timeout_ms = 10000, .first_frame_timeout_ms = 3000,
				    .allow_origin = origin };
	server_apply(srv, &o);
	origin[0] = '\0'; /* the server keeps its own copy */
	struct peer *first = connect_client();
	struct peer *second = connect_client();
	assert_int_equal(server_get_stats(srv)->clients_rejected, 0);
	assert_int_equal(server_get_stats(srv)->clients, 2);
	client_says(second, "GET / HT");
	server_tick(srv, now_mono_ns() + 6 * SEC);
	assert_false(send_in_flight(second));
	publish(1, 20, false);
	client_says(first, SNAPSHOT_REQUEST);
	socket_drains(first);
	const char *w = take_wire(first);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Access-Control-Allow-Origin: *\r\n"));
}

#define CONTROLS_HEAD "POST /controls HTTP/1.1\r\nHost: cam\r\n" \
	"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\n"
#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

/* Expect: 100-continue (RFC 9110 section 10.1.1): the head alone gets 100 Continue, the body then
 * read gets the final answer, and the connection is kept. */
static void test_expect_100_continue(void **state)
{
	(void)state;
	struct peer *p = connect_client();
	client_says(p, CONTROLS_HEAD "Expect: 100-continue\r\n\r\n");
	assert_int_equal(sends_in_flight(p), 1);
	socket_drains(p);
	assert_string_equal(take_wire(p), CONTINUE);
	assert_non_null(pending(IORING_OP_RECV, p->server_fd));
	client_says(p, "brightness=40");
	socket_drains(p);
	const char *w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "Connection: keep-alive\r\n"));
	assert_non_null(strstr(w, "{\"set\": \"brightness=40\"}"));

	/* the body comes while the 100 is still being sent: answered once the 100 is out, and
	 * only one send is ever in flight */
	client_says(p, CONTROLS_HEAD "Expect: 100-continue\r\n\r\n");
	assert_int_equal(sends_in_flight(p), 1);
	client_says(p, "brightness=41");
	assert_int_equal(sends_in_flight(p), 1);
	socket_drains(p);
	assert_string_equal(take_wire(p), CONTINUE);
	assert_int_equal(sends_in_flight(p), 1);
	socket_drains(p);
	w = take_wire(p);
	assert_true(starts_with(w, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(w, "brightness=41"));

	/* the body came with the head: no 100 */
	client_says(p, CONTROLS_HEAD "Expect: 100-continue\r\n\r\nbrightness=42");
	socket_drains(p);
	assert_true(starts_with(take_wire(p), "HTTP/1.1 200 OK\r\n"));
	assert_int_equal(server_get_stats(srv)->clients, 1);
}

/* A head the server refuses is answered at once, without a 100 and without reading the body,
 * and the connection closes (the body is never read). */
static void test_refused_from_head(void **state)
{
	(void)state;
	static const char *const heads[] = {
		"POST /status HTTP/1.1\r\nHost: cam\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: cam\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
		"PUT /stream.mjpg HTTP/1.1\r\nHost: cam\r\nContent-Length: 5\r\n\r\n",
		CONTROLS_HEAD "Expect: 100-continue\r\nSec-Fetch-Site: cross-site\r\n\r\n",
	};
	static const char *const want[] = { "HTTP/1.1 405 ", "HTTP/1.1 405 ", "HTTP/1.1 405 ",
					    "HTTP/1.1 403 " };
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct peer *p = connect_client();
		client_says(p, heads[i]);
		assert_int_equal(sends_in_flight(p), 1);
		socket_drains(p);
		const char *w = take_wire(p);
		if (!starts_with(w, want[i]))
			fail_msg("%s: got %.40s", heads[i], w);
		assert_non_null(strstr(w, "Connection: close\r\n"));
		if (want[i][9] == '4' && want[i][11] == '5')
			assert_non_null(strstr(w, "Allow: GET, HEAD, OPTIONS\r\n"));
		/* closed: the recv armed for the body is cancelled, nothing more is read */
		struct recorded_sqe *r = pending(IORING_OP_RECV, p->server_fd);
		if (r)
			complete(r, -ECANCELED);
		assert_int_equal(server_get_stats(srv)->clients, 0);
	}
}

/* Each path's methods (RFC 9110 §15.5.6: a 405's Allow lists what the resource takes; §9.3.7:
 * OPTIONS says the same): OPTIONS, a 405 from the head (a body announced) and a 405 from a whole
 * request agree, per path; OPTIONS * is the server's; a path not served is 404. The absolute form
 * of a target (RFC 9112 §3.2.2) is routed by its path. */
static void test_allow_per_path(void **state)
{
	(void)state;
	static const struct {
		const char *req, *status, *allow;
	} cases[] = {
		{ "OPTIONS /controls HTTP/1.1\r\nHost: cam\r\n\r\n", "204 ",
		  "Allow: GET, HEAD, POST, OPTIONS\r\n" },
		{ "OPTIONS /status HTTP/1.1\r\nHost: cam\r\n\r\n", "204 ",
		  "Allow: GET, HEAD, OPTIONS\r\n" },
		{ "OPTIONS /?action=command&id=a&value=1 HTTP/1.1\r\nHost: cam\r\n\r\n", "204 ",
		  "Allow: POST, OPTIONS\r\n" },
		{ "OPTIONS * HTTP/1.1\r\nHost: cam\r\n\r\n", "204 ",
		  "Allow: GET, HEAD, POST, OPTIONS\r\n" },
		{ "OPTIONS /nothing-here HTTP/1.1\r\nHost: cam\r\n\r\n", "404 ", NULL },
		{ "PUT /controls HTTP/1.1\r\nHost: cam\r\n\r\n", "405 ",
		  "Allow: GET, HEAD, POST, OPTIONS\r\n" },
		{ "PUT /controls HTTP/1.1\r\nHost: cam\r\nContent-Length: 3\r\n\r\n", "405 ",
		  "Allow: GET, HEAD, POST, OPTIONS\r\n" },
		{ "POST /snapshot.jpg HTTP/1.1\r\nHost: cam\r\nContent-Length: 3\r\n\r\n", "405 ",
		  "Allow: GET, HEAD, OPTIONS\r\n" },
		{ "DELETE /nothing-here HTTP/1.1\r\nHost: cam\r\n\r\n", "405 ",
		  "Allow: GET, HEAD, OPTIONS\r\n" },
		{ "GET /?action=command&id=a&value=1 HTTP/1.1\r\nHost: cam\r\n\r\n", "405 ",
		  "Allow: POST, OPTIONS\r\n" },
		{ "GET http://cam:8000/controls HTTP/1.1\r\nHost: elsewhere\r\n\r\n", "200 ", NULL },
		{ "GET HTTP://cam HTTP/1.1\r\nHost: cam\r\n\r\n", "200 ", NULL },
		{ "GET * HTTP/1.1\r\nHost: cam\r\n\r\n", "400 ", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct peer *p = connect_client();
		client_says(p, cases[i].req);
		socket_drains(p);
		const char *w = take_wire(p);
		if (!starts_with(w, "HTTP/1.1 ") || strncmp(w + 9, cases[i].status, 4) != 0)
			fail_msg("%s: got %.40s", cases[i].req, w);
		if (cases[i].allow && !strstr(w, cases[i].allow))
			fail_msg("%s: no %s in %s", cases[i].req, cases[i].allow, w);
		if (!cases[i].allow && strstr(w, "Allow: "))
			fail_msg("%s: an Allow in %s", cases[i].req, w);
		/* the client hangs up: its slot is free for the next case */
		struct recorded_sqe *r = pending(IORING_OP_RECV, p->server_fd);
		if (r)
			complete(r, 0);
		assert_int_equal(server_get_stats(srv)->clients, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_waits_for_first_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_wait_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_size_snapshot, setup_full, teardown),
		cmocka_unit_test_setup_teardown(test_on_demand_snapshot_waits_for_fresh_frame,
						setup_on_demand, teardown),
		cmocka_unit_test_setup_teardown(test_on_demand_stream_first_frame_fresh,
						setup_on_demand, teardown),
		cmocka_unit_test_setup_teardown(test_request_split_over_recvs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_second_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_stream_client_gets_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_frame_iovecs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_parts_announced_to_the_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_completion_reads_no_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fair_order_of_sends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_timeout_408, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_clients_refusal, setup_one_client, teardown),
		cmocka_unit_test_setup_teardown(test_apply_options, setup_one_client, teardown),
		cmocka_unit_test_setup_teardown(test_expect_100_continue, setup_controls, teardown),
		cmocka_unit_test_setup_teardown(test_refused_from_head, setup_controls, teardown),
		cmocka_unit_test_setup_teardown(test_allow_per_path, setup_controls, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
