/* YUYV to planes for the software encoder; see include/mjpegd/encoder/yuyv.h. Pure.
 *
 * Each vector step takes 32 pixels (64 source bytes) of a row; the pixels left over at the end of
 * a row (w not a multiple of 32) go through the portable loop, which computes the same bytes. */
#include "mjpegd/encoder/yuyv.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define YUYV_SIMD "SSE2"
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define YUYV_SIMD "NEON"
#else
#define YUYV_SIMD "scalar"
#endif

#define YUYV_STEP 32 /* pixels per vector step */

/* Pixel pairs [from, to) of one row. */
static void row422_scalar(const uint8_t *s, unsigned from, unsigned to, uint8_t *y, uint8_t *u,
			  uint8_t *v)
{
	for (unsigned x = from; x < to; x++) {
		y[2 * x] = s[4 * x];
		u[x] = s[4 * x + 1];
		y[2 * x + 1] = s[4 * x + 2];
		v[x] = s[4 * x + 3];
	}
}

/* Chroma of two rows, averaged with rounding up: what SSE2's pavgb and NEON's vrhadd compute. */
static void chroma420_scalar(const uint8_t *s0, const uint8_t *s1, unsigned from, unsigned to,
			     uint8_t *u, uint8_t *v)
{
	for (unsigned x = from; x < to; x++) {
		u[x] = (uint8_t)((s0[4 * x + 1] + s1[4 * x + 1] + 1) >> 1);
		v[x] = (uint8_t)((s0[4 * x + 3] + s1[4 * x + 3] + 1) >> 1);
	}
}

static void luma_scalar(const uint8_t *s, unsigned from, unsigned to, uint8_t *y)
{
	for (unsigned x = from; x < to; x++) {
		y[2 * x] = s[4 * x];
		y[2 * x + 1] = s[4 * x + 2];
	}
}

void yuyv_to_planar422_scalar(const uint8_t *src, size_t stride, unsigned w, unsigned h,
			      uint8_t *y, uint8_t *u, uint8_t *v)
{
	for (unsigned row = 0; row < h; row++, src += stride, y += w, u += w / 2, v += w / 2)
		row422_scalar(src, 0, w / 2, y, u, v);
}

void yuyv_to_planar420_scalar(const uint8_t *src, size_t stride, unsigned w, unsigned h,
			      uint8_t *y, uint8_t *u, uint8_t *v)
{
	for (unsigned row = 0; row < h; row += 2, src += 2 * stride, y += 2 * (size_t)w,
		      u += w / 2, v += w / 2) {
		luma_scalar(src, 0, w / 2, y);
		luma_scalar(src + stride, 0, w / 2, y + w);
		chroma420_scalar(src, src + stride, 0, w / 2, u, v);
	}
}

#if defined(__SSE2__)

/* 64 bytes of YUYV: 32 luma bytes, and the 32 chroma bytes still interleaved (Cb Cr Cb Cr …). */
static inline void sse2_split(const uint8_t *s, __m128i *y0, __m128i *y1, __m128i *c0, __m128i *c1)
{
	const __m128i lo = _mm_set1_epi16(0x00ff);
	__m128i a0 = _mm_loadu_si128((const __m128i *)s);
	__m128i a1 = _mm_loadu_si128((const __m128i *)(s + 16));
	__m128i a2 = _mm_loadu_si128((const __m128i *)(s + 32));
	__m128i a3 = _mm_loadu_si128((const __m128i *)(s + 48));
	*y0 = _mm_packus_epi16(_mm_and_si128(a0, lo), _mm_and_si128(a1, lo));
	*y1 = _mm_packus_epi16(_mm_and_si128(a2, lo), _mm_and_si128(a3, lo));
	*c0 = _mm_packus_epi16(_mm_srli_epi16(a0, 8), _mm_srli_epi16(a1, 8));
	*c1 = _mm_packus_epi16(_mm_srli_epi16(a2, 8), _mm_srli_epi16(a3, 8));
}

/* 32 interleaved chroma bytes → 16 Cb, 16 Cr */
static inline void sse2_store_chroma(__m128i c0, __m128i c1, uint8_t *u, uint8_t *v)
{
	const __m128i lo = _mm_set1_epi16(0x00ff);
	_mm_storeu_si128((__m128i *)u,
			 _mm_packus_epi16(_mm_and_si128(c0, lo), _mm_and_si128(c1, lo)));
	_mm_storeu_si128((__m128i *)v,
			 _mm_packus_epi16(_mm_srli_epi16(c0, 8), _mm_srli_epi16(c1, 8)));
}

static void row422(const uint8_t *s, unsigned w, uint8_t *y, uint8_t *u, uint8_t *v)
{
	unsigned x = 0;
	for (; x + YUYV_STEP <= w; x += YUYV_STEP) {
		__m128i y0, y1, c0, c1;
		sse2_split(s + 2 * x, &y0, &y1, &c0, &c1);
		_mm_storeu_si128((__m128i *)(y + x), y0);
		_mm_storeu_si128((__m128i *)(y + x + 16), y1);
		sse2_store_chroma(c0, c1, u + x / 2, v + x / 2);
	}
	row422_scalar(s, x / 2, w / 2, y, u, v);
}

static void rows420(const uint8_t *s0, const uint8_t *s1, unsigned w, uint8_t *y0, uint8_t *y1,
		    uint8_t *u, uint8_t *v)
{
	unsigned x = 0;
	for (; x + YUYV_STEP <= w; x += YUYV_STEP) {
		__m128i a0, a1, ac0, ac1, b0, b1, bc0, bc1;
		sse2_split(s0 + 2 * x, &a0, &a1, &ac0, &ac1);
		sse2_split(s1 + 2 * x, &b0, &b1, &bc0, &bc1);
		_mm_storeu_si128((__m128i *)(y0 + x), a0);
		_mm_storeu_si128((__m128i *)(y0 + x + 16), a1);
		_mm_storeu_si128((__m128i *)(y1 + x), b0);
		_mm_storeu_si128((__m128i *)(y1 + x + 16), b1);
		sse2_store_chroma(_mm_avg_epu8(ac0, bc0), _mm_avg_epu8(ac1, bc1), u + x / 2, v + x / 2);
	}
	luma_scalar(s0, x / 2, w / 2, y0);
	luma_scalar(s1, x / 2, w / 2, y1);
	chroma420_scalar(s0, s1, x / 2, w / 2, u, v);
}

#elif defined(__ARM_NEON)

static void row422(const uint8_t *s, unsigned w, uint8_t *y, uint8_t *u, uint8_t *v)
{
	unsigned x = 0;
	for (; x + YUYV_STEP <= w; x += YUYV_STEP) {
		uint8x16x4_t p = vld4q_u8(s + 2 * x); /* Y0s, Cbs, Y1s, Crs */
		uint8x16x2_t l = { { p.val[0], p.val[2] } };
		vst2q_u8(y + x, l);
		vst1q_u8(u + x / 2, p.val[1]);
		vst1q_u8(v + x / 2, p.val[3]);
	}
	row422_scalar(s, x / 2, w / 2, y, u, v);
}

static void rows420(const uint8_t *s0, const uint8_t *s1, unsigned w, uint8_t *y0, uint8_t *y1,
		    uint8_t *u, uint8_t *v)
{
	unsigned x = 0;
	for (; x + YUYV_STEP <= w; x += YUYV_STEP) {
		uint8x16x4_t a = vld4q_u8(s0 + 2 * x);
		uint8x16x4_t b = vld4q_u8(s1 + 2 * x);
		uint8x16x2_t la = { { a.val[0], a.val[2] } };
		uint8x16x2_t lb = { { b.val[0], b.val[2] } };
		vst2q_u8(y0 + x, la);
		vst2q_u8(y1 + x, lb);
		vst1q_u8(u + x / 2, vrhaddq_u8(a.val[1], b.val[1]));
		vst1q_u8(v + x / 2, vrhaddq_u8(a.val[3], b.val[3]));
	}
	luma_scalar(s0, x / 2, w / 2, y0);
	luma_scalar(s1, x / 2, w / 2, y1);
	chroma420_scalar(s0, s1, x / 2, w / 2, u, v);
}

#else

static void row422(const uint8_t *s, unsigned w, uint8_t *y, uint8_t *u, uint8_t *v)
{
	row422_scalar(s, 0, w / 2, y, u, v);
}

static void rows420(const uint8_t *s0, const uint8_t *s1, unsigned w, uint8_t *y0, uint8_t *y1,
		    uint8_t *u, uint8_t *v)
{
	luma_scalar(s0, 0, w / 2, y0);
	luma_scalar(s1, 0, w / 2, y1);
	chroma420_scalar(s0, s1, 0, w / 2, u, v);
}

#endif

void yuyv_to_planar422(const uint8_t *src, size_t stride, unsigned w, unsigned h, uint8_t *y,
		       uint8_t *u, uint8_t *v)
{
	for (unsigned row = 0; row < h; row++, src += stride, y += w, u += w / 2, v += w / 2)
		row422(src, w, y, u, v);
}

void yuyv_to_planar420(const uint8_t *src, size_t stride, unsigned w, unsigned h, uint8_t *y,
		       uint8_t *u, uint8_t *v)
{
	for (unsigned row = 0; row < h; row += 2, src += 2 * stride, y += 2 * (size_t)w,
		      u += w / 2, v += w / 2)
		rows420(src, src + stride, w, y, y + w, u, v);
}

const char *yuyv_simd_name(void)
{
	return YUYV_SIMD;
}
