/* Opening what select.c chose; see include/mjpegd/devices.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mjpegd/devices.h"
#include "mjpegd/source/libcamera_source.h"
#include "mjpegd/log.h"
#include "mjpegd/orientation.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/holders.h"

static uint32_t m2m_out_fourcc(const struct devices *d)
{
	return select_m2m_out_fourcc(d->opt.m2m_format);
}

int devices_probe(struct devices *d)
{
	const struct devices_options *o = &d->opt;
	free(d->nodes);
	d->nodes = NULL;
	d->n_nodes = 0;
	switch (select_m2m_nodes(o->encoder, o->encoder_path)) {
	case SELECT_NODES_NONE:
		return 0;
	case SELECT_NODES_NAMED:
		d->nodes = calloc(1, sizeof(*d->nodes));
		if (!d->nodes)
			return -ENOMEM;
		d->n_nodes = 1;
		v4l2_probe(o->encoder_path, &d->nodes[0]);
		break;
	case SELECT_NODES_ALL: {
		int n = v4l2_scan(&d->nodes);
		if (n < 0) {
			log_warn_errno(n, "cannot list /dev/video*");
			n = 0;
		}
		d->n_nodes = (size_t)n;
		break;
	}
	}
	if (o->encoder != ENCODER_M2M ||
	    m2m_discover(d->nodes, d->n_nodes, 0, m2m_out_fourcc(d)) >= 0)
		return 0;
	char f[5], why[256];
	log_err("--encoder m2m: no memory-to-memory device produces %s",
		fourcc_str(m2m_out_fourcc(d), f));
	for (size_t i = 0; i < d->n_nodes; i++) {
		if (m2m_encoder_check(&d->nodes[i], 0, m2m_out_fourcc(d), why, sizeof(why)) != -ENODEV ||
		    o->encoder_path[0])
			log_err("  %s (%s): %s", d->nodes[i].path, d->nodes[i].card, why);
	}
	return -ENODEV;
}

/* Asks each M2M encoder (VIDIOC_TRY_FMT) how it would lay out the formats the camera is to be
 * asked for, so that one it can import without a copy is asked first. */
static void prefer_importable_formats(struct devices *d)
{
	struct capture_request *req = &d->req;
	unsigned padded[CAPTURE_REQUEST_MAX] = { 0 };
	for (unsigned k = 0; k < req->m2m_count; k++) {
		unsigned i = req->m2m_first + k;
		int n = m2m_discover(d->nodes, d->n_nodes, req->fourccs[i], m2m_out_fourcc(d));
		struct v4l2_pixfmt f = { .fourcc = req->fourccs[i], .width = d->opt.width,
					 .height = d->opt.height };
		if (n >= 0 && v4l2_try_output_format(d->nodes[n].path, &f) == 0 &&
		    f.fourcc == req->fourccs[i])
			padded[i] = f.height;
	}
	capture_request_prefer_import(req, padded, d->opt.height);
}

int devices_plan_capture(struct devices *d, uint32_t format)
{
	capture_request_for(d->opt.encoder, d->nodes, d->n_nodes, m2m_out_fourcc(d), &d->req);
	d->req_padded = d->req;
	prefer_importable_formats(d);
	char why[256];
	int r = capture_request_format(&d->req, format, d->opt.encoder, why, sizeof(why));
	if (r < 0)
		log_err("%s", why);
	else
		capture_request_format(&d->req_padded, format, d->opt.encoder, why, sizeof(why));
	return r;
}

#ifdef MJPEGD_FAULT_INJECTION
/* The test binary (build/mjpegd-faults): --inject-fault's plan, and every device opened wrapped in
 * a back end that acts on it (source_faulty_create(), encoder_faulty_create()). */
static int faults_init(struct devices *d)
{
	char err[256];
	int r = fault_plan_parse(d->opt.inject_fault, &d->faults, err, sizeof(err));
	if (r < 0) {
		log_err("--inject-fault: %s", err);
		return r;
	}
	if (d->faults.n_rules)
		log_warn("fault injection on: %s", d->opt.inject_fault);
	return 0;
}

static int faults_wrap_source(const struct devices *d, int r, struct source **out)
{
	if (r < 0 || !d->faults.n_rules)
		return r;
	struct source *wrapped;
	r = source_faulty_create(*out, &d->faults, &wrapped);
	if (r < 0) {
		source_destroy(*out);
		return r;
	}
	*out = wrapped;
	return 0;
}

static int faults_wrap_encoder(const struct devices *d, int r, struct encoder **out)
{
	if (r < 0 || !d->faults.n_rules)
		return r;
	struct encoder *wrapped;
	r = encoder_faulty_create(*out, &d->faults, &wrapped);
	if (r < 0) {
		encoder_destroy(*out);
		return r;
	}
	*out = wrapped;
	return 0;
}
#else
static int faults_init(struct devices *d)
{
	(void)d;
	return 0;
}

static int faults_wrap_source(const struct devices *d, int r, struct source **out)
{
	(void)d, (void)out;
	return r;
}

static int faults_wrap_encoder(const struct devices *d, int r, struct encoder **out)
{
	(void)d, (void)out;
	return r;
}
#endif

int devices_init(struct devices *d, const struct devices_options *opt)
{
	memset(d, 0, sizeof(*d));
	d->opt = *opt;
	int r = faults_init(d);
	if (r < 0)
		return r;
	r = devices_probe(d);
	if (r < 0)
		return r;
	return devices_plan_capture(d, d->opt.capture_format);
}

void devices_apply(struct devices *d, const struct devices_options *opt)
{
	d->opt = *opt;
}

void devices_destroy(struct devices *d)
{
	free(d->nodes);
	d->nodes = NULL;
	d->n_nodes = 0;
}

/* req: the formats the configured encoder takes, best first (software: YUV420, YUYV, NV12, then RGB,
 * its slow path for sensors such as vimc's that give only RGB; see capture_request_for()). */
static int open_source(const struct devices *d, enum source_kind kind, struct source **out,
		       enum source_kind *opened)
{
	const struct devices_options *o = &d->opt;
	const struct capture_request *req = &d->req, *padded = &d->req_padded;
	struct orientation_plan plan;
	orientation_plan(o->rotation, o->hflip, o->vflip, &plan);
	struct source_params sp = {
		.width = o->width, .height = o->height, .fps = o->fps,
		.path = o->source_path,
		.formats = req->fourccs, .n_formats = req->n,
		.stride_align = req->stride_align, .height_align = req->height_align,
		.stride_aligns = req->stride_aligns,
		.rotation = plan.sensor.rotation, .hflip = plan.sensor.hflip,
		.vflip = plan.sensor.vflip,
		.buffers = o->camera_buffers,
		.full_width = o->snapshot_width, .full_height = o->snapshot_height,
		.full_buffers = o->snapshot_buffers,
	};
	/* libcamera's: the camera pads the rows (1920x1088 for 1080) */
	struct source_params lp = sp;
	lp.formats = padded->fourccs;
	lp.n_formats = padded->n;
	lp.stride_aligns = padded->stride_aligns;
	lp.pad_rows = true;
	lp.camera = o->source_path;
	int r;
	*opened = kind;
	switch (kind) {
	case SOURCE_FILE:
		return source_file_create(&sp, out);
	case SOURCE_TESTPATTERN:
		return source_testpattern_create(&sp, out);
	case SOURCE_LIBCAMERA:
		return source_libcamera_create(&lp, out);
	case SOURCE_V4L2:
		sp.device = o->source_path; /* "": the first usable capture device */
		return source_v4l2_create(&sp, out);
	case SOURCE_AUTO:
	default:
		/* libcamera first, but only when it has a camera (USB ones are left to V4L2): one
		 * that is there and fails to open is an error, not a reason to show a pattern. */
		*opened = SOURCE_LIBCAMERA;
		r = source_libcamera_try_create(&lp, out);
		/* no camera, no libcamera in this build, or a plugin that cannot be loaded (said once
		 * by the loader, and in /status): V4L2 cameras next */
		if (r != -ENODEV && r != -EOPNOTSUPP && r != -ELIBACC)
			return r;
		/* then the first V4L2 camera (UVC webcams and the like) */
		*opened = SOURCE_V4L2;
		if (source_v4l2_create(&sp, out) == 0)
			return 0;
		/* Until a camera is found the built-in pattern keeps the stream alive. */
		log_warn("no camera found: serving the built-in test pattern");
		*opened = SOURCE_TESTPATTERN;
		return source_testpattern_create(&sp, out);
	}
}

int devices_open_source(const struct devices *d, enum source_kind kind, struct source **out,
			enum source_kind *opened)
{
	return faults_wrap_source(d, open_source(d, kind, out, opened), out);
}

void devices_warn_ignored(const struct devices *d, const struct source *src)
{
	const struct devices_options *o = &d->opt;
	if (o->capture_format && src->fourcc != o->capture_format) {
		char a[5], b[5];
		log_warn("--format %s: %s gives only %s; --format is ignored",
			 fourcc_str(o->capture_format, a), src->description,
			 fourcc_str(src->fourcc, b));
	}
}

int devices_plan_encoder(const struct devices *d, enum encoder_kind want, const struct source *src,
			 const struct encoder_params *base, struct encoder_params *ep)
{
	*ep = *base;
	/* auto: an M2M encoder that takes the source's format, passthrough for JPEG, software
	 * otherwise (encoder_choose()) */
	int m2m_index = -1;
	int kind = encoder_choose(want, src->fourcc, d->nodes, d->n_nodes, m2m_out_fourcc(d),
				  &m2m_index);
	if (kind < 0) {
		char why[256];
		encoder_choose_refusal(want, src->fourcc, src->description, m2m_out_fourcc(d), why,
				       sizeof(why));
		log_err("%s", why);
		return kind;
	}
	if (kind == ENCODER_M2M) {
		ep->device = d->nodes[m2m_index].path;
		ep->out_fourcc = m2m_out_fourcc(d);
		ep->in_bytesperline = src->bytesperline;
		ep->in_padded_height = src->padded_height;
		ep->in_dmabuf = src->dmabuf;
		ep->in_unfit = src->dmabuf_unfit;
	}
	return kind;
}

int devices_create_encoder(const struct devices *d, enum encoder_kind kind,
			   const struct encoder_params *ep, struct encoder **out)
{
	int r = kind == ENCODER_PASSTHROUGH ? encoder_passthrough_create(ep, out)
		: kind == ENCODER_M2M	    ? encoder_m2m_create(ep, out)
					    : encoder_software_create(ep, out);
	/* a failure was logged by the encoder, which knows its cause */
	return faults_wrap_encoder(d, r, out);
}

int devices_open_encoder(const struct devices *d, enum encoder_kind want, const struct source *src,
			 const struct encoder_params *base, struct encoder **out,
			 enum encoder_kind *opened)
{
	struct encoder_params ep;
	int kind = devices_plan_encoder(d, want, src, base, &ep);
	if (kind < 0)
		return kind;
	*opened = (enum encoder_kind)kind;
	return devices_create_encoder(d, (enum encoder_kind)kind, &ep, out);
}

/* An M2M device that refuses one more context: bcm2835-codec allocates a firmware component at
 * open and its buffers at REQBUFS, and runs out (EBUSY, ENOMEM) when other programs or mjpegd
 * instances hold contexts. Says who holds it, as far as /proc shows. */
static void describe_refusal(struct devices *d, const char *path, int r)
{
	char who[300];
	int n = device_holders("/proc", path, getpid(), who, sizeof(who));
	snprintf(d->m2m_refused, sizeof(d->m2m_refused), "%s refused another context (%s); %s%s",
		 path, strerror(-r), n > 0 ? "also open by " : "no other holder visible",
		 n > 0 ? who : "");
}

int devices_open_first_encoder(struct devices *d, const struct source *src,
			       const struct encoder_params *base, struct encoder **out,
			       enum encoder_kind *opened)
{
	const struct devices_options *o = &d->opt;
	*opened = ENCODER_AUTO;
	d->m2m_refused[0] = '\0';
	struct encoder_params ep;
	int r = devices_open_encoder(d, o->encoder, src, base, out, opened);
	if (r < 0 && select_software_after_m2m(o->encoder, *opened, src->fourcc)) {
		/* auto chose a hardware encoder that will not open (a size it refuses, firmware
		 * without JPEG, no context left): software serves rather than no stream at all. */
		if ((r == -EBUSY || r == -ENOMEM) &&
		    devices_plan_encoder(d, o->encoder, src, base, &ep) == ENCODER_M2M) {
			describe_refusal(d, ep.device, r);
			log_warn("encoding in software: the M2M encoder %s", d->m2m_refused);
		} else {
			log_warn_errno(r, "encoding in software: the M2M encoder did not open");
		}
		r = devices_open_encoder(d, ENCODER_SOFTWARE, src, base, out, opened);
	}
	if (r < 0)
		return r;
	char why[256];
	int unusable = m2m_unusable_encoder(d->nodes, d->n_nodes, src->fourcc, m2m_out_fourcc(d),
					    why, sizeof(why));
	if (o->encoder == ENCODER_AUTO && *opened == ENCODER_SOFTWARE && unusable >= 0)
		log_warn("--encoder auto: %s (%s) %s: encoding in software", d->nodes[unusable].path,
			 d->nodes[unusable].card, why);
	return 0;
}
