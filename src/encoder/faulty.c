/* An encoder that wraps another and misbehaves as a fault plan says; see encoder_faulty_create()
 * in include/mjpegd/encoder.h and the rules in include/mjpegd/fault.h. For the test binary only
 * (src/devices.c wraps under MJPEGD_FAULT_INJECTION), and for unit tests. */
#include <errno.h>
#include <stdlib.h>

#include "mjpegd/encoder.h"
#include "mjpegd/fault.h"

struct faulty_encoder {
	struct encoder enc;
	struct encoder *inner;
	const struct fault_rule *fail_every, *stall_after;
	unsigned long long frames; /* collected from inner (good or failed), this instance */
};

static int faulty_fd(struct encoder *enc)
{
	struct faulty_encoder *fe = enc->priv;
	return encoder_fd(fe->inner);
}

static int faulty_submit(struct encoder *enc, struct raw_frame *raw)
{
	struct faulty_encoder *fe = enc->priv;
	int r = encoder_submit(fe->inner, raw);
	fe->enc.stats = fe->inner->stats;
	return r;
}

static int faulty_collect(struct encoder *enc, struct frame **out)
{
	struct faulty_encoder *fe = enc->priv;
	for (;;) {
		struct frame *f = NULL;
		int r = encoder_collect(fe->inner, &f);
		fe->enc.stats = fe->inner->stats;
		if (r == -EAGAIN || r == -ENODEV)
			return r;
		fe->frames++;
		if (fault_fires(fe->stall_after, fe->frames)) {
			frame_unref(f); /* as if it never came back: the encoder timeout notices */
			continue;
		}
		if (fault_fires(fe->fail_every, fe->frames)) {
			frame_unref(f);
			return -ENODEV;
		}
		*out = f;
		return r;
	}
}

static int faulty_set_quality(struct encoder *enc, unsigned quality)
{
	struct faulty_encoder *fe = enc->priv;
	if (!fe->inner->ops->set_quality)
		return -EOPNOTSUPP;
	return fe->inner->ops->set_quality(fe->inner, quality);
}

static unsigned faulty_frames_lent(struct encoder *enc)
{
	struct faulty_encoder *fe = enc->priv;
	return fe->inner->ops->frames_lent ? fe->inner->ops->frames_lent(fe->inner) : 0;
}

static void faulty_destroy(struct encoder *enc)
{
	struct faulty_encoder *fe = enc->priv;
	encoder_destroy(fe->inner);
	free(fe);
}

static const struct encoder_ops faulty_ops = {
	.name = "faulty",
	.fd = faulty_fd,
	.submit = faulty_submit,
	.collect = faulty_collect,
	.set_quality = faulty_set_quality,
	.frames_lent = faulty_frames_lent,
	.destroy = faulty_destroy,
};

int encoder_faulty_create(struct encoder *inner, const struct fault_plan *plan,
			  struct encoder **out)
{
	struct faulty_encoder *fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->inner = inner;
	fe->fail_every = fault_plan_find(plan, FAULT_ENCODER, FAULT_FAIL_EVERY);
	fe->stall_after = fault_plan_find(plan, FAULT_ENCODER, FAULT_STALL_AFTER);
	fe->enc = (struct encoder){ .ops = &faulty_ops, .description = inner->description,
				    .imports = inner->imports, .synchronous = inner->synchronous,
				    .stats = inner->stats, .priv = fe };
	*out = &fe->enc;
	return 0;
}
