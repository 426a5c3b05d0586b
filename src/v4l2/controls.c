/* V4L2 controls as camera controls; see include/mjpegd/v4l2/controls.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/videodev2.h>

#include "mjpegd/v4l2/controls.h"
#include "mjpegd/v4l2/device.h"

void v4l2_control_name(const char *v4l2_name, char *out, size_t len)
{
	size_t o = 0;
	bool gap = false;
	for (const char *p = v4l2_name; *p && o + 1 < len; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c)) {
			if (gap && o > 0 && o + 2 < len)
				out[o++] = '_';
			gap = false;
			out[o++] = (char)tolower(c);
		} else {
			gap = true;
		}
	}
	out[o] = '\0';
}

static void int_value(struct control_value *v, enum control_type t, int64_t i)
{
	*v = (struct control_value){ .type = t };
	if (t == CONTROL_BOOLEAN)
		v->b = i != 0;
	else
		v->i = i;
}

static int get_value(int fd, uint32_t id, bool is64, int64_t *out)
{
	struct v4l2_ext_control c = { .id = id };
	struct v4l2_ext_controls cs = { .which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &c };
	int r = xioctl(fd, VIDIOC_G_EXT_CTRLS, &cs);
	if (r < 0)
		return r;
	*out = is64 ? c.value64 : c.value;
	return 0;
}

static void query_menu(int fd, const struct v4l2_query_ext_ctrl *q, struct control_desc *d)
{
	for (int64_t i = q->minimum; i <= q->maximum && d->n_menu < CONTROL_MENU_MAX; i++) {
		struct v4l2_querymenu m = { .id = q->id, .index = (uint32_t)i };
		if (xioctl(fd, VIDIOC_QUERYMENU, &m) < 0)
			continue; /* a gap in the menu (the driver skips it) */
		struct control_menu_entry *e = &d->menu[d->n_menu++];
		e->value = i;
		if (q->type == V4L2_CTRL_TYPE_INTEGER_MENU)
			snprintf(e->name, sizeof(e->name), "%lld", (long long)m.value);
		else
			snprintf(e->name, sizeof(e->name), "%s", (const char *)m.name);
	}
}

int v4l2_controls_query(int fd, struct control_list *l)
{
	l->n = 0;
	struct v4l2_query_ext_ctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };
	while (l->n < CONTROL_LIST_MAX) {
		int r = xioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q);
		if (r == -EINVAL)
			break; /* past the last one */
		if (r < 0)
			return l->n ? (int)l->n : r;
		uint32_t id = q.id;
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
		/* arrays (a payload, not a value) are not offered: S_EXT_CTRLS would want a pointer */
		if ((q.flags & (V4L2_CTRL_FLAG_DISABLED | V4L2_CTRL_FLAG_HAS_PAYLOAD)) || q.nr_of_dims)
			continue;
		enum control_type t;
		switch (q.type) {
		case V4L2_CTRL_TYPE_INTEGER:
		case V4L2_CTRL_TYPE_INTEGER64:
			t = CONTROL_INTEGER;
			break;
		case V4L2_CTRL_TYPE_BOOLEAN:
			t = CONTROL_BOOLEAN;
			break;
		case V4L2_CTRL_TYPE_MENU:
		case V4L2_CTRL_TYPE_INTEGER_MENU:
			t = CONTROL_MENU;
			break;
		default:
			continue; /* class headings, buttons, strings, bitmasks, compound */
		}
		struct control_desc *d = &l->desc[l->n];
		memset(d, 0, sizeof(*d));
		v4l2_control_name((const char *)q.name, d->name, sizeof(d->name));
		d->id = id;
		d->backend_type = q.type;
		d->type = t;
		int_value(&d->min, t, q.minimum);
		int_value(&d->max, t, q.maximum);
		int_value(&d->def, t, q.default_value);
		d->step = q.step > 0 ? (int64_t)q.step : 1;
		d->read_only = q.flags & (V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_GRABBED);
		d->inactive = q.flags & V4L2_CTRL_FLAG_INACTIVE;
		if (t == CONTROL_MENU) {
			query_menu(fd, &q, d);
			if (!d->n_menu)
				continue;
		}
		int64_t cur;
		if (!(q.flags & V4L2_CTRL_FLAG_WRITE_ONLY) &&
		    get_value(fd, id, q.type == V4L2_CTRL_TYPE_INTEGER64, &cur) == 0) {
			int_value(&d->cur, t, cur);
			d->has_current = true;
		}
		l->n++;
	}
	return (int)l->n;
}

int v4l2_controls_apply(int fd, const struct control_list *l, const struct control_set *set,
			char *why, size_t whylen)
{
	struct v4l2_ext_control c[CONTROL_SET_MAX];
	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < set->n; i++) {
		const struct control_desc *d = &l->desc[set->item[i].index];
		const struct control_value *v = &set->item[i].value;
		c[i].id = d->id;
		int64_t n = v->type == CONTROL_BOOLEAN ? v->b : v->i;
		if (d->backend_type == V4L2_CTRL_TYPE_INTEGER64)
			c[i].value64 = n;
		else
			c[i].value = (int32_t)n;
	}
	struct v4l2_ext_controls cs = { .which = V4L2_CTRL_WHICH_CUR_VAL, .count = set->n,
					.controls = c };
	int r = xioctl(fd, VIDIOC_TRY_EXT_CTRLS, &cs);
	if (r == 0)
		r = xioctl(fd, VIDIOC_S_EXT_CTRLS, &cs);
	if (r < 0) {
		/* error_idx == count: the request as a whole (nothing was applied) */
		if (cs.error_idx < set->n)
			snprintf(why, whylen, "%s: the driver refused it: %s",
				 l->desc[set->item[cs.error_idx].index].name, strerror(-r));
		else
			snprintf(why, whylen, "the driver refused the controls: %s", strerror(-r));
	}
	return r;
}
