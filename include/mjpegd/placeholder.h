/* The "no signal" picture clients see while a device recovers: rendered once per reason at
 * start (not per frame) and served at 1 fps until live frames return. */
#ifndef MJPEGD_PLACEHOLDER_H
#define MJPEGD_PLACEHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mjpegd/frame.h"

/* A dark JPEG of width×height with a title and a reason line drawn large. *jpeg is malloc'd
 * (free() it). 0 or a negative errno (-EINVAL for a bad size, -ENOMEM, -EIO from TurboJPEG). */
int placeholder_render(unsigned width, unsigned height, const char *title, const char *reason,
		       unsigned quality, uint8_t **jpeg, size_t *len);

/* Why frames cannot flow, as clients are told. */
enum placeholder_reason {
	PH_STARTING,
	PH_DISCONNECTED,
	PH_NOT_RESPONDING,
	PH_CAMERA_ERROR,
	PH_ENCODER_FAILED,
	PH_LIBCAMERA_UNUSABLE, /* the libcamera plugin cannot be loaded (source_errno ELIBACC) */
	PH_BUSY, /* another program or mjpegd instance holds the camera */
	PH_COUNT,
};

/* The reason from the devices' state: the source failed with source_errno (positive, 0 when it
 * has not failed), there is a source / an active encoder. */
enum placeholder_reason placeholder_reason_for(bool source_failed, int source_errno,
					       bool have_source, bool have_encoder);

/* The rotation: one picture per reason, rendered at start and again when the size changes, and
 * whether clients see one now. Owns the pictures; the frames it makes point at them. */
struct placeholders {
	uint8_t *jpeg[PH_COUNT];
	size_t len[PH_COUNT];
	unsigned width, height;
	bool showing;         /* the last frame published was a placeholder */
	uint64_t last_ns;     /* when the last one was published (CLOCK_MONOTONIC) */
};

/* (Re)renders every reason's picture at width×height; one that fails is logged and left out. */
void placeholders_render(struct placeholders *ph, unsigned width, unsigned height);
void placeholders_free(struct placeholders *ph);

/* During an outage: one is due now (the outage lasted half a second since the last live frame,
 * and a second passed since the last placeholder). */
bool placeholders_due(const struct placeholders *ph, uint64_t now, uint64_t last_live_ns);

/* A frame from pool showing why, with one reference (NULL when that picture is missing or the pool
 * is empty). The first of an outage is logged. */
struct frame *placeholders_frame(struct placeholders *ph, struct frame_pool *pool,
				 enum placeholder_reason why, uint64_t now);

/* A live frame was published: the next placeholder starts a new outage (logged once). */
void placeholders_live(struct placeholders *ph);

#endif
