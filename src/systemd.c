/* systemd integration; see include/mjpegd/systemd.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/systemd.h"

static void notify(struct systemd_notifier *n, const char *msg)
{
	if (!n->enabled)
		return;
	int r = sd_notify(0, msg);
	if (r < 0)
		log_warn_errno(r, "sd_notify");
}

void systemd_notifier_init(struct systemd_notifier *n)
{
	memset(n, 0, sizeof(*n));
	uint64_t usec = 0;
	n->enabled = getenv("NOTIFY_SOCKET") != NULL;
	if (sd_watchdog_enabled(0, &usec) > 0)
		n->watchdog_ns = usec * 1000;
	if (n->enabled)
		log_debug("systemd: notify socket found%s", n->watchdog_ns ? ", watchdog on" : "");
}

void systemd_notify_status(struct systemd_notifier *n, const char *status)
{
	if (!n->enabled || !strcmp(n->last_status, status))
		return;
	snprintf(n->last_status, sizeof(n->last_status), "%s", status);
	char msg[300];
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify(n, msg);
}

void systemd_notify_ready(struct systemd_notifier *n, const char *status)
{
	if (!n->enabled)
		return;
	char msg[300];
	snprintf(n->last_status, sizeof(n->last_status), "%s", status);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify(n, msg);
	n->last_ping_ns = now_mono_ns();
}

void systemd_watchdog_tick(struct systemd_notifier *n, uint64_t now_ns)
{
	if (!n->enabled || !n->watchdog_ns)
		return;
	if (now_ns - n->last_ping_ns < n->watchdog_ns / 2)
		return;
	n->last_ping_ns = now_ns;
	notify(n, "WATCHDOG=1");
}

void systemd_notify_stopping(struct systemd_notifier *n)
{
	notify(n, "STOPPING=1\nSTATUS=stopping");
}

int systemd_listen_fds(int *fds, unsigned max)
{
	int n = sd_listen_fds(1);
	if (n < 0)
		return log_err_errno(n, "socket activation");
	if ((unsigned)n > max) {
		log_err("socket activation: %d sockets passed, at most %u are used", n, max);
		return -E2BIG;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			log_err("socket activation: fd %d is not a listening stream socket "
				"(check ListenStream= in mjpegd.socket)", fd);
			return -EINVAL;
		}
		fds[i] = fd;
	}
	return n;
}
