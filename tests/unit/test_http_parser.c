/* Unit tests for the HTTP request parser (src/http/parser.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/http/parser.h"

static enum http_parse_result parse(const char *s, struct http_request *req, size_t *consumed,
				    int *status)
{
	*consumed = (size_t)-1;
	*status = -1;
	return http_parse_request(s, strlen(s), req, consumed, status);
}

static void assert_str(struct http_str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void assert_error(const char *s, int want_status)
{
	struct http_request req;
	size_t consumed;
	int status;
	enum http_parse_result r = http_parse_request(s, strlen(s), &req, &consumed, &status);
	if (r != HTTP_PARSE_ERROR || status != want_status)
		fail_msg("request \"%s\": result %d status %d, want error %d", s, r, status,
			 want_status);
}

static void test_get_1_1(void **state)
{
	(void)state;
	const char *s = "GET /stream.mjpg?x=1 HTTP/1.1\r\nHost: cam\r\nUser-Agent:  curl/8 \t\r\n\r\n";
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, strlen(s));
	assert_int_equal(status, 0);
	assert_int_equal(req.method, HTTP_METHOD_GET);
	assert_str(req.method_str, "GET");
	assert_str(req.target, "/stream.mjpg?x=1");
	assert_str(req.path, "/stream.mjpg");
	assert_str(req.query, "x=1");
	assert_int_equal(req.version_minor, 1);
	assert_true(req.keep_alive);
	assert_int_equal(req.n_headers, 2);
	assert_str(req.headers[0].name, "Host");
	assert_str(req.headers[0].value, "cam");
	assert_str(req.headers[1].name, "User-Agent");
	assert_str(req.headers[1].value, "curl/8");
}

static void test_head_no_headers(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse("HEAD / HTTP/1.0\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, 19);
	assert_int_equal(req.method, HTTP_METHOD_HEAD);
	assert_str(req.path, "/");
	assert_int_equal(req.query.len, 0);
	assert_int_equal(req.version_minor, 0);
	assert_false(req.keep_alive);
	assert_int_equal(req.n_headers, 0);
}

static void test_other_method(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse("DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(req.method, HTTP_METHOD_OTHER);
	assert_str(req.method_str, "DELETE");
	/* Methods are case-sensitive. */
	assert_int_equal(parse("get / HTTP/1.1\r\nHost: x\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(req.method, HTTP_METHOD_OTHER);
}

static void test_bare_lf(void **state)
{
	(void)state;
	const char *s = "GET /a HTTP/1.1\nHost: x\n\n";
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, strlen(s));
	assert_str(req.headers[0].value, "x");
}

static void test_leading_empty_lines(void **state)
{
	(void)state;
	const char *s = "\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, strlen(s));
	assert_int_equal(req.method, HTTP_METHOD_GET);
}

static void test_empty_header_value(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nY:   \r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(req.n_headers, 3);
	assert_int_equal(req.headers[1].value.len, 0);
	assert_int_equal(req.headers[2].value.len, 0);
}

static void test_keep_alive(void **state)
{
	(void)state;
	static const struct {
		const char *req;
		bool keep_alive;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nconnection: foo ,  keep-alive ,bar\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		size_t consumed;
		int status;
		assert_int_equal(parse(cases[i].req, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
		if (req.keep_alive != cases[i].keep_alive)
			fail_msg("%s: keep_alive %d", cases[i].req, req.keep_alive);
	}
}

/* RFC 9112 §3.2: besides the origin form, an origin server takes the absolute form (§3.2.2:
 * MUST accept it; its authority replaces Host) and OPTIONS's asterisk form (§3.2.4). */
static void test_target_forms(void **state)
{
	(void)state;
	static const struct {
		const char *req, *path, *query, *authority, *host;
	} cases[] = {
		{ "GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n", "/a", "b", "", "h" },
		{ "GET http://cam:8080/stream.mjpg?fps=5 HTTP/1.1\r\nHost: other\r\n\r\n",
		  "/stream.mjpg", "fps=5", "cam:8080", "cam:8080" },
		{ "GET HTTPS://Cam/ HTTP/1.1\r\nHost: cam\r\n\r\n", "/", "", "Cam", "Cam" },
		{ "GET http://cam HTTP/1.1\r\nHost: cam\r\n\r\n", "/", "", "cam", "cam" },
		{ "GET http://cam?action=stream HTTP/1.1\r\nHost: cam\r\n\r\n", "/", "action=stream",
		  "cam", "cam" },
		{ "GET http://[::1]:8000/status HTTP/1.0\r\n\r\n", "/status", "", "[::1]:8000",
		  "[::1]:8000" },
		{ "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "*", "", "", "h" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		size_t consumed;
		int status;
		if (parse(cases[i].req, &req, &consumed, &status) != HTTP_PARSE_COMPLETE)
			fail_msg("%s: status %d", cases[i].req, status);
		assert_str(req.path, cases[i].path);
		assert_str(req.query, cases[i].query);
		assert_str(req.authority, cases[i].authority);
		const struct http_str *host = http_request_host(&req);
		assert_non_null(host);
		assert_str(*host, cases[i].host);
		assert_int_equal(consumed, strlen(cases[i].req));
	}
	/* garbage in the target's first byte is refused before the rest arrives */
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse("GET x", &req, &consumed, &status), HTTP_PARSE_ERROR);
	assert_int_equal(status, 400);
	assert_int_equal(parse("GET http://cam", &req, &consumed, &status), HTTP_PARSE_INCOMPLETE);
}

static void test_errors(void **state)
{
	(void)state;
	/* request line */
	assert_error("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error(" GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1 \r\n\r\n", 400);
	assert_error("GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET x HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	/* the target forms an origin server does not take (test_target_forms: those it does) */
	assert_error("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400);     /* asterisk: OPTIONS only */
	assert_error("OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("CONNECT cam:80 HTTP/1.1\r\nHost: x\r\n\r\n", 400); /* authority form */
	assert_error("GET ftp://a/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET http:/a/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET httpx://a/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", 400); /* no host */
	assert_error("GET http://u:pw@a/ HTTP/1.1\r\nHost: x\r\n\r\n", 400); /* userinfo */
	assert_error("GET http://a\"b/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET http://a/ HTTP/1.1\r\n\r\n", 400); /* 1.1 still needs Host */
	assert_error("GET / http/1.1\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.10\r\n\r\n", 400);
	assert_error("GET / HTTP/11\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\rX\n\r\n", 400);
	assert_error("GET / FOO/1.1\r\n\r\n", 400);
	assert_error("GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	assert_error("GET /\r\n\r\n", 400); /* HTTP/0.9 */
	/* versions */
	assert_error("GET / HTTP/2.0\r\n\r\n", 505);
	assert_error("GET / HTTP/0.9\r\n\r\n", 505);
	assert_error("GET / HTTP/1.2\r\n\r\n", 505);
	assert_error("GET / HTTP/3.1\r\n", 505); /* known from the request line alone */
	/* headers */
	assert_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\n: x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\tfolded\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\n Host: x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nA\x01: b\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n", 400);
	/* bodies */
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 501);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: identity\r\nContent-Length: 0\r\n\r\n", 501);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
}

static void test_content_length_zero(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\ncontent-length: 00\r\n\r\n",
			       &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
			       &req, &consumed, &status),
			 HTTP_PARSE_ERROR);
	assert_int_equal(status, 501);
}

static void test_nul_bytes(void **state)
{
	(void)state;
	static const char with_nul[][32] = {
		"GET /\0 HTTP/1.1\r\n\r\n",
		"GE\0 / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nA: \0\r\n\r\n",
		"\0",
	};
	static const size_t lens[] = { 19, 18, 23, 1 };
	for (size_t i = 0; i < 4; i++) {
		struct http_request req;
		size_t consumed;
		int status;
		assert_int_equal(http_parse_request(with_nul[i], lens[i], &req, &consumed, &status),
				 HTTP_PARSE_ERROR);
		assert_int_equal(status, 400);
	}
}

/* Every proper prefix of a valid request is INCOMPLETE, and the whole is COMPLETE. */
static void check_every_prefix(const char *s)
{
	size_t len = strlen(s);
	/* A heap copy of exactly n bytes, so ASan catches any read past the given length. */
	for (size_t n = 0; n <= len; n++) {
		char *copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, s, n);
		struct http_request req;
		size_t consumed = 0;
		int status = 0;
		enum http_parse_result r = http_parse_request(copy, n, &req, &consumed, &status);
		free(copy);
		if (n < len && r != HTTP_PARSE_INCOMPLETE)
			fail_msg("prefix %zu of \"%s\": result %d status %d", n, s, r, status);
		if (n == len) {
			assert_int_equal(r, HTTP_PARSE_COMPLETE);
			assert_int_equal(consumed, len);
		}
	}
}

static void test_truncated_prefixes(void **state)
{
	(void)state;
	check_every_prefix("GET /stream.mjpg?q=1 HTTP/1.1\r\nHost: camera.local:8000\r\n"
			   "Connection: keep-alive\r\nAccept:  */*  \r\n\r\n");
	check_every_prefix("HEAD / HTTP/1.0\n\n");
	check_every_prefix("\r\nGET / HTTP/1.1\r\nHost: x\r\nX:\r\n\r\n");
	/* Errors that are only known at the end must not be reported early either. */
	check_every_prefix("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
}

static void test_pipelined(void **state)
{
	(void)state;
	const char *s = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b?c=d HTTP/1.1\r\nHost: x\r\n\r\nGET /c";
	struct http_request req;
	size_t consumed, total = strlen(s);
	int status;

	assert_int_equal(http_parse_request(s, total, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, strlen("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_str(req.path, "/a");

	const char *second = s + consumed;
	size_t left = total - consumed;
	assert_int_equal(http_parse_request(second, left, &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, strlen("HEAD /b?c=d HTTP/1.1\r\nHost: x\r\n\r\n"));
	assert_int_equal(req.method, HTTP_METHOD_HEAD);
	assert_str(req.path, "/b");
	assert_str(req.query, "c=d");

	assert_int_equal(http_parse_request(second + consumed, left - consumed, &req, &consumed,
					    &status),
			 HTTP_PARSE_INCOMPLETE);
}

/* Garbage after a complete head is the next request's problem, not this one's. */
static void test_trailing_garbage_ignored(void **state)
{
	(void)state;
	const char s[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\0\xff\x01";
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(http_parse_request(s, sizeof(s) - 1, &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, 27);
}

static char *make_request_line(size_t line_len, const char *rest)
{
	/* "GET /aaaa HTTP/1.1" is line_len bytes long. */
	size_t target_len = line_len - strlen("GET  HTTP/1.1");
	size_t total = line_len + strlen(rest) + 1;
	char *s = malloc(total + 2);
	assert_non_null(s);
	size_t n = 0;
	memcpy(s + n, "GET /", 5);
	n += 5;
	memset(s + n, 'a', target_len - 1);
	n += target_len - 1;
	memcpy(s + n, " HTTP/1.1", 9);
	n += 9;
	assert_int_equal(n, line_len);
	strcpy(s + n, rest);
	return s;
}

static void test_request_line_limit(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;

	char *s = make_request_line(HTTP_MAX_REQUEST_LINE, "\r\nHost: x\r\n\r\n");
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(req.target.len, HTTP_MAX_REQUEST_LINE - strlen("GET  HTTP/1.1"));
	/* Exactly at the limit and waiting for LF after the CR: not an error yet. */
	assert_int_equal(http_parse_request(s, HTTP_MAX_REQUEST_LINE + 1, &req, &consumed, &status),
			 HTTP_PARSE_INCOMPLETE);
	free(s);

	s = make_request_line(HTTP_MAX_REQUEST_LINE + 1, "\r\n\r\n");
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_ERROR);
	assert_int_equal(status, 414);
	/* Known before the line ends: one byte over the limit is enough. */
	assert_int_equal(http_parse_request(s, HTTP_MAX_REQUEST_LINE + 1, &req, &consumed, &status),
			 HTTP_PARSE_ERROR);
	assert_int_equal(status, 414);
	assert_int_equal(http_parse_request(s, HTTP_MAX_REQUEST_LINE, &req, &consumed, &status),
			 HTTP_PARSE_INCOMPLETE);
	free(s);

	/* A long line of target bytes with no end in sight. */
	size_t big = HTTP_MAX_REQUEST_LINE + 100;
	s = malloc(big);
	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'b', big - 5);
	assert_int_equal(http_parse_request(s, big, &req, &consumed, &status), HTTP_PARSE_ERROR);
	assert_int_equal(status, 414);
	free(s);
}

static char *make_headers(size_t n_headers, size_t value_len)
{
	size_t cap = 32 + n_headers * (value_len + 32);
	char *s = malloc(cap);
	assert_non_null(s);
	size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (size_t i = 0; i < n_headers; i++) {
		n += (size_t)sprintf(s + n, "X-H%zu: ", i);
		memset(s + n, 'v', value_len);
		n += value_len;
		n += (size_t)sprintf(s + n, "\r\n");
	}
	sprintf(s + n, "\r\n");
	return s;
}

static void test_header_count_limit(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;

	/* make_headers() adds Host to the n it is asked for */
	char *s = make_headers(HTTP_MAX_HEADERS - 1, 1);
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(req.n_headers, HTTP_MAX_HEADERS);
	assert_str(req.headers[HTTP_MAX_HEADERS - 1].name, "X-H30");
	free(s);

	s = make_headers(HTTP_MAX_HEADERS, 1);
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	free(s);
}

static void test_header_bytes_limit(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;

	/* A head of exactly HTTP_MAX_HEADER_BYTES is fine. */
	const char *line = "GET / HTTP/1.1\r\nHost: x\r\nX: ";
	size_t fill = HTTP_MAX_HEADER_BYTES - strlen(line) - 4;
	char *s = malloc(HTTP_MAX_HEADER_BYTES + 64);
	assert_non_null(s);
	strcpy(s, line);
	memset(s + strlen(line), 'v', fill);
	strcpy(s + strlen(line) + fill, "\r\n\r\n");
	assert_int_equal(strlen(s), HTTP_MAX_HEADER_BYTES);
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(consumed, HTTP_MAX_HEADER_BYTES);

	/* One more byte of value: the head no longer fits. */
	memset(s + strlen(line), 'v', fill + 1);
	strcpy(s + strlen(line) + fill + 1, "\r\n\r\n");
	assert_int_equal(parse(s, &req, &consumed, &status), HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	/* Exactly HTTP_MAX_HEADER_BYTES bytes in the buffer without an end: error, not INCOMPLETE. */
	assert_int_equal(http_parse_request(s, HTTP_MAX_HEADER_BYTES, &req, &consumed, &status),
			 HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	assert_int_equal(http_parse_request(s, HTTP_MAX_HEADER_BYTES - 1, &req, &consumed, &status),
			 HTTP_PARSE_INCOMPLETE);
	free(s);

	/* Endless blank lines before a request are bounded too. */
	s = malloc(HTTP_MAX_HEADER_BYTES);
	assert_non_null(s);
	for (size_t i = 0; i < HTTP_MAX_HEADER_BYTES; i += 2)
		memcpy(s + i, "\r\n", 2);
	assert_int_equal(http_parse_request(s, HTTP_MAX_HEADER_BYTES, &req, &consumed, &status),
			 HTTP_PARSE_ERROR);
	assert_int_equal(status, 431);
	free(s);
}

/* Garbage is refused as soon as it is seen, without waiting for a line end. */
static void test_garbage(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	static const char *const garbage[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\xff\xfe\xfd",
		"GET /\x1b[31m",
		"{\"json\": true}\n\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\x80\x81: y\r\n",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		assert_int_equal(http_parse_request(garbage[i], strlen(garbage[i]), &req, &consumed,
						    &status),
				 HTTP_PARSE_ERROR);
		assert_int_equal(status, 400);
	}

	/* Pseudo-random bytes: any result is fine, as long as nothing crashes (ASan) and an
	 * INCOMPLETE never comes back for a buffer at the size limit. */
	unsigned seed = 12345;
	char *buf = malloc(HTTP_MAX_HEADER_BYTES);
	assert_non_null(buf);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand_r(&seed) % 64);
		if (round % 100 == 0)
			len = HTTP_MAX_HEADER_BYTES;
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(rand_r(&seed) & 0xff);
		if (round % 2)
			memcpy(buf, "GET / HTTP/1.1\r\nHost: x\r\n", len < 16 ? len : 16);
		enum http_parse_result r = http_parse_request(buf, len, &req, &consumed, &status);
		if (r == HTTP_PARSE_COMPLETE)
			assert_true(consumed <= len);
		if (r == HTTP_PARSE_ERROR)
			assert_true(status == 400 || status == 405 || status == 413 || status == 414 ||
				    status == 431 || status == 501 || status == 505);
		if (len >= HTTP_MAX_HEADER_BYTES)
			assert_int_not_equal(r, HTTP_PARSE_INCOMPLETE);
	}
	free(buf);
}

/* RFC 9112 section 3.2 (issue 13, 8): Host is required in HTTP/1.1 and may appear once. */
static void test_host_required(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_error("GET / HTTP/1.1\r\n\r\n", 400);
	assert_error("GET /snapshot.jpg HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400);
	assert_error("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
	assert_error("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400);
	/* HTTP/1.0 may leave it out; an empty Host is valid (no authority) */
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(parse("GET / HTTP/1.1\r\nhOsT: cam:8000\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	/* still incomplete while the head has not ended */
	assert_int_equal(parse("GET / HTTP/1.1\r\n", &req, &consumed, &status),
			 HTTP_PARSE_INCOMPLETE);
}

static void test_header_lookup(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"7\"\r\nhost: b\r\n\r\n",
			       &req, &consumed, &status),
			 HTTP_PARSE_ERROR); /* two Host fields (RFC 9112 section 3.2) */
	assert_int_equal(status, 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nX-A: a\r\nHost: h\r\nIf-None-Match: \"7\"\r\n"
			       "x-a: b\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	const struct http_str *v = http_request_header(&req, "X-a");
	assert_non_null(v);
	assert_str(*v, "a"); /* the first one */
	v = http_request_header(&req, "if-none-match");
	assert_non_null(v);
	assert_str(*v, "\"7\"");
	assert_null(http_request_header(&req, "If-None"));
	assert_null(http_request_header(&req, "Accept"));
}

static struct http_str q(const char *s)
{
	return (struct http_str){ s, strlen(s) };
}

static void test_query_get(void **state)
{
	(void)state;
	char out[16];

	assert_int_equal(http_query_get(q("a=1&b=two&c="), "b", out, sizeof(out)), 3);
	assert_string_equal(out, "two");
	assert_int_equal(http_query_get(q("a=1&b=two&c="), "a", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
	assert_int_equal(http_query_get(q("a=1&b=two&c="), "c", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_get(q("flag&x=1"), "flag", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_query_get(q("a=1&b=2"), "c", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_get(q(""), "a", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_get(q("ab=1"), "a", out, sizeof(out)), -ENOENT);
	assert_int_equal(http_query_get(q("a=1"), "ab", out, sizeof(out)), -ENOENT);
	/* first match wins; empty pairs are skipped */
	assert_int_equal(http_query_get(q("&&x=1&x=2"), "x", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
	/* decoding */
	assert_int_equal(http_query_get(q("t=a+b%20c%2Fd%3d"), "t", out, sizeof(out)), 8);
	assert_string_equal(out, "a b c/d=");
	assert_int_equal(http_query_get(q("t=%C3%A9"), "t", out, sizeof(out)), 2);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(http_query_get(q("my%20key=v"), "my key", out, sizeof(out)), 1);
	assert_int_equal(http_query_get(q("my+key=v"), "my key", out, sizeof(out)), 1);
	assert_string_equal(out, "v");
	assert_int_equal(http_query_get(q("v=a=b"), "v", out, sizeof(out)), 3);
	assert_string_equal(out, "a=b");
	/* malformed */
	assert_int_equal(http_query_get(q("t=%"), "t", out, sizeof(out)), -EINVAL);
	assert_int_equal(http_query_get(q("t=%4"), "t", out, sizeof(out)), -EINVAL);
	assert_int_equal(http_query_get(q("t=%zz"), "t", out, sizeof(out)), -EINVAL);
	assert_int_equal(http_query_get(q("t=%00"), "t", out, sizeof(out)), -EINVAL);
	/* a broken escape in another key does not hide ours */
	assert_int_equal(http_query_get(q("%zz=1&t=2"), "t", out, sizeof(out)), 1);
	assert_string_equal(out, "2");
	/* too long for out: 15 bytes + NUL fit in 16, 16 do not */
	assert_int_equal(http_query_get(q("t=123456789012345"), "t", out, sizeof(out)), 15);
	assert_string_equal(out, "123456789012345");
	assert_int_equal(http_query_get(q("t=1234567890123456"), "t", out, sizeof(out)), -EINVAL);
	assert_int_equal(http_query_get(q("t="), "t", out, 0), -EINVAL);
	/* the query is not NUL-terminated: stop at len */
	struct http_str part = { "a=12&b=3", 3 };
	assert_int_equal(http_query_get(part, "a", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
	assert_int_equal(http_query_get(part, "b", out, sizeof(out)), -ENOENT);
}

static void test_query_get_uint(void **state)
{
	(void)state;
	unsigned v = 0;
	assert_int_equal(http_query_get_uint(q("fps=5"), "fps", 1, 120, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(http_query_get_uint(q("a=b&fps=120"), "fps", 1, 120, &v), 0);
	assert_int_equal(v, 120);
	assert_int_equal(http_query_get_uint(q("fps=1"), "fps", 1, 120, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(http_query_get_uint(q("fps=%35"), "fps", 1, 120, &v), 0); /* "5" encoded */
	assert_int_equal(v, 5);
	assert_int_equal(http_query_get_uint(q("x=5"), "fps", 1, 120, &v), -ENOENT);
	/* issue 13 (5): strtol() accepted a sign and leading white space */
	const char *bad[] = { "fps=+5", "fps=%2B5", "fps=%205", "fps=+%35", "fps=%095", "fps=%0A5",
			      "fps=%0D5", "fps=5%20", "fps=-5", "fps=", "fps", "fps=0", "fps=121",
			      "fps=5x", "fps=1e1", "fps=0x10", "fps=99999999999", "fps=4294967301",
			      "fps=%", "fps=%00" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 77;
		if (http_query_get_uint(q(bad[i]), "fps", 1, 120, &v) != -EINVAL)
			fail_msg("%s accepted", bad[i]);
		assert_int_equal(v, 77);
	}
}

static void test_query_from_request(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	char out[32];
	assert_int_equal(parse("GET /snapshot.jpg?quality=50&name=a%2Bb HTTP/1.1\r\nHost: x\r\n\r\n", &req,
			       &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(http_query_get(req.query, "quality", out, sizeof(out)), 2);
	assert_string_equal(out, "50");
	assert_int_equal(http_query_get(req.query, "name", out, sizeof(out)), 3);
	assert_string_equal(out, "a+b");
	/* "?" alone: present but empty */
	assert_int_equal(parse("GET /x? HTTP/1.1\r\nHost: x\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_str(req.path, "/x");
	assert_int_equal(req.query.len, 0);
}

static void test_status_reason(void **state)
{
	(void)state;
	static const struct {
		int code;
		const char *reason;
	} codes[] = {
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 301, "Moved Permanently" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_string_equal(http_status_reason(codes[i].code), codes[i].reason);
	assert_string_equal(http_status_reason(418), "Unknown");
	assert_string_equal(http_status_reason(0), "Unknown");
}
/* POST: the body is part of the request, by Content-Length, at most HTTP_MAX_BODY bytes. */
static void test_post_body(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	const char *full = "POST /controls HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n"
			   "brightness=10GET / HTTP/1.1\r\n";
	assert_int_equal(parse(full, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(req.method, HTTP_METHOD_POST);
	assert_str(req.body, "brightness=10");
	assert_int_equal(consumed, strlen(full) - strlen("GET / HTTP/1.1\r\n"));
	/* every prefix that ends inside the body is incomplete, not an error */
	size_t head = strlen(full) - strlen("brightness=10GET / HTTP/1.1\r\n");
	for (size_t n = head; n < head + 13; n++)
		assert_int_equal(http_parse_request(full, n, &req, &consumed, &status),
				 HTTP_PARSE_INCOMPLETE);
	/* no body: an empty one */
	assert_int_equal(parse("POST /controls HTTP/1.1\r\nHost: x\r\n\r\n", &req, &consumed,
			       &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(req.body.len, 0);
	/* too large, chunked, or a body on anything but POST */
	char big[128];
	snprintf(big, sizeof(big), "POST /controls HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
		 HTTP_MAX_BODY + 1);
	assert_error(big, 413);
	snprintf(big, sizeof(big), "POST /controls HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
		 HTTP_MAX_BODY);
	assert_int_equal(parse(big, &req, &consumed, &status), HTTP_PARSE_INCOMPLETE);
	assert_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501);
	assert_error("HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab", 501);
	assert_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
}

/* The head is reported as soon as it is all there (head_len), also while the body is still to
 * come: the server answers from it (100 Continue, 401, 405) without waiting for the body. */
static void test_head_before_body(void **state)
{
	(void)state;
	const char *head = "POST /controls?x=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
			   "Content-Length: 13\r\n\r\n";
	char full[256];
	snprintf(full, sizeof(full), "%sbrightness=10", head);
	struct http_request req;
	size_t consumed;
	int status;
	for (size_t n = strlen(head); n < strlen(full); n++) {
		assert_int_equal(http_parse_request(full, n, &req, &consumed, &status),
				 HTTP_PARSE_INCOMPLETE);
		assert_int_equal(req.head_len, strlen(head));
		assert_int_equal(req.method, HTTP_METHOD_POST);
		assert_str(req.path, "/controls");
		assert_str(req.query, "x=1");
		assert_int_equal(req.body.len, 13);
		assert_null(req.body.p);
		assert_non_null(http_request_header(&req, "Expect"));
		assert_true(req.keep_alive);
	}
	assert_int_equal(parse(full, &req, &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(req.head_len, strlen(head));
	assert_int_equal(consumed, strlen(full));
	/* a head not yet complete: nothing to answer from */
	for (size_t n = 0; n < strlen(head); n++) {
		assert_int_equal(http_parse_request(full, n, &req, &consumed, &status),
				 HTTP_PARSE_INCOMPLETE);
		assert_int_equal(req.head_len, 0);
	}
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &req, &consumed, &status),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(req.head_len, consumed);
}

/* A method no path takes, with a body: 405 from the head (not 501 or 413 for the body). */
static void test_other_method_with_body(void **state)
{
	(void)state;
	struct http_request req;
	size_t consumed;
	int status;
	assert_error("PUT /stream.mjpg HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", 405);
	assert_error("PUT /stream.mjpg HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
		     405);
	assert_error("DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", 405);
	assert_error("PATCH / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 405);
	/* without a body it is a complete request (the server answers 405, keep-alive) */
	assert_int_equal(parse("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &req,
			       &consumed, &status), HTTP_PARSE_COMPLETE);
	assert_int_equal(req.method, HTTP_METHOD_OTHER);
	/* the methods served keep their answers: 501 for a body GET cannot take, 413 too large */
	assert_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 501);
	assert_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n", 413);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_1_1),
		cmocka_unit_test(test_head_no_headers),
		cmocka_unit_test(test_other_method),
		cmocka_unit_test(test_post_body),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_leading_empty_lines),
		cmocka_unit_test(test_empty_header_value),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_content_length_zero),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_trailing_garbage_ignored),
		cmocka_unit_test(test_request_line_limit),
		cmocka_unit_test(test_header_count_limit),
		cmocka_unit_test(test_header_bytes_limit),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_host_required),
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_query_get),
		cmocka_unit_test(test_query_get_uint),
		cmocka_unit_test(test_query_from_request),
		cmocka_unit_test(test_status_reason),
		cmocka_unit_test(test_head_before_body),
		cmocka_unit_test(test_other_method_with_body),
		cmocka_unit_test(test_target_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
