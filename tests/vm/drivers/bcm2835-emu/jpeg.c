// SPDX-License-Identifier: GPL-2.0
/*
 * DC-only baseline JPEG writer for the emulated bcm2835-codec image encoder; see jpeg.h.
 *
 * Every 8x8 block is coded as its mean: DC coefficient = 8 * (mean - 128) quantised by the DQT
 * table's first entry, differentially coded per component with the Annex K DC table; the 63
 * AC coefficients are one EOB code. Sampling is always 4:2:0 (16x16 MCUs: four Y blocks, one
 * Cb, one Cr), whatever the input's sampling. RGB input is converted to YCbCr with the JFIF
 * (BT.601 full range) equations; YCbCr input is coded as it is, its range untouched.
 *
 * The sums are 32-bit throughout (no 64-bit division, so the file builds for 32-bit ARM too):
 * a 16x16 sum of 8-bit samples is at most 65280, times a colour coefficient scaled by 2^14.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/videodev2.h>
#endif

#include "jpeg.h"

/* Colour coefficients x 2^14 (JFIF: Y = 0.299 R + 0.587 G + 0.114 B, Cb and Cr around 128). */
#define CSCALE_BITS 14
#define CSCALE (1 << CSCALE_BITS)

/* Annex K.1 and K.2 quantisation tables, natural (row-major) order. */
static const u8 std_quant[2][64] = {
	{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	}, {
		17, 18, 24, 47, 99, 99, 99, 99,
		18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99,
		47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
};

/* Natural-order index of the k-th coefficient in zigzag order: DQT lists tables that way. */
static const u8 zigzag[64] = {
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

/* Annex K.3 Huffman tables (Tables K.3 to K.6): code counts per length 1..16, then symbols. */
static const u8 dc_lum_bits[16] = { 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 };
static const u8 dc_chroma_bits[16] = { 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 };
static const u8 dc_vals[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const u8 ac_lum_bits[16] = { 0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d };
static const u8 ac_lum_vals[162] = {
	0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
	0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
	0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
	0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
	0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
	0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
	0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
	0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
	0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};
static const u8 ac_chroma_bits[16] = { 0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77 };
static const u8 ac_chroma_vals[162] = {
	0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
	0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
	0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
	0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
	0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
	0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
	0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
	0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
	0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
	0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};

/* The codes the writer uses: DC categories 0..11 and the AC table's EOB (symbol 0x00). */
struct huff_codes {
	u16 dc_code[12];
	u8 dc_len[12];
	u16 eob_code;
	u8 eob_len;
};

struct bit_writer {
	u8 *out;
	u32 cap;
	u32 pos;
	u32 acc;	/* pending bits, the oldest highest */
	int nbits;
	bool overflow;
};

static unsigned int quality_scale(unsigned int quality)
{
	/* libjpeg's jpeg_quality_scaling() */
	if (quality < 1)
		quality = 1;
	if (quality > 100)
		quality = 100;
	return quality < 50 ? 5000 / quality : 200 - quality * 2;
}

/* libjpeg's jpeg_add_quant_table() with force_baseline: natural order. */
static u8 scaled_quant(unsigned int scale, bool chroma, unsigned int i)
{
	unsigned int q = (std_quant[chroma][i] * scale + 50) / 100;

	if (q < 1)
		q = 1;
	if (q > 255)
		q = 255;
	return q;
}

/*
 * Annex C: code of each symbol from the counts per length. Fills code/len for the symbols
 * below nsym (the DC categories); returns the code of want_sym in *code (AC: EOB).
 */
static void huff_build(const u8 bits[16], const u8 *vals, unsigned int nvals,
		       u16 *codes, u8 *lens, unsigned int nsym, int want_sym,
		       u16 *want_code, u8 *want_len)
{
	unsigned int code = 0, k = 0, len, i;

	for (len = 1; len <= 16; len++) {
		for (i = 0; i < bits[len - 1] && k < nvals; i++, k++) {
			if (vals[k] < nsym) {
				codes[vals[k]] = code;
				lens[vals[k]] = len;
			}
			if (vals[k] == want_sym) {
				*want_code = code;
				*want_len = len;
			}
			code++;
		}
		code <<= 1;
	}
}

static void put_byte(struct bit_writer *bw, u8 b)
{
	if (bw->pos >= bw->cap) {
		bw->overflow = true;
		return;
	}
	bw->out[bw->pos++] = b;
}

static void put_bytes(struct bit_writer *bw, const u8 *b, unsigned int n)
{
	while (n--)
		put_byte(bw, *b++);
}

static void put_u16(struct bit_writer *bw, unsigned int v)
{
	put_byte(bw, v >> 8);
	put_byte(bw, v & 0xff);
}

/* Entropy-coded bits, with 0xFF stuffed by 0x00 (T.81 F.1.2.3). */
static void put_bits(struct bit_writer *bw, u32 value, int n)
{
	bw->acc = (bw->acc << n) | (value & ((1u << n) - 1));
	bw->nbits += n;
	while (bw->nbits >= 8) {
		u8 b = bw->acc >> (bw->nbits - 8);

		put_byte(bw, b);
		if (b == 0xff)
			put_byte(bw, 0);
		bw->nbits -= 8;
	}
	bw->acc &= (1u << bw->nbits) - 1;
}

static void flush_bits(struct bit_writer *bw)
{
	if (bw->nbits > 0)
		put_bits(bw, 0x7f, 8 - bw->nbits);	/* pad with 1-bits */
}

static void put_dht_table(struct bit_writer *bw, u8 tc_th, const u8 bits[16],
			  const u8 *vals, unsigned int nvals)
{
	put_byte(bw, tc_th);
	put_bytes(bw, bits, 16);
	put_bytes(bw, vals, nvals);
}

static void put_headers(struct bit_writer *bw, const struct emu_jpeg_src *src,
			unsigned int scale, bool exif)
{
	/* APP1 "Exif": a TIFF header (little endian) with an empty IFD0 */
	static const u8 app1_exif[] = {
		0xff, 0xe1, 0x00, 0x16, 'E', 'x', 'i', 'f', 0, 0,
		'I', 'I', 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	/* APP0 "JFIF" 1.01, no units, 1:1, no thumbnail */
	static const u8 app0_jfif[] = {
		0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
	};
	/* count; id, sampling (Y 2x2, Cb and Cr 1x1: 4:2:0), quantisation table */
	static const u8 sof_components[] = { 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1 };
	/* count; id, DC/AC Huffman tables; spectral selection 0..63, no approximation */
	static const u8 sos_components[] = { 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0 };
	unsigned int t, i;

	put_u16(bw, 0xffd8);	/* SOI */
	if (exif)
		put_bytes(bw, app1_exif, sizeof(app1_exif));
	else
		put_bytes(bw, app0_jfif, sizeof(app0_jfif));

	put_u16(bw, 0xffdb);	/* DQT: tables 0 (luminance) and 1 (chrominance), 8-bit */
	put_u16(bw, 2 + 2 * 65);
	for (t = 0; t < 2; t++) {
		put_byte(bw, t);
		for (i = 0; i < 64; i++)
			put_byte(bw, scaled_quant(scale, t, zigzag[i]));
	}

	put_u16(bw, 0xffc0);	/* SOF0: 8-bit, 3 components */
	put_u16(bw, 17);
	put_byte(bw, 8);
	put_u16(bw, src->height);
	put_u16(bw, src->width);
	put_bytes(bw, sof_components, sizeof(sof_components));

	put_u16(bw, 0xffc4);	/* DHT: the four Annex K tables */
	put_u16(bw, 2 + 4 * 17 + 12 + 12 + 162 + 162);
	put_dht_table(bw, 0x00, dc_lum_bits, dc_vals, 12);
	put_dht_table(bw, 0x10, ac_lum_bits, ac_lum_vals, 162);
	put_dht_table(bw, 0x01, dc_chroma_bits, dc_vals, 12);
	put_dht_table(bw, 0x11, ac_chroma_bits, ac_chroma_vals, 162);

	put_u16(bw, 0xffda);	/* SOS: all three components, sequential */
	put_u16(bw, 12);
	put_bytes(bw, sos_components, sizeof(sos_components));
}

bool emu_jpeg_supported(__u32 fourcc)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_YUV420:
	case V4L2_PIX_FMT_NV12:
	case V4L2_PIX_FMT_NV21:
	case V4L2_PIX_FMT_YUYV:
	case V4L2_PIX_FMT_YVYU:
	case V4L2_PIX_FMT_UYVY:
	case V4L2_PIX_FMT_VYUY:
	case V4L2_PIX_FMT_RGB565:
	case V4L2_PIX_FMT_RGB24:
	case V4L2_PIX_FMT_BGR24:
	case V4L2_PIX_FMT_RGBA32:
	case V4L2_PIX_FMT_BGR32:
		return true;
	default:
		return false;
	}
}

static bool is_rgb(u32 fourcc)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_RGB565:
	case V4L2_PIX_FMT_RGB24:
	case V4L2_PIX_FMT_BGR24:
	case V4L2_PIX_FMT_RGBA32:
	case V4L2_PIX_FMT_BGR32:
		return true;
	default:
		return false;
	}
}

__u32 emu_jpeg_min_size(const struct emu_jpeg_src *src)
{
	u32 luma = src->bytesperline * src->buffer_height;

	switch (src->fourcc) {
	case V4L2_PIX_FMT_YUV420:	/* Y, then U and V at half the stride and height */
	case V4L2_PIX_FMT_NV12:		/* Y, then CbCr pairs at the same stride, half height */
	case V4L2_PIX_FMT_NV21:
		return luma + luma / 2;
	default:
		return emu_jpeg_supported(src->fourcc) ? luma : 0;
	}
}

/* Offsets of Y0, Cb, Y1, Cr in a 4:2:2 packed pixel pair. */
static void packed_422_offsets(u32 fourcc, int *y0, int *cb, int *y1, int *cr)
{
	switch (fourcc) {
	case V4L2_PIX_FMT_YUYV:
		*y0 = 0, *cb = 1, *y1 = 2, *cr = 3;
		break;
	case V4L2_PIX_FMT_YVYU:
		*y0 = 0, *cr = 1, *y1 = 2, *cb = 3;
		break;
	case V4L2_PIX_FMT_UYVY:
		*cb = 0, *y0 = 1, *cr = 2, *y1 = 3;
		break;
	default:	/* V4L2_PIX_FMT_VYUY */
		*cr = 0, *y0 = 1, *cb = 2, *y1 = 3;
		break;
	}
}

/* Adds row y of the picture to the sums of block row br (0: upper 8 rows of the band). */
static void accumulate_row(const struct emu_jpeg_src *src, struct emu_jpeg_scratch *s,
			   unsigned int y, unsigned int br)
{
	const u8 *row = src->data + y * src->bytesperline;
	s32 *c0 = s->c0[br], *c1 = s->c1[br], *c2 = s->c2[br];
	unsigned int x, b;

	switch (src->fourcc) {
	case V4L2_PIX_FMT_YUV420: {
		u32 luma = src->bytesperline * src->buffer_height;
		u32 cstride = src->bytesperline / 2;
		const u8 *u = src->data + luma + (y / 2) * cstride;
		const u8 *v = src->data + luma + cstride * (src->buffer_height / 2) + (y / 2) * cstride;

		for (x = 0; x < src->width; x++) {
			b = x >> 3;
			c0[b] += row[x];
			c1[b] += u[x / 2];
			c2[b] += v[x / 2];
		}
		break;
	}
	case V4L2_PIX_FMT_NV12:
	case V4L2_PIX_FMT_NV21: {
		const u8 *uv = src->data + src->bytesperline * src->buffer_height +
			       (y / 2) * src->bytesperline;
		int ucb = src->fourcc == V4L2_PIX_FMT_NV12 ? 0 : 1;

		for (x = 0; x < src->width; x++) {
			b = x >> 3;
			c0[b] += row[x];
			c1[b] += uv[(x & ~1u) + ucb];
			c2[b] += uv[(x & ~1u) + 1 - ucb];
		}
		break;
	}
	case V4L2_PIX_FMT_YUYV:
	case V4L2_PIX_FMT_YVYU:
	case V4L2_PIX_FMT_UYVY:
	case V4L2_PIX_FMT_VYUY: {
		int oy0, ocb, oy1, ocr;

		packed_422_offsets(src->fourcc, &oy0, &ocb, &oy1, &ocr);
		for (x = 0; x < src->width; x++) {
			const u8 *p = row + (x / 2) * 4;

			b = x >> 3;
			c0[b] += p[x & 1 ? oy1 : oy0];
			c1[b] += p[ocb];
			c2[b] += p[ocr];
		}
		break;
	}
	case V4L2_PIX_FMT_RGB565:	/* little endian: rrrrrggg gggbbbbb in bits 15..0 */
		for (x = 0; x < src->width; x++) {
			unsigned int p = row[2 * x] | row[2 * x + 1] << 8;
			unsigned int r = p >> 11, g = (p >> 5) & 0x3f, bl = p & 0x1f;

			b = x >> 3;
			c0[b] += (r << 3) | (r >> 2);
			c1[b] += (g << 2) | (g >> 4);
			c2[b] += (bl << 3) | (bl >> 2);
		}
		break;
	case V4L2_PIX_FMT_RGB24:
	case V4L2_PIX_FMT_BGR24: {
		int ri = src->fourcc == V4L2_PIX_FMT_RGB24 ? 0 : 2;

		for (x = 0; x < src->width; x++) {
			const u8 *p = row + 3 * x;

			b = x >> 3;
			c0[b] += p[ri];
			c1[b] += p[1];
			c2[b] += p[2 - ri];
		}
		break;
	}
	case V4L2_PIX_FMT_RGBA32:	/* bytes R, G, B, A */
	case V4L2_PIX_FMT_BGR32: {	/* bytes B, G, R, X */
		int ri = src->fourcc == V4L2_PIX_FMT_RGBA32 ? 0 : 2;

		for (x = 0; x < src->width; x++) {
			const u8 *p = row + 4 * x;

			b = x >> 3;
			c0[b] += p[ri];
			c1[b] += p[1];
			c2[b] += p[2 - ri];
		}
		break;
	}
	}
}

/* Sums of R, G, B (or Y, Cb, Cr) over n pixels -> Y, Cb, Cr sums scaled by CSCALE. */
static void to_ycbcr(bool rgb, s32 r, s32 g, s32 b, s32 n, s32 *y, s32 *cb, s32 *cr)
{
	if (!rgb) {
		*y = r * CSCALE;
		*cb = g * CSCALE;
		*cr = b * CSCALE;
		return;
	}
	/* FIX(x) = round(x * 2^14): 0.299 0.587 0.114; 0.16874 0.33126 0.5; 0.5 0.41869 0.08131 */
	*y = 4899 * r + 9617 * g + 1868 * b;
	*cb = -2765 * r - 5427 * g + 8192 * b + 128 * CSCALE * n;
	*cr = 8192 * r - 6860 * g - 1332 * b + 128 * CSCALE * n;
}

/* Quantised DC coefficient of a block whose samples sum to sum (x CSCALE) over n pixels. */
static int quantise_dc(s32 sum, s32 n, unsigned int q)
{
	s32 mean = (sum + n / 2) / n;			/* x CSCALE, 0..255 x 2^14 */
	s32 num = 8 * mean - 1024 * CSCALE;		/* 8 * (mean - 128), x CSCALE */
	s32 den = q * CSCALE;

	return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

static void put_dc(struct bit_writer *bw, const struct huff_codes *h, int diff)
{
	unsigned int mag = diff < 0 ? -diff : diff, cat = 0;

	while (mag) {
		cat++;
		mag >>= 1;
	}
	put_bits(bw, h->dc_code[cat], h->dc_len[cat]);
	if (cat)
		put_bits(bw, diff < 0 ? diff + (1 << cat) - 1 : diff, cat);
	put_bits(bw, h->eob_code, h->eob_len);
}

int emu_jpeg_encode(const struct emu_jpeg_src *src, unsigned int quality, bool exif,
		    struct emu_jpeg_scratch *s, __u8 *out, __u32 cap, bool *cut)
{
	struct huff_codes h[2];
	struct bit_writer bw = { .out = out, .cap = cap };
	unsigned int scale = quality_scale(quality);
	unsigned int q[2] = { scaled_quant(scale, false, 0), scaled_quant(scale, true, 0) };
	unsigned int mcus_x = (src->width + 15) / 16, mcus_y = (src->height + 15) / 16;
	unsigned int my, mx, y, i, need = emu_jpeg_min_size(src);
	int pred[3] = { 0, 0, 0 };
	bool rgb = is_rgb(src->fourcc);

	if (cut)
		*cut = false;
	if (!need || need > src->size || !src->width || !src->height ||
	    src->width > EMU_JPEG_MAX_WIDTH || src->height > src->buffer_height ||
	    src->height > 0xffff)
		return -EINVAL;

	memset(h, 0, sizeof(h));
	huff_build(dc_lum_bits, dc_vals, 12, h[0].dc_code, h[0].dc_len, 12, -1, NULL, NULL);
	huff_build(dc_chroma_bits, dc_vals, 12, h[1].dc_code, h[1].dc_len, 12, -1, NULL, NULL);
	huff_build(ac_lum_bits, ac_lum_vals, 162, NULL, NULL, 0, 0x00, &h[0].eob_code,
		   &h[0].eob_len);
	huff_build(ac_chroma_bits, ac_chroma_vals, 162, NULL, NULL, 0, 0x00, &h[1].eob_code,
		   &h[1].eob_len);

	put_headers(&bw, src, scale, exif);

	for (my = 0; my < mcus_y; my++) {
		unsigned int y_end = min(my * 16 + 16, src->height);

		memset(s, 0, sizeof(*s));
		for (y = my * 16; y < y_end; y++) {
			unsigned int br = (y - my * 16) >> 3;

			accumulate_row(src, s, y, br);
			for (i = 0; i * 8 < src->width; i++)
				s->count[br][i] += min(8u, src->width - i * 8);
		}
		for (mx = 0; mx < mcus_x; mx++) {
			s32 sum[3] = { 0, 0, 0 }, n = 0;
			unsigned int br, bx;

			for (br = 0; br < 2; br++) {
				for (bx = mx * 2; bx < mx * 2 + 2; bx++) {
					s32 yy, cb, cr, cnt = 0;
					int dc = pred[0];

					if (bx < EMU_JPEG_MAX_BLOCKS_X)
						cnt = s->count[br][bx];
					if (cnt) {
						to_ycbcr(rgb, s->c0[br][bx], s->c1[br][bx],
							 s->c2[br][bx], cnt, &yy, &cb, &cr);
						dc = quantise_dc(yy, cnt, q[0]);
						sum[0] += s->c0[br][bx];
						sum[1] += s->c1[br][bx];
						sum[2] += s->c2[br][bx];
						n += cnt;
					}
					/* a block wholly outside the picture repeats the last DC */
					put_dc(&bw, &h[0], dc - pred[0]);
					pred[0] = dc;
				}
			}
			for (i = 1; i < 3; i++) {
				s32 yy, cc[3];
				int dc = pred[i];

				if (n) {
					to_ycbcr(rgb, sum[0], sum[1], sum[2], n, &yy, &cc[1], &cc[2]);
					dc = quantise_dc(cc[i], n, q[1]);
				}
				put_dc(&bw, &h[1], dc - pred[i]);
				pred[i] = dc;
			}
		}
	}
	flush_bits(&bw);
	put_u16(&bw, 0xffd9);	/* EOI */
	if (cut)
		*cut = bw.overflow;
	if (bw.overflow)
		return cut ? (int)bw.cap : -ENOSPC;
	return (int)bw.pos;
}
