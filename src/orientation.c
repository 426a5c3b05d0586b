/* --rotation/--hflip/--vflip split between the sensor and an EXIF Orientation tag, the tag's
 * APP1 segment, and the iovecs that send it in front of a JPEG; see include/mjpegd/orientation.h.
 *
 * The eight orientations are the eight 2x2 matrices of signed unit entries with one non-zero per
 * row, acting on pixel coordinates (x to the right, y down, origin in the middle): composing two
 * is a matrix product, which is how the plan is worked out instead of from a hand-made table. */
#include <errno.h>
#include <string.h>

#include "mjpegd/macro.h"
#include "mjpegd/orientation.h"

struct mat2 {
	int a, b, c, d; /* (x, y) → (a x + b y, c x + d y) */
};

/* EXIF's definition of each value, as where the viewer moves a pixel (y down: a clockwise turn
 * by 90° takes (x, y) to (-y, x)). */
static const struct mat2 exif_matrix[9] = {
	[EXIF_ORIENTATION_NORMAL] = { 1, 0, 0, 1 },
	[EXIF_ORIENTATION_MIRROR_H] = { -1, 0, 0, 1 },
	[EXIF_ORIENTATION_ROTATE_180] = { -1, 0, 0, -1 },
	[EXIF_ORIENTATION_MIRROR_V] = { 1, 0, 0, -1 },
	[EXIF_ORIENTATION_TRANSPOSE] = { 0, 1, 1, 0 },
	[EXIF_ORIENTATION_ROTATE_90] = { 0, -1, 1, 0 },
	[EXIF_ORIENTATION_TRANSVERSE] = { 0, -1, -1, 0 },
	[EXIF_ORIENTATION_ROTATE_270] = { 0, 1, -1, 0 },
};

static struct mat2 mat2_mul(struct mat2 m, struct mat2 n)
{
	return (struct mat2){ m.a * n.a + m.b * n.c, m.a * n.b + m.b * n.d,
			      m.c * n.a + m.d * n.c, m.c * n.b + m.d * n.d };
}

static enum exif_orientation exif_of(struct mat2 m)
{
	for (unsigned o = EXIF_ORIENTATION_NORMAL; o <= EXIF_ORIENTATION_ROTATE_270; o++)
		if (!memcmp(&exif_matrix[o], &m, sizeof(m)))
			return (enum exif_orientation)o;
	return EXIF_ORIENTATION_NORMAL; /* unreachable: the products of these stay among them */
}

static struct mat2 rotation_matrix(unsigned degrees)
{
	switch (degrees) {
	case 90:
		return exif_matrix[EXIF_ORIENTATION_ROTATE_90];
	case 180:
		return exif_matrix[EXIF_ORIENTATION_ROTATE_180];
	case 270:
		return exif_matrix[EXIF_ORIENTATION_ROTATE_270];
	default:
		return exif_matrix[EXIF_ORIENTATION_NORMAL];
	}
}

void orientation_plan(unsigned rotation, bool hflip, bool vflip, struct orientation_plan *out)
{
	struct mat2 flips = { hflip ? -1 : 1, 0, 0, vflip ? -1 : 1 };
	struct mat2 turn = rotation_matrix(rotation);
	struct mat2 sensor;

	out->exif_alone = exif_of(mat2_mul(turn, flips));
	if (rotation == 90 || rotation == 270) {
		/* the turn in EXIF as a plain rotation, the mirrors (applied first) by the sensor */
		out->exif_after_sensor = exif_of(turn);
		sensor = flips;
	} else {
		/* 0 or 180: a diagonal matrix, all the sensor's */
		out->exif_after_sensor = EXIF_ORIENTATION_NORMAL;
		sensor = mat2_mul(turn, flips);
	}
	bool h = sensor.a < 0, v = sensor.d < 0;
	out->sensor = (struct sensor_transform){ .rotation = h && v ? 180 : 0,
						 .hflip = h && !v, .vflip = v && !h };
}

const char *exif_orientation_name(enum exif_orientation o)
{
	static const char *const names[9] = {
		[EXIF_ORIENTATION_NORMAL] = "none",
		[EXIF_ORIENTATION_MIRROR_H] = "mirrored left to right",
		[EXIF_ORIENTATION_ROTATE_180] = "turned 180°",
		[EXIF_ORIENTATION_MIRROR_V] = "upside down",
		[EXIF_ORIENTATION_TRANSPOSE] = "mirrored left to right, turned 270° clockwise",
		[EXIF_ORIENTATION_ROTATE_90] = "turned 90° clockwise",
		[EXIF_ORIENTATION_TRANSVERSE] = "mirrored left to right, turned 90° clockwise",
		[EXIF_ORIENTATION_ROTATE_270] = "turned 270° clockwise",
	};
	return o >= 1 && o <= 8 ? names[o] : "invalid";
}

/* APP1, length 34 (itself included), "Exif\0\0", then TIFF: big-endian ("MM", 42), IFD0 at
 * offset 8 with one entry: tag 0x0112 Orientation, type 3 SHORT, count 1, the value in the
 * first two bytes of the value field; no next IFD. */
#define EXIF_SEGMENT(o)                                                                  \
	{ 0xff, 0xe1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0x00, 0x00,                         \
	  'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,                                   \
	  0x00, 0x01,                                                                      \
	  0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, (o), 0x00, 0x00,           \
	  0x00, 0x00, 0x00, 0x00 }

static const uint8_t exif_segments[9][EXIF_SEGMENT_LEN] = {
	[2] = EXIF_SEGMENT(2), [3] = EXIF_SEGMENT(3), [4] = EXIF_SEGMENT(4), [5] = EXIF_SEGMENT(5),
	[6] = EXIF_SEGMENT(6), [7] = EXIF_SEGMENT(7), [8] = EXIF_SEGMENT(8),
};

const uint8_t *exif_segment(enum exif_orientation o)
{
	if (o <= EXIF_ORIENTATION_NORMAL || o > EXIF_ORIENTATION_ROTATE_270)
		return NULL;
	return exif_segments[o];
}

int jpeg_find_exif(const uint8_t *data, size_t len, size_t *off, size_t *seglen)
{
	static const uint8_t exif_id[6] = { 'E', 'x', 'i', 'f', 0, 0 };
	if (len < 4 || data[0] != 0xff || data[1] != 0xd8)
		return -EINVAL;
	size_t p = 2;
	for (;;) {
		if (p + 4 > len || data[p] != 0xff)
			return -EINVAL;
		uint8_t marker = data[p + 1];
		if (marker == 0xff) { /* fill byte before a marker (ITU T.81 B.1.1.2) */
			p++;
			continue;
		}
		if (marker == 0xda || marker == 0xd9)
			return 0; /* the scan (or the end): no more header segments */
		if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
			p += 2; /* markers without a length */
			continue;
		}
		size_t n = (size_t)data[p + 2] << 8 | data[p + 3];
		if (n < 2 || p + 2 + n > len)
			return -EINVAL;
		if (marker == 0xe1 && n >= 2 + sizeof(exif_id) &&
		    !memcmp(data + p + 4, exif_id, sizeof(exif_id))) {
			*off = p;
			*seglen = 2 + n;
			return 1;
		}
		p += 2 + n;
	}
}

unsigned jpeg_oriented_iov(const uint8_t *data, size_t len, enum exif_orientation o,
			   size_t skip_off, size_t skip_len, struct iovec *iov)
{
	const uint8_t *seg = exif_segment(o);
	if (!seg || len < 2 || data[0] != 0xff || data[1] != 0xd8) {
		iov[0] = (struct iovec){ (void *)data, len };
		return 1;
	}
	if (skip_len == 0 || skip_off < 2 || skip_off + skip_len > len)
		skip_off = len, skip_len = 0;
	unsigned n = 0;
	iov[n++] = (struct iovec){ (void *)data, 2 };
	iov[n++] = (struct iovec){ (void *)seg, EXIF_SEGMENT_LEN };
	if (skip_off > 2)
		iov[n++] = (struct iovec){ (void *)(data + 2), skip_off - 2 };
	if (skip_off + skip_len < len)
		iov[n++] = (struct iovec){ (void *)(data + skip_off + skip_len),
					   len - skip_off - skip_len };
	return n;
}
