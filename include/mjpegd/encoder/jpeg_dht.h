/* Motion-JPEG frames from UVC cameras often carry no Huffman tables (no DHT segment): the AVI1
 * MJPEG convention says the decoder is to use the tables of ITU-T T.81 Annex K (K.3), which
 * browsers do not know, so such a frame is not a valid JPEG on its own. These functions find out
 * and insert those tables. Pure: byte buffers in, byte buffers out. */
#ifndef MJPEGD_ENCODER_JPEG_DHT_H
#define MJPEGD_ENCODER_JPEG_DHT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One DHT segment with the four Annex K tables (DC/AC × luminance/chrominance), marker included. */
#define JPEG_DHT_DEFAULT_SIZE 420
extern const uint8_t jpeg_dht_default[JPEG_DHT_DEFAULT_SIZE];

/* Walks the marker segments from SOI to the first SOS. Returns 1 when a DHT segment comes before
 * the scan, 0 when none does (*sos_offset, if not NULL, is where the SOS marker starts: where the
 * tables go), -EINVAL when the bytes are not a JPEG or end before a scan. */
int jpeg_find_dht(const uint8_t *jpeg, size_t len, size_t *sos_offset);

/* Copies jpeg into out with jpeg_dht_default inserted before its first SOS. Returns the bytes
 * written (len + JPEG_DHT_DEFAULT_SIZE), -ENOBUFS when cap is too small, -EINVAL as above, or
 * -EEXIST when the frame already has a DHT (nothing written). */
ssize_t jpeg_dht_insert(const uint8_t *jpeg, size_t len, uint8_t *out, size_t cap);

#endif
