#!/bin/bash
# mjpegd real-kernel test bed: the entry point of `make test-vm`.
#
#   tests/vm/run.sh [PATTERN...]     e.g. tests/vm/run.sh 20-dmabuf '3*'
#
# Installs what is missing (scripts/deps.sh vm + libcamera); compiles the test bed's kernel
# (tests/vm/bed/build-kernel.sh, cached), or with MJPEGD_VM_KERNEL=debian takes Debian's packaged
# kernels and builds the test drivers they lack out of tree (tests/vm/bed/debian-kernel.sh, cached
# in ~/.cache/mjpegd/vm/debian-VERSION; the .ko files and boot modules copied to
# build/vm/modules); packs build/vm/initramfs.cpio (tests/vm/bed/mkinitramfs.sh), boots it under
# QEMU/TCG and reports every guest test (tests/vm/guest/NN-name.sh; PATTERNs select by name).
# Kernels: the compiled one (the default) with every selected test; with MJPEGD_VM_KERNEL=debian
# Debian trixie's 6.12 with every selected test, then Debian bookworm's 6.1 with the selected tests of the
# emulated Pi encoder (*bcm2835-emu*) and of libcamera (*libcamera*) but those of libcamera 0.7.1
# (the trixie userland); a second kernel's verdicts are tagged "[bookworm]" and its files carry
# "-bookworm" (build/vm/logs-bookworm/, serial-bookworm.log, initramfs-bookworm.cpio).
# Full logs: build/vm/logs/NAME.log, artifacts build/vm/logs/NAME.d/, console build/vm/serial.log.
# When a selected test has a "# vm-needs: lc07" line, the guest also gets libcamera 0.7.1's
# userland as /lc07 (tests/vm/bed/lc07.sh: a Debian trixie-backports root, needs root); when its
# archive cannot be reached those tests are reported SKIP with the reason, never passed.
# A test with a "# vm-host-check: COMMAND" line is also checked on the host afterwards (COMMAND
# build/vm/logs/NAME.d). The line "vm: timings [KERNEL]: ..." gives each kernel's stages, the
# line "vm: timings: ..." the shared ones and the total. The last line is "N passed, N failed"
# (", N skipped" added when tests were skipped), over all kernels; exit status 0 only when no
# selected test failed and at least one passed.
#
# Env: MJPEGD (daemon to test, default build/mjpegd: run `make all` first),
#      MJPEGD_VM_TIMEOUT (limit of each boot in s, default 1500), MJPEGD_VM_TEST_TIMEOUT (default
#      per-test limit in s, 120), MJPEGD_VM_SMP (vCPUs, 2), MJPEGD_VM_MEM (MiB, 1024),
#      MJPEGD_VM_ALLOW_NO_DAEMON=1 (run without build/mjpegd; its tests then fail),
#      MJPEGD_VM_LC07=0 (leave the libcamera 0.7.1 userland out: its tests are skipped),
#      MJPEGD_VM_KERNEL (compiled (or build): the kernel compiled from linux-source, the default;
#      debian: trixie's and bookworm's packaged kernels; trixie or bookworm: that one),
#      MJPEGD_VM_PARALLEL=1 (the two kernels' boots side by side instead of one after the other),
#      MJPEGD_VM_UP_TIMEOUT (s to reach /init before a boot counts as stalled and is made
#      once more, default 180),
#      MJPEGD_VM_DEBIAN_APPEND (kernel arguments of Debian's kernels only, default
#      "mitigations=off init_on_alloc=0 kfence.sample_interval=0"; empty: none),
#      MJPEGD_VM_CACHE (kernel cache, ~/.cache/mjpegd/vm), MJPEGD_PLATFORM_CACHE (Debian roots).
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

# --- kernels ----------------------------------------------------------------------------
# MJPEGD_VM_KERNEL: compiled (the default; see docs/testing.md for why) or debian: Debian trixie's packaged kernel (6.12, the family of
# Raspberry Pi OS Trixie) with every selected test, then Debian bookworm's (6.1, of Raspberry Pi
# OS Bookworm) with the selected tests of the emulated Pi encoder and of libcamera with the host's
# userland (the libcamera 0.7.1 ones are trixie's); trixie or bookworm: that kernel alone (its
# tests); compiled (or build): the kernel compiled from linux-source (tests/vm/bed/build-kernel.sh)
# with every selected test.
on_bookworm() { # on_bookworm NAME: a test the bookworm kernel runs too
	case "$1" in *libcamera* | *bcm2835-emu*) ;; *) return 1 ;; esac
	! grep -q '^# vm-needs: lc07' "tests/vm/guest/$1.sh"
}
case "${MJPEGD_VM_KERNEL:-compiled}" in
debian) KERNELS=(trixie bookworm) ;;
trixie) KERNELS=(trixie) ;;
bookworm) KERNELS=(bookworm) ;;
compiled | build) KERNELS=(compiled) ;;
*) abort "MJPEGD_VM_KERNEL='$MJPEGD_VM_KERNEL': compiled (the default), debian (trixie's and bookworm's packaged kernels), trixie or bookworm" ;;
esac
declare -A KTESTS=() FLAVOUR_OF=() KLOGS=() KLABEL=() KIMAGE=() T_KERNEL=() T_INITRAMFS=() T_BOOT=()
KLIST=()
for k in "${KERNELS[@]}"; do
	list=()
	for n in "${TESTS[@]}"; do
		if [ "$k" != bookworm ] || on_bookworm "$n"; then list+=("$n"); fi
	done
	if [ ${#list[@]} -eq 0 ]; then
		say "no selected test runs on the $k kernel (its tests: libcamera and bcm2835-emu ones without lc07)"
		continue
	fi
	KTESTS[$k]="${list[*]}"
	# the first kernel keeps the plain paths (build/vm/logs, serial.log, initramfs.cpio)
	if [ ${#KLIST[@]} -eq 0 ]; then FLAVOUR_OF[$k]=""; else FLAVOUR_OF[$k]="-$k"; fi
	KLOGS[$k]=$LOGS${FLAVOUR_OF[$k]}
	KLIST+=("$k")
done
[ ${#KLIST[@]} -gt 0 ] || abort "no selected test runs on the kernels ${KERNELS[*]}"
# the libcamera 0.7.1 tests selected for a kernel that runs them
LC07_RUN=()
for n in "${LC07_TESTS[@]}"; do
	for k in "${KLIST[@]}"; do
		case " ${KTESTS[$k]} " in *" $n "*) LC07_RUN+=("$n"); break ;; esac
	done
done

# --- kernel, initramfs ------------------------------------------------------------------
for k in "${KLIST[@]}"; do
	t=$SECONDS
	M=$OUT/modules${FLAVOUR_OF[$k]}
	rm -rf "$M/tree" "$M/v4l-utils" # Debian's boot modules and tools: only with its kernel
	case "$k" in
	compiled) KIMAGE[$k]=$(MJPEGD_VM_MODULES_OUT=$M tests/vm/bed/build-kernel.sh) || abort "kernel build failed" ;;
	*) KIMAGE[$k]=$(MJPEGD_VM_MODULES_OUT=$M tests/vm/bed/debian-kernel.sh "$k") ||
		abort "Debian $k's kernel or the test drivers' build failed" ;;
	esac
	case "$k" in
	compiled) KLABEL[$k]="compiled $(basename "${KIMAGE[$k]}")" ;;
	*) KLABEL[$k]="$k $(basename "$(dirname "${KIMAGE[$k]}")" | sed 's/^debian-//')" ;;
	esac
	T_KERNEL[$k]=$((SECONDS - t))
done

# The libcamera 0.7.1 userland (/lc07 in the guest), only when a selected test needs it.
t=$SECONDS
LC07=$OUT/lc07
rm -rf "$LC07" "$LC07.reason"
unset MJPEGD_VM_LC07_TREE
MJPEGD_VM_LC07_STATUS=""
t_lc07="-"
if [ ${#LC07_RUN[@]} -gt 0 ]; then
	if [ "${MJPEGD_VM_LC07:-1}" = 0 ]; then
		MJPEGD_VM_LC07_STATUS="skip turned off by MJPEGD_VM_LC07=0"
		say "libcamera 0.7 userland: off (MJPEGD_VM_LC07=0); skipping ${LC07_RUN[*]}"
	else
		say "libcamera 0.7 userland for ${LC07_RUN[*]} (tests/vm/bed/lc07.sh)"
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
			say "warning: no libcamera 0.7 userland; ${LC07_RUN[*]} will fail"
		fi
	fi
	t_lc07="$((SECONDS - t))s"
fi
export MJPEGD_VM_LC07_STATUS
for k in "${KLIST[@]}"; do
	t=$SECONDS
	# /lc07 only in the archive of a kernel that runs its tests
	has_lc07=0
	for n in "${LC07_RUN[@]}"; do
		case " ${KTESTS[$k]} " in *" $n "*) has_lc07=1 ;; esac
	done
	if [ "$has_lc07" = 1 ]; then
		MJPEGD_VM_FLAVOUR=${FLAVOUR_OF[$k]} tests/vm/bed/mkinitramfs.sh || abort "initramfs build failed"
	else
		MJPEGD_VM_FLAVOUR=${FLAVOUR_OF[$k]} MJPEGD_VM_LC07_TREE="" tests/vm/bed/mkinitramfs.sh ||
			abort "initramfs build failed"
	fi
	T_INITRAMFS[$k]=$((SECONDS - t))
done

# --- boot -------------------------------------------------------------------------------
command -v qemu-system-x86_64 >/dev/null || abort "qemu-system-x86_64 missing"
WATCHDOG=$((VM_TIMEOUT > 60 ? VM_TIMEOUT - 20 : VM_TIMEOUT * 2 / 3)) # guest side, fires first
UP_TIMEOUT=${MJPEGD_VM_UP_TIMEOUT:-180} # kernel start to /init: 1.7 to 9.1 s seen
case "$UP_TIMEOUT" in
'' | *[!0-9]* | 0) abort "MJPEGD_VM_UP_TIMEOUT='$UP_TIMEOUT': a number of seconds, 1 or more" ;;
esac
# vivid instance 0: single-planar, vmalloc buffers (like a UVC webcam); instance 1:
# multi-planar (vivid.multiplanar=1,2) and dma-contig buffers (vivid.allocators=0,1: contiguous,
# like a Pi camera's), so the multi-planar capture path and a Pi-like import both run.
BASE_APPEND="console=ttyS0 quiet panic=-1 vivid.n_devs=2 vivid.multiplanar=1,2 vivid.allocators=0,1"
BASE_APPEND="$BASE_APPEND mjpegd.vm.timeout=$WATCHDOG mjpegd.vm.test_timeout=$TEST_TIMEOUT"
DEBIAN_APPEND=${MJPEGD_VM_DEBIAN_APPEND-mitigations=off init_on_alloc=0 kfence.sample_interval=0}
declare -A SERIAL_OF=() QRC_OF=()
# boot_kernel K: every boot of kernel K, one after the other (serial consoles, verdict lines)
boot_kernel() {
	local k=$1 boot n list serial extra tag="" f=${FLAVOUR_OF[$1]} logs=${KLOGS[$1]}
	[ ${#KLIST[@]} -gt 1 ] && tag=" [$k]"
	rm -rf "$logs"
	mkdir -p "$logs"
	for boot in "${BOOTS[@]}"; do
		list=()
		for n in ${KTESTS[$k]}; do [ "${BOOT_OF[$n]}" = "$boot" ] && list+=("$n"); done
		[ ${#list[@]} -gt 0 ] || continue
		serial=$OUT/serial$f.log
		[ "$boot" = main ] || serial=$OUT/serial$f-$boot.log
		APPEND="$BASE_APPEND mjpegd.vm.only=$(IFS=,; echo "${list[*]}")"
		extra=$(boot_args "$boot")
		APPEND="$APPEND${extra:+ $extra}"
		# Debian's kernels harden what the compiled one (tinyconfig) never had, and under TCG each
		# costs emulated instructions on every syscall, interrupt and page allocation: the
		# speculation mitigations (page-table isolation switches CR3 on every kernel entry,
		# retpolines), zeroing every page allocated (init_on_alloc, video buffers included) and
		# KFENCE's sampling. A test guest is no security boundary: they are turned off.
		[ "$k" = compiled ] || APPEND="$APPEND $DEBIAN_APPEND"
		APPEND="$APPEND${MJPEGD_VM_APPEND:+ $MJPEGD_VM_APPEND}" # + experiments
		say "booting ${KLABEL[$k]}$([ "$boot" = main ] || echo " ($boot: $extra)") (${#list[@]} tests, ${SMP} vCPUs," \
			"TCG, limit ${VM_TIMEOUT}s): ${list[*]}"
		# A guest that never reaches /init (seen once under TCG: RCU stall warnings, "timer
		# wakeup didn't happen", no progress for minutes) is stopped after UP_TIMEOUT s and booted
		# once more; a second stall is reported as the boot's failure.
		local attempt pidf="$OUT/qemu$f-$boot.pid" stalled="$OUT/stalled$f-$boot"
		for attempt in 1 2; do
		rm -f "$pidf" "$stalled"
		(
			sleep "$UP_TIMEOUT"
			if ! grep -q '^@@INIT' "$serial" 2>/dev/null && [ -s "$pidf" ]; then
				: >"$stalled"
				kill "$(cat "$pidf")" 2>/dev/null
			fi
		) &
		local upwatch=$!
		# The guest prints @@ markers on the serial console; show each test's verdict as it lands
		# (tr line-buffered: into a pipe it would hold them back by 4 KiB).
		timeout --kill-after=10 "$VM_TIMEOUT" qemu-system-x86_64 \
			-accel tcg -smp "$SMP" -m "$MEM" -nographic -no-reboot -pidfile "$pidf" \
			-kernel "${KIMAGE[$k]}" -initrd "$OUT/initramfs$f.cpio" -append "$APPEND" \
			-nic none -device virtio-rng-pci \
			-virtfs "local,path=$logs,mount_tag=host0,security_model=none,id=host0" \
			</dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$serial" | awk -v tag="$tag" '
			/^@@INIT / { sub(/.*uptime=/, ""); printf "vm:%s guest up after %s s of kernel boot\n", tag, $0; fflush() }
			/^@@END / {
				rc = $3; sub(/rc=/, "", rc); s = $4; sub(/secs=/, "", s)
				if (rc == "0") printf "  PASS  %s%s (%s s)\n", $2, tag, s
				else if (rc != "77") printf "  FAIL  %s%s (rc=%s%s, %s s)\n", $2, tag, rc, rc == "124" ? ": timed out" : "", s
				fflush()
			}
			/^@@SKIP / { n = $2; sub(/^@@SKIP [^ ]* ?/, ""); printf "  SKIP  %s%s: %s\n", n, tag, $0; fflush() }
			/^@@WATCHDOG/ { printf "vm:%s guest watchdog fired\n", tag; fflush() }'
		local qrc=${PIPESTATUS[0]}
		kill "$upwatch" 2>/dev/null
		wait "$upwatch" 2>/dev/null
		if [ -e "$stalled" ]; then
			say "guest$tag not up after ${UP_TIMEOUT}s (stalled boot, console: $serial.stalled$attempt);" \
				"$([ "$attempt" = 1 ] && echo "booting it again" || echo "giving up")"
			cp "$serial" "$serial.stalled$attempt"
			[ "$attempt" = 1 ] && continue
		fi
		break
		done
		echo "$boot $qrc $serial" >>"$OUT/boots$f.txt"
	done
}
# MJPEGD_VM_PARALLEL=1: the kernels' boots side by side (one QEMU per kernel at a time), else one
# after the other.
t_boots=$SECONDS
for k in "${KLIST[@]}"; do rm -f "$OUT/boots${FLAVOUR_OF[$k]}.txt"; done
if [ "${MJPEGD_VM_PARALLEL:-0}" = 1 ] && [ ${#KLIST[@]} -gt 1 ]; then
	pids=()
	for k in "${KLIST[@]}"; do
		( t=$SECONDS; boot_kernel "$k"; echo $((SECONDS - t)) >"$OUT/boots${FLAVOUR_OF[$k]}.secs" ) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for k in "${KLIST[@]}"; do T_BOOT[$k]=$(cat "$OUT/boots${FLAVOUR_OF[$k]}.secs"); done
else
	for k in "${KLIST[@]}"; do
		t=$SECONDS
		boot_kernel "$k"
		T_BOOT[$k]=$((SECONDS - t))
	done
fi
t_boots=$((SECONDS - t_boots))
for k in "${KLIST[@]}"; do
	f=${FLAVOUR_OF[$k]}
	while read -r boot qrc serial; do
		SERIAL_OF[$k:$boot]=$serial
		QRC_OF[$k:$boot]=$qrc
	done <"$OUT/boots$f.txt"
done

# --- verdicts ---------------------------------------------------------------------------
# A guest test with a "# vm-host-check: COMMAND" line passes only when COMMAND, run here on the
# host with the test's artifact directory (build/vm/logs/NAME.d) as its argument, exits 0 too
# (e.g. tests/vm/checks/bcm2835_emu_check.py decodes the guest's JPEGs with djpeg and ffmpeg).
passed=0
failed=0
skipped=0
FAILED=() # KERNEL:NAME
declare -A HOSTFAIL=()
host_check() { # host_check KERNEL NAME: 0 when NAME has no host check or it passed
	local cmd logs=${KLOGS[$1]} tag=""
	local log=$logs/$2.host.log
	[ ${#KLIST[@]} -gt 1 ] && tag=" [$1]"
	cmd=$(sed -n 's/^# vm-host-check: *//p' "tests/vm/guest/$2.sh" | head -n1)
	[ -n "$cmd" ] || return 0
	# shellcheck disable=SC2086 # the command line is words
	if timeout 300 $cmd "$logs/$2.d" >"$log" 2>&1; then
		echo "  PASS  $2$tag: host check: $(tail -n1 "$log") (${cmd%% *})"
		return 0
	fi
	echo "  FAIL  $2$tag: host check failed: $(tail -n1 "$log") (${cmd%% *})"
	HOSTFAIL[$1:$2]=1
	return 1
}
for k in "${KLIST[@]}"; do
	for n in ${KTESTS[$k]}; do
		serial=${SERIAL_OF[$k:${BOOT_OF[$n]}]:-/dev/null}
		end=$(grep -a -m1 "^@@END $n rc=" "$serial")
		if [ -n "$end" ] && [[ $end == *" rc=0 "* ]] && ! host_check "$k" "$n"; then
			failed=$((failed + 1))
			FAILED+=("$k:$n")
		elif [ -n "$end" ] && [[ $end == *" rc=0 "* ]]; then
			passed=$((passed + 1))
		elif [ -n "$end" ] && [[ $end == *" rc=77 "* ]]; then
			skipped=$((skipped + 1))
		else
			failed=$((failed + 1))
			FAILED+=("$k:$n")
		fi
	done
done
hung=""
for kb in "${!SERIAL_OF[@]}"; do
	serial=${SERIAL_OF[$kb]}
	qrc=${QRC_OF[$kb]}
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
	[ -n "$why" ] && hung="$hung${hung:+; }${kb%%:*} kernel, ${kb#*:} boot: $why (console: $serial)"
done

for kn in "${FAILED[@]}"; do
	k=${kn%%:*}
	n=${kn#*:}
	logs=${KLOGS[$k]}
	tag=""
	[ ${#KLIST[@]} -gt 1 ] && tag=" [$k]"
	echo
	SERIAL=${SERIAL_OF[$k:${BOOT_OF[$n]}]:-/dev/null}
	if [ -n "${HOSTFAIL[$k:$n]:-}" ]; then
		echo "--- $n$tag: the guest part passed, the host check failed (log: $logs/$n.host.log):"
		grep -v '^  PASS ' "$logs/$n.host.log" | tail -n 30 | sed 's/^/    /'
	elif grep -a -q "^@@END $n rc=" "$SERIAL"; then
		echo "--- $n$tag failed; log tail (full log: $logs/$n.log):"
		sed -n "/^@@LOG $n\$/,/^@@LOGEND $n\$/p" "$SERIAL" | sed '1d;$d' | sed 's/^/    /'
	elif grep -a -q "^@@BEGIN $n\$" "$SERIAL"; then
		echo "--- $n$tag did not finish; log tail (full log: $logs/$n.log):"
		tail -n 40 "$logs/$n.log" 2>/dev/null | sed 's/^/    /'
	else
		echo "--- $n$tag did not run"
	fi
done
if [ -n "$hung" ]; then
	echo
	echo "vm: $hung"
	for kb in "${!SERIAL_OF[@]}"; do
		echo "vm: console tail (${SERIAL_OF[$kb]}):"
		grep -a -v '^@@' "${SERIAL_OF[$kb]}" | tail -n 25 | sed 's/^/    /'
	done
fi
echo
for k in "${KLIST[@]}"; do
	say "timings [${KLABEL[$k]}]: kernel ${T_KERNEL[$k]}s, initramfs ${T_INITRAMFS[$k]}s," \
		"boot+tests ${T_BOOT[$k]}s ($(wc -w <<<"${KTESTS[$k]}") tests)"
done
say "timings: packages ${t_deps}s, libcamera 0.7 userland ${t_lc07}, boots ${t_boots}s$([ "${MJPEGD_VM_PARALLEL:-0}" = 1 ] &&
	[ ${#KLIST[@]} -gt 1 ] && echo " (kernels side by side)"), total $((SECONDS - t_all))s"
echo "$passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" = 0 ] && [ -z "$hung" ] && [ "$passed" -gt 0 ]
