/* LD_PRELOAD shim for the peers bench (bench/vm/): VIDIOC_ENUM_FMT on a capture queue lists only
 * YUYV, so mjpegd's software encoder takes vivid's YUYV (what ustreamer encodes) instead of its
 * preferred YUV420. Everything else goes to the real ioctl. mjpegd has no flag to pick the
 * capture format; this keeps src/ untouched.
 *   gcc -shared -fPIC -O2 bench/vm/yuyv_only.c -o yuyv_only.so -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <sys/ioctl.h>

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (request == VIDIOC_ENUM_FMT) {
		struct v4l2_fmtdesc *d = arg;
		if (d->type == V4L2_BUF_TYPE_VIDEO_CAPTURE ||
		    d->type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
			if (d->index > 0) {
				errno = EINVAL;
				return -1;
			}
			struct v4l2_fmtdesc q = *d;
			for (q.index = 0; real(fd, request, &q) == 0; q.index++) {
				if (q.pixelformat == V4L2_PIX_FMT_YUYV) {
					*d = q;
					d->index = 0;
					return 0;
				}
			}
			errno = EINVAL;
			return -1;
		}
	}
	return real(fd, request, arg);
}
