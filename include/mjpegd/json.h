/* The one JSON writer and the one JSON reader: /status, /metrics' label values and /controls
 * write through json_out; POST /controls reads through json_in. Pure (no I/O): unit-tested in
 * tests/unit/test_json.c. ASCII escapes only, as the documents here need: '"', '\\' and control
 * characters are escaped on the way out (\u00XX), \" \\ \/ \b \f \n \r \t and \u00XX below 0x80
 * are read. */
#ifndef MJPEGD_JSON_H
#define MJPEGD_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* ---------------------------------------------------------------- writer */

/* A document being written: into the caller's buffer (JSON_OUT_FIXED: the text is cut where it
 * no longer fits) or into a heap buffer of the writer's own that grows (JSON_OUT_HEAP). Always
 * NUL-terminated once something was written. */
struct json_out {
	char *buf;
	size_t cap, used;
	bool grows;  /* buf is the writer's: realloc'd as needed, json_out_take() hands it over */
	bool failed; /* out of room (fixed) or of memory (heap): the document is unusable */
};

#define JSON_OUT_FIXED(b, n) ((struct json_out){ .buf = (b), .cap = (n), .failed = (n) == 0 })
#define JSON_OUT_HEAP ((struct json_out){ .grows = true })

/* Text as it is (punctuation, numbers, keys known to need no escaping). */
void json_printf(struct json_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included ("" for NULL). */
void json_string(struct json_out *o, const char *s);

/* A heap document: its buffer (the caller frees it) and length, or NULL when writing failed
 * (the buffer is freed). */
char *json_out_take(struct json_out *o, size_t *len);

/* ---------------------------------------------------------------- reader */

/* The unread rest of a document. Each reader returns false, with p anywhere inside, when the
 * text there is not what it reads. */
struct json_in {
	const char *p, *end;
};

/* Skips spaces, tabs and line ends. */
void json_skip_ws(struct json_in *in);
/* Skips whitespace; then true, past it, when the next character is c. */
bool json_take(struct json_in *in, char c);
/* A string (at p, no whitespace skipped) into out, NUL-terminated; false also when it does not
 * fit in cap or holds a \u0000 or a character above \u007f. */
bool json_read_string(struct json_in *in, char *out, size_t cap);
/* A number token copied as text (digits and "-+.eE"; its own parser checks it later). */
bool json_read_number(struct json_in *in, char *out, size_t cap);
/* The literal word ("true", "false", "null") when it is next. */
bool json_read_literal(struct json_in *in, const char *word);

#endif
