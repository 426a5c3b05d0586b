/* Frame pacing timers; see include/mjpegd/timer.h. */
#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "mjpegd/clock.h"
#include "mjpegd/macro.h"
#include "mjpegd/timer.h"

int pacing_timer_open(unsigned fps, int *out_fd)
{
	if (fps == 0)
		return -EINVAL;
	int fd _cleanup_close_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t interval_ns = NSEC_PER_SEC / fps;
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(interval_ns / NSEC_PER_SEC),
				 .tv_nsec = (long)(interval_ns % NSEC_PER_SEC) },
		.it_value = { .tv_sec = 0, .tv_nsec = 1 },
	};
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	*out_fd = fd;
	fd = -1; /* the caller's now */
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
	if (t->taken) {
		t->taken = false;
		return -EAGAIN;
	}
	int r = pacing_timer_read(t->fd, expirations);
	t->taken = r == 0;
	return r;
}

void pacing_timer_close(struct pacing_timer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	*t = (struct pacing_timer){ .fd = -1 };
}
