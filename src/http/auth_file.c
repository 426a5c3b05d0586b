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
	char *text __attribute__((cleanup(wipe_freep))) = NULL;
	mode_t mode = 0;
	ssize_t n = small_file_load("--auth-file", path, AUTH_FILE_MAX + 1, &text, &mode, err,
				    errlen);
	if (n < 0)
		return (int)n;
	/* The hashes are slow to crack, not impossible: other users have no business reading them. */
	if (mode & S_IROTH)
		log_warn("--auth-file '%s' is readable by every user: chmod o-r it (e.g. 0640, "
			 "group of the service)", path);
	return auth_users_parse(text, (size_t)n, path, out, err, errlen);
}
