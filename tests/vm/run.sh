#!/bin/bash
# mjpegd real-kernel test bed: the entry point of `make test-vm`.
#
#   tests/vm/run.sh [PATTERN...]     e.g. tests/vm/run.sh 20-dmabuf '3*'
#
# Installs what is missing (scripts/deps.sh vm + libcamera); takes Debian's packaged kernels and
# builds the test drivers they lack out of tree (tests/vm/bed/debian-kernel.sh, cached in
# ~/.cache/mjpegd/vm/debian-VERSION; the .ko files and boot modules copied to build/vm/modules), or
# with MJPEGD_VM_KERNEL=compiled compiles one (tests/vm/bed/build-kernel.sh, cached); packs
# build/vm/initramfs.cpio (tests/vm/bed/mkinitramfs.sh), boots it under QEMU/TCG and reports every
# guest test (tests/vm/guest/NN-name.sh; PATTERNs select by name).
# Kernels (MJPEGD_VM_KERNEL=debian, the default): Debian trixie's 6.12 with every selected test,
# and Debian bookworm's 6.1 with the selected tests of the emulated Pi encoder (*bcm2835-emu*) and
# of libcamera (*libcamera*) but those of libcamera 0.7.1 (the trixie userland); a second kernel's
# verdicts are tagged "[bookworm]" and its files carry "-bookworm" (build/vm/logs-bookworm/,
# serial-bookworm.log, initramfs-bookworm.cpio).
# Guests: the selected tests run in guests (QEMU boots) of which MJPEGD_VM_SHARDS (2) run side by
# side, balanced by each test's expected time, then the tests with a "# vm-alone: REASON" line (a
# timing bound another guest would eat into) one guest at a time ("Guests" below).
# Full logs: build/vm/logs/NAME.log, artifacts build/vm/logs/NAME.d/, consoles build/vm/serial*.log
# (serial.log: the first guest of the main boot; serial-BOOT.log, serial[-BOOT]-N.log the others).
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
#      MJPEGD_VM_KERNEL (debian: trixie's and bookworm's packaged kernels, the default; trixie or
#      bookworm: that one; compiled (or build): the kernel compiled from linux-source, every test),
#      MJPEGD_VM_SHARDS (guests side by side, default 2; 1: one at a time, every test of a kernel
#      and boot name in one guest, as before shards),
#      MJPEGD_VM_PARALLEL=1 (with MJPEGD_VM_SHARDS=1: the two kernels' boots side by side instead
#      of one after the other; with more shards the kernels' guests share the lanes anyway),
#      MJPEGD_VM_QUIET_LOCK (a lock file: the guests alone start only once nobody holds it; .ci/run
#      holds it while test-cross and test-deb run beside the lanes),
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
UP_TIMEOUT=${MJPEGD_VM_UP_TIMEOUT:-180} # kernel start to /init: 1.7 to 9.1 s seen
case "$UP_TIMEOUT" in
'' | *[!0-9]* | 0) abort "MJPEGD_VM_UP_TIMEOUT='$UP_TIMEOUT': a number of seconds, 1 or more" ;;
esac
SHARDS=${MJPEGD_VM_SHARDS:-2} # guests side by side
case "$SHARDS" in
'' | *[!0-9]* | 0*) abort "MJPEGD_VM_SHARDS='$SHARDS': a number of guests side by side, 1 or more (1: one at a time)" ;;
esac

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
# MJPEGD_VM_KERNEL: debian (the default): Debian trixie's packaged kernel (6.12, the family of
# Raspberry Pi OS Trixie) with every selected test, then Debian bookworm's (6.1, of Raspberry Pi
# OS Bookworm) with the selected tests of the emulated Pi encoder and of libcamera with the host's
# userland (the libcamera 0.7.1 ones are trixie's); trixie or bookworm: that kernel alone (its
# tests); compiled (or build): the kernel compiled from linux-source (tests/vm/bed/build-kernel.sh)
# with every selected test.
on_bookworm() { # on_bookworm NAME: a test the bookworm kernel runs too
	case "$1" in *libcamera* | *bcm2835-emu*) ;; *) return 1 ;; esac
	! grep -q '^# vm-needs: lc07' "tests/vm/guest/$1.sh"
}
case "${MJPEGD_VM_KERNEL:-debian}" in
debian) KERNELS=(trixie bookworm) ;;
trixie) KERNELS=(trixie) ;;
bookworm) KERNELS=(bookworm) ;;
compiled | build) KERNELS=(compiled) ;;
*) abort "MJPEGD_VM_KERNEL='$MJPEGD_VM_KERNEL': debian (the default: trixie's and bookworm's packaged kernels), trixie, bookworm or compiled" ;;
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
	compiled)
		scripts/deps.sh vm-kernel || abort "scripts/deps.sh vm-kernel failed"
		KIMAGE[$k]=$(MJPEGD_VM_MODULES_OUT=$M tests/vm/bed/build-kernel.sh) || abort "kernel build failed"
		;;
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
# vivid instance 0: single-planar, vmalloc buffers (like a UVC webcam); instance 1:
# multi-planar (vivid.multiplanar=1,2) and dma-contig buffers (vivid.allocators=0,1: contiguous,
# like a Pi camera's), so the multi-planar capture path and a Pi-like import both run.
BASE_APPEND="console=ttyS0 quiet panic=-1 vivid.n_devs=2 vivid.multiplanar=1,2 vivid.allocators=0,1"
BASE_APPEND="$BASE_APPEND mjpegd.vm.timeout=$WATCHDOG mjpegd.vm.test_timeout=$TEST_TIMEOUT"
DEBIAN_APPEND=${MJPEGD_VM_DEBIAN_APPEND-mitigations=off init_on_alloc=0 kfence.sample_interval=0}

# --- Guests. A guest is one QEMU boot of one kernel with one boot name's arguments, running a list of
# tests (mjpegd.vm.only) one after the other; its console is its own build/vm/serial*.log, its
# tests' logs and artifacts go to the kernel's log directory, which guests running at the same
# time share over 9p (each test writes under its own name; each guest's dmesg-GUEST.log).
# MJPEGD_VM_SHARDS=1: one guest per kernel and boot name, one after the other (the kernels side by
# side with MJPEGD_VM_PARALLEL=1).
# MJPEGD_VM_SHARDS=N (N >= 2; 2 by default): two phases.
#  1. Side by side: the tests without a "# vm-alone:" line, every kernel's, dealt to N lanes that
#     run at the same time, each lane its guests one after the other. Longest first, each test
#     goes to the lane that would finish soonest with it, counting BOOT_COST s for a guest (kernel
#     and boot name) the lane does not have yet. A test's expected time: what it took when it last
#     passed here (build/vm/durations.txt, per kernel, written at the end of every run), else
#     tests/vm/bed/durations (per kernel where it has the kernel's line), else 30 s.
#  2. Alone: the tests with a "# vm-alone: REASON" line (bounds on gaps, latencies, rates that a
#     second guest on the host's cores eats into), one guest per kernel and boot name, one at a
#     time, nothing else booted meanwhile.
BOOT_COST=5 # QEMU start, kernel boot to /init (2 to 4 s), power-off: seconds a guest costs
DURATIONS=$OUT/durations.txt
declare -A EST=()
est_load() { # EST[KERNEL:NAME]: seconds expected (whole, rounded up)
	local k n s
	# tests/vm/bed/durations' "NAME SECS" lines count for every kernel; then its "KERNEL NAME SECS"
	# lines, and build/vm/durations.txt's (the same form), for their kernel, the later winning
	for k in "${KLIST[@]}"; do
		while read -r n s; do
			[[ $s =~ ^[0-9]+(\.[0-9]*)?$ ]] && EST[$k:$n]=$((10#${s%%.*} + 1))
		done < <(awk '!/^#/ && NF == 2' tests/vm/bed/durations 2>/dev/null)
	done
	while read -r k n s; do
		[[ $s =~ ^[0-9]+(\.[0-9]*)?$ ]] && EST[$k:$n]=$((10#${s%%.*} + 1))
	done < <(awk '!/^#/ && NF == 3' tests/vm/bed/durations 2>/dev/null
		cat "$DURATIONS" 2>/dev/null)
}
is_alone() { grep -q '^# vm-alone:' "tests/vm/guest/$1.sh"; }
G_K=() G_B=() G_T=() G_ID=() G_SERIAL=() G_ALONE=()
declare -A PARTS=() # KERNEL:BOOT -> guests of it so far
new_guest() { # new_guest KERNEL BOOT ALONE(0/1) TESTS...: a guest; its index in NEWG
	local k=$1 b=$2 alone=$3 p id serial
	shift 3
	p=$((${PARTS[$k:$b]:-0} + 1))
	PARTS[$k:$b]=$p
	id=$b
	[ "$p" = 1 ] || id=$b-$p
	serial=$OUT/serial${FLAVOUR_OF[$k]}
	[ "$b" = main ] || serial=$serial-$b
	[ "$p" = 1 ] || serial=$serial-$p
	NEWG=${#G_K[@]}
	G_K+=("$k")
	G_B+=("$b")
	G_T+=("$(printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//')")
	G_ID+=("$id")
	G_SERIAL+=("$serial.log")
	G_ALONE+=("$alone")
}
LANES=()    # guests (indexes) of each lane of the first phase
ALONE_G=""  # guests of the second phase
PLAN=""     # the lanes' expected seconds
if [ "$SHARDS" = 1 ]; then
	lane=""
	for k in "${KLIST[@]}"; do
		for b in "${BOOTS[@]}"; do
			list=()
			for n in ${KTESTS[$k]}; do [ "${BOOT_OF[$n]}" = "$b" ] && list+=("$n"); done
			[ ${#list[@]} -gt 0 ] || continue
			new_guest "$k" "$b" 0 "${list[@]}"
			lane="$lane $NEWG"
		done
		if [ "${MJPEGD_VM_PARALLEL:-0}" = 1 ] && [ ${#KLIST[@]} -gt 1 ]; then
			LANES+=("$lane")
			lane=""
		fi
	done
	[ -n "$lane" ] && LANES+=("$lane")
else
	est_load
	declare -A LANE_TESTS=() # LANE|KERNEL|BOOT -> tests
	LOAD=()
	HAS=()
	for ((i = 0; i < SHARDS; i++)); do
		LOAD[i]=0
		HAS[i]=" "
	done
	while read -r s k n; do
		b=${BOOT_OF[$n]}
		best=-1
		bestc=0
		for ((i = 0; i < SHARDS; i++)); do
			c=$((LOAD[i] + s))
			[[ ${HAS[i]} == *" $k|$b "* ]] || c=$((c + BOOT_COST))
			if [ "$best" -lt 0 ] || [ "$c" -lt "$bestc" ]; then
				best=$i
				bestc=$c
			fi
		done
		LOAD[best]=$bestc
		[[ ${HAS[best]} == *" $k|$b "* ]] || HAS[best]="${HAS[best]}$k|$b "
		LANE_TESTS[$best|$k|$b]="${LANE_TESTS[$best|$k|$b]:-} $n"
	done < <(for k in "${KLIST[@]}"; do
		for n in ${KTESTS[$k]}; do
			is_alone "$n" || echo "${EST[$k:$n]:-30} $k $n"
		done
	done | sort -k1,1nr -k3,3)
	for ((i = 0; i < SHARDS; i++)); do
		lane=""
		for k in "${KLIST[@]}"; do
			for b in "${BOOTS[@]}"; do
				[ -n "${LANE_TESTS[$i|$k|$b]:-}" ] || continue
				# shellcheck disable=SC2086 # the names are words
				new_guest "$k" "$b" 0 ${LANE_TESTS[$i|$k|$b]}
				lane="$lane $NEWG"
			done
		done
		[ -n "$lane" ] || continue
		LANES+=("$lane")
		PLAN="$PLAN${PLAN:+, }${LOAD[i]}"
	done
	aload=0
	for k in "${KLIST[@]}"; do
		for b in "${BOOTS[@]}"; do
			list=()
			for n in ${KTESTS[$k]}; do
				if [ "${BOOT_OF[$n]}" = "$b" ] && is_alone "$n"; then
					list+=("$n")
					aload=$((aload + ${EST[$k:$n]:-30}))
				fi
			done
			[ ${#list[@]} -gt 0 ] || continue
			new_guest "$k" "$b" 1 "${list[@]}"
			ALONE_G="$ALONE_G $NEWG"
			aload=$((aload + BOOT_COST))
		done
	done
	say "$SHARDS lanes side by side (${#LANES[@]} used, expected ${PLAN:-0} s), then $(wc -w <<<"$ALONE_G")" \
		"guests alone (expected $aload s; their tests have a \"# vm-alone:\" line)"
fi

# run_guest G: boots guest G (its verdict lines printed as they land); "QEMU_STATUS START END"
# (epoch seconds) into build/vm/guests/G
run_guest() {
	local g=$1 n extra tag="" what=""
	local k=${G_K[$1]} boot=${G_B[$1]} id=${G_ID[$1]} serial=${G_SERIAL[$1]}
	local f=${FLAVOUR_OF[$k]} logs=${KLOGS[$k]} start
	local list
	read -r -a list <<<"${G_T[$1]}"
	start=$(date +%s)
	[ ${#KLIST[@]} -gt 1 ] && tag=" [$k]"
	APPEND="$BASE_APPEND mjpegd.vm.only=$(IFS=,; echo "${list[*]}")"
	# the guest's dmesg: dmesg.log for the first main guest, dmesg-GUEST.log for the others
	[ "$id" = main ] || APPEND="$APPEND mjpegd.vm.guest=$id"
	extra=$(boot_args "$boot")
	APPEND="$APPEND${extra:+ $extra}"
	# Debian's kernels harden what the compiled one (tinyconfig) never had, and under TCG each
	# costs emulated instructions on every syscall, interrupt and page allocation: the
	# speculation mitigations (page-table isolation switches CR3 on every kernel entry,
	# retpolines), zeroing every page allocated (init_on_alloc, video buffers included) and
	# KFENCE's sampling. A test guest is no security boundary: they are turned off.
	[ "$k" = compiled ] || APPEND="$APPEND $DEBIAN_APPEND"
	APPEND="$APPEND${MJPEGD_VM_APPEND:+ $MJPEGD_VM_APPEND}" # + experiments
	[ "$SHARDS" = 1 ] || what=", guest $id$([ "${G_ALONE[$g]}" = 1 ] && echo ", alone")"
	say "booting ${KLABEL[$k]}$([ "$boot" = main ] || echo " ($boot: $extra)")$what (${#list[@]} tests, ${SMP} vCPUs," \
		"TCG, limit ${VM_TIMEOUT}s): ${list[*]}"
	# A guest that never reaches /init (seen once under TCG: RCU stall warnings, "timer
	# wakeup didn't happen", no progress for minutes) is stopped after UP_TIMEOUT s and booted
	# once more; a second stall is reported as the boot's failure. So is one whose kernel
	# panicked before its first test began (seen once under TCG, 2026-12-06: trixie's kernel
	# 0.9 s after /init, an int3 oops inside a nop of get_random_u16 in an execve, no
	# module loaded yet): nothing of it ran, so booting it again loses no verdict.
	local attempt qrc pidf="$OUT/qemu$f-$id.pid" stalled="$OUT/stalled$f-$id"
	for attempt in 1 2; do
		rm -f "$pidf" "$stalled"
		# (a second at a time, and its output not on the run's: a sleep left behind when it is
		# stopped would hold the pipe of a caller such as `tests/vm/run.sh | tee` open)
		(
			w=0
			while [ "$w" -lt "$UP_TIMEOUT" ]; do
				grep -q '^@@INIT' "$serial" 2>/dev/null && exit 0
				sleep 1
				w=$((w + 1))
			done
			if ! grep -q '^@@INIT' "$serial" 2>/dev/null && [ -s "$pidf" ]; then
				: >"$stalled"
				kill "$(cat "$pidf")" 2>/dev/null
			fi
		) </dev/null >/dev/null 2>&1 &
		local upwatch=$!
		# The guest prints @@ markers on the serial console; show each test's verdict as it lands
		# (tr line-buffered: into a pipe it would hold them back by 4 KiB).
		# shellcheck disable=SC2016 # the last command's argument is an awk program
		timeout --kill-after=10 "$VM_TIMEOUT" qemu-system-x86_64 \
			-accel tcg -smp "$SMP" -m "$MEM" -nographic -no-reboot -pidfile "$pidf" \
			-kernel "${KIMAGE[$k]}" -initrd "$OUT/initramfs$f.cpio" -append "$APPEND" \
			-nic none -device virtio-rng-pci \
			-virtfs "local,path=$logs,mount_tag=host0,security_model=none,id=host0" \
			</dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$serial" | "${AWK_LINES[@]}" -v tag="$tag" -v id="$id" '
			/^@@INIT / { sub(/.*uptime=/, ""); printf "vm:%s guest %s up after %s s of kernel boot\n", tag, id, $0; fflush() }
			/^@@END / {
				rc = $3; sub(/rc=/, "", rc); s = $4; sub(/secs=/, "", s)
				if (rc == "0") printf "  PASS  %s%s (%s s)\n", $2, tag, s
				else if (rc != "77") printf "  FAIL  %s%s (rc=%s%s, %s s)\n", $2, tag, rc, rc == "124" ? ": timed out" : "", s
				fflush()
			}
			/^@@SKIP / { n = $2; sub(/^@@SKIP [^ ]* ?/, ""); printf "  SKIP  %s%s: %s\n", n, tag, $0; fflush() }
			/^@@WATCHDOG/ { printf "vm:%s guest %s: watchdog fired\n", tag, id; fflush() }'
		qrc=${PIPESTATUS[0]}
		kill "$upwatch" 2>/dev/null
		wait "$upwatch" 2>/dev/null
		if [ -e "$stalled" ]; then
			say "guest$tag $id not up after ${UP_TIMEOUT}s (stalled boot, console: $serial.stalled$attempt);" \
				"$([ "$attempt" = 1 ] && echo "booting it again" || echo "giving up")"
			cp "$serial" "$serial.stalled$attempt"
			[ "$attempt" = 1 ] && continue
		elif grep -q 'Kernel panic' "$serial" && ! grep -q '^@@BEGIN ' "$serial"; then
			say "guest$tag $id: kernel panic before its first test (console: $serial.panic$attempt);" \
				"$([ "$attempt" = 1 ] && echo "booting it again" || echo "giving up")"
			cp "$serial" "$serial.panic$attempt"
			[ "$attempt" = 1 ] && continue
		fi
		break
	done
	echo "$qrc $start $(date +%s)" >"$OUT/guests/$g"
}
# mawk (Debian's awk) reads a pipe a block at a time unless given -W interactive: a guest's verdict
# lines would only show when it powers off
AWK_LINES=(awk)
[ -z "$(awk -W interactive 'BEGIN { exit 0 }' </dev/null 2>&1)" ] && AWK_LINES=(awk -W interactive)
run_lane() { # run_lane "G...": those guests one after the other
	local g
	for g in $1; do run_guest "$g"; done
}

t_boots=$SECONDS
rm -rf "$OUT/guests" "$OUT"/boots*.txt "$OUT"/boots*.secs "$OUT"/stalled* "$OUT"/qemu*.pid
rm -f "$OUT"/serial*.log "$OUT"/serial*.log.stalled[0-9] "$OUT"/serial*.log.panic[0-9] # an earlier run's consoles
mkdir -p "$OUT/guests"
for k in "${KLIST[@]}"; do
	rm -rf "${KLOGS[$k]}"
	mkdir -p "${KLOGS[$k]}"
done
if [ ${#LANES[@]} -gt 1 ]; then
	pids=()
	for lane in "${LANES[@]}"; do
		run_lane "$lane" &
		pids+=($!)
	done
	wait "${pids[@]}"
elif [ ${#LANES[@]} = 1 ]; then
	run_lane "${LANES[0]}"
fi
t_side=$((SECONDS - t_boots))
t=$SECONDS
# MJPEGD_VM_QUIET_LOCK (.ci/run): work without timing bounds that runs beside the lanes holds
# this lock; the guests alone wait until it is done, so that they have the machine to themselves.
if [ -n "$ALONE_G" ] && [ -n "${MJPEGD_VM_QUIET_LOCK:-}" ]; then
	say "waiting for the work beside the lanes (MJPEGD_VM_QUIET_LOCK) before the guests alone"
	flock -w 3600 "$MJPEGD_VM_QUIET_LOCK" true ||
		say "warning: $MJPEGD_VM_QUIET_LOCK still held after 3600 s; the guests alone start anyway"
	say "waited $((SECONDS - t)) s for it"
	t=$SECONDS
fi
run_lane "$ALONE_G"
t_alone=$((SECONDS - t))
t_boots=$((SECONDS - t_boots))
declare -A SERIAL_OF=() QRC_OF=() K_START=() K_END=() K_GUESTS=() # SERIAL_OF[KERNEL:TEST]
for ((g = 0; g < ${#G_K[@]}; g++)); do
	k=${G_K[g]}
	qrc="not run" start="" end=""
	[ -s "$OUT/guests/$g" ] && read -r qrc start end <"$OUT/guests/$g"
	QRC_OF[$g]=$qrc
	for n in ${G_T[g]}; do SERIAL_OF[$k:$n]=${G_SERIAL[g]}; done
	K_GUESTS[$k]=$((${K_GUESTS[$k]:-0} + 1))
	[ -n "$start" ] || continue
	if [ -z "${K_START[$k]:-}" ] || [ "$start" -lt "${K_START[$k]}" ]; then K_START[$k]=$start; fi
	if [ -z "${K_END[$k]:-}" ] || [ "$end" -gt "${K_END[$k]}" ]; then K_END[$k]=$end; fi
done
for k in "${KLIST[@]}"; do T_BOOT[$k]=$((${K_END[$k]:-0} - ${K_START[$k]:-0})); done
# every test that passed: its time, for the next run's lanes (one line per kernel and test)
for ((g = 0; g < ${#G_K[@]}; g++)); do
	grep -a '^@@END .* rc=0 secs=' "${G_SERIAL[g]}" 2>/dev/null |
		awk -v k="${G_K[g]}" '{ s = $4; sub(/secs=/, "", s); print k, $2, s }'
done >"$DURATIONS.new"
{
	[ -r "$DURATIONS" ] && cat "$DURATIONS"
	cat "$DURATIONS.new"
} | awk 'NF == 3 { last[$1 " " $2] = $3 } END { for (x in last) print x, last[x] }' | sort >"$DURATIONS.tmp" &&
	mv "$DURATIONS.tmp" "$DURATIONS"
rm -f "$DURATIONS.new"

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
		serial=${SERIAL_OF[$k:$n]:-/dev/null}
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
HUNG_G=()
for ((g = 0; g < ${#G_K[@]}; g++)); do
	serial=${G_SERIAL[g]}
	qrc=${QRC_OF[$g]}
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
	[ -n "$why" ] || continue
	hung="$hung${hung:+; }${G_K[g]} kernel, guest ${G_ID[g]}: $why (console: $serial)"
	HUNG_G+=("$g")
done

for kn in "${FAILED[@]}"; do
	k=${kn%%:*}
	n=${kn#*:}
	logs=${KLOGS[$k]}
	tag=""
	[ ${#KLIST[@]} -gt 1 ] && tag=" [$k]"
	echo
	SERIAL=${SERIAL_OF[$k:$n]:-/dev/null}
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
	for g in "${HUNG_G[@]}"; do
		echo "vm: console tail (${G_SERIAL[g]}):"
		grep -a -v '^@@' "${G_SERIAL[g]}" 2>/dev/null | tail -n 25 | sed 's/^/    /'
	done
fi
echo
for k in "${KLIST[@]}"; do
	say "timings [${KLABEL[$k]}]: kernel ${T_KERNEL[$k]}s, initramfs ${T_INITRAMFS[$k]}s," \
		"boot+tests ${T_BOOT[$k]}s ($(wc -w <<<"${KTESTS[$k]}") tests, ${K_GUESTS[$k]} guests)"
done
if [ "$SHARDS" = 1 ]; then
	how=$([ ${#LANES[@]} -gt 1 ] && echo " (kernels side by side)")
else
	how=" (${#LANES[@]} lanes side by side ${t_side}s, $(wc -w <<<"$ALONE_G") guests alone ${t_alone}s)"
fi
say "timings: packages ${t_deps}s, libcamera 0.7 userland ${t_lc07}, boots ${t_boots}s$how, total $((SECONDS - t_all))s"
echo "$passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" = 0 ] && [ -z "$hung" ] && [ "$passed" -gt 0 ]
