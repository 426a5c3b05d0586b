/* Drawing on 8-bit planes: rectangles and a small bitmap font, for the test pattern and the
 * "no signal" placeholder. Pure and cheap: one memset per row of a run. */
#ifndef MJPEGD_DRAW_H
#define MJPEGD_DRAW_H

#include <stddef.h>
#include <stdint.h>

#define DRAW_GLYPH_W 5
#define DRAW_GLYPH_H 9 /* 7 rows + 2 for descenders */
#define DRAW_CELL_W (DRAW_GLYPH_W + 1)
#define DRAW_CELL_H (DRAW_GLYPH_H + 1)

/* Fills the part of the rectangle that lies inside the plane. */
void draw_fill(uint8_t *plane, size_t stride, unsigned plane_w, unsigned plane_h, unsigned x,
	       unsigned y, unsigned w, unsigned h, uint8_t value);

/* Draws text with glyphs scale× their size; characters without a glyph are blanks. Lower-case
 * letters without their own glyph are drawn as upper case. */
void draw_text(uint8_t *plane, size_t stride, unsigned plane_w, unsigned plane_h, unsigned x,
	       unsigned y, unsigned scale, const char *text, uint8_t value);

/* Width in pixels of text at scale. */
unsigned draw_text_width(const char *text, unsigned scale);

#endif
