/* libcamera_padded_crop(), libcamera_plan_streams(), libcamera_streams_granted(),
 * libcamera_pace_note() and libcamera_pace_due(); see
 * src/source/libcamera_shim.h. Pure: compiled into the daemon's
 * library for its unit test and into the libcamera plugin, which uses it (a copy of its own, so
 * the daemon exports nothing to the plugin but struct lcshim_host). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "libcamera_shim.h"

int libcamera_padded_crop(struct libcamera_rect def, struct libcamera_rect max, unsigned width,
			  unsigned rows, unsigned picture_rows, struct libcamera_rect *out)
{
	if (!def.width || !def.height || !max.width || !max.height || !width || !picture_rows ||
	    rows < picture_rows)
		return -EINVAL;
	/* the picture: def cut to width:picture_rows, centred */
	uint64_t w = def.width, h = def.height;
	if (w * picture_rows > h * width)
		w = h * width / picture_rows;
	else
		h = w * picture_rows / width;
	struct libcamera_rect r = {
		.x = def.x + (int)((def.width - w) / 2),
		.y = def.y + (int)((def.height - h) / 2),
		.width = (unsigned)w,
		/* the padded rows below it, at the picture's scale */
		.height = (unsigned)((h * rows + picture_rows / 2) / picture_rows),
	};
	if (r.height > max.height) {
		/* shrunk to max's height, centred across */
		r.height = max.height;
		r.width = (unsigned)((uint64_t)max.height * width / rows);
		r.x = def.x + (int)def.width / 2 - (int)r.width / 2;
		r.y = max.y;
	}
	if (r.y + (int64_t)r.height > max.y + (int64_t)max.height)
		r.y = max.y + (int)(max.height - r.height);
	if (r.y < max.y)
		r.y = max.y;
	if (r.x < max.x)
		r.x = max.x;
	if (r.x + (int64_t)r.width > max.x + (int64_t)max.width)
		r.x = max.x + (int)(max.width > r.width ? max.width - r.width : 0);
	*out = r;
	return 0;
}

int libcamera_plan_streams(unsigned width, unsigned height, unsigned full_width,
			   unsigned full_height, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!width || !height || !full_width || !full_height) {
		if (why && whylen)
			snprintf(why, whylen, "an empty size");
		return -EINVAL;
	}
	/* The second (low-res on VC4) output is never larger than the first: the full size goes
	 * first and must hold the stream's in both dimensions. */
	if (full_width < width || full_height < height) {
		if (why && whylen)
			snprintf(why, whylen, "the full size %ux%u is smaller than the stream's %ux%u "
				 "in one dimension", full_width, full_height, width, height);
		return -EINVAL;
	}
	if (full_width == width && full_height == height) {
		if (why && whylen)
			snprintf(why, whylen, "the full size is the stream's");
		return -EINVAL;
	}
	return 0;
}

bool libcamera_streams_granted(unsigned n_configs, uint32_t fourcc, unsigned width,
			       unsigned height, uint32_t main_fourcc, unsigned main_width,
			       unsigned main_height, uint32_t second_fourcc, unsigned second_width,
			       unsigned second_height, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	const char *reason = NULL;
	char buf[160];
	if (n_configs < 2) {
		reason = "the camera gives one stream";
	} else if (second_fourcc != fourcc || main_fourcc != fourcc) {
		snprintf(buf, sizeof(buf), "the camera changed the formats to %.4s and %.4s (asked "
			 "%.4s for both)", (const char *)&main_fourcc, (const char *)&second_fourcc,
			 (const char *)&fourcc);
		reason = buf;
	} else if (second_width != width || second_height != height) {
		snprintf(buf, sizeof(buf), "the camera gives the second stream as %ux%u, not %ux%u",
			 second_width, second_height, width, height);
		reason = buf;
	} else if (main_width < width || main_height < height ||
		   (main_width == width && main_height == height)) {
		snprintf(buf, sizeof(buf), "the camera gives the full size as %ux%u, not larger than "
			 "the stream's %ux%u", main_width, main_height, width, height);
		reason = buf;
	}
	if (!reason)
		return true;
	if (why && whylen)
		snprintf(why, whylen, "%s", reason);
	return false;
}

bool libcamera_pace_note(struct libcamera_pace *p, uint64_t ts_ns)
{
	uint64_t last = p->last_ts_ns;
	p->last_ts_ns = ts_ns;
	if (p->on || !p->frame_ns || !last || ts_ns < last)
		return false;
	if (ts_ns - last >= p->frame_ns / 2) {
		p->fast = 0;
		return false;
	}
	if (++p->fast < LIBCAMERA_PACE_FAST)
		return false;
	p->on = true;
	p->next_ns = 0;
	return true;
}

uint64_t libcamera_pace_due(struct libcamera_pace *p, uint64_t now_ns)
{
	if (!p->on)
		return now_ns;
	uint64_t due = p->next_ns > now_ns ? p->next_ns : now_ns;
	p->next_ns = due + p->frame_ns;
	return due;
}
