/* Stable names of V4L2 cameras: udev's /dev/v4l/by-id/ and /dev/v4l/by-path/ symlinks, which keep
 * naming the same camera across reboots and replugging while its /dev/videoN may change.
 * --source v4l2:LINK resolves the link at each (re)open; --list-devices prints the links of each
 * node. Plain file-system reads (readdir, realpath), no V4L2 ioctl: tested over a temporary
 * directory of symlinks (tests/unit/test_v4l2_stable_id.c). */
#ifndef MJPEGD_V4L2_STABLE_ID_H
#define MJPEGD_V4L2_STABLE_ID_H

#include <stdbool.h>
#include <stddef.h>

/* Where udev (60-persistent-v4l.rules) puts the links. */
#define V4L2_STABLE_ROOT "/dev/v4l"
#define V4L2_STABLE_PATH_MAX 256

struct v4l2_stable_link {
	char path[V4L2_STABLE_PATH_MAX]; /* "/dev/v4l/by-id/usb-046d_..._C920-video-index0" */
};

/* The links in root/by-id, then root/by-path (each sorted by name), that resolve to the same
 * file as node. Fills at most max; returns how many matched (more than max when out was short),
 * or a negative errno when node itself cannot be resolved. A missing directory has no links. */
int v4l2_stable_links(const char *root, const char *node, struct v4l2_stable_link *out,
		      unsigned max);

/* What path (a node, or a link to one) names now: out gets the resolved path. -ENOENT when
 * the link dangles (the camera is unplugged), -ENAMETOOLONG when out is short. */
int v4l2_resolve_node(const char *path, char *out, size_t len);
#endif
