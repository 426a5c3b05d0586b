/* Frame pacing timers; see include/mjpegd/timer.h. */
#include <assert.h>
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/macro.h"
#include "mjpegd/timer.h"

static struct timespec ns_to_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NSEC_PER_SEC),
				  .tv_nsec = (long)(ns % NSEC_PER_SEC) };
}

/* Armed (first expiration at once, then every interval_ns) or disarmed (interval_ns 0). */
static int timerfd_arm(int fd, uint64_t interval_ns)
{
	struct itimerspec its = {
		.it_interval = ns_to_timespec(interval_ns),
		.it_value = { .tv_sec = 0, .tv_nsec = interval_ns ? 1 : 0 },
	};
	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int pacing_timer_open(unsigned fps, int *out_fd)
{
	if (fps == 0)
		return -EINVAL;
	int fd _cleanup_close_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = timerfd_arm(fd, NSEC_PER_SEC / fps);
	if (r < 0)
		return r;
	*out_fd = fd;
	fd = -1; /* the caller's now */
	return 0;
}

int pacing_timer_init(struct pacing_timer *t, unsigned fps)
{
	*t = (struct pacing_timer){ .fd = -1 };
	int r = pacing_timer_open(fps, &t->fd);
	if (r < 0)
		return r;
	t->interval_ns = NSEC_PER_SEC / fps;
	return 0;
}

int pacing_timer_read(int fd, uint64_t *expirations)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	if (n != sizeof(v))
		return -EIO;
	*expirations = v;
	return 0;
}

int pacing_timer_take(struct pacing_timer *t, uint64_t *expirations)
{
	if (t->by_loop) {
		if (t->due == 0)
			return -EAGAIN;
		*expirations = t->due;
		t->due = 0;
		return 0;
	}
	if (t->taken) {
		t->taken = false;
		return -EAGAIN;
	}
	int r = pacing_timer_read(t->fd, expirations);
	t->taken = r == 0;
	return r;
}

int pacing_timer_to_loop(struct pacing_timer *t, uint64_t now_ns)
{
	assert(t->interval_ns > 0);
	if (!t->by_loop) {
		int r = timerfd_arm(t->fd, 0);
		if (r < 0)
			return r;
	}
	t->by_loop = true;
	t->taken = false;
	t->due = 0;
	t->next_ns = now_ns;
	return 0;
}

uint64_t pacing_timer_fire(struct pacing_timer *t, uint64_t now_ns)
{
	assert(t->by_loop && t->interval_ns > 0);
	if (now_ns < t->next_ns)
		return 0;
	uint64_t n = 1 + (now_ns - t->next_ns) / t->interval_ns;
	t->next_ns += n * t->interval_ns;
	t->due += n;
	return n;
}

int pacing_timer_to_fd(struct pacing_timer *t)
{
	int r = timerfd_arm(t->fd, t->interval_ns);
	if (r < 0)
		return r;
	t->by_loop = false;
	t->taken = false;
	t->due = 0;
	return 0;
}

void pacing_timer_close(struct pacing_timer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	*t = (struct pacing_timer){ .fd = -1 };
}
