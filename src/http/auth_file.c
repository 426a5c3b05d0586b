/* Reading the --auth-file: the I/O around auth_users_parse(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/log.h"

int auth_users_load(const char *path, struct auth_users **out, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO must not block start-up or the loop on SIGHUP (see config.c). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int r = -errno;
		snprintf(err, errlen, "--auth-file: cannot open '%s': %s", path, strerror(-r));
		return r;
	}
	struct stat st;
	int r = 0;
	char *text = NULL;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "--auth-file: cannot stat '%s': %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "--auth-file: '%s' is not a regular file", path);
		goto out;
	}
	if (st.st_size > AUTH_FILE_MAX) {
		r = -EFBIG;
		snprintf(err, errlen, "--auth-file: '%s' is larger than %d bytes", path, AUTH_FILE_MAX);
		goto out;
	}
	/* The hashes are slow to crack, not impossible: other users have no business reading them. */
	if (st.st_mode & S_IROTH)
		log_warn("--auth-file '%s' is readable by every user: chmod o-r it (e.g. 0640, "
			 "group of the service)", path);
	text = malloc(AUTH_FILE_MAX + 1);
	if (!text) {
		r = -ENOMEM;
		snprintf(err, errlen, "--auth-file: %s", strerror(ENOMEM));
		goto out;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, text + len, AUTH_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "--auth-file: reading '%s': %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > AUTH_FILE_MAX) {
			r = -EFBIG;
			snprintf(err, errlen, "--auth-file: '%s' is larger than %d bytes", path,
				 AUTH_FILE_MAX);
			goto out;
		}
	}
	r = auth_users_parse(text, len, path, out, err, errlen);
out:
	if (text) {
		explicit_bzero(text, AUTH_FILE_MAX + 1);
		free(text);
	}
	close(fd);
	return r;
}
