/* YUYV to a 4:2:0 JPEG in one pass over the frame, 16 rows at a time: libjpeg-turbo's raw-data
 * API (jpeg_write_raw_data) fed by the vectorised de-interleave of src/encoder/yuyv.c into a
 * strip buffer of one iMCU row (16 luma rows and 8 rows of each chroma: 30 KB at 1280 wide), so
 * the planes never leave the cache. The output is what tjCompressFromYUVPlanes makes of
 * yuyv_to_planar420's whole planes, byte for byte with the same libjpeg-turbo: same sampling
 * (2x2, 1x1, 1x1), same DCT choice as TurboJPEG 2.1 (fast integer below quality 96), same
 * quality tables, no fancy down-sampling, edges padded by repeating the last row and column.
 *
 * Ownership: a yuyv_jpeg belongs to one thread at a time (the software encoder's worker). The
 * output goes into the caller's buffer; when it is too small the encoder moves it to a malloc'd
 * one that it hands back in *grown (the caller owns it then; free()), and the caller's buffer is
 * left as it was up to where it was copied. */
#ifndef MJPEGD_ENCODER_YUYV_JPEG_H
#define MJPEGD_ENCODER_YUYV_JPEG_H

#include <stddef.h>
#include <stdint.h>

struct yuyv_jpeg;

/* NULL when out of memory. */
struct yuyv_jpeg *yuyv_jpeg_new(void);
void yuyv_jpeg_free(struct yuyv_jpeg *yj);

/* Encodes a w × h YUYV frame (w, h even; stride ≥ 2w bytes) at quality 1..100 into buf (cap
 * bytes). On success returns 0, sets *len, and *grown to NULL (the JPEG is in buf) or to a
 * malloc'd buffer holding it. On failure returns -ENOMEM or -EIO with libjpeg's message in err
 * (errlen bytes), *grown NULL. */
int yuyv_jpeg_encode(struct yuyv_jpeg *yj, const uint8_t *src, size_t stride, unsigned w,
		     unsigned h, int quality, uint8_t *buf, size_t cap, uint8_t **grown,
		     size_t *len, char *err, size_t errlen);

#endif
