/* Password verification on a worker thread; contract in include/mjpegd/http/auth_worker.h. */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mjpegd/http/auth.h"
#include "mjpegd/http/auth_worker.h"
#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"

enum job_state {
	JOB_FREE,
	JOB_QUEUED,  /* the worker's to take */
	JOB_RUNNING, /* the worker's */
	JOB_DONE,    /* the loop's to collect */
};

struct job {
	enum job_state state;
	uint64_t seq; /* FIFO order */
	void *owner;  /* NULL: abandoned */
	bool force_fail;
	bool ok;
	char hash[AUTH_HASH_MAX + 1];
	char password[AUTH_PASSWORD_MAX + 1];
};

struct auth_worker {
	struct loop *loop;
	auth_worker_done_fn done;
	void *ctx;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool quit;
	uint64_t next_seq;
	struct job jobs[AUTH_WORKER_QUEUE]; /* under lock */

	int event_fd;
	uint64_t event_value;
	struct loop_op read_op;
	bool read_pending;
	bool stopped;
};

static struct job *next_queued(struct auth_worker *w)
{
	struct job *best = NULL;
	for (size_t i = 0; i < AUTH_WORKER_QUEUE; i++)
		if (w->jobs[i].state == JOB_QUEUED && (!best || w->jobs[i].seq < best->seq))
			best = &w->jobs[i];
	return best;
}

static void *worker_main(void *arg)
{
	struct auth_worker *w = arg;
	/* crypt_rn's scratch space (about 32 KiB): one per thread, reused. */
	struct crypt_data *data = calloc(1, sizeof(*data));
	char password[AUTH_PASSWORD_MAX + 1], hash[AUTH_HASH_MAX + 1];
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct job *j = NULL;
		while (!w->quit && !(j = next_queued(w)))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->quit)
			break;
		j->state = JOB_RUNNING;
		memcpy(password, j->password, sizeof(password));
		memcpy(hash, j->hash, sizeof(hash));
		explicit_bzero(j->password, sizeof(j->password));
		bool force_fail = j->force_fail;
		pthread_mutex_unlock(&w->lock);

		bool ok = false;
		uint64_t t0 = now_mono_ns();
		if (data) {
			const char *out = crypt_rn(password, hash, data, (int)sizeof(*data));
			size_t hl = strlen(hash);
			ok = out && strlen(out) == hl && auth_equal(out, hash, hl) && !force_fail;
			explicit_bzero(data, sizeof(*data));
		}
		explicit_bzero(password, sizeof(password));
		log_debug("auth: hash verified in %llu ms",
			  (unsigned long long)((now_mono_ns() - t0) / NSEC_PER_MSEC));

		pthread_mutex_lock(&w->lock);
		j->ok = ok;
		j->state = JOB_DONE;
		uint64_t one = 1;
		if (write(w->event_fd, &one, sizeof(one)) < 0)
			log_err("auth worker: eventfd: %m");
	}
	pthread_mutex_unlock(&w->lock);
	free(data);
	return NULL;
}

static void read_arm(struct auth_worker *w);

static void read_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct auth_worker *w = container_of(op, struct auth_worker, read_op);
	w->read_pending = false;
	if (w->stopped || res == -ECANCELED)
		return;
	if (res < 0)
		log_err_errno(res, "auth worker: reading its eventfd");
	/* Collected under the lock, delivered after it: a verdict's handler may submit again. */
	struct { void *owner; bool ok; } verdicts[AUTH_WORKER_QUEUE];
	size_t n = 0;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < AUTH_WORKER_QUEUE; i++) {
		struct job *j = &w->jobs[i];
		if (j->state != JOB_DONE)
			continue;
		if (j->owner) {
			verdicts[n].owner = j->owner;
			verdicts[n].ok = j->ok;
			n++;
		}
		j->state = JOB_FREE;
		j->owner = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	read_arm(w);
	for (size_t i = 0; i < n; i++)
		w->done(w->ctx, verdicts[i].owner, verdicts[i].ok);
}

static void read_arm(struct auth_worker *w)
{
	struct io_uring_sqe *sqe = loop_sqe(w->loop, &w->read_op);
	io_uring_prep_read(sqe, w->event_fd, &w->event_value, sizeof(w->event_value), 0);
	w->read_pending = true;
}

int auth_worker_create(struct loop *loop, auth_worker_done_fn done, void *ctx,
		       struct auth_worker **out)
{
	struct auth_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->done = done;
	w->ctx = ctx;
	w->read_op.complete = read_complete;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->event_fd = eventfd(0, EFD_CLOEXEC);
	if (w->event_fd < 0) {
		int r = -errno;
		auth_worker_destroy(w);
		return r;
	}
	int r = pthread_create(&w->thread, NULL, worker_main, w);
	if (r != 0) {
		auth_worker_destroy(w);
		return -r;
	}
	w->thread_started = true;
	read_arm(w);
	*out = w;
	return 0;
}

int auth_worker_submit(struct auth_worker *w, const char *hash, const char *password,
		       bool force_fail, void *owner)
{
	int r = -EBUSY;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < AUTH_WORKER_QUEUE; i++) {
		struct job *j = &w->jobs[i];
		if (j->state != JOB_FREE)
			continue;
		j->state = JOB_QUEUED;
		j->seq = w->next_seq++;
		j->owner = owner;
		j->force_fail = force_fail;
		j->ok = false;
		snprintf(j->hash, sizeof(j->hash), "%s", hash);
		snprintf(j->password, sizeof(j->password), "%s", password);
		pthread_cond_signal(&w->wake);
		r = (int)i;
		break;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void auth_worker_abandon(struct auth_worker *w, int job)
{
	if (job < 0 || job >= AUTH_WORKER_QUEUE)
		return;
	pthread_mutex_lock(&w->lock);
	struct job *j = &w->jobs[job];
	j->owner = NULL;
	if (j->state == JOB_QUEUED) {
		explicit_bzero(j->password, sizeof(j->password));
		j->state = JOB_FREE;
	}
	pthread_mutex_unlock(&w->lock);
}

void auth_worker_stop(struct auth_worker *w)
{
	if (w->stopped)
		return;
	w->stopped = true;
	if (w->read_pending) {
		struct io_uring_sqe *sqe = loop_sqe(w->loop, NULL);
		io_uring_prep_cancel(sqe, &w->read_op, 0);
	}
}

bool auth_worker_idle(const struct auth_worker *w)
{
	return !w->read_pending;
}

void auth_worker_destroy(struct auth_worker *w)
{
	if (!w)
		return;
	if (w->thread_started) {
		pthread_mutex_lock(&w->lock);
		w->quit = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	for (size_t i = 0; i < AUTH_WORKER_QUEUE; i++)
		explicit_bzero(w->jobs[i].password, sizeof(w->jobs[i].password));
	if (w->event_fd >= 0)
		close(w->event_fd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}
