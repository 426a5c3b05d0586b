/* Opening what include/mjpegd/select.h chose: the V4L2 answers a choice is made from (the nodes an
 * M2M encoder may be among, how each would lay out a camera's frames), then the source and the
 * encoder themselves. The I/O half of choosing devices; the pipeline calls it at start and
 * whenever it reopens a device. Each failure is logged here, where its cause is known. */
#ifndef MJPEGD_DEVICES_H
#define MJPEGD_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "mjpegd/encoder.h"
#include "mjpegd/fault.h"
#include "mjpegd/select.h"
#include "mjpegd/source.h"

#define DEVICES_PATH_MAX 512
#define DEVICES_FAULT_MAX 256

/* What the devices are chosen and opened by: the configuration's part for them, filled by config
 * (config_devices_options(), src/config/translate.c) and copied here (strings too), so nothing
 * here points into a configuration that a reload frees. */
struct devices_options {
	enum source_kind source;
	char source_path[DEVICES_PATH_MAX]; /* --source's PATH, device or camera ("" = the first) */
	enum encoder_kind encoder;
	char encoder_path[DEVICES_PATH_MAX]; /* --encoder m2m:PATH ("" = discover) */
	enum m2m_format m2m_format;
	uint32_t capture_format; /* --format, 0 = auto */
	unsigned width, height, fps;
	unsigned camera_buffers;
	unsigned snapshot_width, snapshot_height; /* --snapshot-size, 0x0 = the stream's */
	unsigned snapshot_buffers;
	unsigned rotation; /* --rotation, --hflip, --vflip (orientation.h) */
	bool hflip, vflip;
	char inject_fault[DEVICES_FAULT_MAX]; /* --inject-fault (test binary), read at init only */
};

struct devices {
	struct devices_options opt; /* its own copy: devices_init(), then devices_apply() */
	/* every /dev/video* probed when an M2M encoder may be used (auto, m2m), or the one named */
	struct v4l2_device_info *nodes;
	size_t n_nodes;
	struct capture_request req; /* what a V4L2 camera is asked for (importable formats first) */
	/* what a libcamera camera is asked for: its rows are padded by asking the camera for more
	 * (source_params.pad_rows), so no format goes behind another for the encoder's padding */
	struct capture_request req_padded;
	struct fault_plan faults;   /* empty unless built with MJPEGD_FAULT_INJECTION */
	/* "" or why --encoder auto encodes in software although an M2M encoder fits: the device
	 * refused this instance a context (EBUSY/ENOMEM; another instance or program holds one),
	 * naming who holds it; /status shows it */
	char m2m_refused[512];
};

/* Parses --inject-fault (test binary), probes the nodes and plans the camera's formats. 0 or a
 * negative errno, logged. */
int devices_init(struct devices *d, const struct devices_options *opt);
/* SIGHUP: the options from now on (the fault plan stays the one parsed at init). Probing and
 * planning again for them is the caller's (devices_probe(), devices_plan_capture()): the pipeline
 * knows which changed (pipeline_apply()). */
void devices_apply(struct devices *d, const struct devices_options *opt);
void devices_destroy(struct devices *d);

/* Probes again the nodes an M2M encoder may be among (a device may come back under another
 * number). --encoder m2m with none that fits: -ENODEV, logged, before any camera is opened. */
int devices_probe(struct devices *d);

/* Plans d->req: what the encoder takes, those it can import first, only format when it is not 0
 * (--format). -EINVAL, logged, when the encoder does not take it. */
int devices_plan_capture(struct devices *d, uint32_t format);

/* Opens a source of kind (auto: libcamera when it has a camera, else the first V4L2 camera, else
 * the test pattern) asking for d->req; *opened says which kind it became. */
int devices_open_source(const struct devices *d, enum source_kind kind, struct source **out,
			enum source_kind *opened);

/* At start, what the source that opened ignores of the configuration, said once (--rotation and
 * the flips are never ignored: what the camera cannot do goes in EXIF, src/orientation.c). */
void devices_warn_ignored(const struct devices *d, const struct source *src);

/* Opens an encoder of kind want (auto: select.h's encoder_choose()) for src; base carries the
 * pool, the release callback, src's format and size and the quality (the M2M fields are set
 * here). *opened says which kind it became, also on failure. */
int devices_open_encoder(const struct devices *d, enum encoder_kind want, const struct source *src,
			 const struct encoder_params *base, struct encoder **out,
			 enum encoder_kind *opened);

/* devices_open_encoder() in two halves, for an open on another thread: the choice and the
 * parameters (loop thread: reads d->nodes and src; ep's strings point into them, so a caller that
 * keeps ep past the next devices_probe() or src's end copies them), returning the kind; then the
 * creation (any thread: reads ep and d's fault plan only). */
int devices_plan_encoder(const struct devices *d, enum encoder_kind want, const struct source *src,
			 const struct encoder_params *base, struct encoder_params *ep);
int devices_create_encoder(const struct devices *d, enum encoder_kind kind,
			   const struct encoder_params *ep, struct encoder **out);

/* The same at start: auto whose hardware encoder will not open encodes in software, and auto
 * that passed over an M2M device for software says why, once (a refused context: also in
 * d->m2m_refused). */
int devices_open_first_encoder(struct devices *d, const struct source *src,
			       const struct encoder_params *base, struct encoder **out,
			       enum encoder_kind *opened);

#endif
