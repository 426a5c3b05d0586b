/* multipart/x-mixed-replace framing for /stream.mjpg. Pure: formats into caller buffers.
 *
 * Wire layout of a stream (one boundary string for the whole daemon):
 *   <response head with Content-Type: multipart/x-mixed-replace;boundary=MULTIPART_BOUNDARY>
 *   "--" BOUNDARY "\r\n"                                 (sent with the response head)
 *   then for every frame, in one sendmsg:
 *     part header ("Content-Type: image/jpeg\r\nContent-Length: N\r\nX-Timestamp: S.UUUUUU\r\n\r\n")
 *     JPEG bytes (one iovec; with an EXIF Orientation, include/mjpegd/orientation.h, two to four:
 *     SOI, the segment, the rest; N counts what is sent)
 *     "\r\n--" BOUNDARY "\r\n"                           (the part's closing boundary, sent with the
 *                                                         frame so browsers draw it at once)
 */
#ifndef MJPEGD_HTTP_MULTIPART_H
#define MJPEGD_HTTP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY "mjpegdframe"
#define MULTIPART_CONTENT_TYPE "multipart/x-mixed-replace;boundary=" MULTIPART_BOUNDARY
#define MULTIPART_FIRST_BOUNDARY "--" MULTIPART_BOUNDARY "\r\n"
#define MULTIPART_PART_TRAILER "\r\n--" MULTIPART_BOUNDARY "\r\n"

/* Writes the part header for a JPEG of jpeg_len bytes captured at timestamp_us (wall clock µs).
 * Returns its length, or -ENOSPC when cap is too small (nothing useful written). */
int multipart_part_header(char *buf, size_t cap, size_t jpeg_len, uint64_t timestamp_us);

#endif
