/* Fault injection for tests: which device misbehaves, how and when. The parser and the wrapping
 * back ends that act on a plan (source_faulty_create(), encoder_faulty_create()) are always built
 * (unit-tested); the option that sets it (--inject-fault) and the wrapping of the devices the
 * daemon opens (src/devices.c) exist only in the test binary, build/mjpegd-faults (compiled with
 * MJPEGD_FAULT_INJECTION).
 *
 * Spec: comma-separated rules
 *   source:fail-every=N    every N-th frame of a source instance, dequeue fails with EIO
 *   source:stall-after=N   after N frames a source instance delivers nothing more (timeout)
 *   encoder:fail-every=N   every N-th frame of an encoder instance, collect fails with ENODEV
 *   encoder:stall-after=N  after N frames an encoder instance returns nothing more (timeout)
 *   loop:wedge=MS          once, 1 s after start, the event loop blocks for MS milliseconds
 * Counts restart with each new instance, so a reopened device fails again N frames later. */
#ifndef MJPEGD_FAULT_H
#define MJPEGD_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fault_target {
	FAULT_SOURCE,
	FAULT_ENCODER,
	FAULT_LOOP,
};

enum fault_action {
	FAULT_FAIL_EVERY,
	FAULT_STALL_AFTER,
	FAULT_WEDGE,
};

#define FAULT_MAX_RULES 4

struct fault_rule {
	enum fault_target target;
	enum fault_action action;
	unsigned n; /* frames, or milliseconds for a wedge */
};

struct fault_plan {
	struct fault_rule rules[FAULT_MAX_RULES];
	unsigned n_rules;
};

/* 0, or -EINVAL with a message naming the bad rule. An empty spec is an empty plan. */
int fault_plan_parse(const char *spec, struct fault_plan *plan, char *err, size_t errlen);

/* The rule for target/action, or NULL. */
const struct fault_rule *fault_plan_find(const struct fault_plan *plan, enum fault_target target,
					 enum fault_action action);

/* For the frame numbered count (1-based) of a device instance: does this rule fire? fail-every
 * fires on every multiple of n, stall-after on every frame past n. */
bool fault_fires(const struct fault_rule *rule, unsigned long long count);

/* loop:wedge=MS: once, from 1 s after start (since_start_ns), blocks the calling thread (the
 * event loop) for MS ms, as a hung loop would: the watchdog pings must stop. *done is set when it
 * did. A no-op without such a rule (every plan of the production binary is empty). */
void fault_loop_wedge(const struct fault_plan *plan, uint64_t since_start_ns, bool *done);

#endif
