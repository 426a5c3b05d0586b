/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JPEG writer of the emulated bcm2835-codec image encoder (see codec.c): a real baseline
 * JPEG whose 8x8 blocks carry only their mean (DC coefficient, every AC coefficient 0), so the
 * picture follows the input at 1/8 resolution and the file decodes everywhere. Not the VPU's
 * encoder: its quality, speed and bitstream are unknown here (codec.c's header lists what is).
 *
 * Pure computation over memory the caller owns; no allocation, no locking, no sleeping.
 */
#ifndef BCM2835_CODEC_EMU_JPEG_H
#define BCM2835_CODEC_EMU_JPEG_H

#include <linux/types.h>

/* Widest picture the scratch space holds: the codec's maximum width (MAX_W_CODEC). */
#define EMU_JPEG_MAX_WIDTH 1920
#define EMU_JPEG_MAX_BLOCKS_X (EMU_JPEG_MAX_WIDTH / 8)

/* One raw frame in one memory plane, laid out as the bcm2835-codec driver describes it. */
struct emu_jpeg_src {
	__u32 fourcc;		/* V4L2_PIX_FMT_*, one of emu_jpeg_supported() */
	const __u8 *data;	/* the plane */
	__u32 size;		/* bytes readable at data */
	__u32 bytesperline;	/* of the first (or only) plane; chroma planes of 4:2:0 follow */
	__u32 buffer_height;	/* rows in the buffer (the 16-row padded height) */
	__u32 width;		/* the picture: encoded as width x height, from row 0, column 0 */
	__u32 height;
};

/* Per-block sums of one 16-row band; one per encoder instance (about 7 KiB). */
struct emu_jpeg_scratch {
	__s32 c0[2][EMU_JPEG_MAX_BLOCKS_X];	/* Y, or R, per 8x8 block */
	__s32 c1[2][EMU_JPEG_MAX_BLOCKS_X];	/* Cb, or G */
	__s32 c2[2][EMU_JPEG_MAX_BLOCKS_X];	/* Cr, or B */
	__u16 count[2][EMU_JPEG_MAX_BLOCKS_X];	/* pixels of the picture in the block */
};

/* The raw formats the writer reads (V4L2 fourccs). */
bool emu_jpeg_supported(__u32 fourcc);

/* Bytes of src->data the layout needs; 0 for an unsupported format. */
__u32 emu_jpeg_min_size(const struct emu_jpeg_src *src);

/*
 * Writes the JPEG of src at quality (1..100, libjpeg's scaling of the Annex K tables) into
 * out[0..cap). exif: start with an APP1 Exif segment instead of APP0 JFIF. Returns the JPEG's
 * length, -EINVAL for a layout that does not fit src->size or a size out of range. When cap is
 * too small: with cut NULL, -ENOSPC; else *cut is set and cap is returned, out holding the
 * JPEG's first cap bytes (no EOI). *cut is cleared otherwise.
 */
int emu_jpeg_encode(const struct emu_jpeg_src *src, unsigned int quality, bool exif,
		    struct emu_jpeg_scratch *scratch, __u8 *out, __u32 cap, bool *cut);

#endif
