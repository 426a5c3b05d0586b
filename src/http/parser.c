/* Strict HTTP/1.x request-head parser; contract in include/mjpegd/http/parser.h.
 *
 * The parser walks the buffer once with a cursor. Running out of bytes anywhere means INCOMPLETE;
 * a byte that can never start a valid request means ERROR at once, so a client sending garbage is
 * answered without waiting for a newline or a timeout. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mjpegd/http/parser.h"
#include "mjpegd/macro.h"

struct cursor {
	const char *buf;
	size_t pos;
	size_t end;
};

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Request targets: visible ASCII only. Clients percent-encode everything else (RFC 3986). */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* Header values: RFC 9110 field-content, which allows obs-text (0x80-0xff) but no control bytes. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static enum http_parse_result parse_error(int *status, int code)
{
	*status = code;
	return HTTP_PARSE_ERROR;
}

/* Consumes CRLF or a bare LF (RFC 9112 §2.2 lets a recipient accept LF alone). */
static enum http_parse_result parse_line_end(struct cursor *c, int *status)
{
	if (c->pos == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (c->buf[c->pos] == '\n') {
		c->pos++;
		return HTTP_PARSE_COMPLETE;
	}
	if (c->buf[c->pos] != '\r')
		return parse_error(status, 400);
	if (c->pos + 1 == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (c->buf[c->pos + 1] != '\n')
		return parse_error(status, 400); /* bare CR: a request-smuggling classic */
	c->pos += 2;
	return HTTP_PARSE_COMPLETE;
}

static enum http_parse_result expect_char(struct cursor *c, char want, int *status)
{
	if (c->pos == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (c->buf[c->pos] != want)
		return parse_error(status, 400);
	c->pos++;
	return HTTP_PARSE_COMPLETE;
}

static enum http_parse_result expect_digit(struct cursor *c, int *digit, int *status)
{
	if (c->pos == c->end)
		return HTTP_PARSE_INCOMPLETE;
	char ch = c->buf[c->pos];
	if (ch < '0' || ch > '9')
		return parse_error(status, 400);
	*digit = ch - '0';
	c->pos++;
	return HTTP_PARSE_COMPLETE;
}

/* method SP request-target SP HTTP-version line-end */
static bool str_is(struct http_str v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* A case-insensitive prefix test of v against the lower-case s. */
static bool str_starts_nocase(struct http_str v, const char *s)
{
	size_t n = strlen(s);
	return v.len >= n && strncasecmp(v.p, s, n) == 0;
}

/* RFC 3986 §3.2.2 host plus ":port": reg-name, IPv4 or an IPv6 literal in brackets. Userinfo
 * ("user:pass@host") is refused: RFC 9110 §4.2.4 has recipients treat it as an error, and a
 * password in a request line would land in proxies' logs. */
static bool is_authority_char(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("-._~%!$&'()*+,;=:[]", c) != NULL;
}

/* Sets path, query and authority from target; false when the target has none of the three
 * forms a request to an origin server may have. */
static bool split_target(struct http_request *req)
{
	struct http_str t = req->target;
	if (t.len == 1 && t.p[0] == '*') {
		/* "OPTIONS *": the server as a whole; on any other method nothing is meant by it */
		if (req->method != HTTP_METHOD_OPTIONS)
			return false;
		req->path = t;
		req->query = (struct http_str){ t.p + t.len, 0 };
		return true;
	}
	if (t.p[0] != '/') {
		size_t skip;
		if (str_starts_nocase(t, "http://"))
			skip = STRLEN("http://");
		else if (str_starts_nocase(t, "https://"))
			skip = STRLEN("https://");
		else
			return false;
		size_t end = skip;
		while (end < t.len && t.p[end] != '/' && t.p[end] != '?') {
			if (!is_authority_char((unsigned char)t.p[end]))
				return false;
			end++;
		}
		if (end == skip)
			return false; /* "http:///x": no host */
		req->authority = (struct http_str){ t.p + skip, end - skip };
		t = (struct http_str){ t.p + end, t.len - end };
	}
	const char *q = memchr(t.p, '?', t.len);
	size_t path_len = q ? (size_t)(q - t.p) : t.len;
	req->query = q ? (struct http_str){ q + 1, t.len - path_len - 1 }
		       : (struct http_str){ t.p + t.len, 0 };
	/* an absolute form's empty path is "/" (RFC 9110 §4.2.3: "http://host" and "http://host/"
	 * are the same resource) */
	req->path = path_len ? (struct http_str){ t.p, path_len } : (struct http_str){ "/", 1 };
	return true;
}

static enum http_parse_result parse_request_line(struct cursor *c, struct http_request *req,
						 int *status)
{
	enum http_parse_result r;
	size_t start = c->pos;

	while (c->pos < c->end && is_tchar((unsigned char)c->buf[c->pos]))
		c->pos++;
	if (c->pos == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (c->pos == start || c->buf[c->pos] != ' ')
		return parse_error(status, 400);
	req->method_str = (struct http_str){ c->buf + start, c->pos - start };
	/* Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method. */
	if (str_is(req->method_str, "GET"))
		req->method = HTTP_METHOD_GET;
	else if (str_is(req->method_str, "HEAD"))
		req->method = HTTP_METHOD_HEAD;
	else if (str_is(req->method_str, "POST"))
		req->method = HTTP_METHOD_POST;
	else if (str_is(req->method_str, "OPTIONS"))
		req->method = HTTP_METHOD_OPTIONS;
	else
		req->method = HTTP_METHOD_OTHER;
	c->pos++;

	/* The request target (RFC 9112 §3.2): origin form ("/path?query"), the absolute form a
	 * client talking to a proxy sends ("http://host:port/path?query"; an origin server MUST
	 * accept it, §3.2.2), and the asterisk form of OPTIONS ("*", §3.2.4). The authority form
	 * (CONNECT's) is a proxy's only: 400. */
	start = c->pos;
	if (c->pos == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (!strchr("/*hH", c->buf[c->pos]) || c->buf[c->pos] == '\0')
		return parse_error(status, 400); /* no form starts so: answered at once */
	while (c->pos < c->end && is_target_char((unsigned char)c->buf[c->pos]))
		c->pos++;
	if (c->pos == c->end)
		return HTTP_PARSE_INCOMPLETE;
	if (c->buf[c->pos] != ' ')
		return parse_error(status, 400);
	req->target = (struct http_str){ c->buf + start, c->pos - start };
	if (!split_target(req))
		return parse_error(status, 400);
	c->pos++;

	for (const char *p = "HTTP/"; *p; p++) {
		r = expect_char(c, *p, status);
		if (r != HTTP_PARSE_COMPLETE)
			return r;
	}
	int major, minor;
	r = expect_digit(c, &major, status);
	if (r == HTTP_PARSE_COMPLETE)
		r = expect_char(c, '.', status);
	if (r == HTTP_PARSE_COMPLETE)
		r = expect_digit(c, &minor, status);
	if (r == HTTP_PARSE_COMPLETE)
		r = parse_line_end(c, status);
	if (r != HTTP_PARSE_COMPLETE)
		return r;
	/* Well-formed but not ours (HTTP/2.0 preface, HTTP/0.9 lookalikes): 505, not 400. */
	if (major != 1 || minor > 1)
		return parse_error(status, 505);
	req->version_minor = minor;
	return HTTP_PARSE_COMPLETE;
}

/* Header lines up to and including the empty line that ends the head. */
static enum http_parse_result parse_headers(struct cursor *c, struct http_request *req, int *status)
{
	enum http_parse_result r;

	for (;;) {
		if (c->pos == c->end)
			return HTTP_PARSE_INCOMPLETE;
		char ch = c->buf[c->pos];
		if (ch == '\r' || ch == '\n')
			return parse_line_end(c, status);
		/* A line starting with whitespace is obs-fold (RFC 9112 §5.2): refused, since
		 * unfolding it differently from a proxy in front of us is a smuggling vector. */
		if (is_ows(ch))
			return parse_error(status, 400);
		if (req->n_headers == HTTP_MAX_HEADERS)
			return parse_error(status, 431);

		size_t start = c->pos;
		while (c->pos < c->end && is_tchar((unsigned char)c->buf[c->pos]))
			c->pos++;
		if (c->pos == c->end)
			return HTTP_PARSE_INCOMPLETE;
		/* No whitespace between name and colon (RFC 9112 §5.1). */
		if (c->pos == start || c->buf[c->pos] != ':')
			return parse_error(status, 400);
		struct http_str name = { c->buf + start, c->pos - start };
		c->pos++;

		while (c->pos < c->end && is_ows(c->buf[c->pos]))
			c->pos++;
		start = c->pos;
		size_t value_end = c->pos;
		while (c->pos < c->end) {
			unsigned char v = (unsigned char)c->buf[c->pos];
			if (v == '\r' || v == '\n')
				break;
			if (!is_value_char(v))
				return parse_error(status, 400);
			c->pos++;
			if (!is_ows((char)v))
				value_end = c->pos;
		}
		r = parse_line_end(c, status);
		if (r != HTTP_PARSE_COMPLETE)
			return r;
		req->headers[req->n_headers++] = (struct http_header){
			.name = name,
			.value = { c->buf + start, value_end - start },
		};
	}
}

static bool str_eq_nocase(struct http_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

/* Content-Length is 1*DIGIT; returns -EINVAL for anything else, including a comma list. */
static int parse_content_length(struct http_str v, uint64_t *out)
{
	uint64_t n = 0;
	if (v.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	*out = n;
	return 0;
}

/* Scans a comma-separated Connection value for the close / keep-alive options. */
static void scan_connection(struct http_str v, bool *close, bool *keep_alive)
{
	size_t i = 0;
	while (i < v.len) {
		while (i < v.len && (is_ows(v.p[i]) || v.p[i] == ','))
			i++;
		size_t start = i;
		while (i < v.len && v.p[i] != ',')
			i++;
		size_t end = i;
		while (end > start && is_ows(v.p[end - 1]))
			end--;
		struct http_str token = { v.p + start, end - start };
		if (str_eq_nocase(token, "close"))
			*close = true;
		else if (str_eq_nocase(token, "keep-alive"))
			*keep_alive = true;
	}
}

/* Rules that need the whole head: framing headers and persistence. */
static enum http_parse_result check_head(struct http_request *req, int *status)
{
	bool have_length = false, transfer_encoding = false;
	bool close = false, keep_alive = false;
	uint64_t length = 0;
	unsigned hosts = 0;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (str_eq_nocase(h->name, "Content-Length")) {
			uint64_t n;
			if (parse_content_length(h->value, &n) < 0)
				return parse_error(status, 400);
			/* Two different lengths: which one a proxy in front used is unknowable. */
			if (have_length && n != length)
				return parse_error(status, 400);
			have_length = true;
			length = n;
		} else if (str_eq_nocase(h->name, "Transfer-Encoding")) {
			transfer_encoding = true;
		} else if (str_eq_nocase(h->name, "Connection")) {
			scan_connection(h->value, &close, &keep_alive);
		} else if (str_eq_nocase(h->name, "Host")) {
			hosts++;
		}
	}
	/* A method no path takes: its answer is 405 whatever the body, so it is not waited for. */
	if (req->method == HTTP_METHOD_OTHER && (transfer_encoding || length > 0))
		return parse_error(status, 405);
	/* Only POST takes a body, and only by Content-Length; skipping a chunked one correctly is
	 * more code than refusing it. */
	if (transfer_encoding || (length > 0 && req->method != HTTP_METHOD_POST))
		return parse_error(status, 501);
	if (length > HTTP_MAX_BODY)
		return parse_error(status, 413);
	req->body.len = (size_t)length;
	/* RFC 9112 section 3.2: 400 for an HTTP/1.1 request without Host and for any request
	 * with more than one (which one a proxy in front routed by is unknowable). */
	if (hosts > 1 || (hosts == 0 && req->version_minor >= 1))
		return parse_error(status, 400);

	if (req->version_minor >= 1)
		req->keep_alive = !close;
	else
		req->keep_alive = keep_alive && !close;
	return HTTP_PARSE_COMPLETE;
}

enum http_parse_result http_parse_request(const char *buf, size_t len, struct http_request *req,
					  size_t *consumed, int *status)
{
	/* Nothing past the limit is looked at: a head that needs more bytes is too big already. */
	struct cursor c = {
		.buf = buf,
		.end = len < HTTP_MAX_HEADER_BYTES ? len : HTTP_MAX_HEADER_BYTES,
	};
	enum http_parse_result r;

	memset(req, 0, sizeof(*req));
	*status = 0;

	/* RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line (some clients
	 * send a stray CRLF after the previous request). */
	while (c.pos < c.end && (buf[c.pos] == '\r' || buf[c.pos] == '\n')) {
		r = parse_line_end(&c, status);
		if (r != HTTP_PARSE_COMPLETE)
			return r == HTTP_PARSE_INCOMPLETE && len >= HTTP_MAX_HEADER_BYTES ?
				       parse_error(status, 431) : r;
	}

	size_t line_start = c.pos;
	r = parse_request_line(&c, req, status);
	if (r == HTTP_PARSE_ERROR)
		return r;
	if (r == HTTP_PARSE_INCOMPLETE) {
		size_t so_far = c.end - line_start;
		/* A trailing CR may be the start of the line end, not part of the line. */
		if (so_far > 0 && buf[c.end - 1] == '\r')
			so_far--;
		if (so_far > HTTP_MAX_REQUEST_LINE)
			return parse_error(status, 414);
		if (len >= HTTP_MAX_HEADER_BYTES)
			return parse_error(status, 431);
		return r;
	}
	size_t line_len = c.pos - line_start - 1;
	if (buf[c.pos - 2] == '\r')
		line_len--;
	if (line_len > HTTP_MAX_REQUEST_LINE)
		return parse_error(status, 414);

	r = parse_headers(&c, req, status);
	if (r == HTTP_PARSE_INCOMPLETE && len >= HTTP_MAX_HEADER_BYTES)
		return parse_error(status, 431);
	if (r != HTTP_PARSE_COMPLETE)
		return r;

	r = check_head(req, status);
	if (r != HTTP_PARSE_COMPLETE)
		return r;
	req->head_len = c.pos;
	if (len - c.pos < req->body.len)
		return HTTP_PARSE_INCOMPLETE;
	req->body.p = buf + c.pos;
	*consumed = c.pos + req->body.len;
	return HTTP_PARSE_COMPLETE;
}

const struct http_str *http_request_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (str_eq_nocase(req->headers[i].name, name))
			return &req->headers[i].value;
	return NULL;
}

const struct http_str *http_request_host(const struct http_request *req)
{
	return req->authority.len ? &req->authority : http_request_header(req, "Host");
}

/* Decodes one application/x-www-form-urlencoded component byte at *i; returns the byte (0..255)
 * or -EINVAL for a broken escape. A decoded NUL is refused too: it would cut the C string short. */
static int decode_byte(const char *p, size_t len, size_t *i)
{
	char ch = p[*i];
	if (ch == '+') {
		(*i)++;
		return ' ';
	}
	if (ch != '%') {
		(*i)++;
		return (unsigned char)ch;
	}
	if (len - *i < 3)
		return -EINVAL;
	int hi = unhexchar(p[*i + 1]), lo = unhexchar(p[*i + 2]);
	if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
		return -EINVAL;
	*i += 3;
	return hi << 4 | lo;
}

/* True when the encoded key p[0..len) decodes to exactly key. A broken escape never matches. */
static bool key_matches(const char *p, size_t len, const char *key)
{
	size_t i = 0, k = 0;
	while (i < len) {
		int b = decode_byte(p, len, &i);
		if (b < 0 || key[k] == '\0' || (unsigned char)key[k] != b)
			return false;
		k++;
	}
	return key[k] == '\0';
}

int http_query_get(struct http_str query, const char *key, char *out, size_t outlen)
{
	size_t i = 0;
	while (i < query.len) {
		const char *pair = query.p + i;
		const char *amp = memchr(pair, '&', query.len - i);
		size_t pair_len = amp ? (size_t)(amp - pair) : query.len - i;
		i += pair_len + 1;

		const char *eq = memchr(pair, '=', pair_len);
		size_t key_len = eq ? (size_t)(eq - pair) : pair_len;
		if (pair_len == 0 || !key_matches(pair, key_len, key))
			continue;

		/* "?flag" without '=' is present with an empty value. */
		const char *value = eq ? eq + 1 : pair + pair_len;
		size_t value_len = pair_len - (size_t)(value - pair);
		size_t n = 0;
		for (size_t j = 0; j < value_len;) {
			int b = decode_byte(value, value_len, &j);
			if (b < 0 || n + 1 >= outlen)
				return -EINVAL;
			out[n++] = (char)b;
		}
		if (outlen == 0)
			return -EINVAL;
		out[n] = '\0';
		return (int)n;
	}
	return -ENOENT;
}

int http_query_get_uint(struct http_str query, const char *key, unsigned min, unsigned max,
			unsigned *out)
{
	char v[10]; /* 9 digits fit an unsigned; a longer value is -EINVAL from http_query_get */
	int r = http_query_get(query, key, v, sizeof(v));
	if (r < 0)
		return r;
	/* strtoul() would also take "+5", " 5", "\t5" (the client's %09) and "-1": refuse them. */
	if (r == 0)
		return -EINVAL;
	unsigned long n = 0;
	for (int i = 0; i < r; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n < min || n > max)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

const char *http_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
