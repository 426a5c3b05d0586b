/* A V4L2 device's controls as camera controls (include/mjpegd/control.h): VIDIOC_QUERY_EXT_CTRL
 * with V4L2_CTRL_FLAG_NEXT_CTRL, menus by VIDIOC_QUERYMENU, values by VIDIOC_G/TRY/S_EXT_CTRLS.
 * Named as `v4l2-ctl -l` names them (v4l2_control_name()). */
#ifndef MJPEGD_V4L2_CONTROLS_H
#define MJPEGD_V4L2_CONTROLS_H

#include <stddef.h>

#include "mjpegd/control.h"

/* "White Balance Temperature" → "white_balance_temperature": letters and digits lowercased,
 * every other run of characters one '_', none at either end (v4l2-ctl's rule). */
void v4l2_control_name(const char *v4l2_name, char *out, size_t len);

/* Fills l with fd's integer, 64-bit, boolean, menu and integer-menu controls (buttons, strings,
 * compound and disabled controls are left out; read-only, inactive and grabbed ones marked).
 * Returns the number, or a negative errno when the device cannot be asked at all. */
int v4l2_controls_query(int fd, struct control_list *l);

/* Applies set (checked against l) in one VIDIOC_S_EXT_CTRLS after a VIDIOC_TRY_EXT_CTRLS of the
 * same, so the driver refusing one leaves all unchanged. 0, or a negative errno with why naming
 * the control the driver refused. */
int v4l2_controls_apply(int fd, const struct control_list *l, const struct control_set *set,
			char *why, size_t whylen);

#endif
