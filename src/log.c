/* The daemon's log back end: log_msg() to stderr with journald "<N>" priority prefixes, the
 * level and the repeat filter; see include/mjpegd/log.h. The helpers built on log_msg()
 * (log_*_errno, log_obj_*, why_*) are in src/log_wrap.c, shared with the libcamera plugin.
 *
 * The state below is the process-wide logging state that log.h allows. A mutex guards the repeat
 * filter because the software encoder logs from its worker thread. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/ratelimit.h"

#define LOG_LINE_MAX 1024

static atomic_int log_level = LOG_LEVEL_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_text[LOG_LINE_MAX];
static int last_level = -1; /* -1: nothing logged yet */
static struct ratelimit repeat_limit = RATELIMIT_INIT(LOG_REPEAT_INTERVAL_NS, LOG_REPEAT_BURST);

void log_set_level(int level)
{
	if (level < LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int log_get_level(void)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* One write() per call so lines from several threads (or processes sharing stderr) do not
 * interleave; short writes to a pipe this small do not happen, but retry on EINTR. */
static void write_all(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, s, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		s += n;
		len -= (size_t)n;
	}
}

static int append(char *out, size_t cap, size_t used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int append(char *out, size_t cap, size_t used, const char *fmt, ...)
{
	va_list ap;
	if (used >= cap)
		return 0;
	va_start(ap, fmt);
	int n = vsnprintf(out + used, cap - used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return 0;
	return (size_t)n < cap - used ? n : (int)(cap - used - 1);
}

void log_msg(int level, const char *fmt, ...)
{
	/* Callers log errno-based messages and then return -errno: logging must not clobber it. */
	int saved_errno = errno;
	char text[LOG_LINE_MAX];
	char out[2 * LOG_LINE_MAX + 64];
	size_t used = 0;
	va_list ap;

	if (level < LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	if (level > log_get_level()) {
		errno = saved_errno;
		return;
	}

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = saved_errno;
		return;
	}
	/* journald (and anyone reading stderr) splits on newlines: keep one message on one line. */
	size_t len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';

	pthread_mutex_lock(&log_lock);
	uint64_t now = now_mono_ns();
	if (level == last_level && strcmp(text, last_text) == 0) {
		if (!ratelimit_allow(&repeat_limit, now)) {
			pthread_mutex_unlock(&log_lock);
			errno = saved_errno;
			return;
		}
	} else {
		/* A new message: report what the old one's filter swallowed, at the old one's level,
		 * before starting a fresh window for the new text. */
		if (last_level >= 0) {
			unsigned suppressed = ratelimit_take_suppressed(&repeat_limit);
			if (suppressed > 0)
				used += append(out, sizeof(out), used, "<%d>(%u similar messages suppressed)\n",
					       last_level, suppressed);
		}
		repeat_limit = (struct ratelimit)RATELIMIT_INIT(LOG_REPEAT_INTERVAL_NS, LOG_REPEAT_BURST);
		(void)ratelimit_allow(&repeat_limit, now);
		memcpy(last_text, text, len + 1);
		last_level = level;
	}
	unsigned suppressed = ratelimit_take_suppressed(&repeat_limit);
	if (suppressed > 0)
		used += append(out, sizeof(out), used, "<%d>(%u similar messages suppressed)\n", level,
			       suppressed);
	used += append(out, sizeof(out), used, "<%d>%s\n", level, text);
	write_all(out, used);
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
}
