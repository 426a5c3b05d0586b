/* What the daemon sets up for its process as a whole (include/mjpegd/process.h). */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "mjpegd/log.h"
#include "mjpegd/process.h"

/* Descriptors besides one per client: listeners, the ring, signalfd, the camera and encoder nodes
 * with their dma-bufs, libcamera's own, the log. */
#define NOFILE_RESERVE 64

int process_signals_open(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so the encoder's worker inherits the mask and every
	 * signal reaches the signalfd. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* Each client is a descriptor. Debian's default soft limit (1024) is below what a large
 * --max-clients needs, and accept() then fails with EMFILE only under load. */
void process_raise_open_file_limit(unsigned max_clients)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn_errno(-errno, "cannot read the open-file limit");
		return;
	}
	rlim_t need = (rlim_t)max_clients + NOFILE_RESERVE;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rlim_t old = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
		if (rl.rlim_cur > old) {
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
				log_warn_errno(-errno, "cannot raise the open-file limit from %llu to %llu",
					       (unsigned long long)old, (unsigned long long)rl.rlim_cur);
				rl.rlim_cur = old;
			} else {
				log_info("raised the open-file limit from %llu to %llu for --max-clients %u",
					 (unsigned long long)old, (unsigned long long)rl.rlim_cur,
					 max_clients);
			}
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("open-file limit %llu (hard limit %llu) allows about %llu clients, --max-clients "
			 "is %u: raise LimitNOFILE= (or ulimit -Hn) or lower --max-clients",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
			 rl.rlim_cur > NOFILE_RESERVE ? (unsigned long long)(rl.rlim_cur - NOFILE_RESERVE) : 0ULL,
			 max_clients);
}
