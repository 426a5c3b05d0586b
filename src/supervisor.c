/* Device state machines with backoff; see include/mjpegd/supervisor.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/supervisor.h"

static const char *const state_names[DEVICE_STATE_COUNT] = {
	[DEVICE_STOPPED] = "stopped",
	[DEVICE_STARTING] = "starting",
	[DEVICE_RUNNING] = "running",
	[DEVICE_FAILED] = "failed",
	[DEVICE_STANDBY] = "standby",
};

const char *device_state_name(enum device_state s)
{
	return (unsigned)s < ELEMENTSOF(state_names) ? state_names[s] : "?";
}

void supervisor_init(struct supervised_device *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->state = DEVICE_STOPPED;
	d->backoff_ns = SUPERVISOR_BACKOFF_MIN_NS;
}

static void transition(struct supervised_device *d, enum device_state to, uint64_t now_ns,
		       const char *why)
{
	if (d->state == to)
		return;
	int level = to == DEVICE_FAILED ? LOG_LEVEL_WARNING : LOG_LEVEL_NOTICE;
	log_msg(level, "%s: %s → %s%s%s", d->name, device_state_name(d->state),
		device_state_name(to), why ? ": " : "", why ? why : "");
	d->state = to;
	d->since_ns = now_ns;
}

void supervisor_starting(struct supervised_device *d, uint64_t now_ns)
{
	if (d->state == DEVICE_FAILED)
		d->restarts++;
	transition(d, DEVICE_STARTING, now_ns, d->restarts ? "retrying" : NULL);
}

void supervisor_running(struct supervised_device *d, uint64_t now_ns)
{
	transition(d, DEVICE_RUNNING, now_ns, NULL);
}

uint64_t supervisor_failed(struct supervised_device *d, uint64_t now_ns, int err,
			   const char *reason)
{
	/* A device that ran well for a minute starts its backoff afresh. */
	if (d->state == DEVICE_RUNNING && now_ns - d->since_ns >= SUPERVISOR_HEALTHY_NS)
		d->backoff_ns = SUPERVISOR_BACKOFF_MIN_NS;
	uint64_t delay = d->backoff_ns;
	d->retry_at_ns = now_ns + delay;
	d->backoff_ns = delay * 2 > SUPERVISOR_BACKOFF_MAX_NS ? SUPERVISOR_BACKOFF_MAX_NS : delay * 2;
	d->failures++;
	d->last_errno = err < 0 ? -err : err;
	/* A timeout's reason already says so; strerror(ETIMEDOUT) would add "Connection timed out". */
	bool say_errno = err && err != -ETIMEDOUT;
	snprintf(d->last_error, sizeof(d->last_error), "%s%s%s", reason ? reason : "failed",
		 say_errno ? ": " : "", say_errno ? strerror(d->last_errno) : "");
	char why[200];
	snprintf(why, sizeof(why), "%s; retrying in %llu ms", d->last_error,
		 (unsigned long long)(delay / 1000000ULL));
	transition(d, DEVICE_FAILED, now_ns, why);
	return delay;
}

void supervisor_gave_up(struct supervised_device *d, uint64_t now_ns, int err, const char *reason)
{
	d->retry_at_ns = UINT64_MAX;
	d->failures++;
	d->last_errno = err < 0 ? -err : err;
	snprintf(d->last_error, sizeof(d->last_error), "%s", reason);
	char why[sizeof(d->last_error) + 64];
	snprintf(why, sizeof(why), "%s; not retried (restart mjpegd once it is fixed)", d->last_error);
	transition(d, DEVICE_FAILED, now_ns, why);
}

bool supervisor_retry_due(const struct supervised_device *d, uint64_t now_ns)
{
	return d->state == DEVICE_FAILED && now_ns >= d->retry_at_ns;
}

void supervisor_stopped(struct supervised_device *d, uint64_t now_ns)
{
	transition(d, DEVICE_STOPPED, now_ns, NULL);
}

void supervisor_standby(struct supervised_device *d, uint64_t now_ns)
{
	transition(d, DEVICE_STANDBY, now_ns, NULL);
}
