/* Broken invariants: what can only be a bug in mjpegd (a reference dropped twice, a raw frame
 * given back twice), as opposed to what a device, a client or the user may do.
 *
 *   if (MJPEGD_BUG(f->refs == 0, "frame %llu: reference dropped twice", seq))
 *           return;
 *
 * MJPEGD_BUG(cond, fmt, ...) is cond: when it holds, builds with MJPEGD_ABORT_ON_BUG (the unit
 * tests, build/mjpegd-faults and every sanitizer build: see the Makefile) print the message with
 * file:line and abort, so a test stops at the first ownership bug; the release daemon logs the
 * same line at <3> and goes on with the caller's way out (a stream that survives a bug beats a
 * camera that needs a reboot). Parameters that a caller got wrong are plain assert()s; user input
 * is checked once, in config. */
#ifndef MJPEGD_BUG_H
#define MJPEGD_BUG_H

#include <stdbool.h>

void mjpegd_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For a unit test that checks what the release daemon does after a bug (it survives it): false
 * stops the abort until set back to true. Without MJPEGD_ABORT_ON_BUG it changes nothing. */
void mjpegd_bug_abort(bool on);

/* A GNU statement expression (as systemd's assert_log()), so it serves as a statement too. */
#define MJPEGD_BUG(cond, ...)                                                                      \
	__extension__({                                                                            \
		bool mjpegd_bug_ = __builtin_expect(!!(cond), 0);                                  \
		if (mjpegd_bug_)                                                                   \
			mjpegd_bug(__FILE__, __LINE__, __VA_ARGS__);                               \
		mjpegd_bug_;                                                                       \
	})

/* MJPEGD_BUG() about one object, its line starting with the object's log prefix (log.h):
 * MJPEGD_BUG_OBJ(!lent, vs->log_prefix, "frame %llu released twice", seq). fmt is a literal. */
#define MJPEGD_BUG_OBJ(cond, prefix, fmt, ...) MJPEGD_BUG((cond), "%s: " fmt, (prefix), ##__VA_ARGS__)

#endif
