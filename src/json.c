/* The JSON writer and reader; see include/mjpegd/json.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/json.h"
#include "mjpegd/macro.h"

/* ---------------------------------------------------------------- writer */

#define JSON_OUT_FIRST 1024

/* Room for need more bytes and the NUL after them; false (and failed) when there is none. */
static bool reserve(struct json_out *o, size_t need)
{
	if (o->failed)
		return false;
	if (o->used + need < o->cap)
		return true;
	if (!o->grows) {
		o->failed = true;
		return false;
	}
	size_t cap = o->cap ? o->cap : JSON_OUT_FIRST;
	while (o->used + need >= cap)
		cap *= 2;
	char *buf = realloc(o->buf, cap);
	if (!buf) {
		o->failed = true;
		return false;
	}
	o->buf = buf;
	o->cap = cap;
	return true;
}

void json_printf(struct json_out *o, const char *fmt, ...)
{
	if (!reserve(o, 0))
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->used, o->cap - o->used, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = true;
		return;
	}
	if ((size_t)n >= o->cap - o->used) {
		if (!reserve(o, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(o->buf + o->used, o->cap - o->used, fmt, ap);
		va_end(ap);
	}
	o->used += (size_t)n;
}

static void put_bytes(struct json_out *o, const char *s, size_t n)
{
	if (!reserve(o, n))
		return;
	memcpy(o->buf + o->used, s, n);
	o->used += n;
	o->buf[o->used] = '\0';
}

void json_string(struct json_out *o, const char *s)
{
	put_bytes(o, "\"", 1);
	for (const char *run = s; s && *s; run = s) {
		while (*s && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
			s++;
		put_bytes(o, run, (size_t)(s - run));
		if (!*s)
			break;
		unsigned char c = (unsigned char)*s++;
		if (c == '"' || c == '\\')
			json_printf(o, "\\%c", c);
		else
			json_printf(o, "\\u%04x", c);
	}
	put_bytes(o, "\"", 1);
}

char *json_out_take(struct json_out *o, size_t *len)
{
	reserve(o, 0); /* an empty document is "" */
	if (o->failed) {
		if (o->grows)
			free(o->buf);
		o->buf = NULL;
		return NULL;
	}
	char *buf = o->buf;
	buf[o->used] = '\0';
	*len = o->used;
	o->buf = NULL;
	o->cap = o->used = 0;
	return buf;
}

/* ---------------------------------------------------------------- reader */

void json_skip_ws(struct json_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
		in->p++;
}

bool json_take(struct json_in *in, char c)
{
	json_skip_ws(in);
	if (in->p < in->end && *in->p == c) {
		in->p++;
		return true;
	}
	return false;
}

bool json_read_string(struct json_in *in, char *out, size_t cap)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t"; /* pairs: escape, character */
	if (in->p >= in->end || *in->p != '"')
		return false;
	in->p++;
	size_t o = 0;
	while (in->p < in->end && *in->p != '"') {
		char ch = *in->p++;
		if ((unsigned char)ch < 0x20)
			return false;
		if (ch == '\\') {
			if (in->p >= in->end)
				return false;
			char e = *in->p++;
			const char *map = strchr(escapes, e);
			if (e == 'u') {
				if (in->end - in->p < 4 || in->p[0] != '0' || in->p[1] != '0')
					return false;
				int h = unhexchar(in->p[2]), l = unhexchar(in->p[3]);
				if (h < 0 || l < 0 || h > 7 || (h == 0 && l == 0))
					return false;
				ch = (char)(h * 16 + l);
				in->p += 4;
			} else if (e && map && (map - escapes) % 2 == 0) {
				ch = map[1];
			} else {
				return false;
			}
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = ch;
	}
	if (in->p >= in->end)
		return false;
	in->p++;
	out[o] = '\0';
	return true;
}

bool json_read_number(struct json_in *in, char *out, size_t cap)
{
	size_t o = 0;
	while (in->p < in->end && (isdigit((unsigned char)*in->p) || (*in->p && strchr("-+.eE", *in->p)))) {
		if (o + 1 >= cap)
			return false;
		out[o++] = *in->p++;
	}
	if (cap)
		out[o] = '\0';
	return o > 0;
}

bool json_read_literal(struct json_in *in, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(in->end - in->p) < n || memcmp(in->p, word, n) != 0)
		return false;
	in->p += n;
	return true;
}
