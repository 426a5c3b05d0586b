/* Device discovery, format negotiation and encoder choice (src/v4l2/discover.c) over recorded
 * device answers (tests/unit/v4l2_fixtures.h): the test bed's vivid/vicodec/vim2m/vimc and a
 * Raspberry Pi's bcm2835-codec nodes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/v4l2_discover.h"
#include "v4l2_fixtures.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The test bed's nodes in /dev/videoN order, as recorded (video0 … video9, no video2). */
static struct v4l2_device_info testbed[8];
/* A Raspberry Pi with a UVC webcam and the VideoCore codec nodes, in /dev/videoN order. */
static struct v4l2_device_info pi[6];

static int setup(void **state)
{
	(void)state;
	const struct v4l2_device_info *t[] = { &fx_vicodec_enc, &fx_vicodec_dec, &fx_vim2m,
					       &fx_vimc_raw,    &fx_vimc_rgb,    &fx_vivid_cap,
					       &fx_vivid_out,   &fx_vivid_meta };
	for (size_t i = 0; i < N(t); i++)
		testbed[i] = *t[i];
	const struct v4l2_device_info *p[] = { &fx_uvc,	      &fx_uvc_meta,	  &fx_bcm2835_decode,
					       &fx_bcm2835_encode, &fx_bcm2835_isp, &fx_bcm2835_image };
	for (size_t i = 0; i < N(p); i++)
		pi[i] = *p[i];
	return 0;
}

static void test_classification(void **state)
{
	(void)state;
	assert_true(v4l2_info_is_capture(&fx_vivid_cap));
	assert_false(v4l2_info_is_m2m(&fx_vivid_cap));
	assert_false(v4l2_info_is_capture(&fx_vivid_out));
	assert_false(v4l2_info_is_capture(&fx_vivid_meta));
	assert_false(v4l2_info_is_capture(&fx_uvc_meta));
	assert_true(v4l2_info_is_capture(&fx_uvc));
	assert_true(v4l2_info_is_capture(&fx_vimc_raw)); /* but IO_MC: see test_source_check */

	assert_true(v4l2_info_is_m2m(&fx_vicodec_enc));
	assert_false(v4l2_info_is_mplane(&fx_vicodec_enc));
	assert_false(v4l2_info_is_capture(&fx_vicodec_enc));
	assert_true(v4l2_info_is_m2m(&fx_vim2m));
	assert_true(v4l2_info_is_m2m(&fx_bcm2835_image));
	assert_true(v4l2_info_is_mplane(&fx_bcm2835_image));

	char s[5];
	assert_string_equal(fourcc_str(V4L2_PIX_FMT_YUYV, s), "YUYV");
	assert_string_equal(fourcc_str(v4l2_fourcc_be('Y', '1', '6', ' '), s), "Y16?");
}

static void test_pick_format(void **state)
{
	(void)state;
	const uint32_t prefs[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV };
	/* vivid lists YUYV first and YU12 sixth: our order wins. */
	assert_int_equal(v4l2_pick_format(fx_vivid_cap.capture, fx_vivid_cap.n_capture, prefs, 2),
			 V4L2_PIX_FMT_YUV420);
	assert_int_equal(v4l2_pick_format(fx_uvc.capture, fx_uvc.n_capture, prefs, 2),
			 V4L2_PIX_FMT_YUYV);
	assert_int_equal(v4l2_pick_format(fx_vimc_raw.capture, fx_vimc_raw.n_capture, prefs, 2), 0);
	assert_int_equal(v4l2_pick_format(fx_uvc.capture, 0, prefs, 2), 0);
}

static void check_source(const struct v4l2_device_info *d, const uint32_t *prefs, unsigned n,
			 bool skip_mc, int want_r, uint32_t want_fourcc, const char *want_why)
{
	char why[256];
	uint32_t f = 0;
	int r = v4l2_source_check(d, prefs, n, skip_mc, &f, why, sizeof(why));
	if (r != want_r)
		fail_msg("%s: %d (%s), want %d", d->path, r, why, want_r);
	if (r == 0)
		assert_int_equal(f, want_fourcc);
	if (want_why && !strstr(why, want_why))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", d->path, why, want_why);
}

static void test_source_check(void **state)
{
	(void)state;
	const uint32_t sw[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB24,
				V4L2_PIX_FMT_BGR24 };
	const uint32_t jpeg[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG };
	check_source(&fx_vivid_cap, sw, 4, true, 0, V4L2_PIX_FMT_YUV420, "usable");
	check_source(&fx_uvc, sw, 4, true, 0, V4L2_PIX_FMT_YUYV, NULL);
	check_source(&fx_uvc, jpeg, 2, true, 0, V4L2_PIX_FMT_MJPEG, NULL);
	check_source(&fx_vivid_cap, jpeg, 2, true, -EOPNOTSUPP, 0,
		     "offers none of MJPG JPEG (it has YUYV UYVY");
	check_source(&fx_vimc_rgb, sw, 4, true, -EMEDIUMTYPE, 0, "media-controller node");
	/* named explicitly, a media-controller node is tried */
	check_source(&fx_vimc_rgb, sw, 4, false, 0, V4L2_PIX_FMT_RGB24, NULL);
	check_source(&fx_vicodec_enc, sw, 4, true, -ENODEV, 0, "memory-to-memory");
	check_source(&fx_vim2m, sw, 4, true, -ENODEV, 0, "not a camera");
	check_source(&fx_vivid_out, sw, 4, true, -ENODEV, 0, "a video output device");
	check_source(&fx_vivid_meta, sw, 4, true, -ENODEV, 0, "a metadata device");
	check_source(&fx_busy, sw, 4, true, -EBUSY, 0, "cannot be opened: Device or resource busy");
}

static void check_m2m(const struct v4l2_device_info *d, uint32_t in, uint32_t out, int want_r,
		      const char *want_why)
{
	char why[256];
	int r = m2m_encoder_check(d, in, out, why, sizeof(why));
	if (r != want_r)
		fail_msg("%s (%s): %d (%s), want %d", d->path, d->card, r, why, want_r);
	if (want_why && !strstr(why, want_why))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", d->path, why, want_why);
}

static void test_m2m_check(void **state)
{
	(void)state;
	check_m2m(&fx_vicodec_enc, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_FWHT, 0, "usable");
	check_m2m(&fx_vicodec_enc, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_FWHT, 0, NULL);
	check_m2m(&fx_vicodec_enc, 0, V4L2_PIX_FMT_FWHT, 0, NULL);
	check_m2m(&fx_vicodec_enc, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP,
		  "its CAPTURE queue does not produce JPEG (FWHT)");
	check_m2m(&fx_vicodec_dec, 0, V4L2_PIX_FMT_FWHT, -EOPNOTSUPP, "does not produce FWHT");
	check_m2m(&fx_vim2m, 0, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP, NULL);
	check_m2m(&fx_vivid_cap, 0, V4L2_PIX_FMT_JPEG, -ENODEV, "not memory-to-memory");

	check_m2m(&fx_bcm2835_image, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG, 0, NULL);
	check_m2m(&fx_bcm2835_image, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_JPEG, 0, NULL);
	check_m2m(&fx_bcm2835_image, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP,
		  "its OUTPUT queue does not take NV12");
	check_m2m(&fx_bcm2835_image_nofw, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP,
		  "start_x=1");
	check_m2m(&fx_bcm2835_image_noraw, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP,
		  "its OUTPUT queue offers no format; JPEG needs the firmware image encoder: start_x=1");
	check_m2m(&fx_bcm2835_image_noraw, 0, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP, "start_x=1");
	check_m2m(&fx_bcm2835_encode, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP, "H264");
	check_m2m(&fx_bcm2835_decode, 0, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP, NULL);
	check_m2m(&fx_bcm2835_isp, 0, V4L2_PIX_FMT_JPEG, -EOPNOTSUPP, NULL);
	check_m2m(&fx_busy, 0, V4L2_PIX_FMT_JPEG, -EBUSY, NULL);
}

static void test_unusable_encoder(void **state)
{
	(void)state;
	char why[256] = "";
	/* a Pi with working firmware: nothing to explain */
	assert_int_equal(m2m_unusable_encoder(pi, N(pi), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG,
					      why, sizeof(why)), -ENODEV);
	/* old firmware (either list empty): the image encoder, with the start_x=1 hint */
	pi[5] = fx_bcm2835_image_noraw;
	assert_int_equal(m2m_unusable_encoder(pi, N(pi), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG,
					      why, sizeof(why)), 5);
	assert_non_null(strstr(why, "start_x=1"));
	pi[5] = fx_bcm2835_image_nofw;
	assert_int_equal(m2m_unusable_encoder(pi, N(pi), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG,
					      why, sizeof(why)), 5);
	assert_non_null(strstr(why, "start_x=1"));
	pi[5] = fx_bcm2835_image;
	/* a JPEG encoder that does not take the camera's format is worth a word too */
	assert_int_equal(m2m_unusable_encoder(pi, N(pi), V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_JPEG,
					      why, sizeof(why)), 5);
	assert_non_null(strstr(why, "does not take NV12"));
	/* vicodec and vim2m make no JPEG: not mistaken for a JPEG encoder */
	assert_int_equal(m2m_unusable_encoder(testbed, N(testbed), V4L2_PIX_FMT_YUV420,
					      V4L2_PIX_FMT_JPEG, why, sizeof(why)), -ENODEV);
}

static void test_discover(void **state)
{
	(void)state;
	/* Never by number: the Pi's image encoder is found wherever it is in the list. */
	assert_int_equal(m2m_discover(pi, N(pi), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG), 5);
	assert_int_equal(m2m_discover(pi, N(pi), V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_JPEG), 5);
	assert_int_equal(m2m_discover(pi, N(pi), V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_JPEG), -ENODEV);
	struct v4l2_device_info moved[N(pi)];
	memcpy(moved, pi, sizeof(pi));
	moved[0] = fx_bcm2835_image;
	snprintf(moved[0].path, sizeof(moved[0].path), "/dev/video0");
	moved[5] = fx_uvc;
	assert_int_equal(m2m_discover(moved, N(moved), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG), 0);
	/* old firmware: no JPEG anywhere */
	pi[5] = fx_bcm2835_image_nofw;
	assert_int_equal(m2m_discover(pi, N(pi), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG), -ENODEV);
	pi[5] = fx_bcm2835_image_noraw;
	assert_int_equal(m2m_discover(pi, N(pi), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG), -ENODEV);
	pi[5] = fx_bcm2835_image;

	assert_int_equal(m2m_discover(testbed, N(testbed), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_FWHT),
			 0);
	assert_int_equal(m2m_discover(testbed, N(testbed), V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_JPEG),
			 -ENODEV);
	assert_int_equal(m2m_discover(testbed, 0, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_FWHT), -ENODEV);
}

static void check_request(const struct capture_request *req, const uint32_t *want, unsigned n,
			  unsigned stride_align, unsigned height_align)
{
	char a[5], b[5];
	if (req->n != n)
		fail_msg("%u formats, want %u", req->n, n);
	for (unsigned i = 0; i < n; i++)
		if (req->fourccs[i] != want[i])
			fail_msg("format %u is %s, want %s", i, fourcc_str(req->fourccs[i], a),
				 fourcc_str(want[i], b));
	assert_int_equal(req->stride_align, stride_align);
	assert_int_equal(req->height_align, height_align);
}

static void test_capture_request(void **state)
{
	(void)state;
	struct capture_request req;
	const uint32_t sw[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB24,
				V4L2_PIX_FMT_BGR24 };
	capture_request_for(ENCODER_SOFTWARE, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, sw, 4, 0, 0);

	const uint32_t jpeg[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG };
	capture_request_for(ENCODER_PASSTHROUGH, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, jpeg, 2, 0, 0);

	/* The Pi's image encoder takes YU12, YUYV, RGB3 and BGR3 (not NV12) of ours, with a
	 * 64-byte stride and 16-row padding (src/v4l2/layout.c). */
	const uint32_t pi_m2m[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB24,
				    V4L2_PIX_FMT_BGR24 };
	capture_request_for(ENCODER_M2M, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, pi_m2m, 4, 64, 16);

	const uint32_t pi_auto[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUV420,
				     V4L2_PIX_FMT_YUYV,	 V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
	capture_request_for(ENCODER_AUTO, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, pi_auto, 6, 64, 16);
	/* --format: one of them, marked M2M when it was; one the encoder does not take: refused */
	struct capture_request only = req;
	assert_int_equal(capture_request_only(&only, V4L2_PIX_FMT_NV12), -EINVAL);
	assert_memory_equal(&only, &req, sizeof(req));
	assert_int_equal(capture_request_only(&only, V4L2_PIX_FMT_YUYV), 0);
	const uint32_t yuyv[] = { V4L2_PIX_FMT_YUYV };
	check_request(&only, yuyv, 1, 64, 16);
	assert_int_equal(only.m2m_first, 0);
	assert_int_equal(only.m2m_count, 1);
	only = req;
	assert_int_equal(capture_request_only(&only, V4L2_PIX_FMT_MJPEG), 0);
	assert_int_equal(only.n, 1);
	assert_int_equal(only.m2m_count, 0);

	/* vicodec computes bytesperline itself: no alignment asked. */
	const uint32_t tb_m2m[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12,
				    V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
	capture_request_for(ENCODER_M2M, testbed, N(testbed), V4L2_PIX_FMT_FWHT, &req);
	check_request(&req, tb_m2m, 5, 0, 0);
	capture_request_for(ENCODER_M2M, testbed, N(testbed), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, NULL, 0, 0, 0);
	capture_request_for(ENCODER_AUTO, testbed, N(testbed), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, pi_auto, 6, 0, 0);
}

/* Formats an encoder reads with padded rows (VIDIOC_TRY_FMT's answer) go behind the others when
 * they are planar: their chroma is not where the camera puts it. */
static void test_prefer_import(void **state)
{
	(void)state;
	struct capture_request req;
	unsigned padded[CAPTURE_REQUEST_MAX] = { 0 };

	/* Pi, auto, 1920x1080: bcm2835-codec answers 1088 rows for both; YUYV is packed */
	capture_request_for(ENCODER_AUTO, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	assert_int_equal(req.m2m_first, 2);
	assert_int_equal(req.m2m_count, 4);
	padded[2] = 1088;
	padded[3] = 1088;
	capture_request_prefer_import(&req, padded, 1080);
	/* packed formats (which need no row padding) first, planar YU12 last */
	const uint32_t pi_1080[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUYV,
				     V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24, V4L2_PIX_FMT_YUV420 };
	check_request(&req, pi_1080, 6, 64, 16);

	/* 720 rows are a multiple of 16: nothing moves */
	capture_request_for(ENCODER_AUTO, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	padded[2] = padded[3] = 720;
	capture_request_prefer_import(&req, padded, 720);
	const uint32_t pi_720[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUV420,
				    V4L2_PIX_FMT_YUYV,	V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
	check_request(&req, pi_720, 6, 64, 16);

	/* test bed, vicodec at 640x360: YU12 and NV12 padded to 368 (recorded), YUYV not */
	memset(padded, 0, sizeof(padded));
	capture_request_for(ENCODER_M2M, testbed, N(testbed), V4L2_PIX_FMT_FWHT, &req);
	padded[0] = 368;
	padded[1] = 360;
	padded[2] = 368;
	capture_request_prefer_import(&req, padded, 360);
	const uint32_t tb_360[] = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24,
				    V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_NV12 };
	check_request(&req, tb_360, 5, 0, 0);

	/* unknown answers (0): the order stays */
	memset(padded, 0, sizeof(padded));
	capture_request_for(ENCODER_M2M, testbed, N(testbed), V4L2_PIX_FMT_FWHT, &req);
	capture_request_prefer_import(&req, padded, 360);
	const uint32_t tb_any[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12,
				    V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
	check_request(&req, tb_any, 5, 0, 0);

	/* no M2M formats: nothing to do */
	capture_request_for(ENCODER_SOFTWARE, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	assert_int_equal(req.m2m_count, 0);
	capture_request_prefer_import(&req, padded, 1080);
	assert_int_equal(req.fourccs[0], V4L2_PIX_FMT_YUV420);
}

static void check_choose(enum encoder_kind kind, uint32_t src, const struct v4l2_device_info *devs,
			 size_t n, uint32_t out, int want, int want_index)
{
	int index = -1;
	int r = encoder_choose(kind, src, devs, n, out, &index);
	if (r != want)
		fail_msg("encoder_choose(%s, %.4s): %d, want %d", encoder_kind_name(kind),
			 (const char *)&src, r, want);
	if (r == ENCODER_M2M)
		assert_int_equal(index, want_index);
}

static void test_encoder_choose(void **state)
{
	(void)state;
	size_t np = N(pi), nt = N(testbed);
	uint32_t J = V4L2_PIX_FMT_JPEG, F = V4L2_PIX_FMT_FWHT;
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_YUYV, pi, np, J, ENCODER_M2M, 5);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_YUV420, pi, np, J, ENCODER_M2M, 5);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_MJPEG, pi, np, J, ENCODER_PASSTHROUGH, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_JPEG, testbed, nt, J, ENCODER_PASSTHROUGH, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_YUYV, testbed, nt, J, ENCODER_SOFTWARE, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_RGB24, testbed, nt, J, ENCODER_SOFTWARE, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_NV12, testbed, nt, J, -EOPNOTSUPP, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_NV12, testbed, nt, F, ENCODER_M2M, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_YUYV, NULL, 0, J, ENCODER_SOFTWARE, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_YUV420, testbed, nt, F, ENCODER_M2M, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_YUV420, testbed, nt, J, -ENODEV, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_MJPEG, pi, np, J, -EINVAL, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_NV12, pi, np, J, -ENODEV, 0);
	check_choose(ENCODER_PASSTHROUGH, V4L2_PIX_FMT_YUYV, pi, np, J, -EINVAL, 0);
	check_choose(ENCODER_PASSTHROUGH, V4L2_PIX_FMT_MJPEG, pi, np, J, ENCODER_PASSTHROUGH, 0);
	check_choose(ENCODER_SOFTWARE, V4L2_PIX_FMT_MJPEG, pi, np, J, -EINVAL, 0);
	check_choose(ENCODER_SOFTWARE, V4L2_PIX_FMT_YUYV, pi, np, J, ENCODER_SOFTWARE, 0);
}

/* The whole negotiation as the pipeline runs it: request → camera's answer → encoder. */
static void test_negotiation_end_to_end(void **state)
{
	(void)state;
	struct capture_request req;
	uint32_t f = 0;

	/* UVC webcam on a Pi, auto: its MJPEG, passed through. */
	capture_request_for(ENCODER_AUTO, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	assert_int_equal(v4l2_source_check(&fx_uvc, req.fourccs, req.n, true, &f, NULL, 0), 0);
	assert_int_equal(f, V4L2_PIX_FMT_MJPEG);
	int idx = -1;
	assert_int_equal(encoder_choose(ENCODER_AUTO, f, pi, N(pi), V4L2_PIX_FMT_JPEG, &idx),
			 ENCODER_PASSTHROUGH);

	/* A YUYV-only camera on a Pi, auto: the hardware JPEG encoder. */
	struct v4l2_device_info yuyv_cam = fx_uvc;
	yuyv_cam.n_capture = 1;
	assert_int_equal(v4l2_source_check(&yuyv_cam, req.fourccs, req.n, true, &f, NULL, 0), 0);
	assert_int_equal(f, V4L2_PIX_FMT_YUYV);
	assert_int_equal(encoder_choose(ENCODER_AUTO, f, pi, N(pi), V4L2_PIX_FMT_JPEG, &idx),
			 ENCODER_M2M);
	assert_string_equal(pi[idx].card, "bcm2835-codec-encode_image");

	/* Test bed, --encoder m2m --m2m-format fwht: vivid gives YU12, vicodec encodes it. */
	capture_request_for(ENCODER_M2M, testbed, N(testbed), V4L2_PIX_FMT_FWHT, &req);
	assert_int_equal(v4l2_source_check(&fx_vivid_cap, req.fourccs, req.n, true, &f, NULL, 0), 0);
	assert_int_equal(f, V4L2_PIX_FMT_YUV420);
	assert_int_equal(encoder_choose(ENCODER_M2M, f, testbed, N(testbed), V4L2_PIX_FMT_FWHT,
					&idx),
			 ENCODER_M2M);
	assert_string_equal(testbed[idx].path, "/dev/video0");

	/* Test bed, auto: the first usable camera skips vicodec, vim2m and vimc's nodes. */
	capture_request_for(ENCODER_AUTO, testbed, N(testbed), V4L2_PIX_FMT_JPEG, &req);
	int first = -1;
	for (size_t i = 0; i < N(testbed) && first < 0; i++)
		if (v4l2_source_check(&testbed[i], req.fourccs, req.n, true, &f, NULL, 0) == 0)
			first = (int)i;
	assert_int_equal(first, 5);
	assert_string_equal(testbed[first].path, "/dev/video7");
}

static char *describe(const struct v4l2_device_info *devs, size_t n, uint32_t out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	v4l2_describe_devices(devs, n, out, f);
	fclose(f);
	return text;
}

static void must_contain(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("--list-devices lacks \"%s\":\n%s", want, text);
}

static void test_describe(void **state)
{
	(void)state;
	char *t = describe(testbed, N(testbed), V4L2_PIX_FMT_JPEG);
	must_contain(t, "/dev/video7: vivid (driver vivid, platform:vivid-000)");
	must_contain(t, "  kind: video capture\n");
	must_contain(t, "  as source: usable (YU12), --source v4l2:/dev/video7");
	must_contain(t, "/dev/video0: vicodec (driver vicodec, platform:vicodec)");
	must_contain(t, "  kind: memory-to-memory (codec/converter)");
	must_contain(t, "  as JPEG encoder: no, its CAPTURE queue does not produce JPEG (FWHT)");
	must_contain(t, "  as source: no, a memory-to-memory (codec/converter) device, not a camera");
	must_contain(t, "media-controller node");
	must_contain(t, "  capture formats: YUYV UYVY YVYU VYUY 422P YU12");
	free(t);

	t = describe(testbed, N(testbed), V4L2_PIX_FMT_FWHT);
	must_contain(t, "  as FWHT encoder: usable (from YU12), --encoder m2m:/dev/video0");
	free(t);

	t = describe(pi, N(pi), V4L2_PIX_FMT_JPEG);
	must_contain(t, "/dev/video31: bcm2835-codec-encode_image");
	must_contain(t, "  kind: memory-to-memory (codec/converter), multi-planar");
	must_contain(t, "  as JPEG encoder: usable (from YU12), --encoder m2m:/dev/video31");
	must_contain(t, "  as source: usable (MJPG), --source v4l2:/dev/video0");
	must_contain(t, "/dev/video1: HD Pro Webcam C920");
	must_contain(t, "a metadata device, not a camera");
	free(t);

	struct v4l2_device_info old[2] = { fx_bcm2835_image_nofw, fx_busy };
	t = describe(old, 2, V4L2_PIX_FMT_JPEG);
	must_contain(t, "start_x=1 in config.txt");
	must_contain(t, "/dev/video3: cannot be opened: Device or resource busy");
	free(t);

	t = describe(NULL, 0, V4L2_PIX_FMT_JPEG);
	must_contain(t, "no /dev/video* device found");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_pick_format),
		cmocka_unit_test(test_source_check),
		cmocka_unit_test(test_m2m_check),
		cmocka_unit_test_setup(test_discover, setup),
		cmocka_unit_test_setup(test_unusable_encoder, setup),
		cmocka_unit_test_setup(test_capture_request, setup),
		cmocka_unit_test_setup(test_prefer_import, setup),
		cmocka_unit_test_setup(test_encoder_choose, setup),
		cmocka_unit_test_setup(test_negotiation_end_to_end, setup),
		cmocka_unit_test_setup(test_describe, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
