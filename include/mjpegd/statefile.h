/* Files the daemon writes for itself (state, e.g. the camera controls set over HTTP), written
 * atomically: a temporary file in the same directory, fsync, rename over the old one, fsync of
 * the directory. A crash or power cut (an SD card pulled) leaves the old file or the new one,
 * never half of one. */
#ifndef MJPEGD_STATEFILE_H
#define MJPEGD_STATEFILE_H

#include <stddef.h>
#include <sys/types.h>

#define STATE_FILE_MAX (256 * 1024)

/* Writes data to dir/name atomically (mode 0644). 0 or a negative errno (-ENOENT: no such
 * directory, -EACCES, -ENOSPC, ...); the temporary file is removed on failure. */
int state_file_write(const char *dir, const char *name, const void *data, size_t len);

/* Reads dir/name into buf (NUL-terminated) and returns its length; -ENOENT when there is none,
 * -EINVAL when it is not a regular file (a FIFO would block), -EFBIG when it does not fit. */
ssize_t state_file_read(const char *dir, const char *name, char *buf, size_t cap);

#endif
