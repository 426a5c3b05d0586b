/* "No signal" pictures; see include/mjpegd/placeholder.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "mjpegd/clock.h"
#include "mjpegd/draw.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"
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
	uint8_t *yuv _cleanup_free_ = malloc(ysize + 2 * csize);
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
	if (!tj)
		return -ENOMEM;
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
	return r;
}

/* ---------------------------------------------------------------- the rotation */

#define PLACEHOLDER_INTERVAL_NS NSEC_PER_SEC
/* An outage shorter than this (a quick reopen) shows no placeholder. */
#define PLACEHOLDER_AFTER_NS (NSEC_PER_SEC / 2)

static const char *const placeholder_text[PH_COUNT] = {
	[PH_STARTING] = "waiting for the camera",
	[PH_DISCONNECTED] = "camera disconnected - retrying",
	[PH_NOT_RESPONDING] = "camera not responding - retrying",
	[PH_CAMERA_ERROR] = "camera error - retrying",
	[PH_ENCODER_FAILED] = "encoder failed - retrying",
	[PH_LIBCAMERA_UNUSABLE] = "libcamera cannot be loaded - see /status",
	[PH_BUSY] = "camera busy - retrying",
};

enum placeholder_reason placeholder_reason_for(bool source_failed, int source_errno,
					       bool have_source, bool have_encoder)
{
	if (source_failed) {
		if (source_errno == ENODEV || source_errno == ENOENT || source_errno == ENXIO)
			return PH_DISCONNECTED;
		if (source_errno == ETIMEDOUT)
			return PH_NOT_RESPONDING;
		if (source_errno == ELIBACC)
			return PH_LIBCAMERA_UNUSABLE;
		if (source_errno == EBUSY)
			return PH_BUSY;
		return PH_CAMERA_ERROR;
	}
	if (!have_source)
		return PH_STARTING;
	if (!have_encoder)
		return PH_ENCODER_FAILED;
	return PH_STARTING;
}

void placeholders_free(struct placeholders *ph)
{
	for (int i = 0; i < PH_COUNT; i++) {
		free(ph->jpeg[i]);
		ph->jpeg[i] = NULL;
		ph->len[i] = 0;
	}
}

void placeholders_render(struct placeholders *ph, unsigned width, unsigned height)
{
	placeholders_free(ph);
	ph->width = width;
	ph->height = height;
	for (int i = 0; i < PH_COUNT; i++) {
		int r = placeholder_render(width, height, "NO SIGNAL", placeholder_text[i], 70,
					   &ph->jpeg[i], &ph->len[i]);
		if (r < 0)
			log_warn_errno(r, "cannot render the '%s' placeholder",
					  placeholder_text[i]);
	}
}

bool placeholders_due(const struct placeholders *ph, uint64_t now, uint64_t last_live_ns)
{
	return now - last_live_ns >= PLACEHOLDER_AFTER_NS &&
	       now - ph->last_ns >= PLACEHOLDER_INTERVAL_NS;
}

struct frame *placeholders_frame(struct placeholders *ph, struct frame_pool *pool,
				 enum placeholder_reason why, uint64_t now)
{
	if (!ph->jpeg[why])
		return NULL;
	struct frame *f = frame_pool_acquire(pool);
	if (!f)
		return NULL;
	/* Zero copy: the frame points at the picture rendered at start, which outlives it. */
	frame_set_external(f, ph->jpeg[why], ph->len[why], NULL, NULL);
	f->placeholder = true;
	f->width = ph->width;
	f->height = ph->height;
	f->timestamp_us = now_wall_us();
	if (!ph->showing)
		log_notice("clients are shown the placeholder: %s", placeholder_text[why]);
	ph->showing = true;
	ph->last_ns = now;
	return f;
}

void placeholders_live(struct placeholders *ph)
{
	if (ph->showing) {
		log_notice("live frames are back");
		ph->showing = false;
	}
}
