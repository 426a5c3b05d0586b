#!/bin/sh
# Runs every mjpegd integration test (tests/integration/test_<area>.py, through tests.py)
# against $MJPEGD (default build/mjpegd). Prints one PASS/FAIL line per test (with the daemon's
# log tail on failure) and, last, exactly "integration: N passed, N failed" (", N skipped" added
# when a test could not run here: SKIP lines give the reason). Exit status is non-zero when
# anything failed.
# Arguments (optional) select tests whose names contain one of them; --area AREA (repeatable,
# or AREA,AREA) runs test_AREA.py only (make test-integration T=AREA); --list lists the tests.
# The tests need the Debian python3 (not a pyenv one) and what `scripts/deps.sh test` installs.
here=$(dirname "$0")
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	echo "FAIL  (setup): $PY not found (install the Debian python3 package: scripts/deps.sh test)"
	echo "integration: 0 passed, 1 failed"
	exit 1
fi
# Sanitizer builds: reports go to stderr (the daemon's log, which the tests check), and a
# leak or error makes the exit code non-zero as well.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# The whole run is bounded even if a test's own timeouts were to fail; the runner stops every
# daemon it started on SIGTERM, and the daemons die with it in any case (PR_SET_PDEATHSIG).
exec timeout --foreground -k 10 600 "$PY" -B -u "$here/tests.py" "$@"
