/* V4L2 node probing; see include/mjpegd/v4l2/device.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/videodev2.h>

#include "mjpegd/macro.h"
#include "mjpegd/v4l2/device.h"

int xioctl(int fd, unsigned long request, void *arg)
{
	int r;
	do
		r = ioctl(fd, request, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static unsigned enum_formats(int fd, enum v4l2_buf_type type, uint32_t *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; n < max; i++) {
		struct v4l2_fmtdesc d = { .index = i, .type = type };
		if (xioctl(fd, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		out[n++] = d.pixelformat;
	}
	return n;
}

static void copy_field(char *dst, size_t dstlen, const __u8 *src, size_t srclen)
{
	size_t n = strnlen((const char *)src, srclen);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int v4l2_probe_fd(int fd, const char *path, struct v4l2_device_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->path, sizeof(info->path), "%s", path);
	struct v4l2_capability cap = { 0 };
	int r = xioctl(fd, VIDIOC_QUERYCAP, &cap);
	if (r < 0) {
		info->error = r;
		return r;
	}
	copy_field(info->driver, sizeof(info->driver), cap.driver, sizeof(cap.driver));
	copy_field(info->card, sizeof(info->card), cap.card, sizeof(cap.card));
	copy_field(info->bus_info, sizeof(info->bus_info), cap.bus_info, sizeof(cap.bus_info));
	info->caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;

	bool mplane = v4l2_info_is_mplane(info);
	bool m2m = v4l2_info_is_m2m(info);
	if (info->caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE) || m2m)
		info->n_capture = enum_formats(fd, mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE
							  : V4L2_BUF_TYPE_VIDEO_CAPTURE,
					       info->capture, V4L2_INFO_MAX_FORMATS);
	if (info->caps & (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE) || m2m)
		info->n_output = enum_formats(fd, mplane ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
							 : V4L2_BUF_TYPE_VIDEO_OUTPUT,
					      info->output, V4L2_INFO_MAX_FORMATS);
	return 0;
}

int v4l2_probe(const char *path, struct v4l2_device_info *info)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		memset(info, 0, sizeof(*info));
		snprintf(info->path, sizeof(info->path), "%s", path);
		info->error = -errno;
		return info->error;
	}
	return v4l2_probe_fd(fd, path, info);
}

int v4l2_set_format(int fd, uint32_t type, struct v4l2_pixfmt *f, bool try_only)
{
	struct v4l2_format fmt = { .type = type };
	if (V4L2_TYPE_IS_MULTIPLANAR(type)) {
		struct v4l2_pix_format_mplane *mp = &fmt.fmt.pix_mp;
		mp->width = f->width;
		mp->height = f->height;
		mp->pixelformat = f->fourcc;
		mp->field = V4L2_FIELD_NONE;
		mp->num_planes = 1;
		mp->plane_fmt[0].bytesperline = f->bytesperline;
		mp->plane_fmt[0].sizeimage = f->sizeimage;
	} else {
		struct v4l2_pix_format *pix = &fmt.fmt.pix;
		pix->width = f->width;
		pix->height = f->height;
		pix->pixelformat = f->fourcc;
		pix->field = V4L2_FIELD_NONE;
		pix->bytesperline = f->bytesperline;
		pix->sizeimage = f->sizeimage;
	}
	int r = xioctl(fd, try_only ? VIDIOC_TRY_FMT : VIDIOC_S_FMT, &fmt);
	if (r < 0)
		return r;
	if (V4L2_TYPE_IS_MULTIPLANAR(type)) {
		const struct v4l2_pix_format_mplane *mp = &fmt.fmt.pix_mp;
		*f = (struct v4l2_pixfmt){ mp->pixelformat, mp->width, mp->height,
					   mp->plane_fmt[0].bytesperline, mp->plane_fmt[0].sizeimage };
		/* A format split over several buffers (YUV420M…) is not one we asked for. */
		if (mp->num_planes != 1)
			return -EINVAL;
	} else {
		const struct v4l2_pix_format *pix = &fmt.fmt.pix;
		*f = (struct v4l2_pixfmt){ pix->pixelformat, pix->width, pix->height,
					   pix->bytesperline, pix->sizeimage };
	}
	return 0;
}

int v4l2_try_output_format(const char *path, struct v4l2_pixfmt *f)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct v4l2_device_info info;
	int r = v4l2_probe_fd(fd, path, &info);
	if (r < 0)
		return r;
	return v4l2_set_format(fd, v4l2_info_is_mplane(&info) ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
							     : V4L2_BUF_TYPE_VIDEO_OUTPUT,
			       f, true);
}

int v4l2_buf_map(int fd, uint32_t type, unsigned index, int prot, uint8_t **map, size_t *len)
{
	struct v4l2_buf vb;
	v4l2_buf_init(&vb, type, V4L2_MEMORY_MMAP, index);
	int r = xioctl(fd, VIDIOC_QUERYBUF, &vb.b);
	if (r < 0)
		return r;
	size_t n = v4l2_buf_length(&vb);
	void *p = mmap(NULL, n, prot, MAP_SHARED, fd, v4l2_buf_mem_offset(&vb));
	if (p == MAP_FAILED)
		return -errno;
	*map = p;
	*len = n;
	return 0;
}

void v4l2_buf_init(struct v4l2_buf *vb, uint32_t type, uint32_t memory, unsigned index)
{
	memset(vb, 0, sizeof(*vb));
	vb->b.type = type;
	vb->b.memory = memory;
	vb->b.index = index;
	vb->b.field = V4L2_FIELD_NONE;
	if (V4L2_TYPE_IS_MULTIPLANAR(type)) {
		vb->b.m.planes = &vb->plane;
		vb->b.length = 1;
	}
}

uint32_t v4l2_buf_bytesused(const struct v4l2_buf *vb)
{
	return V4L2_TYPE_IS_MULTIPLANAR(vb->b.type) ? vb->plane.bytesused : vb->b.bytesused;
}

uint32_t v4l2_buf_length(const struct v4l2_buf *vb)
{
	return V4L2_TYPE_IS_MULTIPLANAR(vb->b.type) ? vb->plane.length : vb->b.length;
}

uint32_t v4l2_buf_mem_offset(const struct v4l2_buf *vb)
{
	return V4L2_TYPE_IS_MULTIPLANAR(vb->b.type) ? vb->plane.m.mem_offset : vb->b.m.offset;
}

uint32_t v4l2_buf_data_offset(const struct v4l2_buf *vb)
{
	return V4L2_TYPE_IS_MULTIPLANAR(vb->b.type) ? vb->plane.data_offset : 0;
}

void v4l2_buf_set_payload(struct v4l2_buf *vb, uint32_t bytesused, uint32_t length)
{
	if (V4L2_TYPE_IS_MULTIPLANAR(vb->b.type)) {
		vb->plane.bytesused = bytesused;
		vb->plane.length = length;
	} else {
		vb->b.bytesused = bytesused;
		vb->b.length = length;
	}
}

void v4l2_buf_set_dmabuf(struct v4l2_buf *vb, int fd)
{
	if (V4L2_TYPE_IS_MULTIPLANAR(vb->b.type))
		vb->plane.m.fd = fd;
	else
		vb->b.m.fd = fd;
}

/* "video12" → 12; -1 for anything else */
static int video_number(const char *name)
{
	const size_t prefix = STRLEN("video");
	if (strncmp(name, "video", prefix) != 0 || name[prefix] == '\0')
		return -1;
	int n = 0;
	for (const char *p = name + prefix; *p; p++) {
		if (*p < '0' || *p > '9' || n > 100000)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

static int compare_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int v4l2_scan(struct v4l2_device_info **out)
{
	*out = NULL;
	DIR *dir _cleanup_closedir_ = opendir("/dev");
	if (!dir)
		return -errno;
	_cleanup_free_ int *numbers = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		int num = video_number(e->d_name);
		if (num < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			int *nn = realloc(numbers, ncap * sizeof(*nn));
			if (!nn)
				return -ENOMEM;
			numbers = nn;
			cap = ncap;
		}
		numbers[n++] = num;
	}
	if (n == 0)
		return 0;
	qsort(numbers, n, sizeof(*numbers), compare_int);
	struct v4l2_device_info *infos = calloc(n, sizeof(*infos));
	if (!infos)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/video%d", numbers[i]);
		v4l2_probe(path, &infos[i]);
	}
	*out = infos;
	return (int)n;
}
