#!/bin/sh
# make soak: tests/soak/run.py under Debian's python3, bounded in time even if its own timeouts
# were to fail (the daemons die with it: PR_SET_PDEATHSIG). Arguments go to run.py.
here=$(dirname "$0")
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	echo "soak: $PY not found (install the Debian python3 package: scripts/deps.sh test)" >&2
	exit 1
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
secs=${SOAK_SECONDS:-600}
exec timeout --foreground -k 10 $((${secs%.*} + 300)) "$PY" -B -u "$here/run.py" "$@"
