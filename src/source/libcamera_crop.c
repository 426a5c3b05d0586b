/* libcamera_padded_crop(); see src/source/libcamera_shim.h. Pure: compiled into the daemon's
 * library for its unit test and into the libcamera plugin, which uses it (a copy of its own, so
 * the daemon exports nothing to the plugin but struct lcshim_host). */
#include <errno.h>
#include <stdint.h>

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
