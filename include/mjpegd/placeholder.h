/* The "no signal" picture clients see while a device recovers: rendered once per reason at
 * start (not per frame) and served at 1 fps until live frames return. */
#ifndef MJPEGD_PLACEHOLDER_H
#define MJPEGD_PLACEHOLDER_H

#include <stddef.h>
#include <stdint.h>

/* A dark JPEG of width×height with a title and a reason line drawn large. *jpeg is malloc'd
 * (free() it). 0 or a negative errno (-EINVAL for a bad size, -ENOMEM, -EIO from TurboJPEG). */
int placeholder_render(unsigned width, unsigned height, const char *title, const char *reason,
		       unsigned quality, uint8_t **jpeg, size_t *len);

#endif
