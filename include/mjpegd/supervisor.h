/* Per-device supervision (the source and the encoder each have one): a state machine with
 * exponential backoff. Pure: the caller passes the clock, acts on what it returns, and owns the
 * device; this only decides when, and keeps the record /status shows.
 *
 *   STOPPED ──start──▶ STARTING ──first frame──▶ RUNNING
 *                         │                        │
 *                         └──open failed──┐        └──error / timeout──┐
 *                                         ▼                            ▼
 *                                       FAILED ──backoff elapsed──▶ STARTING
 *
 * STANDBY (--standby-after): any state → STANDBY when nobody asked for frames for a while (the
 * device is closed, no retry is due); STANDBY → STARTING at the next request (not a restart).
 *
 * Backoff: 100 ms, doubling to 5 s; back to 100 ms after a minute of RUNNING. */
#ifndef MJPEGD_SUPERVISOR_H
#define MJPEGD_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#define SUPERVISOR_BACKOFF_MIN_NS (100ULL * 1000000ULL)
#define SUPERVISOR_BACKOFF_MAX_NS (5ULL * 1000000000ULL)
#define SUPERVISOR_HEALTHY_NS (60ULL * 1000000000ULL)

enum device_state {
	DEVICE_STOPPED,
	DEVICE_STARTING,
	DEVICE_RUNNING,
	DEVICE_FAILED,
	DEVICE_STANDBY, /* closed on purpose (--standby-after): reopened by the next request */
	DEVICE_STATE_COUNT,
};

struct supervised_device {
	const char *name; /* "source", "encoder" */
	enum device_state state;
	uint64_t since_ns;      /* entered the current state */
	uint64_t backoff_ns;    /* the wait after the next failure */
	uint64_t retry_at_ns;   /* FAILED: when to start again */
	unsigned restarts;      /* FAILED → STARTING transitions */
	unsigned failures;
	int last_errno;         /* positive errno of the last failure, 0 when none */
	char last_error[160];   /* reason of the last failure, "" when none */
};

void supervisor_init(struct supervised_device *d, const char *name);
const char *device_state_name(enum device_state s);

/* STOPPED/FAILED → STARTING (a restart when it comes from FAILED). */
void supervisor_starting(struct supervised_device *d, uint64_t now_ns);
/* STARTING → RUNNING. */
void supervisor_running(struct supervised_device *d, uint64_t now_ns);
/* STARTING/RUNNING → FAILED with a reason (err: negative errno or 0); schedules the retry.
 * Returns the delay until the retry. */
uint64_t supervisor_failed(struct supervised_device *d, uint64_t now_ns, int err,
			   const char *reason);
/* STARTING → FAILED for good: what failed cannot come back without a restart of mjpegd (the
 * libcamera plugin that cannot be loaded). No retry is scheduled until supervisor_stopped(). */
void supervisor_gave_up(struct supervised_device *d, uint64_t now_ns, int err, const char *reason);
/* FAILED and the backoff elapsed: time to call supervisor_starting() and reopen. */
bool supervisor_retry_due(const struct supervised_device *d, uint64_t now_ns);
void supervisor_stopped(struct supervised_device *d, uint64_t now_ns);
/* Any state → STANDBY: closed on purpose, nothing retried (a pending retry is dropped). */
void supervisor_standby(struct supervised_device *d, uint64_t now_ns);

#endif
