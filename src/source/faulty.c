/* A source that wraps another and misbehaves as a fault plan says; see source_faulty_create() in
 * include/mjpegd/source.h and the rules in include/mjpegd/fault.h. For the test binary only
 * (src/devices.c wraps under MJPEGD_FAULT_INJECTION), and for unit tests. */
#include <errno.h>
#include <stdlib.h>

#include "mjpegd/fault.h"
#include "mjpegd/source.h"

struct faulty_source {
	struct source src;
	struct source *inner;
	const struct fault_rule *fail_every, *stall_after;
	unsigned long long frames; /* dequeued from inner, this instance */
	uint64_t dropped;          /* swallowed or failed by the plan */
};

static void sync_stats(struct faulty_source *fs)
{
	fs->src.stats = fs->inner->stats;
	fs->src.stats.frames_dropped += fs->dropped;
}

static int faulty_fd(struct source *src)
{
	struct faulty_source *fs = src->priv;
	return source_fd(fs->inner);
}

static struct pacing_timer *faulty_pacer(struct source *src)
{
	struct faulty_source *fs = src->priv;
	return source_pacer(fs->inner);
}

static int faulty_dequeue(struct source *src, struct raw_frame **out)
{
	struct faulty_source *fs = src->priv;
	for (;;) {
		struct raw_frame *raw = NULL;
		int r = source_dequeue(fs->inner, &raw);
		sync_stats(fs);
		if (r < 0)
			return r;
		fs->frames++;
		if (fault_fires(fs->stall_after, fs->frames)) {
			/* as if nothing came: the pipeline's source timeout notices */
			source_release(fs->inner, raw);
			fs->dropped++;
			continue;
		}
		if (fault_fires(fs->fail_every, fs->frames)) {
			source_release(fs->inner, raw);
			fs->dropped++;
			sync_stats(fs);
			return -EIO;
		}
		*out = raw;
		return 0;
	}
}

/* The full-size stream is passed on untouched: the plan is about the stream's frames. */
static int faulty_dequeue_full(struct source *src, struct raw_frame **out)
{
	struct faulty_source *fs = src->priv;
	return source_dequeue_full(fs->inner, out);
}

static void faulty_release(struct source *src, struct raw_frame *frame)
{
	struct faulty_source *fs = src->priv;
	source_release(fs->inner, frame);
}

static void faulty_destroy(struct source *src)
{
	struct faulty_source *fs = src->priv;
	source_destroy(fs->inner);
	free(fs);
}

static const struct source_ops faulty_ops = {
	.name = "faulty",
	.fd = faulty_fd,
	.pacer = faulty_pacer,
	.dequeue = faulty_dequeue,
	.release = faulty_release,
	.destroy = faulty_destroy,
	.dequeue_full = faulty_dequeue_full,
};

int source_faulty_create(struct source *inner, const struct fault_plan *plan, struct source **out)
{
	struct faulty_source *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->inner = inner;
	fs->fail_every = fault_plan_find(plan, FAULT_SOURCE, FAULT_FAIL_EVERY);
	fs->stall_after = fault_plan_find(plan, FAULT_SOURCE, FAULT_STALL_AFTER);
	fs->src = *inner; /* what it gives: format, size, stride, dma-bufs, description */
	fs->src.ops = &faulty_ops;
	fs->src.lent = 0;
	fs->src.priv = fs;
	*out = &fs->src;
	return 0;
}
