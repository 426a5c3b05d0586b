/* Password-hash verification off the event loop: one worker thread, a fixed queue of jobs, and
 * an eventfd read through the loop's ring that brings the verdicts back to the main thread.
 *
 * A yescrypt or bcrypt verification takes tens of milliseconds to seconds by design; done on the
 * loop it would freeze every stream meanwhile. Here the loop only copies the password and the
 * hash into a job slot; the worker owns the slot until it is DONE; the loop then hands the
 * verdict to the job's owner (a client) and frees the slot. An owner that goes away first
 * abandons its job: the verdict is then dropped. Passwords are wiped from a slot as soon as the
 * worker is done with them. */
#ifndef MJPEGD_HTTP_AUTH_WORKER_H
#define MJPEGD_HTTP_AUTH_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "mjpegd/loop.h"

#define AUTH_WORKER_QUEUE 32 /* jobs queued or running at once; beyond: -EBUSY (the client gets 503) */

struct auth_worker;

/* Called on the loop's thread for each finished job whose owner did not abandon it. */
typedef void (*auth_worker_done_fn)(void *ctx, void *owner, bool ok);

int auth_worker_create(struct loop *loop, auth_worker_done_fn done, void *ctx,
		       struct auth_worker **out);
/* Queues a check of password against hash (both copied). force_fail: run the hash anyway but
 * answer false (an unknown user costs the same time as a wrong password). Returns the job
 * number (>= 0) for auth_worker_abandon(), or -EBUSY when the queue is full. */
int auth_worker_submit(struct auth_worker *w, const char *hash, const char *password,
		       bool force_fail, void *owner);
/* The owner of job is gone: its verdict is dropped. */
void auth_worker_abandon(struct auth_worker *w, int job);
/* Stops reading the eventfd (shutdown); auth_worker_idle() is true once that read is over. */
void auth_worker_stop(struct auth_worker *w);
bool auth_worker_idle(const struct auth_worker *w);
/* Joins the thread (after the ring is gone). */
void auth_worker_destroy(struct auth_worker *w);

#endif
