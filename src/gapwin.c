/* Longest gap over a sliding window; see include/mjpegd/gapwin.h. Pure. */
#include "mjpegd/gapwin.h"

#define NS_PER_S 1000000000ull

void gapwin_event(struct gapwin *g, uint64_t now_ns)
{
	if (g->last_ns && now_ns > g->last_ns) {
		uint64_t sec = now_ns / NS_PER_S, gap = now_ns - g->last_ns;
		unsigned i = (unsigned)(sec % GAPWIN_SECONDS);
		if (g->second[i] != sec) {
			g->second[i] = sec;
			g->max_ns[i] = 0;
		}
		if (gap > g->max_ns[i])
			g->max_ns[i] = gap;
	}
	g->last_ns = now_ns;
}

uint64_t gapwin_max_ns(const struct gapwin *g, uint64_t now_ns)
{
	if (!g->last_ns)
		return 0;
	uint64_t sec = now_ns / NS_PER_S, best = now_ns > g->last_ns ? now_ns - g->last_ns : 0;
	for (unsigned i = 0; i < GAPWIN_SECONDS; i++)
		if (g->second[i] + GAPWIN_SECONDS > sec && g->second[i] <= sec && g->max_ns[i] > best)
			best = g->max_ns[i];
	return best;
}
