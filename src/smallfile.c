/* Reading a small file whole; see include/mjpegd/smallfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/smallfile.h"

static ssize_t fail(enum small_file_step step, enum small_file_step *failed, int r)
{
	if (failed)
		*failed = step;
	return r;
}

ssize_t small_file_read(const char *path, char *buf, size_t cap, mode_t *mode,
			enum small_file_step *failed)
{
	if (cap == 0)
		return fail(SMALL_FILE_SIZE, failed, -EFBIG);
	int fd _cleanup_close_ = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fail(SMALL_FILE_OPEN, failed, -errno);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(SMALL_FILE_STAT, failed, -errno);
	if (mode)
		*mode = st.st_mode;
	if (!S_ISREG(st.st_mode))
		return fail(SMALL_FILE_TYPE, failed, -EINVAL);
	if (st.st_size < 0 || (size_t)st.st_size >= cap)
		return fail(SMALL_FILE_SIZE, failed, -EFBIG);
	/* Read until end of file, one byte beyond cap - 1 allowed to notice a file that grew. */
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(SMALL_FILE_READ, failed, -errno);
		if (n == 0)
			break;
		used += (size_t)n;
		if (used >= cap)
			return fail(SMALL_FILE_SIZE, failed, -EFBIG);
	}
	buf[used] = '\0';
	return (ssize_t)used;
}

const char *file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFSOCK: return "a socket";
	default: return "another kind of file";
	}
}

int small_file_why(const char *who, const char *path, int r, enum small_file_step step,
		   mode_t mode, size_t cap, char *why, size_t whylen)
{
	switch (step) {
	case SMALL_FILE_OPEN:
		return why_set(why, whylen, r, "%s: cannot open '%s': %s", who, path, strerror(-r));
	case SMALL_FILE_STAT:
		return why_set(why, whylen, r, "%s: cannot stat '%s': %s", who, path, strerror(-r));
	case SMALL_FILE_TYPE:
		return why_set(why, whylen, r, "%s: '%s' is not a regular file (%s)", who, path,
			       file_type_name(mode));
	case SMALL_FILE_SIZE:
		return why_set(why, whylen, r, "%s: '%s' is larger than %zu bytes", who, path,
			       cap - 1);
	case SMALL_FILE_READ:
		break;
	}
	return why_set(why, whylen, r, "%s: cannot read '%s': %s", who, path, strerror(-r));
}

ssize_t small_file_load(const char *who, const char *path, size_t cap, char **text, mode_t *mode,
			char *why, size_t whylen)
{
	*text = malloc(cap);
	if (!*text)
		return small_file_why(who, path, -ENOMEM, SMALL_FILE_READ, 0, cap, why, whylen);
	enum small_file_step step;
	mode_t m = 0;
	ssize_t n = small_file_read(path, *text, cap, &m, &step);
	if (mode)
		*mode = m;
	if (n < 0)
		return small_file_why(who, path, (int)n, step, m, cap, why, whylen);
	return n;
}
