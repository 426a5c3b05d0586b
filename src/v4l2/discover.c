/* Device classification and format checks over recorded V4L2 answers; see
 * include/mjpegd/v4l2/discover.h. Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/videodev2.h>

#include "mjpegd/macro.h"
#include "mjpegd/log.h"
#include "mjpegd/v4l2/discover.h"

const uint32_t m2m_raw_formats[] = { V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12,
				     V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_BGR24 };
const unsigned n_m2m_raw_formats = ELEMENTSOF(m2m_raw_formats);

const char *fourcc_str(uint32_t f, char buf[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

bool v4l2_info_is_m2m(const struct v4l2_device_info *d)
{
	if (d->caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE))
		return true;
	/* Older M2M drivers announce both directions instead of the M2M bits. */
	return (d->caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) &&
	       (d->caps & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE));
}

bool v4l2_info_is_mplane(const struct v4l2_device_info *d)
{
	return d->caps & (V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_VIDEO_CAPTURE_MPLANE |
			  V4L2_CAP_VIDEO_OUTPUT_MPLANE);
}

bool v4l2_info_is_capture(const struct v4l2_device_info *d)
{
	return (d->caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) &&
	       (d->caps & V4L2_CAP_STREAMING) && !v4l2_info_is_m2m(d);
}

bool v4l2_formats_contain(const uint32_t *list, unsigned n, uint32_t fourcc)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i] == fourcc)
			return true;
	return false;
}

uint32_t v4l2_pick_format(const uint32_t *offered, unsigned n_offered, const uint32_t *preferred,
			  unsigned n_preferred)
{
	for (unsigned i = 0; i < n_preferred; i++)
		if (v4l2_formats_contain(offered, n_offered, preferred[i]))
			return preferred[i];
	return 0;
}

/* "YUYV UYVY …" (at most max entries, then "…") */
static void format_list(char *buf, size_t len, const uint32_t *list, unsigned n, unsigned max)
{
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < n && used + 6 < len; i++) {
		char s[5];
		if (i == max) {
			snprintf(buf + used, len - used, "%s…", used ? " " : "");
			return;
		}
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
					 fourcc_str(list[i], s));
	}
	if (n == 0)
		snprintf(buf, len, "none");
}

static const char *device_kind(const struct v4l2_device_info *d)
{
	if (v4l2_info_is_m2m(d))
		return "memory-to-memory (codec/converter)";
	if (d->caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE))
		return d->caps & V4L2_CAP_STREAMING ? "video capture" : "video capture (no streaming)";
	if (d->caps & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE))
		return "video output";
	if (d->caps & (V4L2_CAP_META_CAPTURE | V4L2_CAP_META_OUTPUT))
		return "metadata";
	if (d->caps & V4L2_CAP_TOUCH)
		return "touch";
	return "other";
}

int v4l2_source_check(const struct v4l2_device_info *d, const uint32_t *preferred,
		      unsigned n_preferred, bool skip_media_controller, uint32_t *fourcc,
		      char *why, size_t whylen)
{
	if (d->error < 0)
		return why_set(why, whylen, d->error, "cannot be opened: %s", strerror(-d->error));
	if (!v4l2_info_is_capture(d))
		return why_set(why, whylen, -ENODEV, "a %s device, not a camera", device_kind(d));
	if (skip_media_controller && (d->caps & V4L2_CAP_IO_MC))
		return why_set(why, whylen, -EMEDIUMTYPE,
			      "a media-controller node: its pipeline is set up by libcamera "
			      "(--source libcamera), or name it with --source v4l2:%s", d->path);
	uint32_t f = v4l2_pick_format(d->capture, d->n_capture, preferred, n_preferred);
	if (!f) {
		char want[64], have[96];
		format_list(want, sizeof(want), preferred, n_preferred, 8);
		format_list(have, sizeof(have), d->capture, d->n_capture, 12);
		return why_set(why, whylen, -EOPNOTSUPP, "offers none of %s (it has %s)", want, have);
	}
	if (fourcc)
		*fourcc = f;
	return why_set(why, whylen, 0, "usable");
}

bool v4l2_is_pi_image_encoder(const struct v4l2_device_info *d)
{
	return strcmp(d->driver, "bcm2835-codec") == 0 && strstr(d->card, "encode_image") != NULL;
}

int m2m_encoder_check(const struct v4l2_device_info *d, uint32_t in_fourcc, uint32_t out_fourcc,
		      char *why, size_t whylen)
{
	char a[5], b[5];
	if (d->error < 0)
		return why_set(why, whylen, d->error, "cannot be opened: %s", strerror(-d->error));
	if (!v4l2_info_is_m2m(d))
		return why_set(why, whylen, -ENODEV, "a %s device, not memory-to-memory",
			      device_kind(d));
	/* raspberrypi/linux#4923 (the image_encode interface on /dev/video31): "you need to add
	 * start_x=1 to the config.txt. Without it, /dev/video31 will not have any format for
	 * encoding" on firmware older than January 2022. Which of its lists is then empty is not
	 * documented: the hint goes with either. */
	const char *hint = v4l2_is_pi_image_encoder(d) ? "; JPEG needs the firmware image encoder: "
					      "start_x=1 in config.txt on older firmware" : "";
	if (!v4l2_formats_contain(d->capture, d->n_capture, out_fourcc)) {
		char have[96];
		format_list(have, sizeof(have), d->capture, d->n_capture, 8);
		return why_set(why, whylen, -EOPNOTSUPP, "its CAPTURE queue does not produce %s (%s)%s",
			      fourcc_str(out_fourcc, a), have, hint);
	}
	if (d->n_output == 0)
		return why_set(why, whylen, -EOPNOTSUPP, "its OUTPUT queue offers no format%s", hint);
	if (in_fourcc == 0) {
		if (!v4l2_pick_format(d->output, d->n_output, m2m_raw_formats, n_m2m_raw_formats)) {
			char have[96];
			format_list(have, sizeof(have), d->output, d->n_output, 8);
			return why_set(why, whylen, -EOPNOTSUPP,
				      "its OUTPUT queue takes none of YU12 YUYV NV12 RGB3 BGR3 (%s)", have);
		}
	} else if (!v4l2_formats_contain(d->output, d->n_output, in_fourcc)) {
		return why_set(why, whylen, -EOPNOTSUPP, "its OUTPUT queue does not take %s",
			      fourcc_str(in_fourcc, b));
	}
	return why_set(why, whylen, 0, "usable");
}

int m2m_unusable_encoder(const struct v4l2_device_info *devs, size_t n, uint32_t in_fourcc,
			 uint32_t out_fourcc, char *why, size_t whylen)
{
	for (size_t i = 0; i < n; i++) {
		const struct v4l2_device_info *d = &devs[i];
		if (d->error < 0 || !v4l2_info_is_m2m(d))
			continue;
		if (!v4l2_is_pi_image_encoder(d) &&
		    !v4l2_formats_contain(d->capture, d->n_capture, out_fourcc))
			continue;
		if (m2m_encoder_check(d, in_fourcc, out_fourcc, why, whylen) < 0)
			return (int)i;
	}
	return -ENODEV;
}

int m2m_discover(const struct v4l2_device_info *devs, size_t n, uint32_t in_fourcc,
		 uint32_t out_fourcc)
{
	for (size_t i = 0; i < n; i++)
		if (m2m_encoder_check(&devs[i], in_fourcc, out_fourcc, NULL, 0) == 0)
			return (int)i;
	return -ENODEV;
}

void v4l2_describe_nodes(const struct v4l2_device_info *devs, size_t n, const uint32_t *source_formats,
			 unsigned n_source_formats, uint32_t m2m_fourcc, FILE *out)
{
	if (n == 0)
		fprintf(out, "no /dev/video* device found\n");
	for (size_t i = 0; i < n; i++) {
		const struct v4l2_device_info *d = &devs[i];
		char why[256], fmts[512];
		uint32_t f = 0;
		if (d->error < 0) {
			fprintf(out, "%s: cannot be opened: %s\n\n", d->path, strerror(-d->error));
			continue;
		}
		fprintf(out, "%s: %s (driver %s, %s)\n", d->path, d->card, d->driver, d->bus_info);
		fprintf(out, "  kind: %s%s%s\n", device_kind(d),
			v4l2_info_is_mplane(d) ? ", multi-planar" : "",
			d->caps & V4L2_CAP_IO_MC ? ", media controller" : "");
		if (d->n_capture) {
			format_list(fmts, sizeof(fmts), d->capture, d->n_capture, 40);
			fprintf(out, "  capture formats: %s\n", fmts);
		}
		if (d->n_output) {
			format_list(fmts, sizeof(fmts), d->output, d->n_output, 40);
			fprintf(out, "  output formats: %s\n", fmts);
		}
		char s[5];
		if (v4l2_source_check(d, source_formats, n_source_formats, true, &f, why,
				      sizeof(why)) == 0)
			fprintf(out, "  as source: usable (%s), --source v4l2:%s\n", fourcc_str(f, s),
				d->path);
		else
			fprintf(out, "  as source: no, %s\n", why);
		if (m2m_encoder_check(d, 0, m2m_fourcc, why, sizeof(why)) == 0) {
			uint32_t in = v4l2_pick_format(d->output, d->n_output, m2m_raw_formats,
						       n_m2m_raw_formats);
			fprintf(out, "  as %s encoder: usable (from %s), --encoder m2m:%s\n",
				fourcc_str(m2m_fourcc, s), fourcc_str(in, fmts), d->path);
		} else {
			fprintf(out, "  as %s encoder: no, %s\n", fourcc_str(m2m_fourcc, s), why);
		}
		fputc('\n', out);
	}
}
