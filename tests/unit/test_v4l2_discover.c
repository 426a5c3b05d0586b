/* Device classification and checks (src/v4l2/discover.c) over recorded device answers (tests/unit/v4l2_fixtures.h): the test bed's vivid/vicodec/vim2m/vimc and a
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

#include "mjpegd/v4l2/discover.h"
#include "v4l2_fixtures.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classification),
		cmocka_unit_test(test_pick_format),
		cmocka_unit_test(test_source_check),
		cmocka_unit_test(test_m2m_check),
		cmocka_unit_test_setup(test_discover, fixtures_setup),
		cmocka_unit_test_setup(test_unusable_encoder, fixtures_setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
