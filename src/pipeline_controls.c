/* Camera controls at run time, in one place (include/mjpegd/pipeline.h; the pure parsers and
 * checks are src/control.c, the atomic file write src/statefile.c):
 *
 * - wanted: --control's (the configuration), then those set over HTTP and kept (the newest word
 *   wins; docs/configuration.md). The pipeline keeps them by name and applies them whenever a
 *   camera opens, so they survive a recovery, a reopen and standby.
 * - kept: what POST /controls set, written to STATE_DIR/controls.conf (--state-dir, else
 *   systemd's $STATE_DIRECTORY) and read back at start; a bad or unreadable file is reported and
 *   ignored, never fatal (the camera streams with its defaults).
 * - GET /controls lists what the open camera offers; POST /controls sets them, all or nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjpegd/log.h"
#include "mjpegd/macro.h"
#include "mjpegd/statefile.h"

#include "pipeline_internal.h"

#define CONTROLS_STATE_FILE "controls.conf"
/* GET /controls: the JSON document's room (a camera has a few dozen controls) */
#define CONTROLS_JSON_MAX (256 * 1024)

/* --state-dir, else systemd's StateDirectory= ($STATE_DIRECTORY, the first of its list). */
static void find_state_dir(struct pipeline *pl)
{
	const char *env = getenv("STATE_DIRECTORY");
	if (pl->opt.state_dir[0])
		snprintf(pl->state_dir, sizeof(pl->state_dir), "%s", pl->opt.state_dir);
	else if (env && env[0])
		snprintf(pl->state_dir, sizeof(pl->state_dir), "%.*s", (int)strcspn(env, ":"), env);
	else
		pl->state_dir[0] = '\0';
}

/* The controls kept from earlier runs; a missing file is normal, a bad one is reported and
 * ignored. */
static void load_kept(struct pipeline *pl)
{
	pl->controls_kept.n = 0;
	if (!pl->state_dir[0])
		return;
	char *text _cleanup_free_ = malloc(STATE_FILE_MAX);
	if (!text)
		return;
	char why[256];
	ssize_t n = state_file_read(pl->state_dir, CONTROLS_STATE_FILE, text, STATE_FILE_MAX);
	if (n == -ENOENT)
		;
	else if (n < 0)
		log_warn_errno((int)n, "controls: ignoring %s/%s", pl->state_dir, CONTROLS_STATE_FILE);
	else if (strlen(text) != (size_t)n)
		log_warn("controls: ignoring %s/%s: it holds a NUL byte (not a file mjpegd wrote)",
			 pl->state_dir, CONTROLS_STATE_FILE);
	else if (control_assignments_parse(text, &pl->controls_kept, why, sizeof(why)) < 0)
		log_warn("controls: ignoring %s/%s: %s", pl->state_dir, CONTROLS_STATE_FILE, why);
	else if (pl->controls_kept.n)
		log_info("controls: %u kept in %s/%s", pl->controls_kept.n, pl->state_dir,
			 CONTROLS_STATE_FILE);
	if (n < 0 || strlen(text) != (size_t)n)
		pl->controls_kept.n = 0;
}

/* What the camera gets: the configured controls, then the kept ones. */
static void set_wanted(struct pipeline *pl)
{
	pl->controls_wanted = pl->opt.controls;
	if (control_assignments_merge(&pl->controls_wanted, &pl->controls_kept) < 0)
		log_warn("controls: more than %d named; some left out", CONTROL_SET_MAX);
}

void pipeline_controls_init(struct pipeline *pl)
{
	find_state_dir(pl);
	load_kept(pl);
	set_wanted(pl);
}

/* The controls wanted, applied to a camera that just opened (or now); one line when some cannot be. */
void pipeline_apply_controls(struct pipeline *pl, struct source *src)
{
	if (!pl->controls_wanted.n)
		return;
	struct control_list *l _cleanup_free_ = malloc(sizeof(*l));
	struct control_set set;
	char why[256];
	if (!l) {
		log_err_errno(-ENOMEM, "controls");
		return;
	}
	int r = source_controls(src, l);
	unsigned left_out = r < 0 ? pl->controls_wanted.n
				  : control_assignments_check(&pl->controls_wanted, l, &set, why,
							      sizeof(why));
	if (r < 0)
		log_warn_errno(r, "controls: %s cannot list its controls; none applied",
			       src->description);
	else if (left_out)
		log_warn("controls: %u of %u not applied to %s: %s", left_out, pl->controls_wanted.n,
			 src->description, why);
	if (r >= 0 && set.n) {
		r = src->ops->set_controls ? src->ops->set_controls(src, l, &set, why, sizeof(why))
					   : -EOPNOTSUPP;
		if (r == -EOPNOTSUPP)
			log_warn("controls: %s has none; none applied", src->description);
		else if (r < 0)
			log_warn("controls: %s: none applied: %s", src->description, why);
		else
			log_info("controls: %u applied to %s", set.n, src->description);
	}
}

void pipeline_controls_changed(struct pipeline *pl)
{
	set_wanted(pl);
	if (pl->source)
		pipeline_apply_controls(pl, pl->source);
}

int pipeline_controls_json(struct pipeline *pl, bool writable, char **out, size_t *len)
{
	struct control_list *l _cleanup_free_ = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->n = 0;
	if (!pl->source)
		return -ENODEV;
	int r = source_controls(pl->source, l);
	if (r < 0)
		l->n = 0; /* a camera that cannot list them: none to show */
	char *doc _cleanup_free_ = malloc(CONTROLS_JSON_MAX);
	r = doc ? control_list_json(l, writable, doc, CONTROLS_JSON_MAX) : -ENOMEM;
	if (r < 0)
		return r;
	*out = doc;
	doc = NULL; /* the caller's now */
	*len = (size_t)r;
	return 0;
}

/* What was set is kept (atomically); a state file that cannot be written is said, and the
 * controls stay applied. */
static void keep(struct pipeline *pl, const struct control_assignments *now)
{
	control_assignments_merge(&pl->controls_kept, now);
	if (!pl->state_dir[0])
		return;
	char text[CONTROL_SET_MAX * (CONTROL_NAME_MAX + CONTROL_VALUE_MAX + 2) + 128];
	int n = control_assignments_format(&pl->controls_kept, text, sizeof(text));
	int w = n < 0 ? n : state_file_write(pl->state_dir, CONTROLS_STATE_FILE, text, (size_t)n);
	if (w < 0)
		log_warn_errno(w, "controls: applied, but not kept across restarts: %s/%s",
			       pl->state_dir, CONTROLS_STATE_FILE);
}

int pipeline_set_controls(struct pipeline *pl, const char *body, size_t len, bool json, char *why,
			  size_t whylen)
{
	struct source *src = pl->source;
	if (!src)
		return why_set(why, whylen, -ENODEV, "no camera at the moment (see /status)");
	if (!src->ops->set_controls)
		return why_set(why, whylen, -EOPNOTSUPP, "the source (%s) has no controls",
			       src->description);
	struct control_list *l _cleanup_free_ = malloc(sizeof(*l));
	if (!l)
		return why_set(why, whylen, -ENOMEM, "%s", strerror(ENOMEM));
	struct control_set set;
	int r = source_controls(src, l);
	if (r < 0)
		why_set(why, whylen, r, "%s cannot list its controls: %s", src->description,
			strerror(-r));
	else
		r = control_parse_request(l, body, len, json, &set, why, whylen);
	if (r >= 0)
		r = src->ops->set_controls(src, l, &set, why, whylen);
	if (r < 0)
		return r;
	struct control_assignments now = { 0 };
	control_assignments_put_set(&now, l, &set);
	control_assignments_merge(&pl->controls_wanted, &now);
	keep(pl, &now);
	return 0;
}
