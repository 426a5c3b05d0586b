/* A strict, small HTTP/1.x request parser: one pure function over a byte buffer.
 * No allocation, no I/O: the request's strings point into the caller's buffer. */
#ifndef MJPEGD_HTTP_PARSER_H
#define MJPEGD_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 32
#define HTTP_MAX_REQUEST_LINE 2048 /* longer → 414 */
#define HTTP_MAX_HEADER_BYTES 8192 /* request line + headers; longer → 431 */
#define HTTP_MAX_BODY 4096         /* a POST body (POST /controls); longer → 413 */

enum http_method {
	HTTP_METHOD_OTHER = 0, /* a well-formed token we do not serve → 405 */
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OPTIONS, /* CORS preflight */
	HTTP_METHOD_POST,    /* with a body of at most HTTP_MAX_BODY bytes (Content-Length) */
};

struct http_str {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_str name;
	struct http_str value; /* surrounding spaces/tabs trimmed */
};

struct http_request {
	enum http_method method;
	struct http_str method_str;
	struct http_str target; /* as sent: "/path?query", "http://host/path?query" or "*" */
	struct http_str path;   /* "/…" before any '?' ("/" for "http://host"); "*" for OPTIONS * */
	struct http_str query;  /* after '?', without it; len 0 when absent */
	struct http_str authority; /* "host[:port]" of an absolute-form target; len 0 otherwise */
	int version_minor;      /* HTTP/1.0 → 0, HTTP/1.1 → 1 */
	bool keep_alive;        /* 1.1 unless "Connection: close"; 1.0 only with "Connection: keep-alive" */
	size_t n_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
	struct http_str body;   /* POST: the Content-Length bytes after the head; len 0 otherwise */
	/* Bytes of the head (request line, header lines, the empty line) once all of it is here
	 * and its framing is valid, else 0. Set also when the result is INCOMPLETE because the body
	 * is still to come: every field above is then valid but body.p (NULL; body.len is the
	 * length announced), so a server can answer from the head alone (100 Continue, 401, 405;
	 * RFC 9110 section 10.1.1). */
	size_t head_len;
};

enum http_parse_result {
	HTTP_PARSE_COMPLETE,   /* *consumed = bytes of the request: head, blank line and body */
	HTTP_PARSE_INCOMPLETE, /* need more bytes; nothing is wrong so far */
	HTTP_PARSE_ERROR,      /* *status says which: 400, 405, 413, 414, 431, 501 (body), 505 */
};

/* Parses one request from buf[0..len): the head, and for POST the Content-Length bytes of its
 * body (INCOMPLETE until they are all there). Bytes after it (a pipelined request) are not looked
 * at. A body on a method no path takes (HTTP_METHOD_OTHER) is refused with 405 from the head; a
 * body on GET, HEAD or OPTIONS, and any Transfer-Encoding, with 501 (no endpoint takes one, and
 * skipping a chunked body correctly is more code than refusing it); a POST body over
 * HTTP_MAX_BODY with 413. None of these waits for the body. Bare LF line ends are accepted, NUL and other control bytes are
 * not. When len reaches HTTP_MAX_HEADER_BYTES without a complete head the result is an error
 * (431, or 414 when the request line alone is too long), never INCOMPLETE. */
enum http_parse_result http_parse_request(const char *buf, size_t len, struct http_request *req,
					  size_t *consumed, int *status);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_str *http_request_header(const struct http_request *req, const char *name);

/* The host the client addressed: an absolute-form target's authority, which RFC 9112 §3.2.2 has
 * an origin server use instead of the Host header, else the Host header; NULL when neither. */
const struct http_str *http_request_host(const struct http_request *req);

/* Finds key in an "a=1&b=2" query and copies its (percent-decoded) value into out (NUL-terminated).
 * Returns the value length, -ENOENT when absent, -EINVAL when malformed or too long for out. */
int http_query_get(struct http_str query, const char *key, char *out, size_t outlen);

/* Finds key like http_query_get() and reads its value as a decimal number in min..max: ASCII
 * digits only, after percent-decoding (no sign, no spaces, no other bytes; at most 9 digits).
 * Returns 0 with *out set, -ENOENT when absent, -EINVAL when not such a number or out of range. */
int http_query_get_uint(struct http_str query, const char *key, unsigned min, unsigned max,
			unsigned *out);

/* Reason phrase for a status code ("Not Found"); "Unknown" for codes we never send. */
const char *http_status_reason(int status);

#endif
