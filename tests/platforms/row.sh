#!/bin/sh
# One row of make test-platforms, inside its root (tests/platforms/run.sh runs it there through
# scripts/in-root.sh, in the copy of the tree at /root/mjpegd). Usage:
#   tests/platforms/row.sh [--full] [--asan] [--deb] [--deps-only | --no-deps]
# Steps, each timed: "--- NAME: COMMAND" before it, "--- NAME: exit RC after S s" after it (run.sh
# reads the step times from those lines); the first step that fails ends the row.
#   deps         --full: scripts/deps.sh test (the whole suite's packages). Else scripts/deps.sh
#                platform-test (no browser, VLC or proxies), and the rest of the test group's
#                names resolved by `apt-get install -s` (nothing downloaded): deps.sh still names
#                every package right on this release. --deb: scripts/deps.sh deb as well (the deb
#                step then installs nothing: it may run without a network)
#   build        make all and build/mjpegd-faults (-Werror, the libcamera shim included)
#   unit         make test-unit
#   integration  --full: make test-integration (the whole suite). Else the tests named in
#                tests/platforms/integration-tests
#   asan         --asan: build, unit and the tests of tests/platforms/integration-tests under
#                ASan+UBSan, on a --full row too (the host's make test runs the whole suite under
#                ASan already; what a row adds is its libraries: libcamera's shim, liburing,
#                libturbojpeg, libsystemd, libxcrypt)
#   deb          --deb: make test-deb
# --deps-only: the deps step alone (run.sh's prepare phase, all rows side by side; and each row's
# deps step, with the host's network). --no-deps: every step after it (run.sh runs them in a
# network namespace of their own, scripts/in-root.sh --no-net).
# With MJPEGD_IT_LOCK (scripts/in-root.sh --lock: rows side by side, tests/platforms/run.sh), the
# build, unit and deb steps and the asan step's build run holding that file's lock shared, as the
# integration runner's parallel phase does; a runner's timing and serial tests hold it exclusively
# (tests/integration/harness.py), so no other row compiles or tests beside them. A wait of a second
# or more is logged: "--- NAME: waited S s for MJPEGD_IT_LOCK" (inside the step's time).
set -eu
cd "$(dirname "$0")/../.."
full=0 asan=0 deb=0 deps_only=0 no_deps=0
for a in "$@"; do
	case "$a" in
	--deps-only) deps_only=1 ;;
	--no-deps) no_deps=1 ;;
	--full) full=1 ;;
	--asan) asan=1 ;;
	--deb) deb=1 ;;
	*) echo "row.sh: unknown option '$a'" >&2; exit 2 ;;
	esac
done
[ $((deps_only + no_deps)) -le 1 ] || { echo "row.sh: --deps-only or --no-deps, not both" >&2; exit 2; }
jobs=$(nproc)
subset=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/platforms/integration-tests | tr '\n' ' ')

# The functions below run as an if's condition (in step), where sh -e does not stop at a failed
# command: each stops by itself (|| return).
step() { # NAME COMMAND...
	name=$1
	shift
	what=$*
	echo "--- $name: ${what#shared }" # (shared: under the rows' lock, below)
	s=$(date +%s)
	if "$@"; then rc=0; else rc=$?; fi
	echo "--- $name: exit $rc after $(($(date +%s) - s)) s"
	return $rc
}

lock=${MJPEGD_IT_LOCK:-}
[ -z "$lock" ] || exec 9>>"$lock"
# COMMAND... holding the rows' lock shared (none without MJPEGD_IT_LOCK).
shared() {
	[ -n "$lock" ] || { "$@"; return; }
	w=$(date +%s%N)
	flock -s 9 || return
	w=$((($(date +%s%N) - w) / 1000000)) # ms
	[ $w -lt 1000 ] ||
		echo "--- $name: waited $(((w + 500) / 1000)) s for MJPEGD_IT_LOCK (another row's timing tests)"
	if "$@" 9>&-; then r=0; else r=$?; fi
	flock -u 9
	return $r
}

deps_lean() {
	scripts/deps.sh platform-test || return
	[ $deb = 0 ] || scripts/deps.sh deb || return
	# deps.sh with MJPEGD_NO_APT=1 names what it would install, and exits 1
	rest=$(MJPEGD_NO_APT=1 scripts/deps.sh test 2>&1 | sed -n 's/^deps.sh: .*: installing://p')
	echo "apt-get install -s (the rest of the test group, resolved, not installed):$rest"
	# shellcheck disable=SC2086
	[ -z "$rest" ] || apt-get install -s -q --no-install-recommends $rest >/dev/null
}

integration_lean() { # BUILD_DIR
	# shellcheck disable=SC2086
	MJPEGD="$1/mjpegd" MJPEGD_FAULTS="$1/mjpegd-faults" tests/integration/run.sh $subset
}

asan_lean() {
	shared make -j"$jobs" BUILD=build-asan SAN=1 all build-asan/mjpegd-faults test-unit || return
	integration_lean build-asan
}

deps_full() {
	scripts/deps.sh test || return
	[ $deb = 0 ] || scripts/deps.sh deb
}

if [ $no_deps = 0 ]; then
	if [ $full = 1 ]; then
		step deps deps_full
	else
		step deps deps_lean
	fi
fi
[ $deps_only = 0 ] || exit 0
echo "--- versions"
echo "libcamera $(dpkg-query -W -f='${Version}' libcamera-dev) gcc $(gcc -dumpfullversion)"
step build shared make -j"$jobs" all build/mjpegd-faults
step unit shared make -j"$jobs" test-unit
if [ $full = 1 ]; then
	step integration make test-integration
else
	step integration integration_lean build
fi
if [ $asan = 1 ]; then
	step asan asan_lean
fi
if [ $deb = 1 ]; then
	step deb shared make test-deb
fi
