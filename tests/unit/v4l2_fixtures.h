/* Recorded VIDIOC_QUERYCAP / VIDIOC_ENUM_FMT answers, for the pure discovery and negotiation code
 * (src/v4l2/discover.c).
 *
 * vivid, vicodec, vim2m, vimc: recorded on the test bed (tests/vm, Linux 6.1.192, 2026-11) with
 * `v4l2-ctl -d /dev/videoN --info --list-formats --list-formats-out`; device_caps and the format
 * lists as the drivers answered, in their order (the node numbers are what that boot gave).
 *
 * bcm2835-codec (Raspberry Pi): written from raspberrypi/linux
 * drivers/staging/vc04_services/bcm2835-codec/bcm2835-v4l2-codec.c: querycap (driver
 * "bcm2835-codec", card "bcm2835-codec-<role>", bus "platform:bcm2835-codec"), device_caps
 * V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING (+ V4L2_CAP_EXT_PIX_FORMAT, added by the V4L2
 * core), formats = the firmware component's MMAL_PARAMETER_SUPPORTED_ENCODINGS mapped through
 * supported_formats[] (unknown encodings dropped). For the image encoder (ril.image_encode,
 * /dev/video31) the firmware list is the one 6by9 posted in raspberrypi/linux#4923 (input RGB2
 * RGB3 BGR3 RGBA BGRA I420 I422 YUYV YVYU VYUY UYVY OPQV, output GIF BMP JPEG PNG PPM TGA); without
 * the image encoder in the firmware (start_x=1 on older firmware) its CAPTURE list is empty.
 *
 * The UVC webcam is illustrative (a typical uvcvideo answer), not a recording.
 */
#ifndef MJPEGD_TEST_V4L2_FIXTURES_H
#define MJPEGD_TEST_V4L2_FIXTURES_H

#include <linux/videodev2.h>

#include "mjpegd/v4l2/discover.h"

#define BCM2835_CAPS (V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_EXT_PIX_FORMAT | V4L2_CAP_STREAMING)

/* vivid capture (webcam input), /dev/video7 on the test bed */
static const struct v4l2_device_info fx_vivid_cap = {
	.path = "/dev/video7", .driver = "vivid", .card = "vivid", .bus_info = "platform:vivid-000",
	.caps = 0x05230005,
	.n_capture = 83,
	.capture = {
		v4l2_fourcc('Y', 'U', 'Y', 'V'), v4l2_fourcc('U', 'Y', 'V', 'Y'), v4l2_fourcc('Y', 'V', 'Y', 'U'),
		v4l2_fourcc('V', 'Y', 'U', 'Y'), v4l2_fourcc('4', '2', '2', 'P'), v4l2_fourcc('Y', 'U', '1', '2'),
		v4l2_fourcc('Y', 'V', '1', '2'), v4l2_fourcc('N', 'V', '1', '2'), v4l2_fourcc('N', 'V', '2', '1'),
		v4l2_fourcc('N', 'V', '1', '6'), v4l2_fourcc('N', 'V', '6', '1'), v4l2_fourcc('N', 'V', '2', '4'),
		v4l2_fourcc('N', 'V', '4', '2'), v4l2_fourcc('Y', 'U', 'V', 'O'), v4l2_fourcc('Y', 'U', 'V', 'P'),
		v4l2_fourcc('Y', '4', '4', '4'), v4l2_fourcc('Y', 'U', 'V', '4'), v4l2_fourcc('A', 'Y', 'U', 'V'),
		v4l2_fourcc('X', 'Y', 'U', 'V'), v4l2_fourcc('V', 'U', 'Y', 'A'), v4l2_fourcc('V', 'U', 'Y', 'X'),
		v4l2_fourcc('Y', 'U', 'V', 'A'), v4l2_fourcc('Y', 'U', 'V', 'X'), v4l2_fourcc('G', 'R', 'E', 'Y'),
		v4l2_fourcc('Y', '1', '0', ' '), v4l2_fourcc('Y', '1', '2', ' '), v4l2_fourcc('Y', '1', '6', ' '),
		v4l2_fourcc_be('Y', '1', '6', ' '), v4l2_fourcc('R', 'G', 'B', '1'), v4l2_fourcc('R', 'G', 'B', 'P'),
		v4l2_fourcc('R', 'G', 'B', 'R'), v4l2_fourcc('R', '4', '4', '4'), v4l2_fourcc('X', 'R', '1', '2'),
		v4l2_fourcc('A', 'R', '1', '2'), v4l2_fourcc('R', 'X', '1', '2'), v4l2_fourcc('R', 'A', '1', '2'),
		v4l2_fourcc('X', 'B', '1', '2'), v4l2_fourcc('A', 'B', '1', '2'), v4l2_fourcc('B', 'X', '1', '2'),
		v4l2_fourcc('G', 'A', '1', '2'), v4l2_fourcc('R', 'G', 'B', 'O'), v4l2_fourcc('X', 'R', '1', '5'),
		v4l2_fourcc('A', 'R', '1', '5'), v4l2_fourcc('R', 'X', '1', '5'), v4l2_fourcc('R', 'A', '1', '5'),
		v4l2_fourcc('X', 'B', '1', '5'), v4l2_fourcc('A', 'B', '1', '5'), v4l2_fourcc('B', 'X', '1', '5'),
		v4l2_fourcc('B', 'A', '1', '5'), v4l2_fourcc('R', 'G', 'B', 'Q'), v4l2_fourcc_be('X', 'R', '1', '5'),
		v4l2_fourcc_be('A', 'R', '1', '5'), v4l2_fourcc('R', 'G', 'B', '3'), v4l2_fourcc('B', 'G', 'R', '3'),
		v4l2_fourcc('B', 'G', 'R', 'H'), v4l2_fourcc('R', 'G', 'B', '4'), v4l2_fourcc('B', 'G', 'R', '4'),
		v4l2_fourcc('B', 'X', '2', '4'), v4l2_fourcc('X', 'R', '2', '4'), v4l2_fourcc('B', 'A', '2', '4'),
		v4l2_fourcc('A', 'R', '2', '4'), v4l2_fourcc('X', 'B', '2', '4'), v4l2_fourcc('R', 'X', '2', '4'),
		v4l2_fourcc('A', 'B', '2', '4'), v4l2_fourcc('R', 'A', '2', '4'), v4l2_fourcc('B', 'A', '8', '1'),
		v4l2_fourcc('G', 'B', 'R', 'G'), v4l2_fourcc('G', 'R', 'B', 'G'), v4l2_fourcc('R', 'G', 'G', 'B'),
		v4l2_fourcc('B', 'G', '1', '0'), v4l2_fourcc('G', 'B', '1', '0'), v4l2_fourcc('B', 'A', '1', '0'),
		v4l2_fourcc('R', 'G', '1', '0'), v4l2_fourcc('B', 'G', '1', '2'), v4l2_fourcc('G', 'B', '1', '2'),
		v4l2_fourcc('B', 'A', '1', '2'), v4l2_fourcc('R', 'G', '1', '2'), v4l2_fourcc('B', 'Y', 'R', '2'),
		v4l2_fourcc('G', 'B', '1', '6'), v4l2_fourcc('G', 'R', '1', '6'), v4l2_fourcc('R', 'G', '1', '6'),
		v4l2_fourcc('H', 'S', 'V', '3'), v4l2_fourcc('H', 'S', 'V', '4'),
	},
	.n_output = 0,
};

/* vivid video output */
static const struct v4l2_device_info fx_vivid_out = {
	.path = "/dev/video8", .driver = "vivid", .card = "vivid", .bus_info = "platform:vivid-000",
	.caps = 0x05220002,
	.n_capture = 0,
	.n_output = 83,
	.output = {
		v4l2_fourcc('Y', 'U', 'Y', 'V'), v4l2_fourcc('U', 'Y', 'V', 'Y'), v4l2_fourcc('Y', 'V', 'Y', 'U'),
		v4l2_fourcc('V', 'Y', 'U', 'Y'), v4l2_fourcc('4', '2', '2', 'P'), v4l2_fourcc('Y', 'U', '1', '2'),
		v4l2_fourcc('Y', 'V', '1', '2'), v4l2_fourcc('N', 'V', '1', '2'), v4l2_fourcc('N', 'V', '2', '1'),
		v4l2_fourcc('N', 'V', '1', '6'), v4l2_fourcc('N', 'V', '6', '1'), v4l2_fourcc('N', 'V', '2', '4'),
		v4l2_fourcc('N', 'V', '4', '2'), v4l2_fourcc('Y', 'U', 'V', 'O'), v4l2_fourcc('Y', 'U', 'V', 'P'),
		v4l2_fourcc('Y', '4', '4', '4'), v4l2_fourcc('Y', 'U', 'V', '4'), v4l2_fourcc('A', 'Y', 'U', 'V'),
		v4l2_fourcc('X', 'Y', 'U', 'V'), v4l2_fourcc('V', 'U', 'Y', 'A'), v4l2_fourcc('V', 'U', 'Y', 'X'),
		v4l2_fourcc('Y', 'U', 'V', 'A'), v4l2_fourcc('Y', 'U', 'V', 'X'), v4l2_fourcc('G', 'R', 'E', 'Y'),
		v4l2_fourcc('Y', '1', '0', ' '), v4l2_fourcc('Y', '1', '2', ' '), v4l2_fourcc('Y', '1', '6', ' '),
		v4l2_fourcc_be('Y', '1', '6', ' '), v4l2_fourcc('R', 'G', 'B', '1'), v4l2_fourcc('R', 'G', 'B', 'P'),
		v4l2_fourcc('R', 'G', 'B', 'R'), v4l2_fourcc('R', '4', '4', '4'), v4l2_fourcc('X', 'R', '1', '2'),
		v4l2_fourcc('A', 'R', '1', '2'), v4l2_fourcc('R', 'X', '1', '2'), v4l2_fourcc('R', 'A', '1', '2'),
		v4l2_fourcc('X', 'B', '1', '2'), v4l2_fourcc('A', 'B', '1', '2'), v4l2_fourcc('B', 'X', '1', '2'),
		v4l2_fourcc('G', 'A', '1', '2'), v4l2_fourcc('R', 'G', 'B', 'O'), v4l2_fourcc('X', 'R', '1', '5'),
		v4l2_fourcc('A', 'R', '1', '5'), v4l2_fourcc('R', 'X', '1', '5'), v4l2_fourcc('R', 'A', '1', '5'),
		v4l2_fourcc('X', 'B', '1', '5'), v4l2_fourcc('A', 'B', '1', '5'), v4l2_fourcc('B', 'X', '1', '5'),
		v4l2_fourcc('B', 'A', '1', '5'), v4l2_fourcc('R', 'G', 'B', 'Q'), v4l2_fourcc_be('X', 'R', '1', '5'),
		v4l2_fourcc_be('A', 'R', '1', '5'), v4l2_fourcc('R', 'G', 'B', '3'), v4l2_fourcc('B', 'G', 'R', '3'),
		v4l2_fourcc('B', 'G', 'R', 'H'), v4l2_fourcc('R', 'G', 'B', '4'), v4l2_fourcc('B', 'G', 'R', '4'),
		v4l2_fourcc('B', 'X', '2', '4'), v4l2_fourcc('X', 'R', '2', '4'), v4l2_fourcc('B', 'A', '2', '4'),
		v4l2_fourcc('A', 'R', '2', '4'), v4l2_fourcc('X', 'B', '2', '4'), v4l2_fourcc('R', 'X', '2', '4'),
		v4l2_fourcc('A', 'B', '2', '4'), v4l2_fourcc('R', 'A', '2', '4'), v4l2_fourcc('B', 'A', '8', '1'),
		v4l2_fourcc('G', 'B', 'R', 'G'), v4l2_fourcc('G', 'R', 'B', 'G'), v4l2_fourcc('R', 'G', 'G', 'B'),
		v4l2_fourcc('B', 'G', '1', '0'), v4l2_fourcc('G', 'B', '1', '0'), v4l2_fourcc('B', 'A', '1', '0'),
		v4l2_fourcc('R', 'G', '1', '0'), v4l2_fourcc('B', 'G', '1', '2'), v4l2_fourcc('G', 'B', '1', '2'),
		v4l2_fourcc('B', 'A', '1', '2'), v4l2_fourcc('R', 'G', '1', '2'), v4l2_fourcc('B', 'Y', 'R', '2'),
		v4l2_fourcc('G', 'B', '1', '6'), v4l2_fourcc('G', 'R', '1', '6'), v4l2_fourcc('R', 'G', '1', '6'),
		v4l2_fourcc('H', 'S', 'V', '3'), v4l2_fourcc('H', 'S', 'V', '4'),
	},
};

/* vivid metadata capture */
static const struct v4l2_device_info fx_vivid_meta = {
	.path = "/dev/video9", .driver = "vivid", .card = "vivid", .bus_info = "platform:vivid-000",
	.caps = 0x05a30000,
	.n_capture = 0,
	.n_output = 0,
};

/* vicodec stateful FWHT encoder (single-planar M2M) */
static const struct v4l2_device_info fx_vicodec_enc = {
	.path = "/dev/video0", .driver = "vicodec", .card = "vicodec", .bus_info = "platform:vicodec",
	.caps = 0x04208000,
	.n_capture = 1,
	.capture = {
		v4l2_fourcc('F', 'W', 'H', 'T'),
	},
	.n_output = 28,
	.output = {
		v4l2_fourcc('Y', 'U', '1', '2'), v4l2_fourcc('Y', 'V', '1', '2'), v4l2_fourcc('4', '2', '2', 'P'),
		v4l2_fourcc('N', 'V', '1', '2'), v4l2_fourcc('N', 'V', '2', '1'), v4l2_fourcc('N', 'V', '1', '6'),
		v4l2_fourcc('N', 'V', '6', '1'), v4l2_fourcc('N', 'V', '2', '4'), v4l2_fourcc('N', 'V', '4', '2'),
		v4l2_fourcc('Y', 'U', 'Y', 'V'), v4l2_fourcc('Y', 'V', 'Y', 'U'), v4l2_fourcc('U', 'Y', 'V', 'Y'),
		v4l2_fourcc('V', 'Y', 'U', 'Y'), v4l2_fourcc('B', 'G', 'R', '3'), v4l2_fourcc('R', 'G', 'B', '3'),
		v4l2_fourcc('H', 'S', 'V', '3'), v4l2_fourcc('B', 'G', 'R', '4'), v4l2_fourcc('X', 'R', '2', '4'),
		v4l2_fourcc('A', 'R', '2', '4'), v4l2_fourcc('R', 'G', 'B', '4'), v4l2_fourcc('B', 'X', '2', '4'),
		v4l2_fourcc('B', 'A', '2', '4'), v4l2_fourcc('R', 'X', '2', '4'), v4l2_fourcc('R', 'A', '2', '4'),
		v4l2_fourcc('X', 'B', '2', '4'), v4l2_fourcc('A', 'B', '2', '4'), v4l2_fourcc('H', 'S', 'V', '4'),
		v4l2_fourcc('G', 'R', 'E', 'Y'),
	},
};

/* vicodec stateful FWHT decoder */
static const struct v4l2_device_info fx_vicodec_dec = {
	.path = "/dev/video1", .driver = "vicodec", .card = "vicodec", .bus_info = "platform:vicodec",
	.caps = 0x04208000,
	.n_capture = 28,
	.capture = {
		v4l2_fourcc('Y', 'U', '1', '2'), v4l2_fourcc('Y', 'V', '1', '2'), v4l2_fourcc('4', '2', '2', 'P'),
		v4l2_fourcc('N', 'V', '1', '2'), v4l2_fourcc('N', 'V', '2', '1'), v4l2_fourcc('N', 'V', '1', '6'),
		v4l2_fourcc('N', 'V', '6', '1'), v4l2_fourcc('N', 'V', '2', '4'), v4l2_fourcc('N', 'V', '4', '2'),
		v4l2_fourcc('Y', 'U', 'Y', 'V'), v4l2_fourcc('Y', 'V', 'Y', 'U'), v4l2_fourcc('U', 'Y', 'V', 'Y'),
		v4l2_fourcc('V', 'Y', 'U', 'Y'), v4l2_fourcc('B', 'G', 'R', '3'), v4l2_fourcc('R', 'G', 'B', '3'),
		v4l2_fourcc('H', 'S', 'V', '3'), v4l2_fourcc('B', 'G', 'R', '4'), v4l2_fourcc('X', 'R', '2', '4'),
		v4l2_fourcc('A', 'R', '2', '4'), v4l2_fourcc('R', 'G', 'B', '4'), v4l2_fourcc('B', 'X', '2', '4'),
		v4l2_fourcc('B', 'A', '2', '4'), v4l2_fourcc('R', 'X', '2', '4'), v4l2_fourcc('R', 'A', '2', '4'),
		v4l2_fourcc('X', 'B', '2', '4'), v4l2_fourcc('A', 'B', '2', '4'), v4l2_fourcc('H', 'S', 'V', '4'),
		v4l2_fourcc('G', 'R', 'E', 'Y'),
	},
	.n_output = 1,
	.output = {
		v4l2_fourcc('F', 'W', 'H', 'T'),
	},
};

/* vim2m (RGB converter M2M) */
static const struct v4l2_device_info fx_vim2m = {
	.path = "/dev/video3", .driver = "vim2m", .card = "vim2m", .bus_info = "platform:vim2m",
	.caps = 0x04208000,
	.n_capture = 9,
	.capture = {
		v4l2_fourcc('R', 'G', 'B', 'P'), v4l2_fourcc('R', 'G', 'B', 'R'), v4l2_fourcc('R', 'G', 'B', '3'),
		v4l2_fourcc('B', 'G', 'R', '3'), v4l2_fourcc('Y', 'U', 'Y', 'V'), v4l2_fourcc('B', 'A', '8', '1'),
		v4l2_fourcc('G', 'B', 'R', 'G'), v4l2_fourcc('G', 'R', 'B', 'G'), v4l2_fourcc('R', 'G', 'G', 'B'),
	},
	.n_output = 4,
	.output = {
		v4l2_fourcc('R', 'G', 'B', 'P'), v4l2_fourcc('R', 'G', 'B', 'R'), v4l2_fourcc('R', 'G', 'B', '3'),
		v4l2_fourcc('B', 'G', 'R', '3'),
	},
};

/* vimc raw capture (media controller) */
static const struct v4l2_device_info fx_vimc_raw = {
	.path = "/dev/video4", .driver = "vimc", .card = "vimc", .bus_info = "platform:vimc",
	.caps = 0x24200001,
	.n_capture = 23,
	.capture = {
		v4l2_fourcc('B', 'G', 'R', '3'), v4l2_fourcc('R', 'G', 'B', '3'), v4l2_fourcc('B', 'A', '2', '4'),
		v4l2_fourcc('B', 'A', '8', '1'), v4l2_fourcc('G', 'B', 'R', 'G'), v4l2_fourcc('G', 'R', 'B', 'G'),
		v4l2_fourcc('R', 'G', 'G', 'B'), v4l2_fourcc('B', 'G', '1', '0'), v4l2_fourcc('G', 'B', '1', '0'),
		v4l2_fourcc('B', 'A', '1', '0'), v4l2_fourcc('R', 'G', '1', '0'), v4l2_fourcc('a', 'B', 'A', '8'),
		v4l2_fourcc('a', 'G', 'A', '8'), v4l2_fourcc('a', 'g', 'A', '8'), v4l2_fourcc('a', 'R', 'A', '8'),
		v4l2_fourcc('b', 'B', 'A', '8'), v4l2_fourcc('b', 'G', 'A', '8'), v4l2_fourcc('B', 'D', '1', '0'),
		v4l2_fourcc('b', 'R', 'A', '8'), v4l2_fourcc('B', 'G', '1', '2'), v4l2_fourcc('G', 'B', '1', '2'),
		v4l2_fourcc('B', 'A', '1', '2'), v4l2_fourcc('R', 'G', '1', '2'),
	},
	.n_output = 0,
};

/* vimc RGB/YUV capture (media controller) */
static const struct v4l2_device_info fx_vimc_rgb = {
	.path = "/dev/video6", .driver = "vimc", .card = "vimc", .bus_info = "platform:vimc",
	.caps = 0x24200001,
	.n_capture = 23,
	.capture = {
		v4l2_fourcc('B', 'G', 'R', '3'), v4l2_fourcc('R', 'G', 'B', '3'), v4l2_fourcc('B', 'A', '2', '4'),
		v4l2_fourcc('B', 'A', '8', '1'), v4l2_fourcc('G', 'B', 'R', 'G'), v4l2_fourcc('G', 'R', 'B', 'G'),
		v4l2_fourcc('R', 'G', 'G', 'B'), v4l2_fourcc('B', 'G', '1', '0'), v4l2_fourcc('G', 'B', '1', '0'),
		v4l2_fourcc('B', 'A', '1', '0'), v4l2_fourcc('R', 'G', '1', '0'), v4l2_fourcc('a', 'B', 'A', '8'),
		v4l2_fourcc('a', 'G', 'A', '8'), v4l2_fourcc('a', 'g', 'A', '8'), v4l2_fourcc('a', 'R', 'A', '8'),
		v4l2_fourcc('b', 'B', 'A', '8'), v4l2_fourcc('b', 'G', 'A', '8'), v4l2_fourcc('B', 'D', '1', '0'),
		v4l2_fourcc('b', 'R', 'A', '8'), v4l2_fourcc('B', 'G', '1', '2'), v4l2_fourcc('G', 'B', '1', '2'),
		v4l2_fourcc('B', 'A', '1', '2'), v4l2_fourcc('R', 'G', '1', '2'),
	},
	.n_output = 0,
};

/* bcm2835-codec-encode_image, /dev/video31 (encode_image_nr = 31) */
static const struct v4l2_device_info fx_bcm2835_image = {
	.path = "/dev/video31", .driver = "bcm2835-codec", .card = "bcm2835-codec-encode_image",
	.bus_info = "platform:bcm2835-codec",
	.caps = BCM2835_CAPS,
	.n_output = 10,
	.output = {
		V4L2_PIX_FMT_RGB565, V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24, V4L2_PIX_FMT_RGBA32,
		V4L2_PIX_FMT_BGR32, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_YVYU,
		V4L2_PIX_FMT_VYUY, V4L2_PIX_FMT_UYVY,
	},
	.n_capture = 1,
	.capture = { V4L2_PIX_FMT_JPEG },
};

/* The same node on firmware without the image encoder: no CAPTURE format at all. */
static const struct v4l2_device_info fx_bcm2835_image_nofw = {
	.path = "/dev/video31", .driver = "bcm2835-codec", .card = "bcm2835-codec-encode_image",
	.bus_info = "platform:bcm2835-codec",
	.caps = BCM2835_CAPS,
	.n_output = 10,
	.output = {
		V4L2_PIX_FMT_RGB565, V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24, V4L2_PIX_FMT_RGBA32,
		V4L2_PIX_FMT_BGR32, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_YVYU,
		V4L2_PIX_FMT_VYUY, V4L2_PIX_FMT_UYVY,
	},
	.n_capture = 0,
};

/* The same, the other way round (the emulated encoder's no_formats=1): no raw format at all. */
static const struct v4l2_device_info fx_bcm2835_image_noraw = {
	.path = "/dev/video31", .driver = "bcm2835-codec", .card = "bcm2835-codec-encode_image",
	.bus_info = "platform:bcm2835-codec",
	.caps = BCM2835_CAPS,
	.n_output = 0,
	.n_capture = 1,
	.capture = { V4L2_PIX_FMT_JPEG },
};

/* bcm2835-codec-decode, /dev/video10: MJPEG/H.264 in, raw out (a decoder, not for us) */
static const struct v4l2_device_info fx_bcm2835_decode = {
	.path = "/dev/video10", .driver = "bcm2835-codec", .card = "bcm2835-codec-decode",
	.bus_info = "platform:bcm2835-codec",
	.caps = BCM2835_CAPS,
	.n_output = 2,
	.output = { V4L2_PIX_FMT_H264, V4L2_PIX_FMT_MJPEG },
	.n_capture = 5,
	.capture = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YVU420, V4L2_PIX_FMT_NV12,
		     V4L2_PIX_FMT_NV21, V4L2_PIX_FMT_RGB565 },
};

/* bcm2835-codec-encode, /dev/video11: raw in, H.264 out */
static const struct v4l2_device_info fx_bcm2835_encode = {
	.path = "/dev/video11", .driver = "bcm2835-codec", .card = "bcm2835-codec-encode",
	.bus_info = "platform:bcm2835-codec",
	.caps = BCM2835_CAPS,
	.n_output = 6,
	.output = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YVU420, V4L2_PIX_FMT_NV12,
		    V4L2_PIX_FMT_NV21, V4L2_PIX_FMT_RGB565, V4L2_PIX_FMT_YUYV },
	.n_capture = 1,
	.capture = { V4L2_PIX_FMT_H264 },
};

/* bcm2835-codec-isp, /dev/video12: raw in, raw out */
static const struct v4l2_device_info fx_bcm2835_isp = {
	.path = "/dev/video12", .driver = "bcm2835-codec", .card = "bcm2835-codec-isp",
	.bus_info = "platform:bcm2835-codec",
	.caps = BCM2835_CAPS,
	.n_output = 3,
	.output = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_SRGGB10P },
	.n_capture = 3,
	.capture = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_RGB24 },
};

/* A UVC webcam (illustrative): YUYV and MJPEG on its video node ... */
static const struct v4l2_device_info fx_uvc = {
	.path = "/dev/video0", .driver = "uvcvideo", .card = "HD Pro Webcam C920",
	.bus_info = "usb-0000:01:00.0-1.2",
	.caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_EXT_PIX_FORMAT | V4L2_CAP_STREAMING,
	.n_capture = 2,
	.capture = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG },
};

/* ... and its metadata node */
static const struct v4l2_device_info fx_uvc_meta = {
	.path = "/dev/video1", .driver = "uvcvideo", .card = "HD Pro Webcam C920",
	.bus_info = "usb-0000:01:00.0-1.2",
	.caps = V4L2_CAP_META_CAPTURE | V4L2_CAP_EXT_PIX_FORMAT | V4L2_CAP_STREAMING,
	.n_capture = 0,
};

/* A node another program holds open exclusively, or without permission */
static const struct v4l2_device_info fx_busy = {
	.path = "/dev/video3", .error = -EBUSY,
};

/* The test bed's nodes in /dev/videoN order, as recorded (video0 … video9, no video2). */
static struct v4l2_device_info testbed[8];
/* A Raspberry Pi with a UVC webcam and the VideoCore codec nodes, in /dev/videoN order. */
static struct v4l2_device_info pi[6];

static int fixtures_setup(void **state)
{
	(void)state;
	const struct v4l2_device_info *t[] = { &fx_vicodec_enc, &fx_vicodec_dec, &fx_vim2m,
					       &fx_vimc_raw,    &fx_vimc_rgb,    &fx_vivid_cap,
					       &fx_vivid_out,   &fx_vivid_meta };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		testbed[i] = *t[i];
	const struct v4l2_device_info *p[] = { &fx_uvc,	      &fx_uvc_meta,	  &fx_bcm2835_decode,
					       &fx_bcm2835_encode, &fx_bcm2835_isp, &fx_bcm2835_image };
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		pi[i] = *p[i];
	return 0;
}

#endif
