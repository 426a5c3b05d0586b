/* Camera controls: descriptions, values, requests; see include/mjpegd/control.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mjpegd/control.h"
#include "mjpegd/json.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"

#define VALUE_TEXT_MAX 96

const struct control_desc *control_find(const struct control_list *l, const char *name)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->desc[i].name, name) == 0)
			return &l->desc[i];
	for (unsigned i = 0; i < l->n; i++)
		if (strcasecmp(l->desc[i].name, name) == 0)
			return &l->desc[i];
	return NULL;
}

/* A whole decimal integer: optional '-', digits, nothing else (no spaces, no '+', no hex). */
static bool parse_int(const char *s, int64_t *out)
{
	const char *p = s + (*s == '-');
	if (!isdigit((unsigned char)*p))
		return false;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_float(const char *s, double *out)
{
	if (!*s || isspace((unsigned char)*s) || *s == '+')
		return false;
	for (const char *q = s; *q; q++)
		if (!isdigit((unsigned char)*q) && !strchr("-.eE", *q) && *q != '+')
			return false; /* no "inf", "nan", hex floats */
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool parse_rect(const char *s, struct control_rect *r)
{
	char buf[VALUE_TEXT_MAX];
	if (strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	int64_t v[4];
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	for (int i = 0; i < 4; i++, tok = strtok_r(NULL, ",", &save)) {
		if (!tok || !parse_int(tok, &v[i]) || v[i] < INT32_MIN || v[i] > INT32_MAX)
			return false;
	}
	if (tok || v[2] <= 0 || v[3] <= 0)
		return false;
	*r = (struct control_rect){ (int32_t)v[0], (int32_t)v[1], (uint32_t)v[2], (uint32_t)v[3] };
	return true;
}

/* count numbers "a,b[,c[,d]]", each a float */
static bool parse_floats(const char *s, unsigned count, double *v)
{
	char buf[VALUE_TEXT_MAX];
	if (strlen(s) >= sizeof(buf) || count == 0 || count > CONTROL_FLOATS_MAX)
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	char *p = buf;
	for (unsigned i = 0; i < count; i++) {
		char *comma = strchr(p, ',');
		if ((comma != NULL) != (i + 1 < count))
			return false;
		if (comma)
			*comma = '\0';
		if (!parse_float(p, &v[i]))
			return false;
		if (comma)
			p = comma + 1;
	}
	return true;
}

static void format_float(double f, char *buf, size_t len)
{
	snprintf(buf, len, "%.6g", f);
}

/* A FLOATS value's numbers joined by sep: "1.5,2" (text), "1.5, 2" (inside JSON's brackets) */
static void format_floats(const struct control_value *v, const char *sep, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < v->fs.n && i < CONTROL_FLOATS_MAX && used < len; i++) {
		char one[32];
		format_float(v->fs.v[i], one, sizeof(one));
		int n = snprintf(buf + used, len - used, "%s%s", i ? sep : "", one);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* What d accepts, for error messages: "-1..1", "true or false", "Auto, Manual or Continuous". */
static void describe_accepted(const struct control_desc *d, char *buf, size_t len)
{
	char a[32], b[32];
	size_t used = 0;
	switch (d->type) {
	case CONTROL_INTEGER:
		if (d->step > 1)
			snprintf(buf, len, "%lld..%lld in steps of %lld", (long long)d->min.i,
				 (long long)d->max.i, (long long)d->step);
		else
			snprintf(buf, len, "%lld..%lld", (long long)d->min.i, (long long)d->max.i);
		return;
	case CONTROL_FLOAT:
		format_float(d->min.f, a, sizeof(a));
		format_float(d->max.f, b, sizeof(b));
		snprintf(buf, len, "%s..%s", a, b);
		return;
	case CONTROL_BOOLEAN:
		snprintf(buf, len, "true or false");
		return;
	case CONTROL_MENU:
		buf[0] = '\0';
		for (unsigned i = 0; i < d->n_menu && used + 1 < len; i++) {
			int n = snprintf(buf + used, len - used, "%s%s (%lld)", i ? ", " : "",
					 d->menu[i].name, (long long)d->menu[i].value);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		return;
	case CONTROL_RECTANGLE:
		if (d->max.r.width)
			snprintf(buf, len, "x,y,width,height inside %d,%d,%u,%u", d->max.r.x,
				 d->max.r.y, d->max.r.width, d->max.r.height);
		else
			snprintf(buf, len, "x,y,width,height");
		return;
	case CONTROL_FLOATS:
		format_float(d->min.f, a, sizeof(a));
		format_float(d->max.f, b, sizeof(b));
		snprintf(buf, len, "%u numbers, each %s..%s", d->count, a, b);
		return;
	}
	buf[0] = '\0';
}

static int refuse(const struct control_desc *d, const char *text, const char *what, char *why,
		  size_t whylen)
{
	char accepted[256];
	describe_accepted(d, accepted, sizeof(accepted));
	return why_set(why, whylen, -EINVAL, "%s: '%.40s' %s (it takes %s)", d->name, text, what,
		      accepted);
}

int control_parse_value(const struct control_desc *d, const char *text, struct control_value *out,
			char *why, size_t whylen)
{
	if (d->read_only)
		return why_set(why, whylen, -EACCES, "%s is read-only", d->name);
	struct control_value v = { .type = d->type };
	switch (d->type) {
	case CONTROL_INTEGER:
		if (!parse_int(text, &v.i))
			return refuse(d, text, "is not a whole number", why, whylen);
		if (v.i < d->min.i || v.i > d->max.i)
			return refuse(d, text, "is out of range", why, whylen);
		if (d->step > 1 && (v.i - d->min.i) % d->step)
			return refuse(d, text, "is not on a step", why, whylen);
		break;
	case CONTROL_FLOAT:
		if (!parse_float(text, &v.f))
			return refuse(d, text, "is not a number", why, whylen);
		if (v.f < d->min.f || v.f > d->max.f)
			return refuse(d, text, "is out of range", why, whylen);
		break;
	case CONTROL_BOOLEAN:
		if (!strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "on"))
			v.b = true;
		else if (!strcasecmp(text, "false") || !strcmp(text, "0") || !strcasecmp(text, "off"))
			v.b = false;
		else
			return refuse(d, text, "is not a boolean", why, whylen);
		break;
	case CONTROL_MENU: {
		int64_t n;
		bool number = parse_int(text, &n);
		unsigned i;
		for (i = 0; i < d->n_menu; i++)
			if (number ? d->menu[i].value == n : !strcasecmp(d->menu[i].name, text))
				break;
		if (i == d->n_menu)
			return refuse(d, text, "is not one of its entries", why, whylen);
		v.i = d->menu[i].value;
		break;
	}
	case CONTROL_RECTANGLE: {
		if (!parse_rect(text, &v.r))
			return refuse(d, text, "is not a rectangle", why, whylen);
		const struct control_rect *m = &d->max.r;
		if (m->width && (v.r.x < m->x || v.r.y < m->y ||
				 (int64_t)v.r.x + v.r.width > (int64_t)m->x + m->width ||
				 (int64_t)v.r.y + v.r.height > (int64_t)m->y + m->height))
			return refuse(d, text, "is out of range", why, whylen);
		break;
	}
	case CONTROL_FLOATS:
		v.fs.n = d->count;
		if (!parse_floats(text, d->count, v.fs.v))
			return refuse(d, text, "is not that many numbers", why, whylen);
		for (unsigned i = 0; i < d->count; i++)
			if (v.fs.v[i] < d->min.f || v.fs.v[i] > d->max.f)
				return refuse(d, text, "is out of range", why, whylen);
		break;
	default:
		return why_set(why, whylen, -EINVAL, "%s: a control of an unknown type", d->name);
	}
	*out = v;
	return 0;
}

void control_format_value(const struct control_desc *d, const struct control_value *v, char *buf,
			  size_t len)
{
	switch (v->type) {
	case CONTROL_INTEGER:
		snprintf(buf, len, "%lld", (long long)v->i);
		return;
	case CONTROL_FLOAT:
		format_float(v->f, buf, len);
		return;
	case CONTROL_BOOLEAN:
		snprintf(buf, len, "%s", v->b ? "true" : "false");
		return;
	case CONTROL_MENU:
		for (unsigned i = 0; d && i < d->n_menu; i++) {
			if (d->menu[i].value == v->i) {
				snprintf(buf, len, "%s", d->menu[i].name);
				return;
			}
		}
		snprintf(buf, len, "%lld", (long long)v->i);
		return;
	case CONTROL_RECTANGLE:
		snprintf(buf, len, "%d,%d,%u,%u", v->r.x, v->r.y, v->r.width, v->r.height);
		return;
	case CONTROL_FLOATS:
		format_floats(v, ",", buf, len);
		return;
	}
	buf[0] = '\0';
}

int control_set_add(struct control_set *set, const struct control_list *l, const char *name,
		    const char *text, char *why, size_t whylen)
{
	const struct control_desc *d = control_find(l, name);
	if (!d)
		return why_set(why, whylen, -ENOENT, "no control named '%.48s'", name);
	struct control_value v;
	int r = control_parse_value(d, text, &v, why, whylen);
	if (r < 0)
		return r;
	unsigned index = (unsigned)(d - l->desc), i;
	for (i = 0; i < set->n; i++)
		if (set->item[i].index == index)
			break;
	if (i == set->n) {
		if (set->n == CONTROL_SET_MAX)
			return why_set(why, whylen, -E2BIG, "more than %d controls at once",
				      CONTROL_SET_MAX);
		set->n++;
	}
	set->item[i].index = index;
	set->item[i].value = v;
	return 0;
}

/* ---------------------------------------------------------------- requests */

/* application/x-www-form-urlencoded, decoded into out; false on a bad escape, a NUL or overflow */
static bool form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return false;
			int h = unhexchar(s[i + 1]), l = unhexchar(s[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

static int parse_form(const struct control_list *l, const char *body, size_t len,
		      struct control_set *set, char *why, size_t whylen)
{
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end > i) {
			const char *eq = memchr(body + i, '=', end - i);
			char name[CONTROL_NAME_MAX + 1], value[VALUE_TEXT_MAX];
			if (!eq)
				return why_set(why, whylen, -EINVAL, "'%.*s' has no '='",
					      (int)(end - i > 40 ? 40 : end - i), body + i);
			if (!form_decode(body + i, (size_t)(eq - (body + i)), name, sizeof(name)) ||
			    !form_decode(eq + 1, (size_t)(body + end - eq - 1), value, sizeof(value)))
				return why_set(why, whylen, -EINVAL,
					      "a control name or value is too long or badly escaped");
			int r = control_set_add(set, l, name, value, why, whylen);
			if (r < 0)
				return r;
		}
		i = end + 1;
	}
	return 0;
}

/* A value as the text control_parse_value() takes: strings as they are, numbers and literals as
 * written, an array of 4 numbers as "a,b,c,d". */
static bool json_value_text(struct json_in *in, char *out, size_t cap)
{
	if (in->p >= in->end)
		return false;
	if (*in->p == '"')
		return json_read_string(in, out, cap);
	if (*in->p == '[') {
		in->p++;
		size_t o = 0;
		for (int i = 0;; i++) {
			json_skip_ws(in);
			char num[32];
			if (i == 4 || !json_read_number(in, num, sizeof(num)))
				return false;
			int n = snprintf(out + o, cap - o, "%s%s", i ? "," : "", num);
			if (n < 0 || (size_t)n >= cap - o)
				return false;
			o += (size_t)n;
			if (json_take(in, ','))
				continue;
			if (json_take(in, ']'))
				return true;
			return false;
		}
	}
	static const char *const literals[] = { "true", "false" };
	for (size_t i = 0; i < ELEMENTSOF(literals); i++) {
		if (json_read_literal(in, literals[i])) {
			snprintf(out, cap, "%s", literals[i]);
			return true;
		}
	}
	return json_read_number(in, out, cap);
}

static int parse_json(const struct control_list *l, const char *body, size_t len,
		      struct control_set *set, char *why, size_t whylen)
{
	struct json_in in = { body, body + len };
	if (!json_take(&in, '{'))
		return why_set(why, whylen, -EINVAL, "the body is not a JSON object");
	if (!json_take(&in, '}')) {
		for (;;) {
			char name[CONTROL_NAME_MAX + 1], value[VALUE_TEXT_MAX];
			json_skip_ws(&in);
			if (!json_read_string(&in, name, sizeof(name)))
				return why_set(why, whylen, -EINVAL,
					      "a control name is not a JSON string (or is too long)");
			if (!json_take(&in, ':'))
				return why_set(why, whylen, -EINVAL, "no ':' after \"%s\"", name);
			json_skip_ws(&in);
			if (!json_value_text(&in, value, sizeof(value)))
				return why_set(why, whylen, -EINVAL,
					      "%s: the value is not a number, boolean, string or "
					      "array of 4 numbers", name);
			int r = control_set_add(set, l, name, value, why, whylen);
			if (r < 0)
				return r;
			if (json_take(&in, ','))
				continue;
			if (json_take(&in, '}'))
				break;
			return why_set(why, whylen, -EINVAL, "the JSON object is not closed");
		}
	}
	json_skip_ws(&in);
	if (in.p != in.end)
		return why_set(why, whylen, -EINVAL, "text after the JSON object");
	return 0;
}

int control_parse_request(const struct control_list *l, const char *body, size_t len, bool json,
			  struct control_set *set, char *why, size_t whylen)
{
	set->n = 0;
	int r = json ? parse_json(l, body, len, set, why, whylen)
		     : parse_form(l, body, len, set, why, whylen);
	if (r == 0 && set->n == 0)
		r = why_set(why, whylen, -EINVAL, "no control given");
	if (r < 0)
		set->n = 0;
	return r;
}

/* ---------------------------------------------------------------- output */

static const char *type_name(enum control_type t)
{
	switch (t) {
	case CONTROL_INTEGER:
		return "integer";
	case CONTROL_FLOAT:
		return "float";
	case CONTROL_BOOLEAN:
		return "boolean";
	case CONTROL_MENU:
		return "menu";
	case CONTROL_RECTANGLE:
		return "rectangle";
	case CONTROL_FLOATS:
		return "floats";
	}
	return "unknown";
}

static void put_value(struct json_out *o, const struct control_desc *d, const struct control_value *v)
{
	char text[64];
	switch (v->type) {
	case CONTROL_INTEGER:
	case CONTROL_MENU:
		json_printf(o, "%lld", (long long)v->i);
		return;
	case CONTROL_FLOAT:
		format_float(v->f, text, sizeof(text));
		json_printf(o, "%s", text);
		return;
	case CONTROL_BOOLEAN:
		json_printf(o, "%s", v->b ? "true" : "false");
		return;
	case CONTROL_RECTANGLE:
		json_printf(o, "[%d, %d, %u, %u]", v->r.x, v->r.y, v->r.width, v->r.height);
		return;
	case CONTROL_FLOATS: {
		char all[CONTROL_FLOATS_MAX * 34];
		format_floats(v, ", ", all, sizeof(all));
		json_printf(o, "[%s]", all);
		return;
	}
	}
	(void)d;
	json_printf(o, "null");
}

int control_list_json(const struct control_list *l, bool writable, char *buf, size_t len)
{
	struct json_out o = JSON_OUT_FIXED(buf, len);
	json_printf(&o, "{\"writable\": %s, \"controls\": [", writable ? "true" : "false");
	for (unsigned i = 0; i < l->n; i++) {
		const struct control_desc *d = &l->desc[i];
		json_printf(&o, "%s\n  {\"name\": ", i ? "," : "");
		json_string(&o, d->name);
		json_printf(&o, ", \"type\": \"%s\"", type_name(d->type));
		if (d->type != CONTROL_BOOLEAN && d->type != CONTROL_MENU) {
			json_printf(&o, ", \"min\": ");
			put_value(&o, d, &d->min);
			json_printf(&o, ", \"max\": ");
			put_value(&o, d, &d->max);
		}
		if (d->type == CONTROL_INTEGER)
			json_printf(&o, ", \"step\": %lld", (long long)(d->step > 0 ? d->step : 1));
		if (d->type == CONTROL_FLOATS)
			json_printf(&o, ", \"count\": %u", d->count);
		json_printf(&o, ", \"default\": ");
		put_value(&o, d, &d->def);
		json_printf(&o, ", \"value\": ");
		if (d->has_current)
			put_value(&o, d, &d->cur);
		else
			json_printf(&o, "null");
		if (d->type == CONTROL_MENU) {
			json_printf(&o, ", \"menu\": [");
			for (unsigned m = 0; m < d->n_menu; m++) {
				json_printf(&o, "%s{\"value\": %lld, \"name\": ", m ? ", " : "",
				    (long long)d->menu[m].value);
				json_string(&o, d->menu[m].name);
				json_printf(&o, "}");
			}
			json_printf(&o, "]");
		}
		json_printf(&o, ", \"read_only\": %s, \"inactive\": %s}", d->read_only ? "true" : "false",
		    d->inactive ? "true" : "false");
	}
	json_printf(&o, "%s]}\n", l->n ? "\n" : "");
	return o.failed ? -ENOSPC : (int)o.used;
}

int control_assignments_put(struct control_assignments *as, const char *name, const char *value)
{
	if (!name[0] || strlen(name) >= CONTROL_NAME_MAX || strlen(value) >= CONTROL_VALUE_MAX ||
	    strpbrk(name, "=\n") || strchr(value, '\n'))
		return -EINVAL;
	unsigned i;
	for (i = 0; i < as->n; i++)
		if (strcasecmp(as->a[i].name, name) == 0)
			break;
	if (i == as->n) {
		if (as->n == CONTROL_SET_MAX)
			return -E2BIG;
		as->n++;
	}
	snprintf(as->a[i].name, sizeof(as->a[i].name), "%s", name);
	snprintf(as->a[i].value, sizeof(as->a[i].value), "%s", value);
	return 0;
}

int control_assignments_merge(struct control_assignments *to, const struct control_assignments *from)
{
	for (unsigned i = 0; i < from->n; i++) {
		int r = control_assignments_put(to, from->a[i].name, from->a[i].value);
		if (r < 0)
			return r;
	}
	return 0;
}

int control_assignments_put_set(struct control_assignments *as, const struct control_list *l,
				const struct control_set *set)
{
	for (unsigned i = 0; i < set->n; i++) {
		const struct control_desc *d = &l->desc[set->item[i].index];
		char text[CONTROL_VALUE_MAX];
		control_format_value(d, &set->item[i].value, text, sizeof(text));
		int r = control_assignments_put(as, d->name, text);
		if (r < 0)
			return r;
	}
	return 0;
}

unsigned control_assignments_check(const struct control_assignments *as, const struct control_list *l,
				   struct control_set *set, char *why, size_t whylen)
{
	unsigned left_out = 0;
	set->n = 0;
	if (whylen)
		why[0] = '\0';
	for (unsigned i = 0; i < as->n; i++) {
		char reason_text[256];
		if (control_set_add(set, l, as->a[i].name, as->a[i].value, reason_text,
				    sizeof(reason_text)) < 0) {
			if (!left_out++ && whylen)
				snprintf(why, whylen, "%s", reason_text);
		}
	}
	return left_out;
}

int control_assignments_format(const struct control_assignments *as, char *buf, size_t len)
{
	/* not JSON: the writer's plain text, for its bound */
	struct json_out o = JSON_OUT_FIXED(buf, len);
	json_printf(&o, "# mjpegd: camera controls set over HTTP; rewritten on every change\n");
	for (unsigned i = 0; i < as->n; i++)
		json_printf(&o, "%s=%s\n", as->a[i].name, as->a[i].value);
	return o.failed ? -ENOSPC : (int)o.used;
}

int control_assignments_parse(const char *text, struct control_assignments *as, char *why,
			      size_t whylen)
{
	as->n = 0;
	unsigned line_no = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[CONTROL_NAME_MAX + CONTROL_VALUE_MAX + 64];
		line_no++;
		if (n >= sizeof(line)) {
			as->n = 0;
			return why_set(why, whylen, -EINVAL, "line %u is too long", line_no);
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		const char *q = line;
		while (isspace((unsigned char)*q))
			q++;
		if (!*q || *q == '#')
			continue;
		char name[CONTROL_NAME_MAX], value[CONTROL_VALUE_MAX];
		if (control_split_assignment(line, name, sizeof(name), value, sizeof(value)) < 0) {
			as->n = 0;
			return why_set(why, whylen, -EINVAL, "line %u is not NAME=VALUE", line_no);
		}
		int r = control_assignments_put(as, name, value);
		if (r < 0) {
			as->n = 0;
			return why_set(why, whylen, r, "line %u: %s", line_no,
				      r == -E2BIG ? "too many controls" : "a bad name or value");
		}
	}
	return 0;
}

/* s[0..n) without surrounding white space into out; false when it does not fit */
static bool trim_copy(const char *s, size_t n, char *out, size_t cap)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

int control_split_assignment(const char *line, char *name, size_t name_len, char *value,
			     size_t value_len)
{
	const char *eq = strchr(line, '=');
	if (!eq || !trim_copy(line, (size_t)(eq - line), name, name_len) ||
	    !trim_copy(eq + 1, strlen(eq + 1), value, value_len))
		return -EINVAL;
	return name[0] ? 0 : -EINVAL;
}
