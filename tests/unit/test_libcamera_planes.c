/* The libcamera source's zero-copy description of a FrameBuffer, as pure functions:
 * libcamera_describe_frame() (FrameBuffer planes → raw_frame planes: strides, dma-buf fd, offset,
 * buffer size) and libcamera_frame_importable() (can an M2M encoder import it as it is, given the
 * stride/height alignment it reads). Fake FrameBuffer descriptions: the Raspberry Pi ISP's
 * YUV420/YUYV buffers (one dma-buf, planes at offsets, V4L2 single-planar sizes), separate
 * dma-bufs per plane, one plane holding a whole I420 image, vimc's BGR888, broken descriptions.
 * Where the encoder's own rule applies (raw_frame_fits_layout against the layout an M2M encoder
 * with those alignments reads), both must agree. Built with or without libcamera. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/videodev2.h>

#include "mjpegd/source/libcamera_source.h"
#include "mjpegd/v4l2/layout.h"
#include "../../src/source/libcamera_shim.h"

#define PAGE 4096u
#define PAGE_ALIGN(x) (((x) + PAGE - 1) / PAGE * PAGE)

/* A buffer as a V4L2 driver (bcm2835-isp, vimc) allocates it for one single-planar format and
 * libcamera splits it: one dma-buf (fd), planes back to back, dma-buf page-aligned. */
static unsigned pi_buffer(uint32_t fourcc, unsigned w, unsigned h, size_t stride, int fd,
			  struct libcamera_plane *planes)
{
	size_t y = stride * h;
	if (fourcc == V4L2_PIX_FMT_YUV420) {
		size_t c = (stride / 2) * (h / 2), size = PAGE_ALIGN(y + 2 * c);
		planes[0] = (struct libcamera_plane){ fd, 0, y, size };
		planes[1] = (struct libcamera_plane){ fd, y, c, size };
		planes[2] = (struct libcamera_plane){ fd, y + c, c, size };
		return 3;
	}
	if (fourcc == V4L2_PIX_FMT_NV12) {
		size_t c = stride * (h / 2), size = PAGE_ALIGN(y + c);
		planes[0] = (struct libcamera_plane){ fd, 0, y, size };
		planes[1] = (struct libcamera_plane){ fd, y, c, size };
		return 2;
	}
	(void)w;
	planes[0] = (struct libcamera_plane){ fd, 0, y, PAGE_ALIGN(y) };
	return 1;
}

/* What the M2M encoder checks per frame (m2m.c: raw_frame_fits_layout against its OUTPUT layout,
 * here the one a device with these alignments answers for this stride). */
static bool encoder_would_import(const struct raw_frame *f, unsigned stride_align,
				 unsigned height_align)
{
	struct raw_layout l;
	if (raw_layout_compute(f->fourcc, f->width, f->height, f->planes[0].bytesperline,
			       stride_align, height_align, &l) < 0)
		return false;
	return raw_frame_fits_layout(f, &l, NULL, 0);
}

static void describe(uint32_t fourcc, unsigned w, unsigned h, size_t stride,
		     const struct libcamera_plane *planes, unsigned n, struct raw_frame *f)
{
	memset(f, 0xa5, sizeof(*f)); /* nothing left over from before */
	assert_int_equal(libcamera_describe_frame(fourcc, w, h, stride, planes, n, f), 0);
	assert_int_equal(f->fourcc, fourcc);
	assert_int_equal(f->width, w);
	assert_int_equal(f->height, h);
	for (unsigned i = 0; i < f->n_planes; i++)
		assert_null(f->planes[i].data); /* the caller maps */
}

/* Pi, 640x480 I420: the ISP's one dma-buf with Y, U, V at offsets → imported by
 * bcm2835-codec (64-byte rows, 16-row padding: 480 needs none). */
static void test_pi_yuv420_640x480(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 640, 480, 640, 7, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, n, &f);
	assert_int_equal(f.n_planes, 3);
	const size_t off[3] = { 0, 640 * 480, 640 * 480 + 320 * 240 };
	const size_t bpl[3] = { 640, 320, 320 };
	const size_t len[3] = { 640 * 480, 320 * 240, 320 * 240 };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(f.planes[i].dmabuf_fd, 7);
		assert_int_equal(f.planes[i].dmabuf_offset, off[i]);
		assert_int_equal(f.planes[i].bytesperline, bpl[i]);
		assert_int_equal(f.planes[i].length, len[i]);
		assert_int_equal(f.planes[i].buffer_size, PAGE_ALIGN(460800));
	}
	char why[256];
	assert_true(libcamera_frame_importable(&f, 64, 16, why, sizeof(why)));
	assert_string_equal(why, "");
	assert_true(encoder_would_import(&f, 64, 16));
	/* the software encoder / vicodec: no constraint */
	assert_true(libcamera_frame_importable(&f, 0, 0, NULL, 0));
	assert_true(encoder_would_import(&f, 0, 0));
}

/* 1280x720 likewise (720 = 45 * 16). */
static void test_pi_yuv420_720p(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 1280, 720, 1280, 9, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 1280, 720, 1280, pl, n, &f);
	assert_true(libcamera_frame_importable(&f, 64, 16, NULL, 0));
	assert_true(encoder_would_import(&f, 64, 16));
}

/* 1920x1080 I420: bcm2835-codec reads chroma after 1088 rows, the ISP put it after 1080. */
static void test_pi_yuv420_1080p_padded_rows(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 1920, 1080, 1920, 5, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 1920, 1080, 1920, pl, n, &f);
	char why[256];
	assert_false(libcamera_frame_importable(&f, 64, 16, why, sizeof(why)));
	assert_non_null(strstr(why, "plane 1 starts at byte 2073600"));
	assert_non_null(strstr(why, "2088960"));
	assert_non_null(strstr(why, "1088"));
	assert_false(encoder_would_import(&f, 64, 16));
	/* an encoder that does not pad takes it */
	assert_true(libcamera_frame_importable(&f, 64, 0, NULL, 0));
	assert_true(encoder_would_import(&f, 64, 0));
}

/* 1920x1080 YUYV (what the pipeline asks first when I420 would be padded): one plane, but the
 * ISP's buffer holds 1080 rows and the encoder reads 1088. */
static void test_pi_yuyv_1080p_small_buffer(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUYV, 1920, 1080, 3840, 5, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUYV, 1920, 1080, 3840, pl, n, &f);
	assert_int_equal(f.n_planes, 1);
	assert_int_equal(f.planes[0].bytesperline, 3840);
	assert_int_equal(f.planes[0].buffer_size, PAGE_ALIGN(3840 * 1080));
	char why[256];
	assert_false(libcamera_frame_importable(&f, 64, 16, why, sizeof(why)));
	assert_non_null(strstr(why, "dma-bufs of 4149248 bytes, the encoder reads 4177920"));
	assert_false(encoder_would_import(&f, 64, 16));
	/* 720p YUYV fits */
	n = pi_buffer(V4L2_PIX_FMT_YUYV, 1280, 720, 2560, 5, pl);
	describe(V4L2_PIX_FMT_YUYV, 1280, 720, 2560, pl, n, &f);
	assert_true(libcamera_frame_importable(&f, 64, 16, NULL, 0));
	assert_true(encoder_would_import(&f, 64, 16));
}

/* A stride libcamera chose that the encoder does not read: 800 wide with 32-byte rows. */
static void test_stride_not_aligned(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 800, 600, 800, 3, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 800, 600, 800, pl, n, &f);
	assert_int_equal(f.planes[1].bytesperline, 400);
	char why[256];
	assert_false(libcamera_frame_importable(&f, 64, 16, why, sizeof(why)));
	assert_non_null(strstr(why, "bytesperline 800"));
	assert_non_null(strstr(why, "multiple of 64"));
	assert_true(libcamera_frame_importable(&f, 32, 8, NULL, 0)); /* 600 = 75 * 8 */
	assert_true(encoder_would_import(&f, 32, 8));
	/* a padded stride: the planes follow the stride, not the width */
	n = pi_buffer(V4L2_PIX_FMT_YUV420, 800, 600, 832, 3, pl);
	describe(V4L2_PIX_FMT_YUV420, 800, 600, 832, pl, n, &f);
	assert_int_equal(f.planes[1].dmabuf_offset, 832 * 600);
	assert_int_equal(f.planes[2].dmabuf_offset, 832 * 600 + 416 * 300);
	assert_int_equal(f.planes[2].bytesperline, 416);
	assert_true(libcamera_frame_importable(&f, 64, 8, NULL, 0));
	assert_true(encoder_would_import(&f, 64, 8));
}

/* Each plane its own dma-buf (a multi-planar driver): the encoder imports one fd only. */
static void test_separate_dmabufs(void **state)
{
	(void)state;
	struct libcamera_plane pl[3] = {
		{ 10, 0, 640 * 480, PAGE_ALIGN(640 * 480) },
		{ 11, 0, 320 * 240, PAGE_ALIGN(320 * 240) },
		{ 12, 0, 320 * 240, PAGE_ALIGN(320 * 240) },
	};
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, 3, &f);
	assert_int_equal(f.planes[1].dmabuf_fd, 11);
	assert_int_equal(f.planes[2].dmabuf_offset, 0);
	assert_int_equal(f.planes[2].buffer_size, PAGE_ALIGN(320 * 240));
	char why[256];
	assert_false(libcamera_frame_importable(&f, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "separate dma-bufs"));
	assert_false(encoder_would_import(&f, 0, 0));
}

/* The image not at the start of its dma-buf (an allocator sharing one buffer). */
static void test_image_not_at_start(void **state)
{
	(void)state;
	const size_t base = 8192, y = 640 * 480, c = 320 * 240;
	struct libcamera_plane pl[3] = {
		{ 4, base, y, 2 * PAGE_ALIGN(460800) },
		{ 4, base + y, c, 2 * PAGE_ALIGN(460800) },
		{ 4, base + y + c, c, 2 * PAGE_ALIGN(460800) },
	};
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, 3, &f);
	char why[256];
	assert_false(libcamera_frame_importable(&f, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "starts 8192 bytes into"));
	assert_false(encoder_would_import(&f, 0, 0));
}

/* A chroma plane with a gap before it (an allocator aligning planes): not where the encoder
 * reads it, although the stride fits. */
static void test_chroma_gap(void **state)
{
	(void)state;
	const size_t y = 640 * 480, c = 320 * 240, gap = 4096;
	struct libcamera_plane pl[3] = {
		{ 4, 0, y, PAGE_ALIGN(y + gap + 2 * c) },
		{ 4, y + gap, c, PAGE_ALIGN(y + gap + 2 * c) },
		{ 4, y + gap + c, c, PAGE_ALIGN(y + gap + 2 * c) },
	};
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, 3, &f);
	char why[256];
	assert_false(libcamera_frame_importable(&f, 64, 16, why, sizeof(why)));
	assert_non_null(strstr(why, "plane 1 starts at byte 311296"));
	assert_false(encoder_would_import(&f, 64, 16));
}

/* One plane holding the whole I420 image: split at the single-planar offsets. */
static void test_single_plane_i420_split(void **state)
{
	(void)state;
	struct libcamera_plane pl = { 6, 0, 460800, PAGE_ALIGN(460800) };
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, &pl, 1, &f);
	assert_int_equal(f.n_planes, 3);
	assert_int_equal(f.planes[0].length, 307200);
	assert_int_equal(f.planes[1].dmabuf_offset, 307200);
	assert_int_equal(f.planes[2].dmabuf_offset, 384000);
	assert_int_equal(f.planes[2].bytesperline, 320);
	assert_int_equal(f.planes[2].dmabuf_fd, 6);
	assert_true(libcamera_frame_importable(&f, 64, 16, NULL, 0));
	assert_true(encoder_would_import(&f, 64, 16));
	/* too short to hold the image: refused */
	pl.length = 460799;
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, &pl, 1, &f),
			 -EINVAL);
}

/* NV12: chroma rows as long as luma rows. */
static void test_nv12(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_NV12, 640, 480, 640, 8, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_NV12, 640, 480, 640, pl, n, &f);
	assert_int_equal(f.n_planes, 2);
	assert_int_equal(f.planes[1].bytesperline, 640);
	assert_int_equal(f.planes[1].dmabuf_offset, 640 * 480);
	assert_true(libcamera_frame_importable(&f, 32, 16, NULL, 0));
	assert_true(encoder_would_import(&f, 32, 16));
}

/* vimc through libcamera: BGR888 (V4L2 BGR24), one plane. No M2M encoder of mjpegd takes RGB;
 * the buffer is still described, and checked for what can be checked. */
static void test_vimc_bgr24(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_BGR24, 640, 480, 1920, 5, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_BGR24, 640, 480, 1920, pl, n, &f);
	assert_int_equal(f.n_planes, 1);
	assert_int_equal(f.planes[0].bytesperline, 1920);
	assert_int_equal(f.planes[0].dmabuf_fd, 5);
	assert_true(libcamera_frame_importable(&f, 0, 0, NULL, 0));
	char why[256];
	assert_false(libcamera_frame_importable(&f, 0, 512, why, sizeof(why)));
	assert_non_null(strstr(why, "the encoder reads 983040"));
	/* stride 0: the tightest for the width */
	describe(V4L2_PIX_FMT_BGR24, 640, 480, 0, pl, n, &f);
	assert_int_equal(f.planes[0].bytesperline, 1920);
}

/* The size of the dma-buf unknown: nothing can be promised to an encoder. */
static void test_unknown_dmabuf_size(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 640, 480, 640, 7, pl);
	for (unsigned i = 0; i < n; i++)
		pl[i].dmabuf_size = 0;
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, n, &f);
	char why[256];
	assert_false(libcamera_frame_importable(&f, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "unknown"));
	assert_false(encoder_would_import(&f, 0, 0));
}

static void test_describe_errors(void **state)
{
	(void)state;
	struct libcamera_plane pl[4];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 640, 480, 640, 7, pl);
	pl[3] = pl[2];
	struct raw_frame f;
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, 0, &f),
			 -EINVAL);
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, NULL, 3, &f),
			 -EINVAL);
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, 4, &f),
			 -EINVAL);
	/* two planes are neither one image nor one per component of I420 */
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, 2, &f),
			 -EINVAL);
	/* three planes of a packed format */
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUYV, 640, 480, 1280, pl, n, &f),
			 -EINVAL);
	/* a plane past the end of its dma-buf */
	pl[2].length += PAGE;
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, n, &f),
			 -EINVAL);
	pl[2].length -= PAGE;
	pl[2].offset = pl[2].dmabuf_size + 1;
	assert_int_equal(libcamera_describe_frame(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, n, &f),
			 -EINVAL);
}

static void test_importable_bad_frames(void **state)
{
	(void)state;
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(V4L2_PIX_FMT_YUV420, 640, 480, 640, 7, pl);
	struct raw_frame f;
	describe(V4L2_PIX_FMT_YUV420, 640, 480, 640, pl, n, &f);
	char why[256];
	f.planes[2].dmabuf_fd = -1;
	assert_false(libcamera_frame_importable(&f, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "plane 2 has no dma-buf"));
	f.planes[2].dmabuf_fd = 7;
	f.n_planes = 0;
	assert_false(libcamera_frame_importable(&f, 0, 0, why, sizeof(why)));
	f.n_planes = 2; /* I420 with only Y and U */
	assert_false(libcamera_frame_importable(&f, 0, 0, why, sizeof(why)));
	assert_non_null(strstr(why, "2 planes, the encoder reads 3"));
	/* a short reason buffer is still terminated */
	char tiny[8];
	assert_false(libcamera_frame_importable(&f, 0, 0, tiny, sizeof(tiny)));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}


/* The capture plan for a libcamera camera in front of bcm2835-codec (16-row padding): the camera
 * is asked for the padded rows, frames carry the picture's rows laid out in them, and the
 * encoder imports them: 1920x1080 → 1088 rows, 1296x972 (the v1/v2 modules' binned mode) → 976,
 * for I420 (chroma after the padded rows) and for packed formats (a buffer large enough). */
static void plan_padded(uint32_t fourcc, unsigned w, unsigned h, unsigned want_rows, size_t stride)
{
	unsigned rows = libcamera_rows(h, 16, true);
	assert_int_equal(rows, want_rows);
	struct libcamera_plane pl[3];
	unsigned n = pi_buffer(fourcc, w, rows, stride, 5, pl); /* what the ISP writes for rows */
	struct raw_frame f;
	describe(fourcc, w, rows, stride, pl, n, &f);
	f.height = h; /* what libcamera_source.c gives the encoder: the picture's rows */
	char why[256];
	if (!libcamera_frame_importable(&f, 32, 16, why, sizeof(why)))
		fail_msg("%.4s %ux%u in %u rows: %s", (const char *)&fourcc, w, h, rows, why);
	assert_true(encoder_would_import(&f, 32, 16));
	/* the rows that were asked for are the picture: the encoder's layout for h is the padded one */
	struct raw_layout l;
	assert_int_equal(raw_layout_compute(fourcc, w, h, stride, 32, 16, &l), 0);
	assert_int_equal(l.padded_height, rows);
	/* unpadded (pad_rows false, or an encoder without padding) the camera gets h */
	assert_int_equal(libcamera_rows(h, 16, false), h);
	assert_int_equal(libcamera_rows(h, 0, true), h);
}

static void test_plan_1080_and_972(void **state)
{
	(void)state;
	plan_padded(V4L2_PIX_FMT_YUV420, 1920, 1080, 1088, 1920);
	plan_padded(V4L2_PIX_FMT_YUYV, 1920, 1080, 1088, 3840);
	plan_padded(V4L2_PIX_FMT_RGB24, 1920, 1080, 1088, 5760); /* vimc's RGB3 */
	plan_padded(V4L2_PIX_FMT_YUV420, 1296, 972, 976, 1344);  /* ISP stride ALIGN(1296, 64) */
	plan_padded(V4L2_PIX_FMT_YUYV, 1296, 972, 976, 2624);
	/* heights already a multiple of 16 are asked as they are */
	assert_int_equal(libcamera_rows(720, 16, true), 720);
	assert_int_equal(libcamera_rows(480, 16, true), 480);
}

/* The ScalerCrop that keeps the proportions at 1920x1088 of which 1080 rows are kept. */
static void test_padded_crop(void **state)
{
	(void)state;
	/* IMX219 (Camera Module 2): 3280x2464 sensor, a 16:9 default crop */
	struct libcamera_rect max = { 0, 0, 3280, 2464 }, def = { 0, 308, 3280, 1846 }, r;
	assert_int_equal(libcamera_padded_crop(def, max, 1920, 1088, 1080, &r), 0);
	/* square pixels: r's aspect is the output's, 1920:1088 */
	double out_aspect = 1920.0 / 1088.0, crop_aspect = (double)r.width / r.height;
	assert_true(crop_aspect / out_aspect > 0.998 && crop_aspect / out_aspect < 1.002);
	/* the picture (the top 1080/1088 of r) is def's 16:9 centred crop: same top, same width */
	assert_int_equal(r.x, 0);
	assert_int_equal(r.width, 3280);
	assert_int_equal(r.y, 308);
	double picture_rows = r.height * 1080.0 / 1088.0;
	assert_true(picture_rows > 1843.5 && picture_rows < 1846.5);
	assert_true(r.y + (int)r.height <= max.y + (int)max.height);

	/* def already at the bottom of the sensor: the crop moves up to stay inside */
	def = (struct libcamera_rect){ 0, 618, 3280, 1846 };
	assert_int_equal(libcamera_padded_crop(def, max, 1920, 1088, 1080, &r), 0);
	assert_int_equal(r.y + (int)r.height, 2464);
	assert_true(r.width == 3280);

	/* def the whole sensor height, 4:3 output 1296x976 of which 972 rows: shrunk, centred */
	def = max;
	assert_int_equal(libcamera_padded_crop(def, max, 1296, 976, 972, &r), 0);
	assert_true(r.height <= 2464);
	assert_int_equal(r.y, 0);
	crop_aspect = (double)r.width / r.height;
	assert_true(crop_aspect / (1296.0 / 976) > 0.998 && crop_aspect / (1296.0 / 976) < 1.002);
	assert_true(r.x >= 0 && r.x + (int)r.width <= 3280);
	int centre = r.x + (int)r.width / 2;
	assert_true(centre >= 1639 && centre <= 1641);

	/* nothing to crop from */
	struct libcamera_rect empty = { 0, 0, 0, 0 };
	assert_int_equal(libcamera_padded_crop(empty, max, 1920, 1088, 1080, &r), -EINVAL);
	assert_int_equal(libcamera_padded_crop(max, max, 1920, 1080, 1088, &r), -EINVAL);
}

/* --snapshot-size's two streams: the full size first, the stream's second. */
static void test_plan_streams(void **state)
{
	(void)state;
	char why[160];
	assert_int_equal(libcamera_plan_streams(1280, 720, 3280, 2464, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(libcamera_plan_streams(1920, 1080, 1920, 1200, why, sizeof(why)), 0);
	assert_int_equal(libcamera_plan_streams(1920, 1080, 2592, 1000, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "smaller than the stream's 1920x1080"));
	assert_int_equal(libcamera_plan_streams(640, 480, 640, 480, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "is the stream's"));
	assert_int_equal(libcamera_plan_streams(0, 480, 640, 480, why, sizeof(why)), -EINVAL);
}

/* The Pi's VC4 ISP, as its pipeline handler's validate() treats two outputs: the second
 * (low-res) is YUV420 only and never larger than the first (main); it is adjusted to fit. */
struct vc4_cfg {
	uint32_t fourcc;
	unsigned width, height;
};

static void vc4_validate(struct vc4_cfg *main_cfg, struct vc4_cfg *lores)
{
	(void)main_cfg;
	if (lores->fourcc != V4L2_PIX_FMT_YUV420)
		lores->fourcc = V4L2_PIX_FMT_YUV420;
	if (lores->width > main_cfg->width)
		lores->width = main_cfg->width;
	if (lores->height > main_cfg->height)
		lores->height = main_cfg->height;
}

static bool vc4_granted(uint32_t fourcc, unsigned w, unsigned h, unsigned fw, unsigned fh,
			bool stream_first, char *why, size_t whylen)
{
	/* as the shim asks: the full size first (or, to see why not, the stream first) */
	struct vc4_cfg a = { fourcc, stream_first ? w : fw, stream_first ? h : fh };
	struct vc4_cfg b = { fourcc, stream_first ? fw : w, stream_first ? fh : h };
	vc4_validate(&a, &b);
	unsigned sw = stream_first ? fw : w, sh = stream_first ? fh : h;
	return libcamera_streams_granted(2, fourcc, sw, sh, a.fourcc, a.width, a.height, b.fourcc,
					 b.width, b.height, why, whylen);
}

static void test_streams_granted_vc4(void **state)
{
	(void)state;
	char why[160];
	/* Camera Module 2's full sensor and a 720p stream, YUV420: both granted */
	assert_true(vc4_granted(V4L2_PIX_FMT_YUV420, 1280, 720, 3280, 2464, false, why,
				sizeof(why)));
	assert_string_equal(why, "");
	/* the other order would lose the full size: low-res cannot be larger than main */
	assert_false(vc4_granted(V4L2_PIX_FMT_YUV420, 1280, 720, 3280, 2464, true, why,
				 sizeof(why)));
	assert_non_null(strstr(why, "second stream as 1280x720, not 3280x2464"));
	/* low-res is YUV420 only: a YUYV stream cannot be the second */
	assert_false(vc4_granted(V4L2_PIX_FMT_YUYV, 1280, 720, 3280, 2464, false, why,
				 sizeof(why)));
	assert_non_null(strstr(why, "changed the formats"));
	/* vimc, uvcvideo: validate() keeps one configuration */
	assert_false(libcamera_streams_granted(1, V4L2_PIX_FMT_YUV420, 640, 480,
					       V4L2_PIX_FMT_YUV420, 1920, 1080, 0, 0, 0, why,
					       sizeof(why)));
	assert_string_equal(why, "the camera gives one stream");
	/* the full size adjusted down to the sensor's, still larger: granted */
	assert_true(libcamera_streams_granted(2, V4L2_PIX_FMT_YUV420, 1280, 720,
					      V4L2_PIX_FMT_YUV420, 3280, 2464, V4L2_PIX_FMT_YUV420,
					      1280, 720, why, sizeof(why)));
	/* adjusted down to the stream's own size: nothing gained */
	assert_false(libcamera_streams_granted(2, V4L2_PIX_FMT_YUV420, 1280, 720,
					       V4L2_PIX_FMT_YUV420, 1280, 720, V4L2_PIX_FMT_YUV420,
					       1280, 720, why, sizeof(why)));
	assert_non_null(strstr(why, "not larger"));
}

/* --fps on a camera that ignores FrameDurationLimits (libcamera 0.7.1's virtual handler): pacing
 * turns on after LIBCAMERA_PACE_FAST intervals in a row under half the frame duration, once, and
 * then gives one slot per frame duration, never before now. */
static void test_pace(void **state)
{
	(void)state;
	const uint64_t ms = 1000000;
	struct libcamera_pace p = { .frame_ns = 100 * ms };
	/* a sensor at its rate (and one late frame) never turns it on */
	uint64_t t = 1000 * ms;
	for (int i = 0; i < 50; i++) {
		t += i == 20 ? 300 * ms : 100 * ms;
		assert_false(libcamera_pace_note(&p, t));
	}
	assert_false(p.on);
	assert_int_equal(libcamera_pace_due(&p, t), t); /* off: at once */
	/* intervals of exactly half the frame duration do not count... */
	for (int i = 0; i < 20; i++)
		assert_false(libcamera_pace_note(&p, t += 50 * ms));
	/* ...fast ones must come in a row: one normal interval starts the count again */
	for (int i = 0; i < LIBCAMERA_PACE_FAST - 1; i++)
		assert_false(libcamera_pace_note(&p, t += 5 * ms));
	assert_false(libcamera_pace_note(&p, t += 100 * ms));
	for (int i = 0; i < LIBCAMERA_PACE_FAST - 1; i++)
		assert_false(libcamera_pace_note(&p, t += 5 * ms));
	assert_true(libcamera_pace_note(&p, t += 5 * ms));
	assert_true(p.on);
	assert_false(libcamera_pace_note(&p, t += 5 * ms)); /* said once */
	/* four buffers given back at once: slots 100 ms apart from now */
	uint64_t now = 5000 * ms;
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(libcamera_pace_due(&p, now), now + i * 100 * ms);
	/* a buffer back long after the last slot: at once, and the next one a frame later */
	now = 9000 * ms;
	assert_int_equal(libcamera_pace_due(&p, now), now);
	assert_int_equal(libcamera_pace_due(&p, now + 10 * ms), now + 100 * ms);
	/* no --fps (frame_ns 0): never on */
	struct libcamera_pace none = { 0 };
	for (int i = 0; i < 20; i++)
		assert_false(libcamera_pace_note(&none, 1000 + (uint64_t)i));
	assert_int_equal(libcamera_pace_due(&none, 77), 77);
	/* a clock that went back counts as nothing */
	struct libcamera_pace back = { .frame_ns = 100 * ms };
	for (int i = 0; i < 20; i++)
		assert_false(libcamera_pace_note(&back, (uint64_t)(100 - i) * ms));
	assert_false(back.on);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pi_yuv420_640x480),
		cmocka_unit_test(test_pi_yuv420_720p),
		cmocka_unit_test(test_pi_yuv420_1080p_padded_rows),
		cmocka_unit_test(test_pi_yuyv_1080p_small_buffer),
		cmocka_unit_test(test_stride_not_aligned),
		cmocka_unit_test(test_separate_dmabufs),
		cmocka_unit_test(test_image_not_at_start),
		cmocka_unit_test(test_chroma_gap),
		cmocka_unit_test(test_single_plane_i420_split),
		cmocka_unit_test(test_nv12),
		cmocka_unit_test(test_pace),
		cmocka_unit_test(test_vimc_bgr24),
		cmocka_unit_test(test_unknown_dmabuf_size),
		cmocka_unit_test(test_describe_errors),
		cmocka_unit_test(test_importable_bad_frames),
		cmocka_unit_test(test_plan_1080_and_972),
		cmocka_unit_test(test_padded_crop),
		cmocka_unit_test(test_plan_streams),
		cmocka_unit_test(test_streams_granted_vc4),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
