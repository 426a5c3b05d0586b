#!/bin/bash
# mjpegd real-kernel test bed: the entry point of `make test-vm`.
#
#   tests/vm/run.sh [PATTERN...]     e.g. tests/vm/run.sh 20-dmabuf '3*'
#
# Installs what is missing (scripts/deps.sh vm + libcamera), builds the kernel once and the test
# bed's modules when their source changes (tests/vm/bed/build-kernel.sh, cached in
# ~/.cache/mjpegd/vm; the .ko files copied to build/vm/modules), packs build/vm/initramfs.cpio
# (tests/vm/bed/mkinitramfs.sh), boots it under QEMU/TCG and reports every guest test
# (tests/vm/guest/NN-name.sh; PATTERNs select by name). Full logs: build/vm/logs/NAME.log,
# artifacts build/vm/logs/NAME.d/, console build/vm/serial.log.
# When a selected test has a "# vm-needs: lc07" line, the guest also gets libcamera 0.7.1's
# userland as /lc07 (tests/vm/bed/lc07.sh: a Debian trixie-backports root, needs root); when its
# archive cannot be reached those tests are reported SKIP with the reason, never passed.
# A test with a "# vm-host-check: COMMAND" line is also checked on the host afterwards (COMMAND
# build/vm/logs/NAME.d). The last line is "N passed, N failed" (", N skipped" added when tests
# were skipped); exit status 0 only when no selected test failed and at least one passed.
#
# Env: MJPEGD (daemon to test, default build/mjpegd: run `make all` first),
#      MJPEGD_VM_TIMEOUT (limit of each boot in s, default 1500), MJPEGD_VM_TEST_TIMEOUT (default
#      per-test limit in s, 120), MJPEGD_VM_SMP (vCPUs, 2), MJPEGD_VM_MEM (MiB, 1024),
#      MJPEGD_VM_ALLOW_NO_DAEMON=1 (run without build/mjpegd; its tests then fail),
#      MJPEGD_VM_LC07=0 (leave the libcamera 0.7.1 userland out: its tests are skipped),
#      MJPEGD_VM_KERNEL (build: the kernel compiled from linux-source, tests/vm/bed/build-kernel.sh,
#      the default; debian: trixie's packaged kernel and out-of-tree test drivers,
#      tests/vm/bed/debian-kernel.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
OUT=build/vm
SERIAL=$OUT/serial.log
LOGS=$OUT/logs
VM_TIMEOUT=${MJPEGD_VM_TIMEOUT:-1500}
TEST_TIMEOUT=${MJPEGD_VM_TEST_TIMEOUT:-120}
SMP=${MJPEGD_VM_SMP:-2}
MEM=${MJPEGD_VM_MEM:-1024}
# libcamera for the guest; not in scripts/deps.sh's vm group (yet)
EXTRA_PKGS="libcamera-tools libcamera-ipa"

say() { echo "vm: $*"; }
abort() { # abort MESSAGE: setup failed before any test ran
	echo "vm: error: $*" >&2
	echo "0 passed, 0 failed"
	exit 2
}
t_all=$SECONDS

# One run at a time per checkout: runs share build/vm (initramfs, logs, console log).
mkdir -p "$OUT"
exec 8>"$OUT/.lock"
if ! flock -n 8; then
	say "another test-vm run is using $OUT; waiting for it"
	flock -w "$VM_TIMEOUT" 8 || abort "$OUT still locked after ${VM_TIMEOUT}s"
fi

# --- packages ---------------------------------------------------------------------------
t=$SECONDS
scripts/deps.sh vm || abort "scripts/deps.sh vm failed"
missing=""
for p in $EXTRA_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing:$missing"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >&2 ||
		abort "could not install$missing"
fi
t_deps=$((SECONDS - t))

# --- the daemon under test --------------------------------------------------------------
MJPEGD=${MJPEGD:-build/mjpegd}
if [ ! -x "$MJPEGD" ]; then
	if [ "${MJPEGD_VM_ALLOW_NO_DAEMON:-0}" = 1 ]; then
		say "warning: $MJPEGD not found; the daemon tests will fail"
	else
		abort "$MJPEGD not found: run 'make all' first (or set MJPEGD=path)"
	fi
fi
case "$MJPEGD" in /*) ;; *) MJPEGD=$ROOT/$MJPEGD ;; esac
export MJPEGD

# --- which tests ------------------------------------------------------------------------
match() { # match NAME: selected by the command-line patterns (all when none)
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	local p
	for p in "${PATTERNS[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $p ]] && return 0
	done
	return 1
}
PATTERNS=("$@")
for p in "${PATTERNS[@]}"; do
	case "$p" in *[\ ,]*) abort "test pattern '$p' must not contain spaces or commas" ;; esac
done
TESTS=()
for f in tests/vm/guest/*.sh; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .sh)
	match "$n" && TESTS+=("$n")
done
[ ${#TESTS[@]} -gt 0 ] || abort "no guest tests selected (tests/vm/guest/*.sh${*:+ matching $*})"
LC07_TESTS=() # tests of the libcamera 0.7.1 userland
for n in "${TESTS[@]}"; do
	grep -q '^# vm-needs: lc07' "tests/vm/guest/$n.sh" && LC07_TESTS+=("$n")
done
# Boots: most tests share one; a test with a "# vm-boot: NAME" line runs in boot NAME, whose
# kernel arguments boot_args gives (module parameters fixed at boot, such as vicodec's API).
boot_args() {
	case "$1" in
	main) echo "" ;;
	vicodec-mplane) echo "vicodec.multiplanar=1" ;; # vicodec-core.c: read-only, set at probe
	# vimc-core.c: allocator=1 is videobuf2-dma-contig (contiguous dma-bufs, as the Pi's ISP
	# gives libcamera), read at probe
	vimc-contig) echo "vimc.allocator=1" ;;
	# two cameras whose buffers the emulated Pi encoder imports (issue 20, several cameras):
	# both vivid instances on dma-contig (the later vivid.allocators wins over the base one)
	# and vimc too
	two-cameras) echo "vivid.allocators=1,1 vimc.allocator=1" ;;
	*) return 1 ;;
	esac
}
declare -A BOOT_OF=()
BOOTS=(main)
for n in "${TESTS[@]}"; do
	b=$(sed -n 's/^# vm-boot: *\([a-z0-9-]*\).*/\1/p' "tests/vm/guest/$n.sh" | head -n1)
	b=${b:-main}
	boot_args "$b" >/dev/null || abort "tests/vm/guest/$n.sh: unknown vm-boot '$b'"
	BOOT_OF[$n]=$b
	case " ${BOOTS[*]} " in *" $b "*) ;; *) BOOTS+=("$b") ;; esac
done

# --- kernel, initramfs ------------------------------------------------------------------
t=$SECONDS
rm -rf "$OUT/modules/tree" # Debian's boot modules: only with its kernel
case "${MJPEGD_VM_KERNEL:-build}" in
build) KERNEL=$(MJPEGD_VM_MODULES_OUT=$OUT/modules tests/vm/bed/build-kernel.sh) || abort "kernel build failed" ;;
debian) KERNEL=$(MJPEGD_VM_MODULES_OUT=$OUT/modules tests/vm/bed/debian-kernel.sh) ||
	abort "Debian's kernel or the test drivers' build failed" ;;
*) abort "MJPEGD_VM_KERNEL='$MJPEGD_VM_KERNEL': build (compile one) or debian (Debian's packaged kernel)" ;;
esac
t_kernel=$((SECONDS - t))

# The libcamera 0.7.1 userland (/lc07 in the guest), only when a selected test needs it.
t=$SECONDS
LC07=$OUT/lc07
rm -rf "$LC07" "$LC07.reason"
unset MJPEGD_VM_LC07_TREE
MJPEGD_VM_LC07_STATUS=""
t_lc07="-"
if [ ${#LC07_TESTS[@]} -gt 0 ]; then
	if [ "${MJPEGD_VM_LC07:-1}" = 0 ]; then
		MJPEGD_VM_LC07_STATUS="skip turned off by MJPEGD_VM_LC07=0"
		say "libcamera 0.7 userland: off (MJPEGD_VM_LC07=0); skipping ${LC07_TESTS[*]}"
	else
		say "libcamera 0.7 userland for ${LC07_TESTS[*]} (tests/vm/bed/lc07.sh)"
		tests/vm/bed/lc07.sh "$LC07"
		rc=$?
		reason=$(cat "$LC07.reason" 2>/dev/null)
		if [ "$rc" = 0 ]; then
			export MJPEGD_VM_LC07_TREE=$LC07
			MJPEGD_VM_LC07_STATUS="ready $(cat "$LC07/.vm/version")"
		elif [ "$rc" = 3 ]; then
			MJPEGD_VM_LC07_STATUS="skip $reason"
		else
			MJPEGD_VM_LC07_STATUS="fail ${reason:-tests/vm/bed/lc07.sh exited $rc (log: $LC07.log)}"
			say "warning: no libcamera 0.7 userland; ${LC07_TESTS[*]} will fail"
		fi
	fi
	t_lc07="$((SECONDS - t))s"
fi
export MJPEGD_VM_LC07_STATUS
t=$SECONDS
tests/vm/bed/mkinitramfs.sh || abort "initramfs build failed"
t_initramfs=$((SECONDS - t))

# --- boot -------------------------------------------------------------------------------
command -v qemu-system-x86_64 >/dev/null || abort "qemu-system-x86_64 missing"
rm -rf "$LOGS"
mkdir -p "$LOGS"
WATCHDOG=$((VM_TIMEOUT > 60 ? VM_TIMEOUT - 20 : VM_TIMEOUT * 2 / 3)) # guest side, fires first
# vivid instance 0: single-planar, vmalloc buffers (like a UVC webcam); instance 1:
# multi-planar (vivid.multiplanar=1,2) and dma-contig buffers (vivid.allocators=0,1: contiguous,
# like a Pi camera's), so the multi-planar capture path and a Pi-like import both run.
BASE_APPEND="console=ttyS0 quiet panic=-1 vivid.n_devs=2 vivid.multiplanar=1,2 vivid.allocators=0,1"
BASE_APPEND="$BASE_APPEND mjpegd.vm.timeout=$WATCHDOG mjpegd.vm.test_timeout=$TEST_TIMEOUT"
declare -A SERIAL_OF=() QRC_OF=()
t=$SECONDS
for boot in "${BOOTS[@]}"; do
	list=()
	for n in "${TESTS[@]}"; do [ "${BOOT_OF[$n]}" = "$boot" ] && list+=("$n"); done
	[ ${#list[@]} -gt 0 ] || continue
	serial=$OUT/serial.log
	[ "$boot" = main ] || serial=$OUT/serial-$boot.log
	SERIAL_OF[$boot]=$serial
	APPEND="$BASE_APPEND mjpegd.vm.only=$(IFS=,; echo "${list[*]}")"
	extra=$(boot_args "$boot")
	APPEND="$APPEND${extra:+ $extra}${MJPEGD_VM_APPEND:+ $MJPEGD_VM_APPEND}" # + experiments
	say "booting$([ "$boot" = main ] || echo " ($boot: $extra)") (${#list[@]} tests, ${SMP} vCPUs, TCG, limit" \
		"${VM_TIMEOUT}s): ${list[*]}"
	# The guest prints @@ markers on the serial console; show each test's verdict as it lands.
	timeout --kill-after=10 "$VM_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -smp "$SMP" -m "$MEM" -nographic -no-reboot \
		-kernel "$KERNEL" -initrd "$OUT/initramfs.cpio" -append "$APPEND" \
		-nic none -device virtio-rng-pci \
		-virtfs "local,path=$LOGS,mount_tag=host0,security_model=none,id=host0" \
		</dev/null 2>&1 | tr -d '\r' | tee "$serial" | awk '
		/^@@INIT / { sub(/.*uptime=/, ""); printf "vm: guest up after %s s of kernel boot\n", $0; fflush() }
		/^@@END / {
			rc = $3; sub(/rc=/, "", rc); s = $4; sub(/secs=/, "", s)
			if (rc == "0") printf "  PASS  %s (%s s)\n", $2, s
			else if (rc != "77") printf "  FAIL  %s (rc=%s%s, %s s)\n", $2, rc, rc == "124" ? ": timed out" : "", s
			fflush()
		}
		/^@@SKIP / { n = $2; sub(/^@@SKIP [^ ]* ?/, ""); printf "  SKIP  %s: %s\n", n, $0; fflush() }
		/^@@WATCHDOG/ { print "vm: guest watchdog fired"; fflush() }'
	QRC_OF[$boot]=${PIPESTATUS[0]}
done
t_boot=$((SECONDS - t))

# --- verdicts ---------------------------------------------------------------------------
# A guest test with a "# vm-host-check: COMMAND" line passes only when COMMAND, run here on the
# host with the test's artifact directory (build/vm/logs/NAME.d) as its argument, exits 0 too
# (e.g. tests/vm/checks/bcm2835_emu_check.py decodes the guest's JPEGs with djpeg and ffmpeg).
passed=0
failed=0
skipped=0
FAILED=()
declare -A HOSTFAIL=()
host_check() { # host_check NAME: 0 when NAME has no host check or it passed
	local cmd log=$LOGS/$1.host.log
	cmd=$(sed -n 's/^# vm-host-check: *//p' "tests/vm/guest/$1.sh" | head -n1)
	[ -n "$cmd" ] || return 0
	# shellcheck disable=SC2086 # the command line is words
	if timeout 300 $cmd "$LOGS/$1.d" >"$log" 2>&1; then
		echo "  PASS  $1: host check: $(tail -n1 "$log") (${cmd%% *})"
		return 0
	fi
	echo "  FAIL  $1: host check failed: $(tail -n1 "$log") (${cmd%% *})"
	HOSTFAIL[$1]=1
	return 1
}
for n in "${TESTS[@]}"; do
	end=$(grep -a -m1 "^@@END $n rc=" "${SERIAL_OF[${BOOT_OF[$n]}]}")
	if [ -n "$end" ] && [[ $end == *" rc=0 "* ]] && ! host_check "$n"; then
		failed=$((failed + 1))
		FAILED+=("$n")
	elif [ -n "$end" ] && [[ $end == *" rc=0 "* ]]; then
		passed=$((passed + 1))
	elif [ -n "$end" ] && [[ $end == *" rc=77 "* ]]; then
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		FAILED+=("$n")
	fi
done
hung=""
for boot in "${!SERIAL_OF[@]}"; do
	serial=${SERIAL_OF[$boot]}
	qrc=${QRC_OF[$boot]}
	why=""
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		why="QEMU killed after ${VM_TIMEOUT}s (host timeout)"
	elif [ "$qrc" != 0 ]; then
		why="QEMU exited with status $qrc"
	elif grep -a -q '^@@WATCHDOG' "$serial"; then
		why="guest watchdog fired"
	elif ! grep -a -q '^@@TOTAL' "$serial"; then
		why="guest stopped before the end of the run (kernel panic?)"
	fi
	[ -n "$why" ] && hung="$hung${hung:+; }$boot boot: $why (console: $serial)"
done

for n in "${FAILED[@]}"; do
	echo
	SERIAL=${SERIAL_OF[${BOOT_OF[$n]}]:-$OUT/serial.log}
	if [ -n "${HOSTFAIL[$n]:-}" ]; then
		echo "--- $n: the guest part passed, the host check failed (log: $LOGS/$n.host.log):"
		grep -v '^  PASS ' "$LOGS/$n.host.log" | tail -n 30 | sed 's/^/    /'
	elif grep -a -q "^@@END $n rc=" "$SERIAL"; then
		echo "--- $n failed; log tail (full log: $LOGS/$n.log):"
		sed -n "/^@@LOG $n\$/,/^@@LOGEND $n\$/p" "$SERIAL" | sed '1d;$d' | sed 's/^/    /'
	elif grep -a -q "^@@BEGIN $n\$" "$SERIAL"; then
		echo "--- $n did not finish; log tail (full log: $LOGS/$n.log):"
		tail -n 40 "$LOGS/$n.log" 2>/dev/null | sed 's/^/    /'
	else
		echo "--- $n did not run"
	fi
done
if [ -n "$hung" ]; then
	echo
	echo "vm: $hung"
	for boot in "${!SERIAL_OF[@]}"; do
		echo "vm: console tail (${SERIAL_OF[$boot]}):"
		grep -a -v '^@@' "${SERIAL_OF[$boot]}" | tail -n 25 | sed 's/^/    /'
	done
fi
echo
say "timings: packages ${t_deps}s, kernel ${t_kernel}s, libcamera 0.7 userland ${t_lc07}," \
	"initramfs ${t_initramfs}s, boot+tests ${t_boot}s, total $((SECONDS - t_all))s"
echo "$passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" = 0 ] && [ -z "$hung" ] && [ "$passed" -gt 0 ]
