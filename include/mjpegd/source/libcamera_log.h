/* libcamera's own log lines, turned into mjpegd log messages (pure; src/source/libcamera_log.c).
 *
 * The libcamera shim (src/source/libcamera.cpp) points libcamera's logger at a stream of its own
 * (libcamera::logSetStream, no colour) unless the user set LIBCAMERA_LOG_FILE; each line libcamera
 * writes there ("[0:00:01.234567890] [1234]  WARN IPAManager ipa_manager.cpp:150 No IPA found …",
 * the same shape from 0.0.3 to 0.7) goes through libcamera_log_parse() and then log_msg(), so one
 * journald-prefixed log reaches stderr. Which libcamera severities are produced at all follows
 * --log-level (libcamera_log_levels()), unless the user set LIBCAMERA_LOG_LEVELS.
 */
#ifndef MJPEGD_SOURCE_LIBCAMERA_LOG_H
#define MJPEGD_SOURCE_LIBCAMERA_LOG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One line of libcamera's stream log (with or without its trailing newline) → the mjpegd log
 * level of its severity (DEBUG 7, INFO 6, WARN 4, ERROR and FATAL 3) and, in out, the text
 * "libcamera CATEGORY: [PREFIX: ]MESSAGE": timestamp, thread id and source file:line dropped. A
 * line of another shape is kept whole as "libcamera: LINE" at LOG_LEVEL_NOTICE. Returns the level;
 * out is always NUL-terminated (truncated to len). */
int libcamera_log_parse(const char *line, char *out, size_t len);

/* The LIBCAMERA_LOG_LEVELS value for an mjpegd log level: err → "*:ERROR", warning, notice and
 * info → "*:WARN" (libcamera's INFO lines are its start-up chatter; mjpegd logs the camera, the
 * format and libcamera's version itself), debug → "*:DEBUG". */
const char *libcamera_log_levels(int mjpegd_level);

#ifdef __cplusplus
}
#endif

#endif
