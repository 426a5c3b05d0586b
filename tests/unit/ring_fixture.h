/* A real io_uring for the loop's unit tests (test_loop, test_pacing): loop_init() with 8 entries,
 * or false where io_uring_setup is refused (qemu-user has no io_uring, a container may forbid
 * it), the caller then skips. Include after cmocka.h. */
#ifndef MJPEGD_TEST_RING_FIXTURE_H
#define MJPEGD_TEST_RING_FIXTURE_H

#include <errno.h>
#include <stdbool.h>

#include "mjpegd/loop.h"

static inline bool ring(struct loop *loop)
{
	int r = loop_init(loop, 8);
	if (r == -ENOSYS || r == -EPERM || r == -EACCES) {
		print_message("io_uring refused here (%d): skipped\n", r);
		return false;
	}
	assert_int_equal(r, 0);
	return true;
}

#endif
