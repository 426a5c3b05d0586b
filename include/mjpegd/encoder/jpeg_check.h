/* What an encoder handed back is checked for before any client sees it: a whole JPEG (SOI first,
 * EOI last) of the size that was asked for. Pure: tests/unit/test_jpeg_check.c.
 *
 * Why: bcm2835-codec does not check that a JPEG fits its CAPTURE buffer (the firmware's length is
 * copied into the vb2 payload as it is), so an oversized one arrives cut, without EOI and without
 * an error flag; and whether the firmware honours the OUTPUT crop for still images is only known
 * on a Pi, so the SOF is read rather than trusted. */
#ifndef MJPEGD_ENCODER_JPEG_CHECK_H
#define MJPEGD_ENCODER_JPEG_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct jpeg_info {
	unsigned width, height; /* from the first SOFn */
	size_t len;             /* bytes up to and including EOI (fill after it left out) */
};

/* 0 with info filled for a JPEG that starts with SOI, has a SOFn before its first SOS and ends
 * with EOI (zero fill after the EOI, at most 64 bytes, is allowed: EOI is the only FF D9 a JPEG can
 * hold, its entropy-coded data stuffs every FF). -EBADMSG: no SOI, a malformed segment, or SOS
 * before any SOF; -ENODATA: no EOI at the end (a cut JPEG). */
int jpeg_check(const uint8_t *p, size_t len, struct jpeg_info *info);

#endif
