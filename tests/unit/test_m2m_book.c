/* The M2M encoder's buffer bookkeeping (src/encoder/m2m_book.c): every raw frame lent to the
 * device comes back exactly once, every CAPTURE buffer is either with the driver or lent to one
 * frame, results find their frame, and slow clients never leave the driver without a buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mjpegd/encoder/m2m_book.h"

static struct raw_frame raws[8];

static struct raw_frame *raw(unsigned i, uint64_t seq)
{
	raws[i] = (struct raw_frame){ .sequence = seq, .timestamp_us = 1000 * seq, .width = 640,
				      .height = 480, .index = i };
	return &raws[i];
}

static void test_output_slots(void **state)
{
	(void)state;
	struct m2m_book b;
	m2m_book_init(&b, 3, 4);
	uint64_t c1, c2, c3, c4;
	int s1 = m2m_book_output_take(&b, raw(0, 10), &raws[0], &c1);
	int s2 = m2m_book_output_take(&b, raw(1, 11), &raws[1], &c2);
	int s3 = m2m_book_output_take(&b, NULL, raw(2, 12), &c3); /* copy mode: none lent */
	assert_true(s1 >= 0 && s2 >= 0 && s3 >= 0);
	assert_true(s1 != s2 && s2 != s3 && s1 != s3);
	assert_true(c1 < c2 && c2 < c3);
	assert_int_equal(m2m_book_output_take(&b, raw(3, 13), &raws[3], &c4), -EBUSY);
	assert_int_equal(b.output_in_flight, 3);

	struct raw_frame *back = NULL;
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s2, &back), 0);
	assert_ptr_equal(back, &raws[1]);
	/* exactly once: the same slot again gives nothing back */
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s2, &back), -EINVAL);
	assert_null(back);
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s3, &back), 0);
	assert_null(back); /* copied: the source had it back at submit */
	assert_int_equal(m2m_book_output_done(&b, 99, &back), -EINVAL);

	/* a failed QBUF undoes the take: slot free, pending forgotten */
	unsigned pending = b.pending_count;
	int s4 = m2m_book_output_take(&b, raw(3, 13), &raws[3], &c4);
	assert_true(s4 >= 0);
	m2m_book_output_cancel(&b, s4);
	assert_int_equal(b.pending_count, pending);
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s4, &back), -EINVAL);
	assert_int_equal(b.output_in_flight, 1);
}

/* Importing, each camera buffer keeps its slot (bcm2835-codec re-imports a dma-buf into the VPU
 * whenever a slot gets another one): 16 slots, 3 in flight, a camera of 4 buffers cycling 200 times
 * in varying order puts buffer i in slot i every time. */
static void test_slot_per_camera_buffer(void **state)
{
	(void)state;
	struct m2m_book b;
	m2m_book_init(&b, 16, 4);
	b.max_in_flight = 3;
	int last_slot[4] = { -1, -1, -1, -1 };
	unsigned changes = 0;
	uint64_t c;
	for (unsigned n = 0; n < 200; n++) {
		unsigned i = (n * 3 + n / 7) % 4;
		if (b.output_busy[i]) {
			struct raw_frame *back;
			assert_int_equal(m2m_book_output_done(&b, i, &back), 0);
		}
		int s = m2m_book_output_take(&b, raw(i, n), &raws[i], &c);
		assert_true(s >= 0);
		changes += last_slot[i] != s;
		last_slot[i] = s;
		assert_int_equal(s, (int)i);
		/* keep at most 2 in flight besides this one: give back the oldest others */
		while (b.output_in_flight >= 3) {
			for (unsigned k = 0; k < 16; k++) {
				if (b.output_busy[k] && k != (unsigned)s) {
					struct raw_frame *back;
					assert_int_equal(m2m_book_output_done(&b, k, &back), 0);
					break;
				}
			}
		}
		while (b.pending_count)
			assert_int_equal(m2m_book_pending_take(&b, 0, &(struct m2m_pending){ 0 }), 0);
	}
	assert_int_equal(changes, 4); /* each buffer's first import only */

	/* max_in_flight bounds what is busy, whatever the slots */
	m2m_book_init(&b, 16, 4);
	b.max_in_flight = 3;
	for (unsigned i = 0; i < 3; i++)
		assert_true(m2m_book_output_take(&b, raw(i, i), &raws[i], &c) >= 0);
	assert_int_equal(m2m_book_output_take(&b, raw(3, 3), &raws[3], &c), -EBUSY);

	/* more camera buffers than slots: a busy slot is not waited for, another one is taken */
	m2m_book_init(&b, 2, 4);
	struct raw_frame r0 = { .index = 0 }, r2 = { .index = 2 };
	assert_int_equal(m2m_book_output_take(&b, &r0, &r0, &c), 0);
	assert_int_equal(m2m_book_output_take(&b, &r2, &r2, &c), 1);
}

static void test_pending(void **state)
{
	(void)state;
	struct m2m_book b;
	m2m_book_init(&b, 4, 4);
	uint64_t c[4];
	for (unsigned i = 0; i < 4; i++)
		assert_true(m2m_book_output_take(&b, NULL, raw(i, 100 + i), &c[i]) >= 0);

	struct m2m_pending p;
	assert_int_equal(m2m_book_pending_take(&b, c[0], &p), 0);
	assert_int_equal(p.sequence, 100);
	assert_int_equal(p.timestamp_us, 100000);
	/* c[1]'s result never came (the driver dropped it): taking c[2] forgets it too */
	assert_int_equal(m2m_book_pending_take(&b, c[2], &p), 0);
	assert_int_equal(p.sequence, 102);
	assert_int_equal(b.pending_count, 1);
	/* a driver that does not copy timestamps: the oldest */
	assert_int_equal(m2m_book_pending_take(&b, 0xdead, &p), 0);
	assert_int_equal(p.sequence, 103);
	assert_int_equal(m2m_book_pending_take(&b, c[3], &p), -ENOENT);
}

/* After a result only the OUTPUT buffers known finished are asked for (m2m.c dequeues that many
 * and no more): the frame queued since, still being read, is not, so no DQBUF answers EAGAIN. */
static void test_outputs_finished(void **state)
{
	(void)state;
	struct m2m_book b;
	m2m_book_init(&b, 4, 4);
	uint64_t c[4];
	struct raw_frame *back;
	struct m2m_pending p;
	assert_int_equal(m2m_book_outputs_finished(&b), 0);
	int s0 = m2m_book_output_take(&b, raw(0, 1), &raws[0], &c[0]);
	assert_int_equal(m2m_book_outputs_finished(&b), 0); /* no result yet */
	/* the camera's next frame is queued in the same wake-up, before frame 1's JPEG is taken */
	int s1 = m2m_book_output_take(&b, raw(1, 2), &raws[1], &c[1]);
	assert_int_equal(m2m_book_pending_take(&b, c[0], &p), 0);
	assert_int_equal(m2m_book_outputs_finished(&b), 1); /* frame 1's, not frame 2's */
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s0, &back), 0);
	assert_ptr_equal(back, &raws[0]);
	assert_int_equal(m2m_book_outputs_finished(&b), 0);

	/* a device that hands the OUTPUT buffer back first (bcm2835-codec), taken before its JPEG
	 * (a slot was needed): its result then owes nothing */
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s1, &back), 0);
	assert_int_equal(m2m_book_pending_take(&b, c[1], &p), 0);
	assert_int_equal(m2m_book_outputs_finished(&b), 0);

	/* a result that shows an earlier one lost: both frames' OUTPUT buffers are finished */
	int s2 = m2m_book_output_take(&b, raw(2, 3), &raws[2], &c[2]);
	int s3 = m2m_book_output_take(&b, raw(3, 4), &raws[3], &c[3]);
	assert_true(s2 >= 0 && s3 >= 0);
	assert_int_equal(m2m_book_pending_take(&b, c[3], &p), 0);
	assert_int_equal(p.sequence, 4);
	assert_int_equal(m2m_book_outputs_finished(&b), 2);
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s2, &back), 0);
	assert_int_equal(m2m_book_outputs_finished(&b), 1);
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s3, &back), 0);
	assert_int_equal(m2m_book_outputs_finished(&b), 0);

	/* a failed QBUF counts in neither: the next result owes its own buffer only */
	int s4 = m2m_book_output_take(&b, raw(0, 5), &raws[0], &c[0]);
	m2m_book_output_cancel(&b, s4);
	int s5 = m2m_book_output_take(&b, raw(1, 6), &raws[1], &c[1]);
	assert_int_equal(m2m_book_pending_take(&b, c[1], &p), 0);
	assert_int_equal(p.sequence, 6);
	assert_int_equal(m2m_book_outputs_finished(&b), 1);
	assert_int_equal(m2m_book_output_done(&b, (unsigned)s5, &back), 0);
	assert_ptr_equal(back, &raws[1]);
	assert_int_equal(m2m_book_outputs_finished(&b), 0);
	assert_int_equal(b.output_in_flight, 0);
}

static void test_capture_buffers(void **state)
{
	(void)state;
	struct m2m_book b;
	struct frame f[4];
	m2m_book_init(&b, 3, 4);
	assert_int_equal(b.capture_queued_count, 4);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(m2m_book_capture_dequeued(&b, i), 0); /* lend */
		m2m_book_capture_lend(&b, i, &f[i]);
	}
	/* the driver's last buffer: copy it out and give it back at once */
	assert_int_equal(m2m_book_capture_dequeued(&b, 3), 1);
	m2m_book_capture_queued(&b, 3);
	assert_int_equal(b.capture_queued_count, 1);
	/* not queued: a driver bug, reported */
	assert_int_equal(m2m_book_capture_dequeued(&b, 0), -EINVAL);
	assert_int_equal(m2m_book_capture_dequeued(&b, 42), -EINVAL);

	assert_int_equal(m2m_book_capture_returned(&b, &f[1]), 1);
	assert_int_equal(m2m_book_capture_returned(&b, &f[1]), -ENOENT); /* once */
	assert_int_equal(m2m_book_capture_returned(&b, &f[3]), -ENOENT);
	m2m_book_capture_queued(&b, 1);
	m2m_book_capture_queued(&b, 1); /* twice: counted once */
	assert_int_equal(b.capture_queued_count, 2);
	assert_int_equal(m2m_book_capture_dequeued(&b, 1), 0);
}

/* A device, a source and slow clients driven at random against the book, the way m2m.c uses
 * it: every raw frame lent comes back exactly once, no CAPTURE buffer is lost or lent twice, and
 * after each collect the driver still has a CAPTURE buffer. */
#define RAWS 4
#define CAPS 4
#define SLOTS 3
#define FRAMES 16

struct sim {
	struct m2m_book b;
	unsigned raw_lent[RAWS];     /* lendings to the encoder */
	unsigned raw_returned[RAWS]; /* release_raw calls */
	bool raw_out[RAWS];
	/* device: jobs (slot, cookie) in order, results waiting to be dequeued */
	unsigned jobs[SLOTS * 4], job_slot[SLOTS * 4], njobs;
	uint64_t job_cookie[SLOTS * 4];
	unsigned out_done[SLOTS * 4], nout_done;
	unsigned cap_done[CAPS * 4], ncap_done;
	uint64_t cap_cookie[CAPS];
	unsigned cap_fifo[CAPS * 8], ncap_fifo; /* buffers the driver has, in queue order */
	/* frames lent to clients */
	struct frame frames[FRAMES];
	bool frame_used[FRAMES];
	uint64_t copies, results;
};

static uint32_t rng = 12345;
static unsigned rnd(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 16) % n;
}

static void sim_submit(struct sim *s)
{
	unsigned r = rnd(RAWS);
	if (s->raw_out[r])
		return;
	uint64_t cookie;
	struct raw_frame *f = raw(r, s->results);
	int slot = m2m_book_output_take(&s->b, f, f, &cookie);
	if (slot < 0)
		return; /* -EBUSY: the caller keeps it */
	s->raw_out[r] = true;
	s->raw_lent[r]++;
	s->job_slot[s->njobs] = (unsigned)slot;
	s->job_cookie[s->njobs++] = cookie;
}

static void sim_device(struct sim *s)
{
	if (s->njobs == 0 || s->ncap_fifo == 0)
		return; /* stalled: no CAPTURE buffer is the failure this test guards against */
	unsigned cap = s->cap_fifo[0];
	memmove(s->cap_fifo, s->cap_fifo + 1, --s->ncap_fifo * sizeof(s->cap_fifo[0]));
	s->cap_cookie[cap] = s->job_cookie[0];
	s->cap_done[s->ncap_done++] = cap;
	s->out_done[s->nout_done++] = s->job_slot[0];
	memmove(s->job_slot, s->job_slot + 1, (s->njobs - 1) * sizeof(s->job_slot[0]));
	memmove(s->job_cookie, s->job_cookie + 1, (s->njobs - 1) * sizeof(s->job_cookie[0]));
	s->njobs--;
}

static void sim_requeue(struct sim *s, unsigned cap)
{
	m2m_book_capture_queued(&s->b, cap);
	s->cap_fifo[s->ncap_fifo++] = cap;
}

static void sim_release_raw(struct sim *s, struct raw_frame *f)
{
	unsigned r = f->index;
	assert_true(s->raw_out[r]);
	s->raw_out[r] = false;
	s->raw_returned[r]++;
}

static void sim_collect(struct sim *s)
{
	for (unsigned i = 0; i < s->nout_done; i++) {
		struct raw_frame *f;
		assert_int_equal(m2m_book_output_done(&s->b, s->out_done[i], &f), 0);
		assert_non_null(f);
		sim_release_raw(s, f);
	}
	s->nout_done = 0;
	for (unsigned i = 0; i < s->ncap_done; i++) {
		unsigned cap = s->cap_done[i];
		struct m2m_pending p;
		assert_int_equal(m2m_book_pending_take(&s->b, s->cap_cookie[cap], &p), 0);
		assert_int_equal(p.cookie, s->cap_cookie[cap]);
		int copy = m2m_book_capture_dequeued(&s->b, cap);
		assert_true(copy >= 0);
		s->results++;
		unsigned fi = 0;
		while (fi < FRAMES && s->frame_used[fi])
			fi++;
		if (copy || fi == FRAMES) {
			s->copies += copy ? 1 : 0;
			sim_requeue(s, cap);
		} else {
			s->frame_used[fi] = true;
			m2m_book_capture_lend(&s->b, cap, &s->frames[fi]);
		}
		/* the rule: the driver is never left without a buffer */
		assert_true(s->b.capture_queued_count >= 1);
	}
	s->ncap_done = 0;
}

static void sim_client_done(struct sim *s)
{
	unsigned fi = rnd(FRAMES);
	if (!s->frame_used[fi])
		return;
	s->frame_used[fi] = false;
	int cap = m2m_book_capture_returned(&s->b, &s->frames[fi]);
	assert_true(cap >= 0);
	sim_requeue(s, (unsigned)cap);
}

static void test_simulated_ownership(void **state)
{
	(void)state;
	static struct sim s;
	memset(&s, 0, sizeof(s));
	m2m_book_init(&s.b, SLOTS, CAPS);
	for (unsigned i = 0; i < CAPS; i++)
		s.cap_fifo[s.ncap_fifo++] = i;
	for (unsigned step = 0; step < 20000; step++) {
		switch (rnd(4)) {
		case 0: sim_submit(&s); break;
		case 1: sim_device(&s); break;
		case 2: sim_collect(&s); break;
		/* clients are slow: they return frames a quarter as often as the rest happens */
		case 3: if (rnd(4) == 0) sim_client_done(&s); break;
		}
	}
	/* drain: the device finishes, clients let go, everything comes back */
	while (s.njobs) {
		sim_device(&s);
		sim_collect(&s);
	}
	sim_collect(&s);
	for (unsigned fi = 0; fi < FRAMES; fi++)
		if (s.frame_used[fi]) {
			s.frame_used[fi] = false;
			int cap = m2m_book_capture_returned(&s.b, &s.frames[fi]);
			assert_true(cap >= 0);
			sim_requeue(&s, (unsigned)cap);
		}
	for (unsigned r = 0; r < RAWS; r++) {
		assert_false(s.raw_out[r]);
		assert_int_equal(s.raw_returned[r], s.raw_lent[r]);
	}
	assert_int_equal(s.b.output_in_flight, 0);
	assert_int_equal(s.b.capture_queued_count, CAPS);
	assert_int_equal(s.b.pending_count, 0);
	assert_true(s.results > 1000);
	assert_true(s.copies > 0); /* the slow clients did hold every lendable buffer */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_slots),
		cmocka_unit_test(test_slot_per_camera_buffer),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_outputs_finished),
		cmocka_unit_test(test_capture_buffers),
		cmocka_unit_test(test_simulated_ownership),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
