/* YUYV de-interleaving (src/encoder/yuyv.c): the vector versions this build has (SSE2, NEON, or
 * none) give the portable versions' bytes exactly, for widths around the 32-pixel step and padded
 * strides; the portable versions give the definition's bytes; nothing is written past the planes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/encoder/yuyv.h"

#define GUARD 64
#define GUARD_BYTE 0xA5

static void fill_noise(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Planes with guard bytes after each, so an overrun shows. */
struct planes {
	uint8_t *y, *u, *v;
	size_t y_len, c_len;
};

static void planes_alloc(struct planes *p, unsigned w, unsigned h, unsigned chroma_rows)
{
	p->y_len = (size_t)w * h;
	p->c_len = (size_t)(w / 2) * chroma_rows;
	p->y = malloc(p->y_len + GUARD);
	p->u = malloc(p->c_len + GUARD);
	p->v = malloc(p->c_len + GUARD);
	assert_non_null(p->y);
	assert_non_null(p->u);
	assert_non_null(p->v);
	memset(p->y, GUARD_BYTE, p->y_len + GUARD);
	memset(p->u, GUARD_BYTE, p->c_len + GUARD);
	memset(p->v, GUARD_BYTE, p->c_len + GUARD);
}

static void check_guards(const struct planes *p)
{
	for (size_t i = 0; i < GUARD; i++) {
		assert_int_equal(p->y[p->y_len + i], GUARD_BYTE);
		assert_int_equal(p->u[p->c_len + i], GUARD_BYTE);
		assert_int_equal(p->v[p->c_len + i], GUARD_BYTE);
	}
}

static void assert_planes_equal(const struct planes *a, const struct planes *b, unsigned w,
				unsigned h)
{
	if (memcmp(a->y, b->y, a->y_len) || memcmp(a->u, b->u, a->c_len) ||
	    memcmp(a->v, b->v, a->c_len)) {
		print_error("%ux%u: %s differs from the portable version\n", w, h, yuyv_simd_name());
		fail();
	}
}

static void planes_free(struct planes *p)
{
	free(p->y);
	free(p->u);
	free(p->v);
}

static const unsigned widths[] = { 2, 4, 30, 32, 34, 62, 64, 66, 96, 126, 130, 640, 1282 };
static const unsigned heights[] = { 2, 4, 6, 18 };
static const unsigned pads[] = { 0, 2, 36 }; /* bytes per row beyond 2 * w */

static void test_422_matches_definition_and_scalar(void **state)
{
	(void)state;
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		for (size_t hi = 0; hi < sizeof(heights) / sizeof(heights[0]); hi++)
			for (size_t pi = 0; pi < sizeof(pads) / sizeof(pads[0]); pi++) {
				unsigned w = widths[wi], h = heights[hi];
				size_t stride = 2 * (size_t)w + pads[pi];
				uint8_t *src = malloc(stride * h);
				assert_non_null(src);
				fill_noise(src, stride * h, w * 31 + h);
				struct planes ref, vec;
				planes_alloc(&ref, w, h, h);
				planes_alloc(&vec, w, h, h);
				yuyv_to_planar422_scalar(src, stride, w, h, ref.y, ref.u, ref.v);
				yuyv_to_planar422(src, stride, w, h, vec.y, vec.u, vec.v);
				for (unsigned r = 0; r < h; r++)
					for (unsigned x = 0; x < w / 2; x++) {
						const uint8_t *s = src + r * stride + 4 * x;
						size_t c = (size_t)r * (w / 2) + x;
						assert_int_equal(ref.y[(size_t)r * w + 2 * x], s[0]);
						assert_int_equal(ref.u[c], s[1]);
						assert_int_equal(ref.y[(size_t)r * w + 2 * x + 1], s[2]);
						assert_int_equal(ref.v[c], s[3]);
					}
				assert_planes_equal(&ref, &vec, w, h);
				check_guards(&ref);
				check_guards(&vec);
				planes_free(&ref);
				planes_free(&vec);
				free(src);
			}
}

static void test_420_matches_definition_and_scalar(void **state)
{
	(void)state;
	for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
		for (size_t hi = 0; hi < sizeof(heights) / sizeof(heights[0]); hi++)
			for (size_t pi = 0; pi < sizeof(pads) / sizeof(pads[0]); pi++) {
				unsigned w = widths[wi], h = heights[hi];
				size_t stride = 2 * (size_t)w + pads[pi];
				uint8_t *src = malloc(stride * h);
				assert_non_null(src);
				fill_noise(src, stride * h, w * 17 + h + (unsigned)pi);
				struct planes ref, vec;
				planes_alloc(&ref, w, h, h / 2);
				planes_alloc(&vec, w, h, h / 2);
				yuyv_to_planar420_scalar(src, stride, w, h, ref.y, ref.u, ref.v);
				yuyv_to_planar420(src, stride, w, h, vec.y, vec.u, vec.v);
				for (unsigned r = 0; r < h; r++)
					for (unsigned x = 0; x < w / 2; x++) {
						const uint8_t *s = src + r * stride + 4 * x;
						assert_int_equal(ref.y[(size_t)r * w + 2 * x], s[0]);
						assert_int_equal(ref.y[(size_t)r * w + 2 * x + 1], s[2]);
						if (r % 2)
							continue;
						const uint8_t *t = s + stride; /* the row below */
						size_t c = (size_t)(r / 2) * (w / 2) + x;
						assert_int_equal(ref.u[c], (s[1] + t[1] + 1) / 2);
						assert_int_equal(ref.v[c], (s[3] + t[3] + 1) / 2);
					}
				assert_planes_equal(&ref, &vec, w, h);
				check_guards(&ref);
				check_guards(&vec);
				planes_free(&ref);
				planes_free(&vec);
				free(src);
			}
}

/* The extremes of the rounded mean: 255 + 255 must not wrap, 0 + 1 rounds up. */
static void test_420_rounding_extremes(void **state)
{
	(void)state;
	unsigned w = 64, h = 2;
	uint8_t src[2 * 64 * 2];
	for (unsigned x = 0; x < w / 2; x++) {
		uint8_t *a = src + 4 * x, *b = src + 2 * w + 4 * x;
		a[0] = a[2] = b[0] = b[2] = 7;
		a[1] = 255, b[1] = 255; /* Cb: 255 */
		a[3] = (uint8_t)(x % 2), b[3] = 0; /* Cr: 0 or (1 + 0 + 1) / 2 = 1 */
	}
	struct planes p;
	planes_alloc(&p, w, h, 1);
	yuyv_to_planar420(src, 2 * w, w, h, p.y, p.u, p.v);
	for (unsigned x = 0; x < w / 2; x++) {
		assert_int_equal(p.u[x], 255);
		assert_int_equal(p.v[x], x % 2);
	}
	check_guards(&p);
	planes_free(&p);
}

static void test_simd_name(void **state)
{
	(void)state;
	const char *n = yuyv_simd_name();
#if defined(__SSE2__)
	assert_string_equal(n, "SSE2");
#elif defined(__ARM_NEON)
	assert_string_equal(n, "NEON");
#else
	assert_string_equal(n, "scalar");
#endif
	printf("yuyv: de-interleaving with %s\n", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_422_matches_definition_and_scalar),
		cmocka_unit_test(test_420_matches_definition_and_scalar),
		cmocka_unit_test(test_420_rounding_extremes),
		cmocka_unit_test(test_simd_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
