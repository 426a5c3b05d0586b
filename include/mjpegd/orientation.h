/* --rotation, --hflip, --vflip: what the sensor does and what an EXIF Orientation tag asks the
 * viewer to do. Pure: no I/O, unit-tested (tests/unit/test_orientation.c).
 *
 * Meaning of the flags: the picture as the sensor gives it is first mirrored (--hflip: left to
 * right, --vflip: upside down), then turned clockwise by --rotation (0, 90, 180 or 270). The
 * eight results are the eight EXIF orientations.
 *
 * Who does what: a sensor can mirror either way (a 180° turn is both mirrors) but cannot
 * transpose, and neither can the Pi's ISP or its JPEG encoder. So
 *  - with a sensor that flips (libcamera): the flips and the 180° part are the sensor's, at no
 *    cost; what is left of a 90/270 turn is a plain rotation in EXIF (6 or 8), the values every
 *    EXIF reader knows;
 *  - with a source that cannot flip (the test pattern, the file source, V4L2 cameras): the whole
 *    orientation is in EXIF (any of 1..8).
 *
 * The EXIF segment: an APP1 "Exif" segment holding a TIFF header and IFD0 with one entry, the
 * Orientation tag (0x0112), inserted right after the JPEG's SOI. The server sends it as an iovec
 * of its own between the SOI and the rest, so no JPEG byte is copied. A JPEG that already has an
 * APP1 Exif segment (a camera's pass-through MJPEG, a file) is sent without it when ours goes in:
 * the picture then carries one Orientation tag, ours (the camera's other EXIF fields go with it).
 */
#ifndef MJPEGD_ORIENTATION_H
#define MJPEGD_ORIENTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* EXIF Orientation values (TIFF tag 0x0112): how the viewer turns the stored picture. */
enum exif_orientation {
	EXIF_ORIENTATION_NORMAL = 1,
	EXIF_ORIENTATION_MIRROR_H = 2,    /* mirrored left to right */
	EXIF_ORIENTATION_ROTATE_180 = 3,
	EXIF_ORIENTATION_MIRROR_V = 4,    /* upside down */
	EXIF_ORIENTATION_TRANSPOSE = 5,   /* mirrored left to right, then turned 270° clockwise */
	EXIF_ORIENTATION_ROTATE_90 = 6,   /* turned 90° clockwise */
	EXIF_ORIENTATION_TRANSVERSE = 7,  /* mirrored left to right, then turned 90° clockwise */
	EXIF_ORIENTATION_ROTATE_270 = 8,  /* turned 270° clockwise */
};

/* What the sensor is asked for (source_params' rotation, hflip, vflip), written with 180 when
 * both mirrors are asked. */
struct sensor_transform {
	unsigned rotation; /* 0 or 180 */
	bool hflip, vflip;
};

struct orientation_plan {
	/* a source whose sensor flips: the sensor's part, and the EXIF value left (1, 6 or 8) */
	struct sensor_transform sensor;
	enum exif_orientation exif_after_sensor;
	/* a source that cannot flip: the whole orientation in EXIF */
	enum exif_orientation exif_alone;
};

/* rotation: 0, 90, 180 or 270 (config checked it). */
void orientation_plan(unsigned rotation, bool hflip, bool vflip, struct orientation_plan *out);

static inline bool sensor_transform_is_identity(const struct sensor_transform *t)
{
	return t->rotation == 0 && !t->hflip && !t->vflip;
}

/* (field by field: the struct has padding) */
static inline bool sensor_transform_equal(const struct sensor_transform *a,
					  const struct sensor_transform *b)
{
	return a->rotation == b->rotation && a->hflip == b->hflip && a->vflip == b->vflip;
}

/* Whether the orientation turns the picture by 90 or 270 degrees (the viewer swaps its width
 * and height). */
static inline bool exif_orientation_transposes(enum exif_orientation o)
{
	return o >= EXIF_ORIENTATION_TRANSPOSE && o <= EXIF_ORIENTATION_ROTATE_270;
}

/* "turned 90° clockwise" and the like, for the log and /status. */
const char *exif_orientation_name(enum exif_orientation o);

/* The APP1 segment (marker included) carrying orientation o (2..8): EXIF_SEGMENT_LEN bytes of
 * static storage. NULL for 1 (nothing to insert) or a value out of range. */
#define EXIF_SEGMENT_LEN 36
const uint8_t *exif_segment(enum exif_orientation o);

/* Finds the first APP1 "Exif" segment among the JPEG's markers before its scan (SOS): 1 with
 * *off and *seglen (the marker included) set, 0 when there is none, -EINVAL when data is no JPEG with
 * well-formed marker segments up to there. Reads only the marker headers. */
int jpeg_find_exif(const uint8_t *data, size_t len, size_t *off, size_t *seglen);

/* The iovecs that send a JPEG with orientation o in front (after its SOI) and without the
 * segment at [skip_off, skip_off + skip_len) (its own Exif; skip_len 0: none). Fills at most
 * JPEG_ORIENTED_IOV_MAX entries of iov and returns how many; one entry (the JPEG as it is) for
 * o == 1 or data that does not start with SOI. Nothing is copied: the entries point into data
 * and into exif_segment()'s storage. */
#define JPEG_ORIENTED_IOV_MAX 4
unsigned jpeg_oriented_iov(const uint8_t *data, size_t len, enum exif_orientation o,
			   size_t skip_off, size_t skip_len, struct iovec *iov);

#endif
