/* Reading a small file whole (the config file, --auth-file, a state file): the one place that
 * opens without blocking, refuses what is not a regular file and bounds the size. The callers word
 * the message, so the reader says which step failed. */
#ifndef MJPEGD_SMALLFILE_H
#define MJPEGD_SMALLFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Which step of small_file_read() failed. */
enum small_file_step {
	SMALL_FILE_OPEN,  /* open(): -errno (-ENOENT, -EACCES, ...) */
	SMALL_FILE_STAT,  /* fstat(): -errno */
	SMALL_FILE_TYPE,  /* not a regular file (the mode says which kind): -EINVAL */
	SMALL_FILE_SIZE,  /* more than cap - 1 bytes (or it grew to that while read): -EFBIG */
	SMALL_FILE_READ,  /* read(): -errno */
};

/* Reads the regular file at path into buf (cap bytes, so at most cap - 1 of the file) and
 * NUL-terminates it. Opened O_NONBLOCK: a FIFO would block open() (and read()) until a writer
 * came, at start and in the event loop on SIGHUP; for a regular file it changes nothing.
 * Returns the length, or a negative errno with *failed (when not NULL) set to the step that
 * failed. *mode (when not NULL) gets st_mode once fstat() succeeded. buf's bytes past the length
 * are left as they were; a caller reading secrets wipes all cap of them. */
ssize_t small_file_read(const char *path, char *buf, size_t cap, mode_t *mode,
			enum small_file_step *failed);

/* The one wording of small_file_read()'s failures, for every caller: "WHO: cannot open 'PATH':
 * No such file or directory", "WHO: 'PATH' is not a regular file (a FIFO)", "WHO: 'PATH' is
 * larger than N bytes" (cap - 1), "WHO: cannot read 'PATH': …" (also for r = -ENOMEM before the
 * read). who names the option ("--config"). Formats into why; returns r. */
int small_file_why(const char *who, const char *path, int r, enum small_file_step step,
		   mode_t mode, size_t cap, char *why, size_t whylen);

/* small_file_read() into a buffer of cap bytes it allocates into *text, the failure worded by
 * small_file_why() into why. *text is set whenever the allocation succeeded, also on failure (a
 * caller reading secrets wipes it before freeing); NULL with -ENOMEM otherwise. Returns the
 * length or a negative errno. */
ssize_t small_file_load(const char *who, const char *path, size_t cap, char **text, mode_t *mode,
			char *why, size_t whylen);

/* "a directory", "a FIFO", ... for a message about a file that is not regular. */
const char *file_type_name(mode_t mode);

#endif
