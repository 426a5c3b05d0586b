/* The C side of the libcamera plugin (mjpegd-libcamera.so): its two exported symbols and the
 * logger the shim and libcamera_log.c call, which forwards every finished line to the daemon's
 * (struct lcshim_host, src/source/libcamera_shim.h). Compiled into the plugin only, never into the
 * daemon: the names below (log_msg, …) are the daemon's too, so the plugin is linked with a
 * version script (src/plugin/libcamera.map) that hides everything but the two entry points. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/log.h"
#include "libcamera_shim.h"

#ifndef MJPEGD_LIBCAMERA_BUILT_AGAINST
#error "MJPEGD_LIBCAMERA_BUILT_AGAINST (pkg-config --modversion libcamera) is set by the Makefile"
#endif

/* Set once by mjpegd_lcplugin_init() on the loop thread before any other call into the plugin;
 * read from libcamera's threads afterwards. */
static const struct lcshim_host *host;

#define PLUGIN_LINE_MAX 1024

__attribute__((visibility("default"))) const uint32_t mjpegd_lcplugin_abi = LCSHIM_ABI_VERSION;

static const struct lcshim_ops ops = {
	.abi_version = LCSHIM_ABI_VERSION,
	.layout = LCSHIM_LAYOUT_INIT,
	.built_against = MJPEGD_LIBCAMERA_BUILT_AGAINST,
	.open = lcshim_open,
	.start = lcshim_start,
	.requeue = lcshim_requeue,
	.requeue_full = lcshim_requeue_full,
	.controls = lcshim_controls,
	.set_controls = lcshim_set_controls,
	.close = lcshim_close,
	.list = lcshim_list,
	.version = lcshim_version,
};

__attribute__((visibility("default"))) const struct lcshim_ops *
mjpegd_lcplugin_init(const struct lcshim_host *h)
{
	/* The loader checked mjpegd_lcplugin_abi already; a host table of another shape is a bug. */
	if (!h || h->abi_version != LCSHIM_ABI_VERSION || h->size != sizeof(*h))
		return NULL;
	host = h;
	return &ops;
}

int log_get_level(void)
{
	return host ? host->log_level() : LOG_LEVEL_INFO;
}

static void emit(int level, const char *prefix, bool with_errno, int r, const char *fmt, va_list ap)
{
	if (!host || level > host->log_level())
		return;
	char text[PLUGIN_LINE_MAX], line[PLUGIN_LINE_MAX + LOG_PREFIX_MAX + 128];
	vsnprintf(text, sizeof(text), fmt, ap);
	snprintf(line, sizeof(line), "%s%s%s%s%s", prefix ? prefix : "", prefix ? ": " : "", text,
		 with_errno ? ": " : "", with_errno ? strerror(r < 0 ? -r : r) : "");
	host->log_text(level, line);
}

void log_msg(int level, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(level, NULL, false, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

int log_msg_errno(int level, int r, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(level, NULL, true, r, fmt, ap);
	va_end(ap);
	errno = saved_errno;
	return r;
}

void log_obj_msg(int level, const char *prefix, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(level, prefix, false, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

int log_obj_msg_errno(int level, const char *prefix, int r, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	emit(level, prefix, true, r, fmt, ap);
	va_end(ap);
	errno = saved_errno;
	return r;
}
