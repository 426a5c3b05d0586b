/* libFuzzer target for the HTTP request parser (include/mjpegd/http/parser.h): `make fuzz` builds
 * it with clang -fsanitize=fuzzer,address,undefined and runs it (tests/fuzz/run.sh); without
 * clang the same function is replayed over tests/fuzz/corpus/ by tests/fuzz/replay.c.
 *
 * It states the parser's whole contract: every result the header documents is allowed, and
 * what must never happen aborts (a finding). "Does not crash" alone would have let through an
 * error status nobody handles, a body read past the buffer, or an INCOMPLETE that never ends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mjpegd/http/parser.h"

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static bool within(struct http_str s, const char *buf, size_t size)
{
	return s.len == 0 || (s.p >= buf && s.len <= size && s.p + s.len <= buf + size);
}

/* What holds for every request the parser describes, complete or waiting for its body. */
static void check_head(const struct http_request *req, const char *buf, size_t size)
{
	REQUIRE(req->head_len > 0 && req->head_len <= size &&
		req->head_len <= HTTP_MAX_HEADER_BYTES);
	REQUIRE(req->n_headers <= HTTP_MAX_HEADERS);
	REQUIRE(req->version_minor == 0 || req->version_minor == 1);
	REQUIRE(req->method_str.len > 0 && within(req->method_str, buf, req->head_len));
	REQUIRE(req->target.len > 0 && within(req->target, buf, req->head_len));
	REQUIRE(req->target.len <= HTTP_MAX_REQUEST_LINE);
	REQUIRE(within(req->path, buf, req->head_len) || (req->path.len == 1 &&
							  req->path.p[0] == '/'));
	REQUIRE(within(req->query, buf, req->head_len));
	REQUIRE(within(req->authority, buf, req->head_len));
	REQUIRE(!memchr(req->path.p, '?', req->path.len));
	bool has_query = req->query.len > 0 || (req->query.p > req->target.p &&
						 req->query.p[-1] == '?');
	if (req->target.p[0] == '*') {
		/* the asterisk form: OPTIONS only, nothing else in the target */
		REQUIRE(req->method == HTTP_METHOD_OPTIONS && req->target.len == 1 &&
			req->path.p == req->target.p && req->path.len == 1 && req->query.len == 0 &&
			req->authority.len == 0);
	} else if (req->target.p[0] == '/') {
		/* the origin form: path "?" query is the target */
		REQUIRE(req->authority.len == 0 && req->path.p == req->target.p);
		REQUIRE(req->path.len + (has_query ? 1 + req->query.len : 0) == req->target.len);
	} else {
		/* the absolute form: "http[s]://" authority, then the origin form, its empty path
		 * "/"; the authority a non-empty host[:port] without userinfo */
		size_t scheme = strncasecmp(req->target.p, "http://", 7) == 0 ? 7 : 8;
		REQUIRE(req->target.len > scheme &&
			(scheme == 7 || strncasecmp(req->target.p, "https://", 8) == 0));
		REQUIRE(req->authority.len > 0 && req->authority.p == req->target.p + scheme);
		REQUIRE(!memchr(req->authority.p, '@', req->authority.len) &&
			!memchr(req->authority.p, '/', req->authority.len));
		size_t rest = req->target.len - scheme - req->authority.len;
		bool empty_path = !within(req->path, buf, req->head_len);
		REQUIRE(empty_path || req->path.p == req->authority.p + req->authority.len);
		REQUIRE((empty_path ? 0 : req->path.len) + (has_query ? 1 + req->query.len : 0) ==
			rest);
		REQUIRE(req->path.p[0] == '/');
		REQUIRE(http_request_host(req) == &req->authority);
	}
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		REQUIRE(h->name.len > 0 && within(h->name, buf, req->head_len));
		REQUIRE(within(h->value, buf, req->head_len));
		REQUIRE(!memchr(h->value.p, '\r', h->value.len) &&
			!memchr(h->value.p, '\n', h->value.len));
	}
	/* Only POST has a body, never more than the limit; every other method with one is an
	 * error (405, 501), never a request. */
	REQUIRE(req->body.len <= HTTP_MAX_BODY);
	REQUIRE(req->body.len == 0 || req->method == HTTP_METHOD_POST);
	REQUIRE(!http_request_header(req, "Transfer-Encoding"));
	/* RFC 9112 section 3.2: HTTP/1.1 has exactly one Host, HTTP/1.0 at most one */
	unsigned hosts = 0;
	for (size_t i = 0; i < req->n_headers; i++)
		hosts += req->headers[i].name.len == 4 &&
			 !strncasecmp(req->headers[i].name.p, "Host", 4);
	REQUIRE(hosts == 1 || (hosts == 0 && req->version_minor == 0));
	REQUIRE(http_request_header(req, "Host") != NULL || req->version_minor == 0);

	char out[64];
	int n = http_query_get(req->query, "q", out, sizeof(out));
	REQUIRE(n == -ENOENT || n == -EINVAL || (n >= 0 && (size_t)n == strlen(out)));
	unsigned v;
	n = http_query_get_uint(req->query, "fps", 1, 120, &v);
	REQUIRE(n == -ENOENT || n == -EINVAL || (n == 0 && v >= 1 && v <= 120));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request req;
	size_t consumed = 0;
	int status = 0;

	enum http_parse_result r = http_parse_request(buf, size, &req, &consumed, &status);
	switch (r) {
	case HTTP_PARSE_COMPLETE: {
		REQUIRE(status == 0);
		check_head(&req, buf, size);
		/* the head and its body, nothing after them */
		REQUIRE(consumed == req.head_len + req.body.len && consumed <= size);
		REQUIRE(req.body.len == 0 || req.body.p == buf + req.head_len);
		/* The same bytes alone parse to the same request: nothing after it was looked at. */
		size_t again = 0;
		int st = 0;
		struct http_request req2;
		REQUIRE(http_parse_request(buf, consumed, &req2, &again, &st) ==
				HTTP_PARSE_COMPLETE &&
			again == consumed && req2.head_len == req.head_len);
		/* One byte short of the body is waiting for it, with the head already described. */
		if (req.body.len > 0) {
			REQUIRE(http_parse_request(buf, consumed - 1, &req2, &again, &st) ==
				HTTP_PARSE_INCOMPLETE);
			REQUIRE(req2.head_len == req.head_len && req2.body.len == req.body.len);
		}
		break;
	}
	case HTTP_PARSE_INCOMPLETE:
		REQUIRE(status == 0);
		if (req.head_len == 0) {
			/* still in the head: it can only wait while below the head limit */
			REQUIRE(size < HTTP_MAX_HEADER_BYTES);
		} else {
			/* the head is here, the body is not all here */
			check_head(&req, buf, size);
			REQUIRE(req.method == HTTP_METHOD_POST && req.body.p == NULL);
			REQUIRE(size < req.head_len + req.body.len);
		}
		break;
	case HTTP_PARSE_ERROR:
		/* every status the header documents, and nothing else */
		REQUIRE(status == 400 || status == 405 || status == 413 || status == 414 ||
			status == 431 || status == 501 || status == 505);
		REQUIRE(strcmp(http_status_reason(status), "Unknown") != 0);
		break;
	default:
		abort();
	}
	return 0;
}
