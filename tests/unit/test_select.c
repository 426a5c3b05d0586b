/* Which camera formats, which encoder (src/select.c), over recorded device answers
 * (tests/unit/v4l2_fixtures.h): the test bed's vivid/vicodec/vim2m/vimc and a Raspberry Pi's
 * bcm2835-codec nodes; and --list-devices' verdicts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/select.h"
#include "v4l2_fixtures.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

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
	const uint32_t sw[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12,
				V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
	capture_request_for(ENCODER_SOFTWARE, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, sw, 5, 0, 0);

	const uint32_t jpeg[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG };
	capture_request_for(ENCODER_PASSTHROUGH, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, jpeg, 2, 0, 0);

	/* The Pi's image encoder takes YU12, YUYV, RGB3 and BGR3 (not NV12) of ours, with a
	 * 64-byte stride and 16-row padding (src/v4l2/layout.c). */
	const uint32_t pi_m2m[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB24,
				    V4L2_PIX_FMT_BGR24 };
	capture_request_for(ENCODER_M2M, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, pi_m2m, 4, 64, 16);

	/* NV12 last: the software encoder's, after the M2M formats */
	const uint32_t pi_auto[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUV420,
				     V4L2_PIX_FMT_YUYV,	 V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24,
				     V4L2_PIX_FMT_NV12 };
	capture_request_for(ENCODER_AUTO, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	check_request(&req, pi_auto, 7, 64, 16);
	/* each format's own row alignment (the image encoder's column of bytesperline_align): YU12
	 * and RGB3 rows of 32 bytes, YUYV of 64, JPEG and the software encoder's NV12 none */
	const unsigned pi_aligns[] = { 0, 0, 32, 64, 32, 32, 0 };
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(req.stride_aligns[i], pi_aligns[i]);
	/* --format: one of them, marked M2M when it was; one the encoder does not take: refused */
	struct capture_request only = req;
	assert_int_equal(capture_request_only(&only, V4L2_PIX_FMT_UYVY), -EINVAL);
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
	const uint32_t tb_auto[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUV420,
				     V4L2_PIX_FMT_YUYV,	 V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_RGB24,
				     V4L2_PIX_FMT_BGR24 };
	check_request(&req, tb_auto, 7, 0, 0);
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
				     V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24, V4L2_PIX_FMT_YUV420,
				     V4L2_PIX_FMT_NV12 };
	check_request(&req, pi_1080, 7, 64, 16);
	/* the alignments move with their formats; the software encoder's NV12 stays last */
	const unsigned aligns_1080[] = { 0, 0, 64, 32, 32, 32, 0 };
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(req.stride_aligns[i], aligns_1080[i]);

	/* 720 rows are a multiple of 16: nothing moves */
	capture_request_for(ENCODER_AUTO, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	padded[2] = padded[3] = 720;
	capture_request_prefer_import(&req, padded, 720);
	const uint32_t pi_720[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG, V4L2_PIX_FMT_YUV420,
				    V4L2_PIX_FMT_YUYV,	V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24,
				    V4L2_PIX_FMT_NV12 };
	check_request(&req, pi_720, 7, 64, 16);

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
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_NV12, testbed, nt, J, ENCODER_SOFTWARE, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_UYVY, testbed, nt, J, -EOPNOTSUPP, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_NV12, testbed, nt, F, ENCODER_M2M, 0);
	check_choose(ENCODER_AUTO, V4L2_PIX_FMT_YUYV, NULL, 0, J, ENCODER_SOFTWARE, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_YUV420, testbed, nt, F, ENCODER_M2M, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_YUV420, testbed, nt, J, -ENODEV, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_MJPEG, pi, np, J, -EINVAL, 0);
	check_choose(ENCODER_M2M, V4L2_PIX_FMT_NV12, pi, np, J, -ENODEV, 0);
	check_choose(ENCODER_PASSTHROUGH, V4L2_PIX_FMT_YUYV, pi, np, J, -EINVAL, 0);
	check_choose(ENCODER_PASSTHROUGH, V4L2_PIX_FMT_MJPEG, pi, np, J, ENCODER_PASSTHROUGH, 0);
	check_choose(ENCODER_SOFTWARE, V4L2_PIX_FMT_MJPEG, pi, np, J, -EINVAL, 0);
	check_choose(ENCODER_SOFTWARE, V4L2_PIX_FMT_NV12, pi, np, J, ENCODER_SOFTWARE, 0);
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
	select_describe_devices(devs, n, out, f);
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

/* Which nodes are probed for an M2M encoder. */
static void test_m2m_nodes(void **state)
{
	(void)state;
	assert_int_equal(select_m2m_nodes(ENCODER_SOFTWARE, ""), SELECT_NODES_NONE);
	assert_int_equal(select_m2m_nodes(ENCODER_PASSTHROUGH, "/dev/video31"), SELECT_NODES_NONE);
	assert_int_equal(select_m2m_nodes(ENCODER_AUTO, ""), SELECT_NODES_ALL);
	assert_int_equal(select_m2m_nodes(ENCODER_M2M, ""), SELECT_NODES_ALL);
	assert_int_equal(select_m2m_nodes(ENCODER_M2M, "/dev/video31"), SELECT_NODES_NAMED);
	assert_int_equal(select_m2m_out_fourcc(M2M_FORMAT_JPEG), V4L2_PIX_FMT_JPEG);
	assert_int_equal(select_m2m_out_fourcc(M2M_FORMAT_FWHT), V4L2_PIX_FMT_FWHT);
}

/* --format: kept when the encoder takes it, refused with what it takes otherwise. */
static void test_capture_format(void **state)
{
	(void)state;
	struct capture_request req;
	char why[256] = "";
	capture_request_for(ENCODER_SOFTWARE, pi, N(pi), V4L2_PIX_FMT_JPEG, &req);
	assert_int_equal(capture_request_format(&req, 0, ENCODER_SOFTWARE, why, sizeof(why)), 0);
	assert_int_equal(req.n, 5);
	assert_int_equal(capture_request_format(&req, V4L2_PIX_FMT_UYVY, ENCODER_SOFTWARE, why,
						sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "--format UYVY: the software encoder does not take it (it takes "
				 "YU12 YUYV NV12 RGB3 BGR3)");
	assert_int_equal(capture_request_format(&req, V4L2_PIX_FMT_YUYV, ENCODER_SOFTWARE, why,
						sizeof(why)),
			 0);
	assert_int_equal(req.n, 1);
	capture_request_for(ENCODER_M2M, testbed, N(testbed), V4L2_PIX_FMT_JPEG, &req);
	assert_int_equal(capture_request_format(&req, V4L2_PIX_FMT_YUYV, ENCODER_M2M, why,
						sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "--format YUYV: the m2m encoder does not take it (it takes nothing "
				 "here)");
}

/* What the log says when no encoder fits, and when auto falls back to software. */
static void test_encoder_refusal(void **state)
{
	(void)state;
	char why[256];
	encoder_choose_refusal(ENCODER_PASSTHROUGH, V4L2_PIX_FMT_YUYV, "v4l2 /dev/video0",
			       V4L2_PIX_FMT_JPEG, why, sizeof(why));
	assert_string_equal(why, "--encoder passthrough: the source (v4l2 /dev/video0) gives raw "
				 "frames, not JPEG; use --encoder software or auto");
	encoder_choose_refusal(ENCODER_SOFTWARE, V4L2_PIX_FMT_MJPEG, "cam", V4L2_PIX_FMT_JPEG, why,
			       sizeof(why));
	assert_string_equal(why, "--encoder software: the source (cam) already gives JPEG; use "
				 "--encoder passthrough or auto");
	encoder_choose_refusal(ENCODER_M2M, V4L2_PIX_FMT_NV12, "cam", V4L2_PIX_FMT_JPEG, why,
			       sizeof(why));
	assert_string_equal(why, "--encoder m2m: no M2M device turns the source's NV12 into JPEG "
				 "(mjpegd --list-devices says why)");
	encoder_choose_refusal(ENCODER_AUTO, V4L2_PIX_FMT_UYVY, "cam", V4L2_PIX_FMT_JPEG, why,
			       sizeof(why));
	assert_string_equal(why, "no encoder takes the source's format UYVY (cam)");

	assert_true(select_software_after_m2m(ENCODER_AUTO, ENCODER_M2M, V4L2_PIX_FMT_YUV420));
	assert_false(select_software_after_m2m(ENCODER_M2M, ENCODER_M2M, V4L2_PIX_FMT_YUV420));
	assert_true(select_software_after_m2m(ENCODER_AUTO, ENCODER_M2M, V4L2_PIX_FMT_NV12));
	assert_false(select_software_after_m2m(ENCODER_AUTO, ENCODER_M2M, V4L2_PIX_FMT_UYVY));
	assert_false(select_software_after_m2m(ENCODER_AUTO, ENCODER_AUTO, V4L2_PIX_FMT_YUV420));
	assert_true(select_software_takes(V4L2_PIX_FMT_BGR24));
	assert_false(select_software_takes(V4L2_PIX_FMT_MJPEG));
}

/* Issue 20: which camera errors at start are waited out (placeholder, retries) */
static void test_wait_for_camera(void **state)
{
	(void)state;
	assert_true(select_wait_for_camera(SOURCE_V4L2, "/dev/video0", -EBUSY));
	assert_true(select_wait_for_camera(SOURCE_LIBCAMERA, "", -EBUSY));
	assert_true(select_wait_for_camera(SOURCE_V4L2, "/dev/v4l/by-id/usb-046d_C920-video-index0",
					   -ENOENT));
	assert_true(select_wait_for_camera(SOURCE_V4L2, "/dev/v4l/by-path/platform-xhci-hcd.0-usb-0:1:1.0-video-index0",
					   -ENOENT));
	/* a node number that is not there, a mistyped libcamera id, other errors: exit */
	assert_false(select_wait_for_camera(SOURCE_V4L2, "/dev/video99", -ENOENT));
	assert_false(select_wait_for_camera(SOURCE_V4L2, "/dev/v4l/video0", -ENOENT));
	assert_false(select_wait_for_camera(SOURCE_LIBCAMERA, "/dev/v4l/by-id/x", -ENOENT));
	assert_false(select_wait_for_camera(SOURCE_V4L2, "/dev/v4l/by-id/x", -EACCES));
	assert_false(select_wait_for_camera(SOURCE_V4L2, "/dev/v4l/by-id/x", -ENOTTY));
	assert_false(select_wait_for_camera(SOURCE_V4L2, NULL, -ENOENT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_capture_request, fixtures_setup),
		cmocka_unit_test_setup(test_prefer_import, fixtures_setup),
		cmocka_unit_test_setup(test_encoder_choose, fixtures_setup),
		cmocka_unit_test_setup(test_negotiation_end_to_end, fixtures_setup),
		cmocka_unit_test_setup(test_describe, fixtures_setup),
		cmocka_unit_test(test_m2m_nodes),
		cmocka_unit_test_setup(test_capture_format, fixtures_setup),
		cmocka_unit_test(test_encoder_refusal),
		cmocka_unit_test(test_wait_for_camera),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
