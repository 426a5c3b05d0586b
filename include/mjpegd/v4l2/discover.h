/* Which /dev/video* node is a camera, which is a usable M2M JPEG encoder, and why not: V4L2 facts
 * only (which source, encoder and formats mjpegd then chooses is include/mjpegd/select.h).
 *
 * Pure: every decision is a function over recorded VIDIOC_QUERYCAP / VIDIOC_ENUM_FMT answers
 * (struct v4l2_device_info), which src/v4l2/device.c fills from the real nodes and the unit tests
 * from fixtures (vivid, vicodec, vim2m, vimc recorded on the test bed; bcm2835-codec written from
 * its driver source). Nothing here opens a device; nodes are never picked by number.
 */
#ifndef MJPEGD_V4L2_DISCOVER_H
#define MJPEGD_V4L2_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define V4L2_INFO_MAX_FORMATS 96 /* vivid's capture queue lists 83 */

struct v4l2_device_info {
	char path[64];
	char driver[17], card[33], bus_info[33]; /* QUERYCAP, NUL-terminated */
	uint32_t caps;  /* device_caps (capabilities when V4L2_CAP_DEVICE_CAPS is not set) */
	int error;      /* 0, or the negative errno opening or querying the node failed with */
	/* VIDIOC_ENUM_FMT answers on the device's CAPTURE and OUTPUT queues (the multi-planar
	 * buffer types for a multi-planar device), in the driver's order */
	unsigned n_capture, n_output;
	uint32_t capture[V4L2_INFO_MAX_FORMATS];
	uint32_t output[V4L2_INFO_MAX_FORMATS];
};

/* "YUYV", "MJPG", … (unprintable bytes as '?'); buf must hold 5 bytes. */
const char *fourcc_str(uint32_t fourcc, char buf[5]);

bool v4l2_info_is_m2m(const struct v4l2_device_info *d);
bool v4l2_info_is_mplane(const struct v4l2_device_info *d);
/* Video capture (single- or multi-planar) with streaming I/O, not M2M. */
bool v4l2_info_is_capture(const struct v4l2_device_info *d);
bool v4l2_formats_contain(const uint32_t *list, unsigned n, uint32_t fourcc);
/* The first of preferred (in its order) that offered contains, 0 when none. */
uint32_t v4l2_pick_format(const uint32_t *offered, unsigned n_offered, const uint32_t *preferred,
			  unsigned n_preferred);

/* Raw formats an M2M encoder is fed by us (the ones src/v4l2/layout.c lays out), best first. */
extern const uint32_t m2m_raw_formats[];
extern const unsigned n_m2m_raw_formats;

/* 0 when d can be the source, with *fourcc the first of preferred it offers; otherwise a negative
 * errno and, in why, the reason: -ENODEV not a streaming capture device or an M2M device,
 * -EMEDIUMTYPE a media-controller node (only when skip_media_controller: such nodes, vimc's or a
 * CSI receiver's, are configured by libcamera), -EOPNOTSUPP none of the formats, or d->error. */
int v4l2_source_check(const struct v4l2_device_info *d, const uint32_t *preferred,
		      unsigned n_preferred, bool skip_media_controller, uint32_t *fourcc,
		      char *why, size_t whylen);

/* 0 when d is an M2M device whose OUTPUT queue takes in_fourcc (0: any of m2m_raw_formats) and
 * whose CAPTURE queue offers out_fourcc; otherwise -ENODEV/-EOPNOTSUPP/d->error, reason in why. */
int m2m_encoder_check(const struct v4l2_device_info *d, uint32_t in_fourcc, uint32_t out_fourcc,
		      char *why, size_t whylen);

/* True for the Raspberry Pi's JPEG encoder node (driver bcm2835-codec, card …encode_image). */
bool v4l2_is_pi_image_encoder(const struct v4l2_device_info *d);

/* Index of the first of devs that a user would take for an out_fourcc encoder (one whose CAPTURE
 * queue offers out_fourcc, or the Pi's image encoder) but that cannot encode in_fourcc (0: any
 * raw format), its reason in why; -ENODEV when there is none. For --encoder auto, which passes
 * over such a device quietly, to say why it encodes in software. */
int m2m_unusable_encoder(const struct v4l2_device_info *devs, size_t n, uint32_t in_fourcc,
			 uint32_t out_fourcc, char *why, size_t whylen);

/* Index of the first of devs usable as the M2M encoder for in_fourcc → out_fourcc, -ENODEV. */
int m2m_discover(const struct v4l2_device_info *devs, size_t n, uint32_t in_fourcc,
		 uint32_t out_fourcc);

/* --list-devices: one block per device (path, card, driver, bus, kind, formats) with the verdict
 * as a source giving one of source_formats and as an encoder producing m2m_fourcc, and why. */
void v4l2_describe_nodes(const struct v4l2_device_info *devs, size_t n, const uint32_t *source_formats,
			 unsigned n_source_formats, uint32_t m2m_fourcc, FILE *out);

#endif
