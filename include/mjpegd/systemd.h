/* systemd integration: sd_notify (READY, STATUS, WATCHDOG, STOPPING) and socket activation.
 * Everything is a no-op when not started by systemd (no NOTIFY_SOCKET / LISTEN_FDS). */
#ifndef MJPEGD_SYSTEMD_H
#define MJPEGD_SYSTEMD_H

#include <stdbool.h>
#include <stdint.h>

struct systemd_notifier {
	bool enabled;            /* NOTIFY_SOCKET is set */
	uint64_t watchdog_ns;    /* WatchdogSec, 0 when off */
	uint64_t last_ping_ns;
	char last_status[256];   /* STATUS= is sent only when it changes */
};

void systemd_notifier_init(struct systemd_notifier *n);
void systemd_notify_ready(struct systemd_notifier *n, const char *status);
void systemd_notify_status(struct systemd_notifier *n, const char *status);
/* Called from the loop's tick: pings WATCHDOG=1 every watchdog/2, so a wedged loop stops the pings
 * and systemd restarts the service. */
void systemd_watchdog_tick(struct systemd_notifier *n, uint64_t now_ns);
void systemd_notify_stopping(struct systemd_notifier *n);

/* Sockets passed by systemd socket activation (SD_LISTEN_FDS_START…), checked to be listening
 * TCP sockets. Returns how many were stored in fds (at most max), 0 when none were passed, or a
 * negative errno when what was passed is unusable (logged). */
int systemd_listen_fds(int *fds, unsigned max);

#endif
