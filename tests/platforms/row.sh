#!/bin/sh
# One row of make test-platforms, inside its root (tests/platforms/run.sh runs it there through
# scripts/in-root.sh, in the copy of the tree at /root/mjpegd). Usage:
#   tests/platforms/row.sh [--full] [--asan] [--deb] [--deps-only]
# Steps, each timed: "--- NAME: COMMAND" before it, "--- NAME: exit RC after S s" after it (run.sh
# reads the step times from those lines); the first step that fails ends the row.
#   deps         --full: scripts/deps.sh test (the whole suite's packages). Else scripts/deps.sh
#                platform-test (no browser, VLC or proxies), and the rest of the test group's
#                names resolved by `apt-get install -s` (nothing downloaded): deps.sh still names
#                every package right on this release
#   build        make all and build/mjpegd-faults (-Werror, the libcamera shim included)
#   unit         make test-unit
#   integration  --full: make test-integration (the whole suite). Else the tests named in
#                tests/platforms/integration-tests
#   asan         --asan: build, unit and the tests of tests/platforms/integration-tests under
#                ASan+UBSan, on a --full row too (the host's make test runs the whole suite under
#                ASan already; what a row adds is its libraries: libcamera's shim, liburing,
#                libturbojpeg, libsystemd, libxcrypt)
#   deb          --deb: make test-deb
# --deps-only: the deps step alone (run.sh's prepare phase, all rows side by side).
set -eu
cd "$(dirname "$0")/../.."
full=0 asan=0 deb=0 deps_only=0
for a in "$@"; do
	case "$a" in
	--deps-only) deps_only=1 ;;
	--full) full=1 ;;
	--asan) asan=1 ;;
	--deb) deb=1 ;;
	*) echo "row.sh: unknown option '$a'" >&2; exit 2 ;;
	esac
done
jobs=$(nproc)
subset=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/platforms/integration-tests | tr '\n' ' ')

# The functions below run as an if's condition (in step), where sh -e does not stop at a failed
# command: each stops by itself (|| return).
step() { # NAME COMMAND...
	name=$1
	shift
	echo "--- $name: $*"
	s=$(date +%s)
	if "$@"; then rc=0; else rc=$?; fi
	echo "--- $name: exit $rc after $(($(date +%s) - s)) s"
	return $rc
}

deps_lean() {
	scripts/deps.sh platform-test || return
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
	make -j"$jobs" BUILD=build-asan SAN=1 all build-asan/mjpegd-faults test-unit || return
	integration_lean build-asan
}

if [ $full = 1 ]; then
	step deps scripts/deps.sh test
else
	step deps deps_lean
fi
[ $deps_only = 0 ] || exit 0
echo "--- versions"
echo "libcamera $(dpkg-query -W -f='${Version}' libcamera-dev) gcc $(gcc -dumpfullversion)"
step build make -j"$jobs" all build/mjpegd-faults
step unit make -j"$jobs" test-unit
if [ $full = 1 ]; then
	step integration make test-integration
else
	step integration integration_lean build
fi
if [ $asan = 1 ]; then
	step asan asan_lean
fi
if [ $deb = 1 ]; then
	step deb make test-deb
fi
