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
	if (!text)
		return small_file_why("--auth-file", path, -ENOMEM, SMALL_FILE_READ, 0,
				      AUTH_FILE_MAX + 1, err, errlen);
	mode_t mode = 0;
	enum small_file_step step;
	ssize_t n = small_file_read(path, text, AUTH_FILE_MAX + 1, &mode, &step);
	if (n < 0)
		return small_file_why("--auth-file", path, (int)n, step, mode, AUTH_FILE_MAX + 1,
				      err, errlen);
	/* The hashes are slow to crack, not impossible: other users have no business reading them. */
	if (mode & S_IROTH)
		log_warn("--auth-file '%s' is readable by every user: chmod o-r it (e.g. 0640, "
			 "group of the service)", path);
	return auth_users_parse(text, (size_t)n, path, out, err, errlen);
}
