/* Logging to stderr with journald priority prefixes ("<3>" … "<7>").
 *
 * The log level and the repeat filter are the one piece of process-wide state outside main.c:
 * main() sets the level once (and again on reload); every module only calls log_msg(). */
#ifndef MJPEGD_LOG_H
#define MJPEGD_LOG_H

#include <stddef.h>

#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Repeat filter for log_msg(): identical consecutive messages beyond the burst are dropped. */
#define LOG_REPEAT_BURST 5
#define LOG_REPEAT_INTERVAL_NS (10ULL * 1000000000ULL)

void log_set_level(int level);
int log_get_level(void);

/* Identical consecutive messages (same level and text) are rate-limited: at most
 * LOG_REPEAT_BURST within LOG_REPEAT_INTERVAL_NS; the number suppressed is reported with the next
 * message that gets through. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* log_msg_errno(level, r, …), defined below as log_obj_msg_errno() without a prefix: log_msg()
 * with ": " and the text of the errno r (negative, as functions here return it) appended; returns r, so that the function that knows a failure's cause logs it and passes it
 * up in one line: return log_err_errno(r, "m2m %s: VIDIOC_STREAMON", path); Its callers do not
 * log it again. errno is left as it was. */
#define log_err_errno(r, ...) log_msg_errno(LOG_LEVEL_ERR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_msg_errno(LOG_LEVEL_WARNING, (r), __VA_ARGS__)
#define log_notice_errno(r, ...) log_msg_errno(LOG_LEVEL_NOTICE, (r), __VA_ARGS__)
#define log_info_errno(r, ...) log_msg_errno(LOG_LEVEL_INFO, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_msg_errno(LOG_LEVEL_DEBUG, (r), __VA_ARGS__)
#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Lines about one object (a camera, an encoder) start with its prefix, which the object formats
 * once and keeps ("v4l2 /dev/video0", "libcamera: /base/soc/i2c0mux/i2c@1/imx708@1a"), so no
 * message writes it by hand: log_obj_err(vs->log_prefix, "VIDIOC_QBUF %u", i) prints
 * "v4l2 /dev/video0: VIDIOC_QBUF 3"; the _errno forms append the errno text and return r as
 * log_msg_errno() does. */
#define LOG_PREFIX_MAX 160
void log_obj_msg(int level, const char *prefix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int log_obj_msg_errno(int level, const char *prefix, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The _errno form without an object (its prefix NULL): log_err_errno() and co. below. */
#define log_msg_errno(level, r, ...) log_obj_msg_errno((level), NULL, (r), __VA_ARGS__)

#define log_obj_err(o, ...) log_obj_msg(LOG_LEVEL_ERR, (o), __VA_ARGS__)
#define log_obj_warn(o, ...) log_obj_msg(LOG_LEVEL_WARNING, (o), __VA_ARGS__)
#define log_obj_notice(o, ...) log_obj_msg(LOG_LEVEL_NOTICE, (o), __VA_ARGS__)
#define log_obj_info(o, ...) log_obj_msg(LOG_LEVEL_INFO, (o), __VA_ARGS__)
#define log_obj_debug(o, ...) log_obj_msg(LOG_LEVEL_DEBUG, (o), __VA_ARGS__)
#define log_obj_err_errno(o, r, ...) log_obj_msg_errno(LOG_LEVEL_ERR, (o), (r), __VA_ARGS__)
#define log_obj_warn_errno(o, r, ...) log_obj_msg_errno(LOG_LEVEL_WARNING, (o), (r), __VA_ARGS__)
#define log_obj_notice_errno(o, r, ...) log_obj_msg_errno(LOG_LEVEL_NOTICE, (o), (r), __VA_ARGS__)
#define log_obj_info_errno(o, r, ...) log_obj_msg_errno(LOG_LEVEL_INFO, (o), (r), __VA_ARGS__)
#define log_obj_debug_errno(o, r, ...) log_obj_msg_errno(LOG_LEVEL_DEBUG, (o), (r), __VA_ARGS__)

/* For functions that say why they refuse something to a caller who words the message (the
 * "why" buffer of checks and parsers): formats into why (when not NULL) and returns r. */
int why_set(char *why, size_t whylen, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same for a line of a file: "ORIGIN:LINE: message" into why; returns -EINVAL. */
int why_at_line(char *why, size_t whylen, const char *origin, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
