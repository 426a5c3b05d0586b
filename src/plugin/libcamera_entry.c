/* The C side of the libcamera plugin (mjpegd-libcamera.so): its two exported symbols and the
 * log back end (log_msg(), log_get_level()) under src/log_wrap.c's helpers that the shim and
 * libcamera_log.c call, which forwards every finished line to the daemon's (struct lcshim_host,
 * src/source/libcamera_shim.h). Compiled into the plugin only, never into the
 * daemon: the names below (log_msg, …) are the daemon's too, so the plugin is linked with a
 * version script (src/plugin/libcamera.map) that hides everything but the two entry points. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

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

/* The plugin's log back end: each finished line goes to the daemon, which filters and writes it
 * (the helpers above log_msg() — log_msg_errno(), log_obj_msg() … — are src/log_wrap.c, linked
 * into the plugin as into the daemon). */
void log_msg(int level, const char *fmt, ...)
{
	int saved_errno = errno;
	if (host && level <= host->log_level()) {
		char line[PLUGIN_LINE_MAX + LOG_PREFIX_MAX + 128];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		host->log_text(level, line);
	}
	errno = saved_errno;
}
