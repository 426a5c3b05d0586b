/* Frame pool: bounded capacity, refcounting, external buffers released once, reuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mjpegd/bug.h"
#include "mjpegd/frame.h"

struct release_record {
	unsigned calls;
	struct frame *last;
};

static void count_release(void *ctx, struct frame *f)
{
	struct release_record *rec = ctx;
	rec->calls++;
	rec->last = f;
}

static void test_init_rejects_zero_capacity(void **state)
{
	(void)state;
	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 0), -EINVAL);
	frame_pool_destroy(&pool); /* harmless on a pool that failed to init */
}

static void test_capacity_bound(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct frame *f[3];
	assert_int_equal(frame_pool_init(&pool, 3), 0);
	for (int i = 0; i < 3; i++) {
		f[i] = frame_pool_acquire(&pool);
		assert_non_null(f[i]);
		assert_int_equal(f[i]->refs, 1);
		assert_int_equal(f[i]->len, 0);
	}
	assert_int_equal(pool.in_use, 3);
	assert_null(frame_pool_acquire(&pool));
	assert_true(f[0] != f[1] && f[1] != f[2] && f[0] != f[2]);

	frame_unref(f[1]);
	assert_int_equal(pool.in_use, 2);
	struct frame *again = frame_pool_acquire(&pool);
	assert_ptr_equal(again, f[1]);
	assert_null(frame_pool_acquire(&pool));

	frame_unref(f[0]);
	frame_unref(again);
	frame_unref(f[2]);
	assert_int_equal(pool.in_use, 0);
	frame_pool_destroy(&pool);
}

static void test_refcount(void **state)
{
	(void)state;
	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 1), 0);
	struct frame *f = frame_pool_acquire(&pool);
	assert_ptr_equal(frame_ref(f), f);
	frame_ref(f);
	assert_int_equal(f->refs, 3);

	frame_unref(f);
	frame_unref(f);
	assert_int_equal(pool.in_use, 1); /* one reference left: still out */
	assert_null(frame_pool_acquire(&pool));

	frame_unref(f);
	assert_int_equal(pool.in_use, 0);
	assert_int_equal(f->refs, 0);

	mjpegd_bug_abort(false); /* what the release build does: */
	frame_unref(f); /* a second drop is logged and ignored, not an underflow */
	mjpegd_bug_abort(true);
	assert_int_equal(f->refs, 0);
	assert_int_equal(pool.in_use, 0);
	frame_unref(NULL);
	frame_pool_destroy(&pool);
}

/* The test binaries link the aborting MJPEGD_BUG(): a double drop stops the test at once. */
static void test_double_unref_aborts_in_tests(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct frame_pool pool;
		if (frame_pool_init(&pool, 1) < 0)
			_exit(2);
		struct frame *f = frame_pool_acquire(&pool);
		frame_unref(f);
		frame_unref(f);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_external_release_once(void **state)
{
	(void)state;
	struct frame_pool pool;
	struct release_record rec = { 0 };
	static const uint8_t bytes[] = { 0xFF, 0xD8, 0xFF, 0xD9 };
	assert_int_equal(frame_pool_init(&pool, 2), 0);

	struct frame *f = frame_pool_acquire(&pool);
	frame_set_external(f, bytes, sizeof(bytes), count_release, &rec);
	assert_ptr_equal(f->data, bytes);
	assert_int_equal(f->len, sizeof(bytes));

	frame_ref(f);
	frame_unref(f);
	assert_int_equal(rec.calls, 0);
	frame_unref(f);
	assert_int_equal(rec.calls, 1);
	assert_ptr_equal(rec.last, f);
	mjpegd_bug_abort(false); /* a bug (MJPEGD_BUG): what the release build does */
	frame_unref(f);
	mjpegd_bug_abort(true);
	assert_int_equal(rec.calls, 1);

	/* reused without an external buffer: no stale callback */
	struct frame *g = frame_pool_acquire(&pool);
	struct frame *h = frame_pool_acquire(&pool);
	assert_true(g == f || h == f);
	assert_null(g->release);
	assert_null(h->release);
	frame_unref(g);
	frame_unref(h);
	assert_int_equal(rec.calls, 1);
	frame_pool_destroy(&pool);
}

static void test_reserve_and_reuse(void **state)
{
	(void)state;
	struct frame_pool pool;
	assert_int_equal(frame_pool_init(&pool, 1), 0);

	struct frame *f = frame_pool_acquire(&pool);
	assert_int_equal(frame_reserve(f, 100), 0);
	assert_ptr_equal(f->data, f->buf);
	assert_true(f->cap >= 100);
	memset(f->buf, 0xAB, 100);
	assert_int_equal(frame_reserve(f, 1000), 0);
	assert_int_equal(f->buf[99], 0xAB); /* content kept when growing */
	assert_int_equal(pool.bytes_reserved, f->cap);
	f->len = 100;
	f->sequence = 42;
	uint8_t *buf = f->buf;
	size_t cap = f->cap;
	frame_unref(f);

	struct frame *g = frame_pool_acquire(&pool);
	assert_ptr_equal(g, f);
	assert_int_equal(g->len, 0);
	assert_int_equal(g->sequence, 0);
	assert_ptr_equal(g->buf, buf); /* storage kept across reuse */
	assert_int_equal(g->cap, cap);
	assert_int_equal(frame_reserve(g, 10), 0); /* never shrinks */
	assert_int_equal(g->cap, cap);
	assert_int_equal(pool.bytes_reserved, cap);
	frame_unref(g);
	frame_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_zero_capacity),
		cmocka_unit_test(test_capacity_bound),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_double_unref_aborts_in_tests),
		cmocka_unit_test(test_external_release_once),
		cmocka_unit_test(test_reserve_and_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
