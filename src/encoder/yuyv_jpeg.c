/* YUYV to 4:2:0 JPEG, 16 rows at a time; see include/mjpegd/encoder/yuyv_jpeg.h.
 *
 * libjpeg reports errors through error_exit, which must not return: ours longjmps back to
 * yuyv_jpeg_encode, which aborts the compression (the object stays usable) and frees a grown
 * buffer. Nothing between setjmp and the jumps keeps state in registers that the error path reads
 * back, except through the volatile-free struct fields.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* jpeglib.h needs size_t and FILE first */
#include <jpeglib.h>
#include <jerror.h>

#include "mjpegd/encoder/yuyv.h"
#include "mjpegd/encoder/yuyv_jpeg.h"

#define STRIP_ROWS 16 /* one iMCU row at 2x2 sampling: max_v_samp_factor × DCTSIZE */

struct yuyv_jpeg {
	struct jpeg_compress_struct cinfo;
	struct jpeg_error_mgr jerr;
	struct jpeg_destination_mgr dest;
	jmp_buf jump;
	bool created;
	char message[JMSG_LENGTH_MAX];

	/* the output: the caller's buffer, or ours once it grew */
	uint8_t *out;
	size_t out_cap;
	bool out_ours;
	size_t out_len;

	/* the strip: STRIP_ROWS luma rows of pw bytes, STRIP_ROWS/2 rows of each chroma of pw/2 */
	uint8_t *strip;
	size_t strip_cap;
};

static void error_exit(j_common_ptr cinfo)
{
	struct yuyv_jpeg *yj = (struct yuyv_jpeg *)cinfo; /* cinfo is the first member */
	(*cinfo->err->format_message)(cinfo, yj->message);
	longjmp(yj->jump, 1);
}

/* Warnings (corrupt-data notes are for decoding) go nowhere: the caller logs errors. */
static void output_message(j_common_ptr cinfo)
{
	(void)cinfo;
}

static void dest_init(j_compress_ptr cinfo)
{
	struct yuyv_jpeg *yj = (struct yuyv_jpeg *)cinfo;
	yj->dest.next_output_byte = yj->out;
	yj->dest.free_in_buffer = yj->out_cap;
}

/* The buffer is full: move to one twice the size. */
static boolean dest_empty(j_compress_ptr cinfo)
{
	struct yuyv_jpeg *yj = (struct yuyv_jpeg *)cinfo;
	size_t cap = yj->out_cap ? 2 * yj->out_cap : 65536;
	uint8_t *n = yj->out_ours ? realloc(yj->out, cap) : malloc(cap);
	if (!n)
		ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 10);
	if (!yj->out_ours && yj->out_cap)
		memcpy(n, yj->out, yj->out_cap);
	yj->dest.next_output_byte = n + yj->out_cap;
	yj->dest.free_in_buffer = cap - yj->out_cap;
	yj->out = n;
	yj->out_cap = cap;
	yj->out_ours = true;
	return TRUE;
}

static void dest_term(j_compress_ptr cinfo)
{
	struct yuyv_jpeg *yj = (struct yuyv_jpeg *)cinfo;
	yj->out_len = yj->out_cap - yj->dest.free_in_buffer;
}

/* Apart from yuyv_jpeg_new so that no local of it lives across setjmp. */
static int create(struct yuyv_jpeg *yj)
{
	if (setjmp(yj->jump))
		return -1; /* jpeg_create_compress fails only when out of memory */
	jpeg_create_compress(&yj->cinfo);
	yj->created = true;
	return 0;
}

struct yuyv_jpeg *yuyv_jpeg_new(void)
{
	struct yuyv_jpeg *yj = calloc(1, sizeof(*yj));
	if (!yj)
		return NULL;
	yj->cinfo.err = jpeg_std_error(&yj->jerr);
	yj->jerr.error_exit = error_exit;
	yj->jerr.output_message = output_message;
	if (create(yj) < 0) {
		free(yj);
		return NULL;
	}
	yj->dest.init_destination = dest_init;
	yj->dest.empty_output_buffer = dest_empty;
	yj->dest.term_destination = dest_term;
	yj->cinfo.dest = &yj->dest;
	return yj;
}

void yuyv_jpeg_free(struct yuyv_jpeg *yj)
{
	if (!yj)
		return;
	if (yj->created)
		jpeg_destroy_compress(&yj->cinfo);
	free(yj->strip);
	free(yj);
}

/* Pads each of the strip's rows from w to pw columns by repeating the last pixel, as libjpeg's
 * own edge expansion (and tjCompressFromYUVPlanes's) would. */
static void pad_columns(uint8_t *row, unsigned w, unsigned pw, unsigned rows, size_t stride)
{
	if (w == pw)
		return;
	for (unsigned r = 0; r < rows; r++, row += stride)
		memset(row + w, row[w - 1], pw - w);
}

/* The compression proper, apart so that its locals are all set after setjmp. -1 with the message
 * in yj->message when libjpeg failed. */
static int compress(struct yuyv_jpeg *yj, const uint8_t *src, size_t stride, unsigned w,
		    unsigned h, int quality, unsigned pw)
{
	struct jpeg_compress_struct *cinfo = &yj->cinfo;

	if (setjmp(yj->jump)) {
		jpeg_abort_compress(cinfo);
		if (yj->out_ours)
			free(yj->out);
		yj->out = NULL;
		return -1;
	}

	unsigned cw = pw / 2;
	uint8_t *sy = yj->strip, *su = sy + (size_t)pw * STRIP_ROWS,
		*sv = su + (size_t)cw * (STRIP_ROWS / 2);
	JSAMPROW yrows[STRIP_ROWS], urows[STRIP_ROWS / 2], vrows[STRIP_ROWS / 2];
	for (unsigned r = 0; r < STRIP_ROWS; r++)
		yrows[r] = sy + (size_t)r * pw;
	for (unsigned r = 0; r < STRIP_ROWS / 2; r++) {
		urows[r] = su + (size_t)r * cw;
		vrows[r] = sv + (size_t)r * cw;
	}
	JSAMPARRAY planes[3] = { yrows, urows, vrows };

	cinfo->image_width = w;
	cinfo->image_height = h;
	cinfo->input_components = 3;
	cinfo->in_color_space = JCS_YCbCr;
	jpeg_set_defaults(cinfo);
	jpeg_set_quality(cinfo, quality, TRUE);
	/* What tjCompressFromYUVPlanes of libjpeg-turbo 2.1 does without TJFLAG_ACCURATEDCT (its
	 * setCompDefaults): the fast integer DCT below quality 96, the accurate one from 96 up. With
	 * the same DCT the JPEG is byte for byte the one the TurboJPEG path made (checked by
	 * tests/unit/test_yuyv_jpeg.c); JDCT_ISLOW at quality 80 gave 0.2% larger files. */
	cinfo->dct_method = quality >= 96 ? JDCT_ISLOW : JDCT_IFAST;
	cinfo->raw_data_in = TRUE;
#if JPEG_LIB_VERSION >= 70
	cinfo->do_fancy_downsampling = FALSE;
#endif
	cinfo->comp_info[0].h_samp_factor = 2;
	cinfo->comp_info[0].v_samp_factor = 2;
	for (int c = 1; c < 3; c++) {
		cinfo->comp_info[c].h_samp_factor = 1;
		cinfo->comp_info[c].v_samp_factor = 1;
	}
	jpeg_start_compress(cinfo, TRUE);

	for (unsigned row = 0; row < h; row += STRIP_ROWS) {
		unsigned rows = h - row < STRIP_ROWS ? h - row : STRIP_ROWS;
		yuyv_to_planar420(src + (size_t)row * stride, stride, w, rows, sy, su, sv);
		/* yuyv_to_planar420 writes w-wide rows; the strip's are pw wide */
		if (pw != w) {
			/* de-interleaved tightly at stride w: spread the rows out, last first */
			for (unsigned r = rows; r-- > 0;)
				memmove(sy + (size_t)r * pw, sy + (size_t)r * w, w);
			for (unsigned r = rows / 2; r-- > 0;) {
				memmove(su + (size_t)r * cw, su + (size_t)r * (w / 2), w / 2);
				memmove(sv + (size_t)r * cw, sv + (size_t)r * (w / 2), w / 2);
			}
			pad_columns(sy, w, pw, rows, pw);
			pad_columns(su, w / 2, cw, rows / 2, cw);
			pad_columns(sv, w / 2, cw, rows / 2, cw);
		}
		/* the last strip: repeat its last row down to a whole iMCU row */
		for (unsigned r = rows; r < STRIP_ROWS; r++)
			memcpy(yrows[r], yrows[rows - 1], pw);
		for (unsigned r = rows / 2; r < STRIP_ROWS / 2; r++) {
			memcpy(urows[r], urows[rows / 2 - 1], cw);
			memcpy(vrows[r], vrows[rows / 2 - 1], cw);
		}
		jpeg_write_raw_data(cinfo, planes, STRIP_ROWS);
	}
	jpeg_finish_compress(cinfo);

	return 0;
}

int yuyv_jpeg_encode(struct yuyv_jpeg *yj, const uint8_t *src, size_t stride, unsigned w,
		     unsigned h, int quality, uint8_t *buf, size_t cap, uint8_t **grown,
		     size_t *len, char *err, size_t errlen)
{
	*grown = NULL;
	*len = 0;
	if (w == 0 || h == 0 || (w | h) & 1 || stride < 2 * (size_t)w || quality < 1 ||
	    quality > 100) {
		snprintf(err, errlen, "bad YUYV frame %ux%u, stride %zu, quality %d", w, h, stride,
			 quality);
		return -EINVAL;
	}

	/* Luma padded to whole MCUs (16 columns); chroma to whole blocks of its half width. */
	unsigned pw = (w + 15) & ~15u;
	size_t need = 2 * (size_t)pw * STRIP_ROWS;
	if (need > yj->strip_cap) {
		uint8_t *s = realloc(yj->strip, need);
		if (!s) {
			snprintf(err, errlen, "out of memory for a %zu-byte strip", need);
			return -ENOMEM;
		}
		yj->strip = s;
		yj->strip_cap = need;
	}

	yj->out = buf;
	yj->out_cap = cap;
	yj->out_ours = false;
	yj->out_len = 0;
	if (compress(yj, src, stride, w, h, quality, pw) < 0) {
		snprintf(err, errlen, "%s", yj->message);
		return -EIO;
	}
	*len = yj->out_len;
	if (yj->out_ours)
		*grown = yj->out;
	yj->out = NULL;
	return 0;
}
