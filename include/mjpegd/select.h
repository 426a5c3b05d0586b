/* Which source, which encoder and which camera formats: every choice the pipeline's devices are
 * opened by, decided from plain values (the configured kinds, the camera's format, the recorded
 * answers of the V4L2 nodes in struct v4l2_device_info). Pure: nothing here opens a device, so
 * every rule is unit-tested (tests/unit/test_select.c); src/devices.c gathers the answers and
 * opens what was chosen. */
#ifndef MJPEGD_SELECT_H
#define MJPEGD_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mjpegd/v4l2/discover.h"

/* --source and --encoder, as configured (config fills them, src/config/) and as opened. */
enum source_kind {
	SOURCE_AUTO,
	SOURCE_TESTPATTERN,
	SOURCE_FILE, /* "file:PATH": PATH in source_path */
	SOURCE_LIBCAMERA, /* camera index or id in source_path ("" = the first camera) */
	SOURCE_V4L2, /* "v4l2[:/dev/videoN]": node in source_path ("" = the first usable) */
};

enum encoder_kind {
	ENCODER_AUTO,
	ENCODER_SOFTWARE,
	ENCODER_PASSTHROUGH,
	ENCODER_M2M, /* "m2m[:PATH]": node in encoder_path ("" = discover) */
};

/* What the M2M encoder produces: JPEG in production, FWHT (vicodec) only on the test bed. */
enum m2m_format {
	M2M_FORMAT_JPEG,
	M2M_FORMAT_FWHT,
};

/* --source's and --encoder's words for each kind ("auto", "libcamera", "m2m"...), indexed by the
 * enums; config parses them (src/config/parse.c). */
extern const char *const source_kind_names[];
extern const size_t n_source_kind_names;
extern const char *const encoder_kind_names[];
extern const size_t n_encoder_kind_names;
const char *source_kind_name(enum source_kind k); /* "unknown" out of range */
const char *encoder_kind_name(enum encoder_kind k);

/* What the M2M encoder is asked to produce: JPEG, or FWHT (vicodec, the test bed). */
uint32_t select_m2m_out_fourcc(enum m2m_format f);

/* The formats the software encoder takes (src/encoder/software.c). */
bool select_software_takes(uint32_t fourcc);

/* Which V4L2 nodes an M2M encoder may be among: none (--encoder software/passthrough), the one
 * named (--encoder m2m:PATH), or every /dev/video* (auto, m2m). */
enum select_nodes {
	SELECT_NODES_NONE,
	SELECT_NODES_NAMED,
	SELECT_NODES_ALL,
};
enum select_nodes select_m2m_nodes(enum encoder_kind kind, const char *encoder_path);

/* What a camera should be asked for, given the configured encoder and the M2M devices found. */
#define CAPTURE_REQUEST_MAX 8
struct capture_request {
	uint32_t fourccs[CAPTURE_REQUEST_MAX]; /* best first */
	unsigned n;
	unsigned stride_align, height_align;   /* the strictest of the M2M encoders that may be used */
	unsigned stride_aligns[CAPTURE_REQUEST_MAX]; /* fourccs[i]'s own (0: none), for the source */
	unsigned m2m_first, m2m_count;         /* fourccs[m2m_first …] are there for an M2M encoder */
};

/* software: YUV420, YUYV, NV12, then RGB24, BGR24 (its slow path). passthrough: MJPEG, JPEG. m2m: the
 * raw formats (YUV420, YUYV, NV12) an M2M encoder producing out_fourcc takes, with its alignment.
 * auto: MJPEG and JPEG first (the camera encodes: no CPU, no copy, and a UVC camera's MJPEG runs
 * at full rate where raw 720p YUYV does not fit USB 2.0), then the M2M formats, then the software
 * encoder's. */
void capture_request_for(enum encoder_kind kind, const struct v4l2_device_info *devs, size_t n,
			 uint32_t out_fourcc, struct capture_request *req);

/* Reorders req's M2M formats so that those an encoder can import as a camera lays them out come
 * first. padded_height[i] (indexed like req->fourccs; 0: unknown) is the height the encoder's
 * OUTPUT queue answered VIDIOC_TRY_FMT with for fourccs[i] at this height: a planar format
 * (YUV420, NV12) whose rows it pads has its chroma elsewhere than the camera's, so every frame
 * would be copied (bcm2835-codec pads 1080 to 1088 rows, vicodec YU12 360 to 368); packed YUYV
 * only needs larger buffers, which the source allocates. Otherwise the order is kept. */
void capture_request_prefer_import(struct capture_request *req, const unsigned *padded_height,
				   unsigned height);

/* --format: keeps only fourcc in req (in the M2M part if it was there). -EINVAL, req untouched,
 * when req does not hold it (the configured encoder does not take that format). */
int capture_request_only(struct capture_request *req, uint32_t fourcc);

/* --format FOURCC (0: auto) for the encoder of kind: capture_request_only(), and when it refuses,
 * -EINVAL with the message in why ("--format NV12: the software encoder does not take it (it
 * takes YU12 YUYV RGB3 BGR3)"). */
int capture_request_format(struct capture_request *req, uint32_t format, enum encoder_kind kind,
			   char *why, size_t whylen);

/* The encoder for a source giving src_fourcc: the configured kind when it takes the format
 * (-EINVAL when not); auto → M2M when one of devs turns src_fourcc into out_fourcc, passthrough
 * for JPEG/MJPEG, software for YUV420/YUYV, -EOPNOTSUPP otherwise. For M2M *m2m_index is the
 * device's index in devs. Returns the kind (>= 0) or a negative errno. */
int encoder_choose(enum encoder_kind kind, uint32_t src_fourcc, const struct v4l2_device_info *devs,
		   size_t n, uint32_t out_fourcc, int *m2m_index);

/* Why encoder_choose(want, src_fourcc, …) found no encoder, for the log: what the user can do
 * instead. src is the source's description. */
void encoder_choose_refusal(enum encoder_kind want, uint32_t src_fourcc, const char *src,
			    uint32_t out_fourcc, char *why, size_t whylen);

/* --encoder auto opened a hardware encoder that failed (a size it refuses, firmware without JPEG):
 * true when software should serve instead of no stream at all. */
bool select_software_after_m2m(enum encoder_kind configured, enum encoder_kind opened,
			       uint32_t src_fourcc);

/* The camera failed to open at start with err (a negative errno): true when mjpegd should serve
 * the placeholder and retry rather than exit (and be restarted in a loop by systemd): the camera
 * is busy (another program or instance holds it), or a V4L2 camera named by a stable
 * /dev/v4l/by-id|by-path link is not there (unplugged: udev makes the link when it is plugged in
 * again). A /dev/videoN that is not there, or any other error, ends the start. */
bool select_wait_for_camera(enum source_kind configured, const char *path, int err);

/* --list-devices: v4l2_describe_nodes() with the formats any encoder of ours takes. */
void select_describe_devices(const struct v4l2_device_info *devs, size_t n, uint32_t m2m_fourcc,
			     FILE *out);

#endif
