/* Whole-JPEG and size check; see include/mjpegd/encoder/jpeg_check.h. Pure. */
#include <errno.h>

#include "mjpegd/encoder/jpeg_check.h"

#define JPEG_FILL_MAX 64

static int jpeg_size(const uint8_t *p, size_t len, struct jpeg_info *info)
{
	size_t i = 2;
	for (;;) {
		if (i + 4 > len || p[i] != 0xFF)
			return -EBADMSG;
		while (i + 4 <= len && p[i + 1] == 0xFF) /* fill bytes before a marker */
			i++;
		if (i + 4 > len)
			return -EBADMSG;
		uint8_t m = p[i + 1];
		size_t seg = (size_t)p[i + 2] << 8 | p[i + 3];
		if (m == 0xDA || m == 0xD9 || seg < 2)
			return -EBADMSG; /* SOS or EOI before a SOF */
		/* SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC) */
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
			if (seg < 8 || i + 2 + seg > len)
				return -EBADMSG;
			info->height = (unsigned)p[i + 5] << 8 | p[i + 6];
			info->width = (unsigned)p[i + 7] << 8 | p[i + 8];
			return 0;
		}
		i += 2 + seg;
	}
}

int jpeg_check(const uint8_t *p, size_t len, struct jpeg_info *info)
{
	if (len < 4 || p[0] != 0xFF || p[1] != 0xD8)
		return -EBADMSG;
	size_t end = len;
	while (end > 4 && len - end < JPEG_FILL_MAX && p[end - 1] == 0x00)
		end--;
	if (p[end - 2] != 0xFF || p[end - 1] != 0xD9)
		return -ENODATA;
	info->len = end;
	return jpeg_size(p, end, info);
}
