/* Which source, which encoder and which camera formats, from plain values; see
 * include/mjpegd/select.h. Pure. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/videodev2.h>

#include "mjpegd/macro.h"
#include "mjpegd/select.h"
#include "mjpegd/v4l2/layout.h"

/* What the software encoder takes (src/encoder/software.c), best first: planar YUV needs no
 * conversion, packed RGB goes through TurboJPEG's colour conversion. NV12 (its chroma split on the
 * worker) after YUYV, so that no camera that gave YUYV before is now asked for NV12. */
static const uint32_t software_formats[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV,
					     V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_RGB24,
					     V4L2_PIX_FMT_BGR24 };
static const uint32_t jpeg_formats[] = { V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG };

const char *const source_kind_names[] = {
	[SOURCE_AUTO] = "auto",
	[SOURCE_TESTPATTERN] = "testpattern",
	[SOURCE_FILE] = "file",
	[SOURCE_LIBCAMERA] = "libcamera",
	[SOURCE_V4L2] = "v4l2",
};

const char *const encoder_kind_names[] = {
	[ENCODER_AUTO] = "auto",
	[ENCODER_SOFTWARE] = "software",
	[ENCODER_PASSTHROUGH] = "passthrough",
	[ENCODER_M2M] = "m2m",
};

const size_t n_source_kind_names = ELEMENTSOF(source_kind_names);
const size_t n_encoder_kind_names = ELEMENTSOF(encoder_kind_names);

const char *source_kind_name(enum source_kind k)
{
	return (size_t)k < n_source_kind_names ? source_kind_names[k] : "unknown";
}

const char *encoder_kind_name(enum encoder_kind k)
{
	return (size_t)k < n_encoder_kind_names ? encoder_kind_names[k] : "unknown";
}

uint32_t select_m2m_out_fourcc(enum m2m_format f)
{
	return f == M2M_FORMAT_FWHT ? V4L2_PIX_FMT_FWHT : V4L2_PIX_FMT_JPEG;
}

bool select_software_takes(uint32_t fourcc)
{
	return v4l2_formats_contain(software_formats, ELEMENTSOF(software_formats), fourcc);
}

enum select_nodes select_m2m_nodes(enum encoder_kind kind, const char *encoder_path)
{
	if (kind != ENCODER_AUTO && kind != ENCODER_M2M)
		return SELECT_NODES_NONE;
	if (kind == ENCODER_M2M && encoder_path && encoder_path[0])
		return SELECT_NODES_NAMED;
	return SELECT_NODES_ALL;
}

static void request_add(struct capture_request *req, uint32_t fourcc)
{
	if (req->n < CAPTURE_REQUEST_MAX && !v4l2_formats_contain(req->fourccs, req->n, fourcc))
		req->fourccs[req->n++] = fourcc;
}

static void request_add_m2m(struct capture_request *req, const struct v4l2_device_info *devs,
			    size_t n, uint32_t out_fourcc)
{
	req->m2m_first = req->n;
	for (unsigned f = 0; f < n_m2m_raw_formats; f++) {
		int i = m2m_discover(devs, n, m2m_raw_formats[f], out_fourcc);
		if (i < 0)
			continue;
		request_add(req, m2m_raw_formats[f]);
		req->m2m_count = req->n - req->m2m_first;
		struct m2m_constraints c;
		m2m_constraints_for(devs[i].driver, m2m_raw_formats[f], &c);
		for (unsigned k = req->m2m_first; k < req->n; k++)
			if (req->fourccs[k] == m2m_raw_formats[f])
				req->stride_aligns[k] = c.stride_align;
		if (c.stride_align > req->stride_align)
			req->stride_align = c.stride_align;
		if (c.height_align > req->height_align)
			req->height_align = c.height_align;
	}
}

void capture_request_for(enum encoder_kind kind, const struct v4l2_device_info *devs, size_t n,
			 uint32_t out_fourcc, struct capture_request *req)
{
	memset(req, 0, sizeof(*req));
	switch (kind) {
	case ENCODER_SOFTWARE:
		for (size_t i = 0; i < ELEMENTSOF(software_formats); i++)
			request_add(req, software_formats[i]);
		return;
	case ENCODER_PASSTHROUGH:
		for (size_t i = 0; i < ELEMENTSOF(jpeg_formats); i++)
			request_add(req, jpeg_formats[i]);
		return;
	case ENCODER_M2M:
		request_add_m2m(req, devs, n, out_fourcc);
		return;
	case ENCODER_AUTO:
	default:
		for (size_t i = 0; i < ELEMENTSOF(jpeg_formats); i++)
			request_add(req, jpeg_formats[i]);
		request_add_m2m(req, devs, n, out_fourcc);
		for (size_t i = 0; i < ELEMENTSOF(software_formats); i++)
			request_add(req, software_formats[i]);
		return;
	}
}

void capture_request_prefer_import(struct capture_request *req, const unsigned *padded_height,
				   unsigned height)
{
	uint32_t keep[CAPTURE_REQUEST_MAX], late[CAPTURE_REQUEST_MAX];
	unsigned nk = 0, nl = 0;
	for (unsigned k = 0; k < req->m2m_count; k++) {
		unsigned i = req->m2m_first + k;
		uint32_t f = req->fourccs[i];
		bool planar = f == V4L2_PIX_FMT_YUV420 || f == V4L2_PIX_FMT_NV12;
		if (planar && padded_height[i] > height)
			late[nl++] = f;
		else
			keep[nk++] = f;
	}
	unsigned aligns[CAPTURE_REQUEST_MAX];
	for (unsigned k = 0; k < nk + nl; k++) {
		uint32_t f = k < nk ? keep[k] : late[k - nk];
		for (unsigned i = req->m2m_first; i < req->m2m_first + req->m2m_count; i++)
			if (req->fourccs[i] == f)
				aligns[k] = req->stride_aligns[i];
	}
	memcpy(req->fourccs + req->m2m_first, keep, nk * sizeof(keep[0]));
	memcpy(req->fourccs + req->m2m_first + nk, late, nl * sizeof(late[0]));
	memcpy(req->stride_aligns + req->m2m_first, aligns, (nk + nl) * sizeof(aligns[0]));
}

int capture_request_only(struct capture_request *req, uint32_t fourcc)
{
	for (unsigned i = 0; i < req->n; i++) {
		if (req->fourccs[i] != fourcc)
			continue;
		bool m2m = i >= req->m2m_first && i < req->m2m_first + req->m2m_count;
		req->fourccs[0] = fourcc;
		req->stride_aligns[0] = req->stride_aligns[i];
		req->n = 1;
		req->m2m_first = 0;
		req->m2m_count = m2m ? 1 : 0;
		return 0;
	}
	return -EINVAL;
}

static bool is_jpeg(uint32_t f)
{
	return f == V4L2_PIX_FMT_JPEG || f == V4L2_PIX_FMT_MJPEG;
}

int encoder_choose(enum encoder_kind kind, uint32_t src_fourcc, const struct v4l2_device_info *devs,
		   size_t n, uint32_t out_fourcc, int *m2m_index)
{
	bool software_takes = v4l2_formats_contain(software_formats, ELEMENTSOF(software_formats),
						   src_fourcc);
	int i;
	switch (kind) {
	case ENCODER_PASSTHROUGH:
		return is_jpeg(src_fourcc) ? ENCODER_PASSTHROUGH : -EINVAL;
	case ENCODER_SOFTWARE:
		return software_takes ? ENCODER_SOFTWARE : -EINVAL;
	case ENCODER_M2M:
		if (is_jpeg(src_fourcc))
			return -EINVAL;
		i = m2m_discover(devs, n, src_fourcc, out_fourcc);
		if (i < 0)
			return -ENODEV;
		*m2m_index = i;
		return ENCODER_M2M;
	case ENCODER_AUTO:
	default:
		if (is_jpeg(src_fourcc))
			return ENCODER_PASSTHROUGH;
		i = m2m_discover(devs, n, src_fourcc, out_fourcc);
		if (i >= 0) {
			*m2m_index = i;
			return ENCODER_M2M;
		}
		return software_takes ? ENCODER_SOFTWARE : -EOPNOTSUPP;
	}
}

int capture_request_format(struct capture_request *req, uint32_t format, enum encoder_kind kind,
			   char *why, size_t whylen)
{
	if (!format || capture_request_only(req, format) == 0)
		return 0;
	char f[5], list[CAPTURE_REQUEST_MAX * 5 + 1] = "";
	for (unsigned i = 0; i < req->n; i++) {
		strcat(list, i ? " " : "");
		strcat(list, fourcc_str(req->fourccs[i], f));
	}
	snprintf(why, whylen, "--format %s: the %s encoder does not take it (it takes %s)",
		 fourcc_str(format, f), encoder_kind_name(kind), list[0] ? list : "nothing here");
	return -EINVAL;
}

void encoder_choose_refusal(enum encoder_kind want, uint32_t src_fourcc, const char *src,
			    uint32_t out_fourcc, char *why, size_t whylen)
{
	char f[5], o[5];
	if (want == ENCODER_PASSTHROUGH)
		snprintf(why, whylen, "--encoder passthrough: the source (%s) gives raw frames, not "
			 "JPEG; use --encoder software or auto", src);
	else if (is_jpeg(src_fourcc))
		snprintf(why, whylen, "--encoder %s: the source (%s) already gives JPEG; use "
			 "--encoder passthrough or auto", encoder_kind_name(want), src);
	else if (want == ENCODER_M2M)
		snprintf(why, whylen, "--encoder m2m: no M2M device turns the source's %s into %s "
			 "(mjpegd --list-devices says why)", fourcc_str(src_fourcc, f),
			 fourcc_str(out_fourcc, o));
	else
		snprintf(why, whylen, "no encoder takes the source's format %s (%s)",
			 fourcc_str(src_fourcc, f), src);
}

bool select_software_after_m2m(enum encoder_kind configured, enum encoder_kind opened,
			       uint32_t src_fourcc)
{
	return configured == ENCODER_AUTO && opened == ENCODER_M2M &&
	       select_software_takes(src_fourcc);
}

bool select_wait_for_camera(enum source_kind configured, const char *path, int err)
{
	if (err == -EBUSY)
		return true;
	return err == -ENOENT && configured == SOURCE_V4L2 && path &&
	       strncmp(path, "/dev/v4l/by-", STRLEN("/dev/v4l/by-")) == 0;
}

void select_describe_devices(const struct v4l2_device_info *devs, size_t n, uint32_t m2m_fourcc,
			     FILE *out)
{
	struct capture_request any;
	capture_request_for(ENCODER_AUTO, devs, n, m2m_fourcc, &any);
	v4l2_describe_nodes(devs, n, any.fourccs, any.n, m2m_fourcc, out);
}
