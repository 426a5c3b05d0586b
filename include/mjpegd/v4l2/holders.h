/* Who else has a device open: for "busy" and "refused another context" errors, so that the
 * message names the other program or mjpegd instance (PID, command, systemd unit) instead of
 * leaving the user to guess. Reads /proc (or a directory laid out like it: the unit tests). */
#ifndef MJPEGD_V4L2_HOLDERS_H
#define MJPEGD_V4L2_HOLDERS_H

#include <stddef.h>
#include <sys/types.h>

/* The processes under proc (normally "/proc") other than self with an fd on the file path
 * names, as "PID 812 mjpegd (mjpegd@room.service), PID 977 cam" in buf (truncated with "…"
 * when long). Returns how many were found; 0 with buf "" when none is visible (processes of
 * other users hide their fds from an unprivileged caller), or a negative errno when path itself
 * cannot be resolved. */
int device_holders(const char *proc, const char *path, pid_t self, char *buf, size_t len);

/* The media-controller nodes (dev_dir/media*, normally "/dev") that processes under proc other
 * than self hold, as "/dev/media2 held by PID 812 mjpegd (mjpegd@nozzle.service)" joined with
 * "; " in buf. Returns how many nodes are held (0: none, buf ""). libcamera leaves out a camera
 * whose media device another process streams from, so "no camera" may mean "busy". */
int media_holders(const char *dev_dir, const char *proc, pid_t self, char *buf, size_t len);

/* The systemd unit in a /proc/PID/cgroup text ("0::/system.slice/system-mjpegd.slice/
 * mjpegd@room.service\n" → "mjpegd@room.service"): the last path component that ends in
 * .service or .scope; "" when there is none. Pure. */
void holder_unit_from_cgroup(const char *text, char *out, size_t len);
#endif
