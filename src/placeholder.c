/* "No signal" pictures; see include/mjpegd/placeholder.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/draw.h"
#include "mjpegd/log.h"
#include "mjpegd/placeholder.h"

/* Largest scale at which text fits in width with a margin, at least 1. */
static unsigned fit_scale(const char *text, unsigned width, unsigned max_scale)
{
	unsigned s = max_scale;
	while (s > 1 && draw_text_width(text, s) + 2 * DRAW_CELL_W * s > width)
		s--;
	return s;
}

/* The font's lower case covers only the test pattern's label: messages read better in capitals. */
static const char *upper(const char *s, char *buf, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		buf[i] = (char)toupper((unsigned char)s[i]);
	buf[i] = '\0';
	return buf;
}

int placeholder_render(unsigned width, unsigned height, const char *title, const char *reason,
		       unsigned quality, uint8_t **jpeg, size_t *len)
{
	if (width < 16 || height < 16 || width > 4096 || height > 4096 || (width | height) & 1)
		return -EINVAL;
	size_t ysize = (size_t)width * height, csize = ysize / 4;
	uint8_t *yuv = malloc(ysize + 2 * csize);
	if (!yuv)
		return -ENOMEM;
	char line[128];
	uint8_t *py = yuv, *pu = yuv + ysize, *pv = pu + csize;
	memset(py, 40, ysize);   /* dark grey */
	memset(pu, 128, csize);  /* neutral chroma */
	memset(pv, 128, csize);

	unsigned max_scale = height / 60 ? height / 60 : 1;
	unsigned ts = fit_scale(title, width, max_scale * 2);
	unsigned rs = fit_scale(reason, width, max_scale);
	unsigned th = DRAW_CELL_H * ts, rh = DRAW_CELL_H * rs;
	unsigned top = height > th + rh + rh ? (height - th - rh - rh) / 2 : 0;
	unsigned tx = width > draw_text_width(title, ts) ? (width - draw_text_width(title, ts)) / 2 : 0;
	unsigned rx = width > draw_text_width(reason, rs) ? (width - draw_text_width(reason, rs)) / 2 : 0;
	draw_text(py, width, width, height, tx, top, ts, upper(title, line, sizeof(line)), 235);
	draw_text(py, width, width, height, rx, top + th + rh, rs, upper(reason, line, sizeof(line)),
		  180);

	tjhandle tj = tjInitCompress();
	if (!tj) {
		free(yuv);
		return -ENOMEM;
	}
	const unsigned char *planes[3] = {py, pu, pv};
	int strides[3] = {(int)width, (int)width / 2, (int)width / 2};
	unsigned char *out = NULL;
	unsigned long out_len = 0;
	int r = 0;
	if (tjCompressFromYUVPlanes(tj, planes, (int)width, strides, (int)height, TJSAMP_420, &out,
				    &out_len, (int)quality, 0) < 0) {
		log_err("placeholder: %s", tjGetErrorStr2(tj));
		r = -EIO;
		tjFree(out);
	} else {
		/* TurboJPEG allocates with malloc; hand the caller a plain malloc'd buffer. */
		*jpeg = out;
		*len = out_len;
	}
	tjDestroy(tj);
	free(yuv);
	return r;
}
