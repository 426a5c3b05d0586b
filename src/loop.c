/* The io_uring event loop; see include/mjpegd/loop.h. */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "mjpegd/clock.h"
#include "mjpegd/log.h"
#include "mjpegd/loop.h"
#include "mjpegd/macro.h"
#include "mjpegd/timer.h"

bool loop_kernel_at_least(unsigned major, unsigned minor)
{
	struct utsname u;
	unsigned ma = 0, mi = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

static int read_io_uring_disabled(void)
{
	FILE *f _cleanup_fclose_ = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	int v = -1;
	if (!f || fscanf(f, "%d", &v) != 1)
		return -1;
	return v;
}

static void explain_init_failure(int r)
{
	int disabled = read_io_uring_disabled();
	if (r == -ENOSYS) {
		log_err("io_uring is not available: this kernel has no io_uring support "
			"(needs Linux >= 5.11 built with CONFIG_IO_URING), or an emulator such as "
			"qemu-user does not pass io_uring_setup through");
	} else if (r == -EPERM || r == -EACCES) {
		if (disabled == 2)
			log_err("io_uring is disabled by sysctl kernel.io_uring_disabled=2; "
				"set it to 0 to run mjpegd");
		else if (disabled == 1)
			log_err("io_uring is restricted by sysctl kernel.io_uring_disabled=1 to the "
				"group in kernel.io_uring_group; add mjpegd's user to it or set the sysctl to 0");
		else
			log_err_errno(r, "io_uring is blocked: a seccomp filter or container policy "
				      "refuses io_uring_setup; allow it (e.g. docker --security-opt "
				      "seccomp=...)");
	} else if (r == -ENOMEM) {
		log_err("io_uring_setup failed: out of locked memory (RLIMIT_MEMLOCK); raise "
			"LimitMEMLOCK or use Linux >= 5.12, which accounts rings differently");
	} else {
		log_err_errno(r, "io_uring_setup failed");
	}
}

int loop_init(struct loop *loop, unsigned entries)
{
	memset(loop, 0, sizeof(*loop));
	struct io_uring_params params = {0};
	/* A completion queue larger than the submission queue: every client may have a send and a
	 * recv completing in the same iteration. */
	params.flags = IORING_SETUP_CQSIZE;
	params.cq_entries = entries * 4;
	int r = io_uring_queue_init_params(entries, &loop->ring, &params);
	if (r < 0) {
		explain_init_failure(r);
		return r;
	}
	loop->initialised = true;

	struct io_uring_probe *probe = io_uring_get_probe_ring(&loop->ring);
	static const struct {
		int op;
		const char *name;
	} needed[] = {
		{IORING_OP_ACCEPT, "accept"},     {IORING_OP_RECV, "recv"},
		{IORING_OP_SENDMSG, "sendmsg"},   {IORING_OP_TIMEOUT, "timeout"},
		{IORING_OP_POLL_ADD, "poll"},     {IORING_OP_READ, "read"},
		{IORING_OP_ASYNC_CANCEL, "cancel"},
	};
	if (!probe) {
		log_err("io_uring: the kernel cannot tell which operations it supports "
			"(needs Linux >= 5.6)");
		loop_destroy(loop);
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
		if (!io_uring_opcode_supported(probe, needed[i].op)) {
			log_err("io_uring: this kernel lacks the '%s' operation (needs Linux >= 5.6)",
				needed[i].name);
			io_uring_free_probe(probe);
			loop_destroy(loop);
			return -EOPNOTSUPP;
		}
	}
	io_uring_free_probe(probe);
	/* Multishot accept is a flag, not an opcode, so the probe cannot tell: go by version, and
	 * the server falls back to single-shot if the kernel still says EINVAL. */
	loop->multishot_accept = loop_kernel_at_least(5, 19);
	log_debug("io_uring ready: %u entries, multishot accept %s", entries,
		  loop->multishot_accept ? "yes" : "no");
	return 0;
}

void loop_destroy(struct loop *loop)
{
	if (loop->initialised)
		io_uring_queue_exit(&loop->ring);
	loop->initialised = false;
}

struct io_uring_sqe *loop_sqe(struct loop *loop, struct loop_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
	while (!sqe) {
		int r = io_uring_submit(&loop->ring);
		if (r > 0)
			loop->stats.submitted += (unsigned)r;
		loop->stats.enters++;
		sqe = io_uring_get_sqe(&loop->ring);
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	int r;
	unsigned wait_nr = 1 + loop->expect;
	loop->expect = 0;
	if (wait_nr > 1 && (timeout_ms < 0 || timeout_ms > LOOP_EXPECT_BOUND_MS))
		timeout_ms = LOOP_EXPECT_BOUND_MS;
	if (timeout_ms >= 0) {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
		};
		struct io_uring_cqe *cqe;
		unsigned pending = io_uring_sq_ready(&loop->ring);
		/* one io_uring_enter: liburing does not enter again after a timed wait */
		r = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, wait_nr, &ts, NULL);
		if (r >= 0 || r == -ETIME)
			loop->stats.submitted += pending;
		if (r == -ETIME)
			r = 0;
		if (wait_nr > 1 && io_uring_cq_ready(&loop->ring) < wait_nr)
			loop->stats.bounded++;
	} else {
		r = io_uring_submit_and_wait(&loop->ring, 1);
		if (r > 0)
			loop->stats.submitted += (unsigned)r;
	}
	loop->stats.enters++;
	loop->now_ns = 0; /* a new iteration: its time is read when first asked for */
	if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
		return r;

	/* Handlers may queue new SQEs (submitting early only when the SQ is full), never wait. The
	 * CQE is marked seen before dispatch because a handler may free op's owner. */
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
		struct loop_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		unsigned flags = cqe->flags;
		io_uring_cqe_seen(&loop->ring, cqe);
		loop->stats.completions++;
		if (op)
			op->complete(op, res, flags);
	}
	return 0;
}

/* ---------------------------------------------------------------- the alarm */

static void alarm_refused(struct loop_alarm *a, int res)
{
	if (!a->refused)
		log_notice_errno(res, "io_uring refused a timeout: the loop's wait is timed instead");
	a->refused = true;
}

static void alarm_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct loop_alarm *a = container_of(op, struct loop_alarm, op);
	a->pending = false;
	if (res == -ETIME || res == 0)
		a->rang = true;
	else if (res != -ECANCELED)
		alarm_refused(a, res);
}

static void alarm_update_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct loop_alarm *a = container_of(op, struct loop_alarm, update_op);
	/* -ENOENT: the timeout expired before the update reached it; its own completion says
	 * so (rang), and the owner sets the alarm again */
	if (res < 0 && res != -ENOENT && res != -EALREADY)
		alarm_refused(a, res);
}

void loop_alarm_init(struct loop_alarm *a, struct loop *loop)
{
	*a = (struct loop_alarm){ .loop = loop, .op.complete = alarm_complete,
				  .update_op.complete = alarm_update_complete };
}

void loop_alarm_set(struct loop_alarm *a, uint64_t at_ns)
{
	assert(a->loop);
	a->rang = false;
	if (a->refused)
		return;
	a->at_ns = at_ns;
	a->ts = (struct __kernel_timespec){ .tv_sec = (long long)(at_ns / NSEC_PER_SEC),
					    .tv_nsec = (long long)(at_ns % NSEC_PER_SEC) };
	if (a->pending) {
		struct io_uring_sqe *sqe = loop_sqe(a->loop, &a->update_op);
		io_uring_prep_timeout_update(sqe, &a->ts, (__u64)(uintptr_t)&a->op,
					     IORING_TIMEOUT_ABS);
		return;
	}
	struct io_uring_sqe *sqe = loop_sqe(a->loop, &a->op);
	io_uring_prep_timeout(sqe, &a->ts, 0, IORING_TIMEOUT_ABS);
	a->pending = true;
}

/* ---------------------------------------------------------------- re-armed polls */

static void poll_arm(struct loop_poll *p)
{
	if (p->fd < 0 || p->pending || p->stopped)
		return;
	struct io_uring_sqe *sqe = loop_sqe(p->loop, &p->op);
	if (p->pacer) {
		p->deadline = (struct __kernel_timespec){
			.tv_sec = (long long)(p->pacer->next_ns / NSEC_PER_SEC),
			.tv_nsec = (long long)(p->pacer->next_ns % NSEC_PER_SEC),
		};
		io_uring_prep_timeout(sqe, &p->deadline, 0, IORING_TIMEOUT_ABS);
	} else {
		io_uring_prep_poll_add(sqe, p->fd, POLLIN);
	}
	p->pending = true;
	p->pending_timeout = p->pacer != NULL;
}

static void poll_cancel(struct loop_poll *p)
{
	if (!p->pending)
		return;
	struct io_uring_sqe *sqe = loop_sqe(p->loop, NULL);
	if (p->pending_timeout)
		io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&p->op, 0);
	else
		io_uring_prep_poll_remove(sqe, (__u64)(uintptr_t)&p->op);
}

/* The kernel refused the timeout (an io_uring without absolute timeouts, a filter): the timerfd
 * is polled instead. */
static void pace_by_fd(struct loop_poll *p, int res)
{
	int r = pacing_timer_to_fd(p->pacer);
	if (r < 0) {
		p->error(p, r, "arming its timer failed");
		return;
	}
	log_notice_errno(res, "io_uring refused a pacing timeout: the timer is read instead");
	p->pacer = NULL;
	poll_arm(p);
}

static void poll_complete(struct loop_op *op, int res, unsigned flags)
{
	(void)flags;
	struct loop_poll *p = container_of(op, struct loop_poll, op);
	p->pending = false;
	if (p->stopped)
		return;
	if (p->retarget) {
		p->retarget = false;
		p->fd = p->next_fd;
		p->pacer = p->next_pacer;
		poll_arm(p);
		return;
	}
	if (res == -ECANCELED || p->fd < 0)
		return;
	if (p->pacer) {
		if (res != -ETIME && res != 0) {
			pace_by_fd(p, res);
			return;
		}
		int fd = p->fd;
		pacing_timer_fire(p->pacer, loop_now(p->loop));
		p->ready(p);
		if (p->fd != fd || p->pending || p->stopped || !p->pacer)
			return; /* ready() replaced or stopped the source */
		poll_arm(p);
		return;
	}
	if (res < 0) {
		p->error(p, res, "polling it failed");
		return;
	}
	int fd = p->fd;
	p->ready(p);
	if (p->fd != fd || p->pending || p->stopped)
		return; /* ready() replaced or stopped the device */
	/* A V4L2 queue in error (a fatal streaming error, an unplugged camera) stays readable
	 * with POLLERR: polling it again would spin. */
	if (res & (POLLERR | POLLHUP | POLLNVAL)) {
		p->error(p, res & POLLHUP ? -ENODEV : -EIO, "the device reported an error");
		return;
	}
	poll_arm(p);
}

void loop_poll_init(struct loop_poll *p, struct loop *loop,
		    void (*ready)(struct loop_poll *p),
		    void (*error)(struct loop_poll *p, int err, const char *reason))
{
	*p = (struct loop_poll){ .loop = loop, .op.complete = poll_complete, .fd = -1,
				 .next_fd = -1, .ready = ready, .error = error };
}

void loop_poll_set_paced(struct loop_poll *p, int fd, struct pacing_timer *pacer)
{
	if (pacer) {
		assert(fd >= 0 && pacer->fd == fd);
		/* the clock now, not the iteration's: this may run long after the last wake-up
		 * (at start), and a first deadline that far back would count ticks as dropped */
		int r = pacing_timer_to_loop(pacer, now_mono_ns());
		if (r < 0) {
			log_notice_errno(r, "pacing timer: cannot disarm its timerfd; it is read instead");
			pacer = NULL;
		}
	}
	if (p->pending) {
		p->retarget = true;
		p->next_fd = fd;
		p->next_pacer = pacer;
		poll_cancel(p);
		return;
	}
	p->fd = fd;
	p->pacer = pacer;
	poll_arm(p);
}

void loop_poll_set_fd(struct loop_poll *p, int fd)
{
	loop_poll_set_paced(p, fd, NULL);
}

void loop_poll_stop(struct loop_poll *p)
{
	p->stopped = true;
	poll_cancel(p);
}
