/* The log helpers every module calls (log.h): the errno and object-prefix forms and the "why"
 * formatters. They only format and hand the line to log_msg() and ask log_get_level(), so the
 * same code serves two back ends: src/log.c (stderr, journald prefixes, repeat filter) in the
 * daemon and src/plugin/libcamera_entry.c (forwards each line to the daemon) in the libcamera
 * plugin. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/log.h"

#define LOG_LINE_MAX 1024

/* log_msg() of "PREFIX: TEXT: ERRNO-TEXT", the prefix only when not NULL, the errno text of r
 * only when with_errno. */
static void log_parts(int level, const char *prefix, bool with_errno, int r, const char *fmt,
		      va_list ap)
{
	if (level > log_get_level())
		return;
	char text[LOG_LINE_MAX];
	vsnprintf(text, sizeof(text), fmt, ap);
	log_msg(level, "%s%s%s%s%s", prefix ? prefix : "", prefix ? ": " : "", text,
		with_errno ? ": " : "", with_errno ? strerror(r < 0 ? -r : r) : "");
}

void log_obj_msg(int level, const char *prefix, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	log_parts(level, prefix, false, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

int log_obj_msg_errno(int level, const char *prefix, int r, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	log_parts(level, prefix, true, r, fmt, ap);
	va_end(ap);
	errno = saved_errno;
	return r;
}

int why_set(char *why, size_t whylen, int r, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return r;
}

int why_at_line(char *why, size_t whylen, const char *origin, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return why_set(why, whylen, -EINVAL, "%s:%u: %s", origin, line, msg);
}
