/* YUYV (packed 4:2:2, bytes Y0 Cb Y1 Cr per pixel pair) to the planes libjpeg-turbo's raw-data
 * path encodes (tjCompressFromYUVPlanes: no colour conversion, no down-sampling inside it). Pure:
 * tests/unit/test_yuyv.c checks the vector and portable versions against each other bit for bit.
 *
 * Why it has its own code: the byte-at-a-time loop GCC leaves scalar at -O2 cost 22% of a YUYV
 * encode (docs/performance.md, "Encoding"). The vector versions are chosen at compile time:
 * SSE2 on x86-64 (always there), NEON where __ARM_NEON is defined (every arm64 build; armhf only
 * with ARCH_FLAGS="-mfpu=neon…": Debian's armhf baseline, VFPv3-D16, has no NEON, and there the
 * portable loop runs). No run-time dispatch.
 *
 * Output: y is w × h (stride w); u and v are w/2 wide (stride w/2), h rows for 4:2:2 and h/2 for
 * 4:2:0, where each chroma sample is the rounded mean of the two rows it covers, (a + b + 1) >> 1
 * (JPEG/JFIF sites 4:2:0 chroma between the rows; taking the even rows only would shift it by half
 * a row). w and h must be even; stride is the source's bytes per row (≥ 2w). */
#ifndef MJPEGD_ENCODER_YUYV_H
#define MJPEGD_ENCODER_YUYV_H

#include <stddef.h>
#include <stdint.h>

void yuyv_to_planar422(const uint8_t *src, size_t stride, unsigned w, unsigned h, uint8_t *y,
		       uint8_t *u, uint8_t *v);
void yuyv_to_planar420(const uint8_t *src, size_t stride, unsigned w, unsigned h, uint8_t *y,
		       uint8_t *u, uint8_t *v);

/* The portable versions (what the vector ones fall back to for the last pixels of a row, and the
 * reference they are tested against). */
void yuyv_to_planar422_scalar(const uint8_t *src, size_t stride, unsigned w, unsigned h,
			      uint8_t *y, uint8_t *u, uint8_t *v);
void yuyv_to_planar420_scalar(const uint8_t *src, size_t stride, unsigned w, unsigned h,
			      uint8_t *y, uint8_t *u, uint8_t *v);

/* "SSE2", "NEON" or "scalar": which versions this build has (for descriptions and the bench). */
const char *yuyv_simd_name(void);

#endif
