/* Raw buffer layouts and the stride/alignment arithmetic (src/v4l2/layout.c): what to ask a camera
 * for so an M2M encoder can import its buffers, and when it cannot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mjpegd/v4l2/layout.h"

static void test_align_up(void **state)
{
	(void)state;
	assert_int_equal(align_up(0, 64), 0);
	assert_int_equal(align_up(1, 64), 64);
	assert_int_equal(align_up(64, 64), 64);
	assert_int_equal(align_up(1281, 64), 1344);
	assert_int_equal(align_up(1080, 16), 1088);
	assert_int_equal(align_up(1080, 0), 1080);
	assert_int_equal(align_up(1080, 1), 1080);
	assert_int_equal(align_up(100, 24), 120); /* not only powers of two */
	assert_int_equal(align_up(1080, 1088), 1088);
}

static void test_yuv420(void **state)
{
	(void)state;
	struct raw_layout l;
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 0, 0, 0, &l), 0);
	assert_int_equal(l.n_planes, 3);
	assert_int_equal(l.stride[0], 640);
	assert_int_equal(l.stride[1], 320);
	assert_int_equal(l.stride[2], 320);
	assert_int_equal(l.offset[1], 640 * 480);
	assert_int_equal(l.offset[2], 640 * 480 + 320 * 240);
	assert_int_equal(l.sizeimage, 640 * 480 * 3 / 2);
	assert_int_equal(l.padded_height, 480);

	/* bcm2835-codec: 64-byte stride, 16-row padding: 1080p's chroma starts after 1088 rows. */
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 1920, 1080, 0, 64, 16, &l), 0);
	assert_int_equal(l.stride[0], 1920);
	assert_int_equal(l.padded_height, 1088);
	assert_int_equal(l.offset[1], 1920 * 1088);
	assert_int_equal(l.offset[2], 1920 * 1088 + 960 * 544);
	assert_int_equal(l.sizeimage, 1920 * 1088 * 3 / 2);

	/* A width that is not a multiple of 64: the stride grows, chroma keeps half of it. */
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 1000, 600, 0, 64, 16, &l), 0);
	assert_int_equal(l.stride[0], 1024);
	assert_int_equal(l.stride[1], 512);
	assert_int_equal(l.padded_height, 608);

	/* A given bytesperline is kept, or rounded up to the alignment. */
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 704, 0, 0, &l), 0);
	assert_int_equal(l.stride[0], 704);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 650, 64, 0, &l), 0);
	assert_int_equal(l.stride[0], 704);

	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 639, 0, 0, &l), -EINVAL);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 641, 0, 0, &l), -EINVAL);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 641, 480, 0, 0, 0, &l), -EINVAL);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 481, 0, 0, 0, &l), -EINVAL);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 0, 480, 0, 0, 0, &l), -EINVAL);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 0, 0, 0, 0, &l), -EINVAL);
}

static void test_yuyv_nv12(void **state)
{
	(void)state;
	struct raw_layout l;
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUYV, 640, 360, 0, 0, 0, &l), 0);
	assert_int_equal(l.n_planes, 1);
	assert_int_equal(l.stride[0], 1280);
	assert_int_equal(l.sizeimage, 1280 * 360);
	/* bcm2835-codec: YUYV stride 64-byte aligned (1000 px = 2000 bytes → 2048) */
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUYV, 1000, 601, 0, 64, 16, &l), 0);
	assert_int_equal(l.stride[0], 2048);
	assert_int_equal(l.padded_height, 608);
	assert_int_equal(l.sizeimage, 2048 * 608);
	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_YUYV, 640, 360, 1279, 0, 0, &l), -EINVAL);

	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_NV12, 640, 480, 0, 32, 0, &l), 0);
	assert_int_equal(l.n_planes, 2);
	assert_int_equal(l.stride[1], 640);
	assert_int_equal(l.offset[1], 640 * 480);
	assert_int_equal(l.sizeimage, 640 * 480 * 3 / 2);

	assert_int_equal(raw_layout_compute(V4L2_PIX_FMT_MJPEG, 640, 480, 0, 0, 0, &l), -EINVAL);
	assert_int_equal(raw_min_bytesperline(V4L2_PIX_FMT_YUYV, 640), 1280);
	assert_int_equal(raw_min_bytesperline(V4L2_PIX_FMT_JPEG, 640), 0);
}

static void test_bcm2835_constraints(void **state)
{
	(void)state;
	struct m2m_constraints c;
	m2m_constraints_for("bcm2835-codec", V4L2_PIX_FMT_YUYV, &c);
	assert_int_equal(c.stride_align, 64);
	assert_int_equal(c.height_align, 16);
	assert_int_equal(c.max_width, 1920);
	assert_int_equal(c.max_height, 1920);
	/* the image encoder's column of supported_formats[].bytesperline_align */
	m2m_constraints_for("bcm2835-codec", V4L2_PIX_FMT_YUV420, &c);
	assert_int_equal(c.stride_align, 32);
	m2m_constraints_for("bcm2835-codec", V4L2_PIX_FMT_NV12, &c);
	assert_int_equal(c.stride_align, 32);
	m2m_constraints_for("bcm2835-codec", V4L2_PIX_FMT_RGB24, &c);
	assert_int_equal(c.stride_align, 32);
	assert_int_equal(c.height_align, 16);
	m2m_constraints_for("bcm2835-codec", V4L2_PIX_FMT_BGR24, &c);
	assert_int_equal(c.stride_align, 32);
	m2m_constraints_for("vicodec", V4L2_PIX_FMT_YUV420, &c);
	assert_int_equal(c.stride_align, 0);
	assert_int_equal(c.height_align, 0);
	assert_int_equal(c.max_width, 0);
}

static void test_match(void **state)
{
	(void)state;
	struct raw_layout cam, enc;
	char why[128];

	/* vivid 640x480 YU12 → vicodec: identical, zero copy */
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 640, 1, 1, &cam);
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 640, 1, 1, &enc);
	assert_int_equal(raw_layout_match(&cam, cam.sizeimage, &enc, why, sizeof(why)), 0);
	assert_string_equal(why, "");

	/* a camera with a wider stride than the encoder computes */
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 768, 1, 1, &cam);
	assert_int_equal(raw_layout_match(&cam, cam.sizeimage, &enc, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "bytesperline 768, the encoder wants 640");

	/* 1080p YU12 into bcm2835-codec: chroma at 1080 rows vs the encoder's 1088 */
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 1920, 1080, 1920, 1, 1, &cam);
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 1920, 1080, 1920, 1, 1088, &enc);
	assert_int_equal(raw_layout_match(&cam, SIZE_MAX, &enc, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "chroma starts at byte 2073600, the encoder reads it at 2088960");

	/* 1080p YUYV into bcm2835-codec: one plane, fine if the buffer covers 1088 rows */
	raw_layout_compute(V4L2_PIX_FMT_YUYV, 1920, 1080, 3840, 1, 1, &cam);
	raw_layout_compute(V4L2_PIX_FMT_YUYV, 1920, 1080, 3840, 1, 1088, &enc);
	assert_int_equal(raw_layout_match(&cam, 3840 * 1088, &enc, NULL, 0), 0);
	assert_int_equal(raw_layout_match(&cam, 3840 * 1080, &enc, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "buffers of 4147200 bytes, the encoder needs 4177920");

	raw_layout_compute(V4L2_PIX_FMT_YUYV, 640, 480, 0, 1, 1, &cam);
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 0, 1, 1, &enc);
	assert_int_equal(raw_layout_match(&cam, SIZE_MAX, &enc, NULL, 0), -EINVAL);
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 360, 0, 1, 1, &cam);
	assert_int_equal(raw_layout_match(&cam, SIZE_MAX, &enc, why, sizeof(why)), -EINVAL);
}

/* A frame as src/source/v4l2.c lays it out: one dma-buf, planes at the layout's offsets. */
static void frame_from_layout(struct raw_frame *f, const struct raw_layout *l, int fd, size_t size)
{
	memset(f, 0, sizeof(*f));
	f->fourcc = l->fourcc;
	f->width = l->width;
	f->height = l->height;
	f->n_planes = l->n_planes;
	for (unsigned i = 0; i < l->n_planes; i++)
		f->planes[i] = (struct raw_plane){ .bytesperline = l->stride[i],
						   .length = l->plane_size[i], .dmabuf_fd = fd,
						   .dmabuf_offset = l->offset[i],
						   .buffer_size = size };
}

static void test_frame_fits(void **state)
{
	(void)state;
	struct raw_layout l;
	struct raw_frame f;
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 0, 1, 1, &l);
	frame_from_layout(&f, &l, 7, l.sizeimage);
	assert_true(raw_frame_fits_layout(&f, &l, NULL, 0));

	f.planes[0].buffer_size = l.sizeimage - 1;
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
	frame_from_layout(&f, &l, -1, l.sizeimage); /* not exported */
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.planes[2].dmabuf_fd = 8; /* planes in different buffers */
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.planes[1].dmabuf_offset += 64;
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.planes[0].bytesperline = 704;
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.n_planes = 1; /* one contiguous plane description: not the layout's three */
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.height = 478;
	assert_false(raw_frame_fits_layout(&f, &l, NULL, 0));
}

/* Why a frame is copied instead of imported: each reason named, as the log line gives it. */
static void test_frame_fit_reasons(void **state)
{
	(void)state;
	struct raw_layout l, yuyv;
	struct raw_frame f;
	char why[192];
	raw_layout_compute(V4L2_PIX_FMT_YUV420, 640, 480, 0, 1, 1, &l);

	frame_from_layout(&f, &l, -1, l.sizeimage);
	assert_false(raw_frame_fits_layout(&f, &l, why, sizeof(why)));
	assert_string_equal(why, "the frame has no dma-buf");

	frame_from_layout(&f, &l, 7, l.sizeimage - 16);
	assert_false(raw_frame_fits_layout(&f, &l, why, sizeof(why)));
	assert_non_null(strstr(why, "has 460784 bytes, the encoder needs 460800"));

	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.planes[2].dmabuf_offset += 32;
	assert_false(raw_frame_fits_layout(&f, &l, why, sizeof(why)));
	assert_non_null(strstr(why, "plane 2 lies at offset 384032"));

	/* vivid, multi-planar YUYV: the picture starts 128 bytes into the buffer (data_offset),
	 * which bcm2835-codec, vicodec and vim2m do not honour on their OUTPUT queue. */
	raw_layout_compute(V4L2_PIX_FMT_YUYV, 640, 360, 0, 1, 1, &yuyv);
	frame_from_layout(&f, &yuyv, 7, yuyv.sizeimage + 128);
	f.planes[0].dmabuf_offset = 128;
	assert_false(raw_frame_fits_layout(&f, &yuyv, why, sizeof(why)));
	assert_non_null(strstr(why, "128 bytes into its buffer (data_offset)"));

	frame_from_layout(&f, &l, 7, l.sizeimage);
	f.fourcc = V4L2_PIX_FMT_NV12;
	assert_false(raw_frame_fits_layout(&f, &l, why, sizeof(why)));
	assert_non_null(strstr(why, "the frame is NV12 640x480"));

	/* a reason that does not fit the buffer is cut, never overrun */
	char small[8];
	frame_from_layout(&f, &l, -1, l.sizeimage);
	assert_false(raw_frame_fits_layout(&f, &l, small, sizeof(small)));
	assert_string_equal(small, "the fra");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_align_up),
		cmocka_unit_test(test_yuv420),
		cmocka_unit_test(test_yuyv_nv12),
		cmocka_unit_test(test_bcm2835_constraints),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_frame_fits),
		cmocka_unit_test(test_frame_fit_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
