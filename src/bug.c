/* The broken-invariant report; see include/mjpegd/bug.h. The Makefile compiles this file a second
 * time with MJPEGD_ABORT_ON_BUG for the test binaries, which link that object before the library. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mjpegd/bug.h"
#include "mjpegd/log.h"

#ifdef MJPEGD_ABORT_ON_BUG
static bool abort_on_bug = true;
#else
static bool abort_on_bug = false;
#endif
static bool abort_allowed = true;

void mjpegd_bug_abort(bool on)
{
	abort_allowed = on;
}

void mjpegd_bug(const char *file, int line, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_err("BUG at %s:%d: %s", file, line, text);
	if (abort_on_bug && abort_allowed)
		abort();
}
