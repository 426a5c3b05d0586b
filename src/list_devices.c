/* --list-devices: the devices and the names a user pastes into a config file, printed to stdout
 * (include/mjpegd/list_devices.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/list_devices.h"
#include "mjpegd/macro.h"
#include "mjpegd/select.h"
#include "mjpegd/source/libcamera_plugin.h"
#include "mjpegd/source/libcamera_source.h"
#include "mjpegd/v4l2/device.h"
#include "mjpegd/v4l2/discover.h"
#include "mjpegd/v4l2/stable_id.h"

/* --list-devices: the names of each camera node that survive reboots and replugging, ready to
 * paste into a config file (an instance's /etc/mjpegd/NAME.conf; docs/multi-camera.md). */
static void list_stable_names(const struct v4l2_device_info *devs, size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (!v4l2_info_is_capture(&devs[i]))
			continue;
		if (!any)
			printf("\nV4L2 cameras by stable name (--source v4l2:LINK; /dev/videoN may change "
			       "at the next boot or replug):\n");
		any = true;
		struct v4l2_stable_link links[8];
		int nl = v4l2_stable_links(V4L2_STABLE_ROOT, devs[i].path, links, ELEMENTSOF(links));
		printf("  %s (%s):%s\n", devs[i].path, devs[i].card,
		       nl < 0 ? " cannot resolve it" : nl == 0 ? " no " V4L2_STABLE_ROOT "/by-id or "
		       "by-path link (udev names USB and platform cameras; a test driver has none)" : "");
		for (int k = 0; k < nl && k < (int)ELEMENTSOF(links); k++)
			printf("     source = v4l2:%s\n", links[k].path);
	}
}

int list_devices(uint32_t m2m_fourcc)
{
	struct v4l2_device_info *devs _cleanup_free_ = NULL;
	int n = v4l2_scan(&devs);
	if (n < 0) {
		fprintf(stderr, "mjpegd: listing /dev/video*: %s\n", strerror(-n));
		return 1;
	}
	select_describe_devices(devs, (size_t)n, m2m_fourcc, stdout);
	list_stable_names(devs, (size_t)n);

	struct libcamera_camera_info cams[8];
	int nc = source_libcamera_list(cams, 8);
	printf("\nlibcamera cameras (--source libcamera[:INDEX|ID]):\n");
	const struct libcamera_plugin_info *lp = libcamera_plugin_info();
	if (nc == -EOPNOTSUPP)
		printf("  none: mjpegd was built without libcamera\n");
	else if (nc == -ELIBACC)
		printf("  none: the libcamera plugin is not usable: %s\n  what to do: %s\n", lp->error,
		       lp->hint);
	else if (nc == -ENODEV || nc == 0)
		printf("  none found (on a Pi: camera_auto_detect=1 in config.txt, ribbon seated?)\n");
	else if (nc < 0)
		printf("  cannot list them: %s\n", strerror(-nc));
	for (int i = 0; i < nc && i < 8; i++) {
		printf("  %d: %s (%s)%s\n", i, cams[i].model, cams[i].id,
		       cams[i].external ? " — a USB camera: --source auto serves it through V4L2"
					: " — usable as the source");
		/* the id names the camera by where it is connected, not by enumeration order */
		printf("     source = libcamera:%s\n", cams[i].id);
	}
	return 0;
}
