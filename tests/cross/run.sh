#!/bin/sh
# make test-cross: runs a cross build under qemu-user on this machine (README.md, "Cross-compiling").
# Usage: tests/cross/run.sh ARCH BUILD SYSROOT [ARMV6_BUILD]
#   ARCH arm64|armhf; BUILD holds mjpegd and tests/test_*; SYSROOT the target's libraries
#   (qemu -L); ARMV6_BUILD (armhf) objects built with the Pi Zero W's ARCH_FLAGS to check with readelf.
# Checks: every unit test under qemu (tests/cross/qemu-user.known lists the ones qemu-user cannot
# pass, each with the failure text that proves it is that limit), the binary's architecture and
# libraries, the daemon under qemu (qemu-user 7.2 has no io_uring: the daemon must say so and exit;
# a qemu that has it gets a snapshot and stream frames fetched and checked), the ARMv6 objects.
# Prints PASS/FAIL/SKIP lines and, last, "cross: N passed, N failed"; exit status 1 on failure.
#        tests/cross/run.sh --total FILE N   (sums the N architectures' results a run left in FILE)
set -u
if [ "${1:-}" = --total ]; then
	p=0 f=0 n=0
	if [ -f "$2" ]; then
		while read -r a b _; do p=$((p + a)) f=$((f + b)) n=$((n + 1)); done <"$2"
	fi
	if [ $n -lt "$3" ]; then
		echo "$(($3 - n)) of $3 architectures did not get to their tests (a build error above)"
		f=$((f + $3 - n))
	fi
	echo "cross: $p passed, $f failed"
	[ $f -eq 0 ]
	exit
fi
arch=$1 build=$2 sysroot=$3 armv6=${4:-}
here=$(dirname "$0")
case $arch in
arm64) qemu=qemu-aarch64-static machine=AArch64 ;;
armhf) qemu=qemu-arm-static machine=ARM ;;
*) echo "run.sh: unknown ARCH '$arch'" >&2; exit 2 ;;
esac
passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "PASS  $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP  $*"; }
tmp=$(mktemp -d)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
echo "cross $arch: $($qemu --version | head -n1), sysroot $sysroot"

# --- the unit tests, each binary under qemu (their whole output: BUILD/test-cross-unit.log) ---
# A binary with a failure that is not a known qemu-user limit runs once more: when that run is
# clean, its failures are reported as FLAKY (timing-sensitive under emulation; the rerun counts),
# else they count as failed.
: >"$build/test-cross-unit.log"
unit_run() { # BINARY: sets out, rc, p (passed), unknown (failed names not known), known_lines
	out=$(timeout 300 "$qemu" -L "$sysroot" "$1" 2>&1)
	rc=$?
	printf '%s\n' "$out" >>"$build/test-cross-unit.log"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n1)
	unknown="" known_lines=""
	for n in $(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \(test_[A-Za-z0-9_]*\)$/\1/p' | sort -u); do
		known=$(awk -v b="$(basename "$1")" -v t="$n" '$1 == b && $2 == t { print; exit }' \
			"$here/qemu-user.known")
		needle=$(printf '%s\n' "$known" | awk '{ print $3 }')
		if [ -n "$known" ] && printf '%s\n' "$out" | grep -qF -- "$needle"; then
			known_lines="$known_lines$(basename "$1")/$n: $(printf '%s\n' "$known" | cut -d' ' -f4-)
"
		else
			unknown="$unknown $n"
		fi
	done
	if [ $rc -ne 0 ] && [ -z "$unknown" ] && [ -z "$known_lines" ]; then
		unknown=" exit-$rc-without-a-cmocka-summary"
	fi
}
for t in "$build"/tests/test_*; do
	case $t in *.d) continue ;; esac
	[ -x "$t" ] || continue
	name=$(basename "$t")
	unit_run "$t"
	if [ -n "$unknown" ]; then
		first_out=$out first_unknown=$unknown first_rc=$rc
		unit_run "$t"
		if [ -z "$unknown" ]; then
			for n in $first_unknown; do
				echo "FLAKY unit $name/$n: failed (exit $first_rc), passed when run again"
			done
		else
			for n in $first_unknown; do
				printf '%s\n' "$first_out" | sed -n "/\[ RUN      \] $n\$/,/\[  FAILED  \] $n\$/p"
			done
			[ $rc -ne 0 ] && printf '%s\n' "$out" | tail -n 5
			for n in $unknown; do fail "unit $name/$n (failed twice)"; done
		fi
	fi
	passed=$((passed + ${p:-0}))
	printf '%s' "$known_lines" | while read -r line; do echo "SKIP  unit $line"; done
	skipped=$((skipped + $(printf '%s' "$known_lines" | grep -c .)))
done
echo "unit tests under $qemu: $passed ok (output in $build/test-cross-unit.log)"

# --- the binary: right machine, no libcamera linked in (its plugin has it), starts under qemu ---
bin=$build/mjpegd
hdr=$(readelf -h "$bin" 2>&1)
if printf '%s\n' "$hdr" | grep -q "Machine: *$machine"; then
	pass "$bin is an $machine executable"
else
	fail "$bin is an $machine executable: $(printf '%s\n' "$hdr" | grep Machine)"
fi
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case $needed in
*libcamera* | *libstdc++*) fail "$bin links libcamera or libstdc++ ($needed): only its plugin may" ;;
*liburing*) pass "$bin links liburing, libturbojpeg, libsystemd and no libcamera ($needed)" ;;
*) fail "$bin: unexpected libraries ($needed)" ;;
esac
plugin=$build/mjpegd-libcamera.so
pneeded=$(readelf -d "$plugin" 2>&1 | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case $pneeded in
*libcamera.so*) pass "$plugin links libcamera ($pneeded)" ;;
*) fail "$plugin links libcamera ($pneeded): was libcamera-dev missing from the sysroot?" ;;
esac
# The daemon loads it (dlopen of /proc/self/fd/N, libcamera from the sysroot through qemu's -L):
# its log line comes before libcamera's camera manager starts.
lst=$(timeout 120 "$qemu" -L "$sysroot" "$bin" --list-devices 2>&1)
case $lst in
*"libcamera plugin $(cd "$build" && pwd)/mjpegd-libcamera.so loaded"*)
	pass "mjpegd --list-devices under $qemu loads its plugin: $(printf '%s\n' "$lst" | grep 'plugin')" ;;
*) fail "mjpegd --list-devices under $qemu did not load its plugin: $(printf '%s\n' "$lst" | tail -5)" ;;
esac
ver=$(timeout 120 "$qemu" -L "$sysroot" "$bin" --version 2>&1)
case $ver in
"mjpegd "*) pass "mjpegd --version under $qemu: $ver" ;;
*) fail "mjpegd --version under $qemu: $ver" ;;
esac

# --- the daemon: test pattern -> software encoder -> HTTP on loopback ---
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$qemu" -L "$sysroot" "$bin" --source testpattern --encoder software --size 320x240 --fps 10 \
	--listen "127.0.0.1:$port" >"$tmp/daemon.log" 2>&1 &
daemon=$!
state=starting
i=0
while [ $i -lt 600 ]; do # 60 s: qemu-user is slow to start a C++-linked binary
	if ! kill -0 "$daemon" 2>/dev/null; then
		state=exited
		break
	fi
	if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" \
		2>/dev/null; then
		state=serving
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
case $state in
exited)
	wait "$daemon"
	rc=$?
	daemon=
	if [ $rc -ne 0 ] && grep -q 'io_uring' "$tmp/daemon.log"; then
		pass "daemon under $qemu exits ($rc) with the io_uring error: $(grep -m1 io_uring "$tmp/daemon.log")"
		skip "snapshot and stream under $qemu: qemu-user has no io_uring_setup (\"Unknown syscall 425\"): on a real $arch kernel below"
	else
		cat "$tmp/daemon.log"
		fail "daemon under $qemu exited $rc without the io_uring error"
	fi
	;;
serving)
	if /usr/bin/python3 -B "$here/smoke.py" 127.0.0.1 "$port" 3 >"$tmp/smoke.out" 2>&1; then
		pass "daemon under $qemu: $(sed "s/^PASS  //" "$tmp/smoke.out" | paste -sd ";" -)"
	else
		cat "$tmp/smoke.out" "$tmp/daemon.log"
		fail "daemon under $qemu serves a snapshot and stream frames"
	fi
	kill -TERM "$daemon"
	wait "$daemon"
	rc=$?
	daemon=
	[ $rc -eq 0 ] && pass "daemon under $qemu stops cleanly on SIGTERM" ||
		fail "daemon under $qemu exited $rc on SIGTERM"
	;;
*)
	cat "$tmp/daemon.log"
	fail "daemon under $qemu neither served nor exited within 60 s"
	;;
esac

# --- the daemon on a real ARM kernel in qemu-system (tests/cross/vm.sh): io_uring, HTTP, JPEG ---
"$here/vm.sh" "$arch" "$build" "$sysroot" >"$tmp/vm.out" 2>&1
cat "$tmp/vm.out"
passed=$((passed + $(grep -c '^PASS' "$tmp/vm.out")))
failed=$((failed + $(grep -c '^FAIL' "$tmp/vm.out")))
if ! grep -q '^PASS' "$tmp/vm.out" && ! grep -q '^FAIL' "$tmp/vm.out"; then
	fail "tests/cross/vm.sh $arch gave no result"
fi

# --- ARMv6 (Pi Zero W / Pi 1): our own objects must be ARMv6 + VFP, hard-float, ARM state ---
if [ -n "$armv6" ]; then
	objs=$(find "$armv6/obj" -name '*.o' | sort)
	n=0 bad=""
	for o in $objs; do
		n=$((n + 1))
		a=$(readelf -A "$o")
		printf '%s\n' "$a" | grep -q 'Tag_CPU_arch: v6' &&
			printf '%s\n' "$a" | grep -q 'Tag_FP_arch: VFPv2' &&
			printf '%s\n' "$a" | grep -q 'Tag_ABI_VFP_args: VFP registers' &&
			! printf '%s\n' "$a" | grep -q 'Thumb-2' || bad="$bad $o"
	done
	if [ $n -gt 0 ] && [ -z "$bad" ]; then
		pass "ARMv6: $n objects in $armv6/obj carry Tag_CPU_arch: $(readelf -A "$(echo "$objs" | head -n1)" | sed -n 's/.*Tag_CPU_arch: //p'), VFPv2, hard-float, no Thumb-2"
	else
		fail "ARMv6 objects ($n):${bad:- none built}"
	fi
	# What Debian's toolchain adds when linking: its crt files, libgcc and libc are ARMv7, so the
	# linked binary is not ARMv6 after all; on the Pi Zero W's CPU it dies at once (README.md).
	if [ -x "$armv6/mjpegd" ]; then
		tag=$(readelf -A "$armv6/mjpegd" | sed -n 's/.*Tag_CPU_arch: //p')
		timeout 120 "$qemu" -cpu arm1176 -L "$sysroot" "$armv6/mjpegd" --version >"$tmp/v6.out" 2>&1
		rc=$?
		if [ $rc -eq 132 ] || grep -q 'Illegal instruction' "$tmp/v6.out"; then
			pass "ARMv6 link against Debian armhf is Tag_CPU_arch $tag and dies with SIGILL on an ARM1176 ($qemu -cpu arm1176), as README.md says: a Pi Zero W needs a native build"
		else
			fail "ARMv6 link on an ARM1176: expected SIGILL from Debian's ARMv7 libraries, got exit $rc: $(head -c 300 "$tmp/v6.out")"
		fi
	fi
fi

[ $skipped -gt 0 ] && echo "($skipped skipped: limits of qemu-user, listed above)"
if [ -n "${MJPEGD_CROSS_SUMMARY:-}" ]; then
	echo "$passed $failed $skipped" >>"$MJPEGD_CROSS_SUMMARY"
	echo "cross $arch total: $passed ok, $failed failed"
else
	echo "cross: $passed passed, $failed failed"
fi
[ $failed -eq 0 ]
