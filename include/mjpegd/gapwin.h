/* The longest time between two events over the last GAPWIN_SECONDS seconds: per-second maxima in a
 * ring, so a reading is exact to the second without keeping every gap. Pure; loop thread only.
 * Used for live frames handed to clients (/status "frames": "max_gap_ms"): what a viewer saw of
 * an encoder reopen or a stall, read by `make pi-check` on a Pi. */
#ifndef MJPEGD_GAPWIN_H
#define MJPEGD_GAPWIN_H

#include <stdint.h>

#define GAPWIN_SECONDS 10

struct gapwin {
	uint64_t last_ns;                   /* the previous event; 0: none yet */
	uint64_t second[GAPWIN_SECONDS];    /* which second (ns / 1e9) each slot holds */
	uint64_t max_ns[GAPWIN_SECONDS];    /* the longest gap that ended in that second */
};

/* An event at now_ns (monotonic, never 0 in practice): the gap since the previous one is noted. */
void gapwin_event(struct gapwin *g, uint64_t now_ns);
/* The longest gap that ended within the last GAPWIN_SECONDS seconds before now_ns, counting the
 * one still open (now - the last event) when there was an event; 0 without events. */
uint64_t gapwin_max_ns(const struct gapwin *g, uint64_t now_ns);

#endif
