/* Camera controls, as the camera names them: what a source offers (libcamera's ControlInfoMap,
 * V4L2's VIDIOC_QUERY_EXT_CTRL), the values a user asks for over HTTP, in flags or in the state
 * file, and the checks between the two. Pure: no device, no socket, no file; the sources fill
 * the descriptions and apply a checked set, the server and config call the parsers.
 *
 * Ownership: a source owns its struct control_list (filled when it opens, read by the pipeline on
 * the loop thread); a struct control_set is a plain value the caller owns. */
#ifndef MJPEGD_CONTROL_H
#define MJPEGD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_NAME_MAX 48
#define CONTROL_MENU_MAX 24
#define CONTROL_LIST_MAX 64
#define CONTROL_SET_MAX 32
#define CONTROL_FLOATS_MAX 4

enum control_type {
	CONTROL_INTEGER,   /* int64 in min..max, multiple of step from min */
	CONTROL_FLOAT,     /* double in min..max */
	CONTROL_BOOLEAN,   /* true/false (also 1/0, on/off) */
	CONTROL_MENU,      /* one of menu[] by name or value */
	CONTROL_RECTANGLE, /* x,y,width,height (libcamera ScalerCrop) */
	CONTROL_FLOATS,    /* count doubles, each in min..max (libcamera ColourGains: red, blue) */
};

struct control_rect {
	int32_t x, y;
	uint32_t width, height;
};

struct control_value {
	enum control_type type;
	union {
		int64_t i; /* INTEGER, MENU (the entry's value) */
		double f;
		bool b;
		struct control_rect r;
		struct {
			double v[CONTROL_FLOATS_MAX];
			unsigned n;
		} fs; /* FLOATS */
	};
};

struct control_menu_entry {
	int64_t value;
	char name[CONTROL_NAME_MAX];
};

struct control_desc {
	char name[CONTROL_NAME_MAX]; /* "Brightness" (libcamera), "brightness" (as v4l2-ctl -l) */
	uint32_t id;                 /* the back end's id (V4L2 control id, libcamera ControlId) */
	uint32_t backend_type;       /* the back end's type (V4L2_CTRL_TYPE_*, libcamera's) */
	enum control_type type;
	struct control_value min, max, def, cur; /* FLOATS: min and max are FLOAT, for each */
	unsigned count;              /* FLOATS: how many numbers, 2..CONTROL_FLOATS_MAX */
	int64_t step;                /* INTEGER: > 0 */
	unsigned n_menu;
	struct control_menu_entry menu[CONTROL_MENU_MAX];
	bool read_only;              /* shown, never set */
	bool inactive;               /* V4L2_CTRL_FLAG_INACTIVE: set, but without effect now */
	bool has_current;            /* cur is known */
};

struct control_list {
	unsigned n;
	struct control_desc desc[CONTROL_LIST_MAX];
};

/* Controls to apply together (all of them or none). */
struct control_set {
	unsigned n;
	struct {
		unsigned index; /* into the control_list it was checked against */
		struct control_value value;
	} item[CONTROL_SET_MAX];
};

/* The control named name (exact, then ignoring case), or NULL. */
const struct control_desc *control_find(const struct control_list *l, const char *name);

/* Parses text as a value of d (decimal, "true", a menu entry's name or value, "x,y,w,h", "a,b"
 * for FLOATS) and
 * checks it: type, range, step, read-only. 0, or -EINVAL/-EACCES with why naming the control
 * and what it accepts ("Brightness: '2' is out of range -1..1"). */
int control_parse_value(const struct control_desc *d, const char *text, struct control_value *out,
			char *why, size_t whylen);

/* Writes v as text (the form control_parse_value() takes): "0.5", "true", a menu entry's name,
 * "0,0,1920,1080", "1.5,2". */
void control_format_value(const struct control_desc *d, const struct control_value *v, char *buf,
			  size_t len);

/* Adds name=text to set, checked against l. A control named twice: the last value wins. */
int control_set_add(struct control_set *set, const struct control_list *l, const char *name,
		    const char *text, char *why, size_t whylen);

/* POST /controls: a JSON object ({"Brightness": 0.5, "AeEnable": false, "AfMode": "Auto",
 * "ScalerCrop": [0, 0, 1920, 1080]}) when json, else an HTML form body (Brightness=0.5&...).
 * Everything is checked before anything is returned: on error set is empty and why says what
 * (the control, the value, what it accepts). */
int control_parse_request(const struct control_list *l, const char *body, size_t len, bool json,
			  struct control_set *set, char *why, size_t whylen);

/* GET /controls: {"writable": …, "controls": [{"name": …, "type": …, "min": …, "max": …, "step": …,
 * "count": … (floats), "default": …, "value": …, "menu": [{"value": n, "name": …}],
 * "read_only": …, "inactive": …}]}.
 * Returns the length written (buf NUL-terminated), or -ENOSPC. */
int control_list_json(const struct control_list *l, bool writable, char *buf, size_t len);

/* Controls wanted by name, as text (from --control, the config file, the state file, HTTP):
 * kept across camera recoveries, when the list and its indexes may change, and checked against
 * the camera each time they are applied. */
#define CONTROL_VALUE_MAX 96
struct control_assignments {
	unsigned n;
	struct {
		char name[CONTROL_NAME_MAX];
		char value[CONTROL_VALUE_MAX];
	} a[CONTROL_SET_MAX];
};

/* Sets name to value (replacing an earlier one of the same name, ignoring case). -E2BIG when full,
 * -EINVAL for an empty or too long name or value. */
int control_assignments_put(struct control_assignments *as, const char *name, const char *value);

/* Every assignment of from put into to, in order. */
int control_assignments_merge(struct control_assignments *to, const struct control_assignments *from);

/* The values of set (checked against l) as assignments, put into as. */
int control_assignments_put_set(struct control_assignments *as, const struct control_list *l,
				const struct control_set *set);

/* Checks as against l into set; names l does not have or values it refuses are left out and
 * counted, the first reason in why. Returns how many were left out. */
unsigned control_assignments_check(const struct control_assignments *as, const struct control_list *l,
				   struct control_set *set, char *why, size_t whylen);

/* The state file: a comment line, then "NAME=VALUE" per assignment. Returns the length written or
 * -ENOSPC. */
int control_assignments_format(const struct control_assignments *as, char *buf, size_t len);

/* Reads a state file's text: "NAME=VALUE" lines, '#' comments and blank lines skipped. -EINVAL
 * with why naming the line for anything else (the caller ignores a corrupt file as a whole). */
int control_assignments_parse(const char *text, struct control_assignments *as, char *why,
			      size_t whylen);

/* One line of a state file or of --control: "NAME=VALUE" split into name and value (trimmed).
 * -EINVAL for a line without '=', an empty name, or one that does not fit. */
int control_split_assignment(const char *line, char *name, size_t name_len, char *value,
			     size_t value_len);

#endif
