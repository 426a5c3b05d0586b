/* Reading the --auth-file: the I/O around auth_users_parse(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/log.h"
#include "mjpegd/smallfile.h"

/* The buffer holds password hashes: wiped before it is freed. */
static void wipe_freep(char **text)
{
	if (*text) {
		explicit_bzero(*text, AUTH_FILE_MAX + 1);
		free(*text);
	}
}

int auth_users_load(const char *path, struct auth_users **out, char *err, size_t errlen)
{
	char *text __attribute__((cleanup(wipe_freep))) = malloc(AUTH_FILE_MAX + 1);
	if (!text) {
		snprintf(err, errlen, "--auth-file: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	mode_t mode = 0;
	enum small_file_step step;
	ssize_t n = small_file_read(path, text, AUTH_FILE_MAX + 1, &mode, &step);
	if (n < 0) {
		int r = (int)n;
		switch (step) {
		case SMALL_FILE_OPEN:
			snprintf(err, errlen, "--auth-file: cannot open '%s': %s", path, strerror(-r));
			break;
		case SMALL_FILE_STAT:
			snprintf(err, errlen, "--auth-file: cannot stat '%s': %s", path, strerror(-r));
			break;
		case SMALL_FILE_TYPE:
			snprintf(err, errlen, "--auth-file: '%s' is not a regular file", path);
			break;
		case SMALL_FILE_SIZE:
			snprintf(err, errlen, "--auth-file: '%s' is larger than %d bytes", path,
				 AUTH_FILE_MAX);
			break;
		case SMALL_FILE_READ:
			snprintf(err, errlen, "--auth-file: reading '%s': %s", path, strerror(-r));
			break;
		}
		return r;
	}
	/* The hashes are slow to crack, not impossible: other users have no business reading them. */
	if (mode & S_IROTH)
		log_warn("--auth-file '%s' is readable by every user: chmod o-r it (e.g. 0640, "
			 "group of the service)", path);
	return auth_users_parse(text, (size_t)n, path, out, err, errlen);
}
