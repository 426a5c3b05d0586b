/* Fault plans for tests; see include/mjpegd/fault.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mjpegd/clock.h"
#include "mjpegd/fault.h"
#include "mjpegd/log.h"
#include "mjpegd/macro.h"

static const struct {
	const char *name;
	enum fault_target target;
	enum fault_action action;
} kinds[] = {
	{"source:fail-every", FAULT_SOURCE, FAULT_FAIL_EVERY},
	{"source:stall-after", FAULT_SOURCE, FAULT_STALL_AFTER},
	{"encoder:fail-every", FAULT_ENCODER, FAULT_FAIL_EVERY},
	{"encoder:stall-after", FAULT_ENCODER, FAULT_STALL_AFTER},
	{"loop:wedge", FAULT_LOOP, FAULT_WEDGE},
};

int fault_plan_parse(const char *spec, struct fault_plan *plan, char *err, size_t errlen)
{
	memset(plan, 0, sizeof(*plan));
	const char *p = spec;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t i;
		for (i = 0; i < ELEMENTSOF(kinds); i++)
			if (eq && (size_t)(eq - p) == strlen(kinds[i].name) &&
			    !memcmp(p, kinds[i].name, (size_t)(eq - p)))
				break;
		if (i == ELEMENTSOF(kinds)) {
			snprintf(err, errlen, "fault '%.*s' is not one of source:fail-every=N, "
				 "source:stall-after=N, encoder:fail-every=N, encoder:stall-after=N, "
				 "loop:wedge=MS", (int)(len > 60 ? 60 : len), p);
			return -EINVAL;
		}
		char num[16];
		size_t nlen = len - (size_t)(eq + 1 - p);
		char *nend = NULL;
		if (nlen == 0 || nlen >= sizeof(num)) {
			snprintf(err, errlen, "fault '%s' needs a number", kinds[i].name);
			return -EINVAL;
		}
		memcpy(num, eq + 1, nlen);
		num[nlen] = '\0';
		unsigned long v = strtoul(num, &nend, 10);
		if (*nend || num[0] == '-' || v == 0 || v > 1000000) {
			snprintf(err, errlen, "fault '%s': '%s' is not a number in 1..1000000",
				 kinds[i].name, num);
			return -EINVAL;
		}
		if (plan->n_rules == FAULT_MAX_RULES) {
			snprintf(err, errlen, "at most %d faults", FAULT_MAX_RULES);
			return -EINVAL;
		}
		plan->rules[plan->n_rules++] = (struct fault_rule){kinds[i].target, kinds[i].action,
								  (unsigned)v};
		p = end ? end + 1 : NULL;
	}
	return 0;
}

const struct fault_rule *fault_plan_find(const struct fault_plan *plan, enum fault_target target,
					 enum fault_action action)
{
	for (unsigned i = 0; i < plan->n_rules; i++)
		if (plan->rules[i].target == target && plan->rules[i].action == action)
			return &plan->rules[i];
	return NULL;
}

bool fault_fires(const struct fault_rule *rule, unsigned long long count)
{
	if (!rule || rule->n == 0)
		return false;
	if (rule->action == FAULT_FAIL_EVERY)
		return count > 0 && count % rule->n == 0;
	if (rule->action == FAULT_STALL_AFTER)
		return count > rule->n;
	return false;
}

void fault_loop_wedge(const struct fault_plan *plan, uint64_t since_start_ns, bool *done)
{
	const struct fault_rule *w = fault_plan_find(plan, FAULT_LOOP, FAULT_WEDGE);
	if (!w || *done || since_start_ns < NSEC_PER_SEC)
		return;
	*done = true;
	log_warn("fault injection: wedging the event loop for %u ms", w->n);
	struct timespec ts = {.tv_sec = w->n / 1000, .tv_nsec = (long)(w->n % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
