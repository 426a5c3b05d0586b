#!/bin/bash
# The benches that run inside the test bed's QEMU guest (docs/performance.md, "Peers" and "The
# Pi's path"). Not part of `make test-vm`: the guest runs only the bench's bench/vm/guest/*.sh.
#
#   bench/vm/run.sh [peers|m2m|m2m-lc1080]   (make bench runs peers and m2m; BENCH_QUICK=1 for
#                                             a short run)
#
#   peers       mjpegd vs ustreamer on vivid, both encoding in software
#   m2m         the Pi's path on the emulated bcm2835-codec image encoder (tests/vm/drivers/bcm2835-emu):
#               bench-m2m.sh: mjpegd (vivid multi-planar dma-contig → DMABUF import), Debian's
#               ustreamer (what it can open of the same path), and bench/m2m_floor.c (the ioctl
#               sequence alone), 640x360; then bench-m2m-lc1080.sh in the same boot
#   m2m-lc1080  bench-m2m-lc1080.sh alone: mjpegd --source libcamera (vimc, contiguous buffers)
#               at 1920x1080 imported by the same encoder vs m2m_floor on vimc's capture node
#
# Reuses the test bed's machinery without touching it: the cached kernel and the test bed's
# modules (tests/vm/bed/build-kernel.sh), and a private copy of tests/vm (its scripts, not its guest
# tests) under build/bench-vm/src with bench/vm/guest/bench-NAME.sh as its only guest script, so
# the packing (busybox, v4l2-ctl, mjpegd and its libraries, /vm/modules/*.ko) is the test bed's.
# Added to that tree: ustreamer (Debian's package) and the libraries ldd names for it, strace,
# bench/loadclient (static), bench/vm/yuyv_only.so and bench/m2m_floor (static).
# Boots under TCG, 2 vCPUs (KVM is tried first when /dev/kvm is there and the CPU shows vmx/svm).
# Output (peers): build/bench-vm/logs/bench-peers.d/*.json, console build/bench-vm/serial.log;
# (m2m): build/bench-vm/m2m/logs/bench-m2m.d/*.json and .../bench-m2m-lc1080.d/*.json, console
# build/bench-vm/m2m/serial.log; (m2m-lc1080): the same under build/bench-vm/m2m-lc1080/.
# The m2m boots add vimc.allocator=1 (vimc's contiguous buffers, which the 1080p part imports;
# nothing of the vivid part uses vimc).
# The last line is "bench-vm: ok" or "bench-vm: failed: WHY". bench/run.py reads the JSON files.
# Env: MJPEGD (default build/mjpegd), LOADCLIENT (default build/bench/loadclient-static),
#      M2M_FLOOR (default build/bench/m2m_floor-static), BENCH_QUICK=1,
#      BENCH_VM_TIMEOUT (s, default 1500; m2m 3000), BENCH_VM_ACCEL (auto|kvm|tcg),
#      BENCH_VM_PARAMS (kernel arguments that override the bench's, e.g. "mjpegd.bench.reps=0
#      mjpegd.bench.strace=1"; "mjpegd.vm.only=bench-m2m": the vivid part of m2m alone).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
OUT=build/bench-vm
QUICK=${BENCH_QUICK:-0}
ACCEL=${BENCH_VM_ACCEL:-auto}
MJPEGD=${MJPEGD:-build/mjpegd}
LOADCLIENT=${LOADCLIENT:-build/bench/loadclient-static}
M2M_FLOOR=${M2M_FLOOR:-build/bench/m2m_floor-static}
NAME=${1:-peers}
case "$NAME" in
peers) RUN=$OUT SCRIPTS="bench-peers" ;; # the paths of the first version, kept for bench/run.py
m2m) RUN=$OUT/m2m SCRIPTS="bench-m2m bench-m2m-lc1080" ;;
m2m-lc1080) RUN=$OUT/m2m-lc1080 SCRIPTS="bench-m2m-lc1080" ;;
*) echo "usage: bench/vm/run.sh [peers|m2m|m2m-lc1080]" >&2; exit 2 ;;
esac
M2M=0
case "$NAME" in m2m*) M2M=1 ;; esac
if [ "$NAME" = m2m ]; then VM_TIMEOUT=${BENCH_VM_TIMEOUT:-3000}; else VM_TIMEOUT=${BENCH_VM_TIMEOUT:-1500}; fi
case "$MJPEGD" in /*) ;; *) MJPEGD=$ROOT/$MJPEGD ;; esac

say() { echo "bench-vm: $*" >&2; }
die() { echo "bench-vm: failed: $*"; exit 1; }

[ -x "$MJPEGD" ] || die "$MJPEGD missing (make all)"
[ -x "$LOADCLIENT" ] || die "$LOADCLIENT missing (make bench builds it)"
command -v ustreamer >/dev/null || die "ustreamer not installed (scripts/deps.sh bench)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (scripts/deps.sh vm)"
[ "$M2M" = 0 ] || [ -x "$M2M_FLOOR" ] || die "$M2M_FLOOR missing (make bench builds it)"

mkdir -p "$OUT" "$RUN"
exec 7>"$OUT/.lock"
flock -w "$VM_TIMEOUT" 7 || die "$OUT is locked by another bench run"

# the kernel, and the test bed's modules (the emulated encoder) into $OUT/modules
KERNEL=$(MJPEGD_VM_MODULES_OUT=$OUT/modules tests/vm/bed/build-kernel.sh) ||
	die "kernel build failed (tests/vm/bed/build-kernel.sh)"

# --- the initramfs: the test bed's packing, the bench's guest scripts --------------------
SRC=$OUT/src
rm -rf "$SRC"
mkdir -p "$SRC/tests/vm/guest"
# what mkinitramfs.sh needs of tests/vm: the bed (init, the packing) and the guest library; not
# the guest tests nor the helper programs (tests/vm/tools)
cp -a tests/vm/bed "$SRC/tests/vm/bed"
cp -a tests/vm/guest/lib "$SRC/tests/vm/guest/lib"
for s in $SCRIPTS; do cp "bench/vm/guest/$s.sh" "$SRC/tests/vm/guest/"; done
# files of the tree mkinitramfs.sh packs from outside tests/vm (scripts/pi-check.sh)
ln -s "$ROOT/scripts" "$SRC/scripts"
mkdir -p "$SRC/build/vm/modules" # mkinitramfs.sh packs them as /vm/modules/*.ko
cp "$OUT"/modules/*.ko "$SRC/build/vm/modules/" 2>/dev/null
MJPEGD=$MJPEGD "$SRC/tests/vm/bed/mkinitramfs.sh" >&2 || die "tests/vm/bed/mkinitramfs.sh failed"
STAGE=$SRC/build/vm/rootfs

put() { # put HOST_PATH GUEST_PATH
	[ -e "$STAGE$2" ] && return 0
	mkdir -p "$(dirname "$STAGE$2")"
	cp -L "$1" "$STAGE$2"
}
put_elf() { # put_elf HOST_PATH GUEST_PATH: the binary and every library ldd resolves
	put "$1" "$2"
	ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do put "$lib" "$lib"; done
}
put_elf "$(command -v ustreamer)" /vm/bin/ustreamer
command -v strace >/dev/null && put_elf "$(command -v strace)" /vm/bin/strace
put "$LOADCLIENT" /vm/bin/loadclient
chmod 755 "$STAGE/vm/bin/loadclient"
mkdir -p "$OUT/lib"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror bench/vm/yuyv_only.c -o "$OUT/lib/yuyv_only.so" -ldl ||
	die "cannot build bench/vm/yuyv_only.c"
put "$OUT/lib/yuyv_only.so" /vm/lib/yuyv_only.so
if [ "$M2M" = 1 ]; then
	put "$M2M_FLOOR" /vm/bin/m2m_floor
	chmod 755 "$STAGE/vm/bin/m2m_floor"
	[ -e "$STAGE/vm/modules/bcm2835_codec_emu.ko" ] ||
		die "the emulated encoder's module was not built (tests/vm/bed/build-kernel.sh)"
fi
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) \
	>"$RUN/initramfs.cpio" || die "cpio failed"
say "initramfs: $(($(stat -c %s "$RUN/initramfs.cpio") / 1024)) KiB"

# --- boot ----------------------------------------------------------------------------------
VIVID="vivid.n_devs=2"
if [ "$M2M" = 1 ]; then
	# vivid instance 1: multi-planar, dma-contig (a Pi camera's kind), as in the test bed; vimc's
	# contiguous allocator (videobuf2-dma-contig, like the Pi's ISP) for the 1080p part, as in
	# the test bed's vimc-contig boot
	VIVID="vivid.n_devs=2 vivid.multiplanar=1,2 vivid.allocators=0,1 vimc.allocator=1"
	if [ "$QUICK" = 1 ]; then
		PARAMS="mjpegd.bench.clients=1,10 mjpegd.bench.reps=1 mjpegd.bench.window=4 mjpegd.bench.warmup=2"
		PARAMS="$PARAMS mjpegd.bench.lc_clients=1,10 mjpegd.bench.lc_reps=1 mjpegd.bench.lc_frames=60 mjpegd.bench.lc_window=20"
	else
		PARAMS="mjpegd.bench.clients=1,3,10 mjpegd.bench.reps=5 mjpegd.bench.window=10 mjpegd.bench.warmup=2 mjpegd.bench.strace=1"
		PARAMS="$PARAMS mjpegd.bench.lc_clients=1,10 mjpegd.bench.lc_reps=3 mjpegd.bench.lc_frames=200 mjpegd.bench.lc_window=60"
	fi
elif [ "$QUICK" = 1 ]; then
	PARAMS="mjpegd.bench.clients=10,100 mjpegd.bench.reps=1 mjpegd.bench.window=4 mjpegd.bench.warmup=2 mjpegd.bench.strace=0"
else
	PARAMS="mjpegd.bench.clients=1,10,100 mjpegd.bench.reps=2 mjpegd.bench.window=6 mjpegd.bench.warmup=2 mjpegd.bench.strace=1"
fi
# BENCH_VM_PARAMS: kernel arguments put first, so they win (e.g. "mjpegd.bench.reps=0
# mjpegd.bench.strace=1": only the strace pass of the m2m bench)
PARAMS="${BENCH_VM_PARAMS:+$BENCH_VM_PARAMS }$PARAMS"
WATCHDOG=$((VM_TIMEOUT - 30))
# The guest's clock: a Pi 2 or later (arm64 or armv7 with the arch timer) reads CLOCK_MONOTONIC in
# the vDSO, without a system call; a TCG guest's kernel distrusts the emulated TSC and falls back
# to the HPET, which makes every clock_gettime() a system call (as on a Pi Zero W or Pi 1). So the
# TSC is declared reliable (QEMU's TCG reads it from the host's own TSC). Before the parameters,
# so BENCH_VM_PARAMS="clocksource=hpet" measures the Pi Zero W's case (the last one wins).
CLOCK="tsc=reliable clocksource=tsc"
APPEND="console=ttyS0 quiet panic=-1 $VIVID $CLOCK mjpegd.vm.timeout=$WATCHDOG"
APPEND="$APPEND mjpegd.vm.test_timeout=$WATCHDOG $PARAMS"
LOGS=$RUN/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

boot() { # boot ACCEL
	local cpu=()
	[ "$1" = kvm ] && cpu=(-cpu host)
	timeout --kill-after=10 "$2" qemu-system-x86_64 -accel "$1" "${cpu[@]}" -smp 2 -m 1024 \
		-nographic -no-reboot -kernel "$KERNEL" -initrd "$RUN/initramfs.cpio" \
		-append "$APPEND" -nic none -device virtio-rng-pci \
		-virtfs "local,path=$LOGS,mount_tag=host0,security_model=none,id=host0" \
		</dev/null 2>&1 | tr -d '\r' >"$RUN/serial.log"
}
used=tcg
if [ "$ACCEL" != tcg ] && [ -w /dev/kvm ] && grep -q -E "\b(vmx|svm)\b" /proc/cpuinfo; then
	# KVM only counts if the guest comes up (nested KVM may open /dev/kvm and then hang)
	say "trying KVM"
	boot kvm 20
	if grep -a -q '^@@INIT' "$RUN/serial.log" && [ "$ACCEL" != tcg ]; then
		used=kvm
		rm -rf "$LOGS" && mkdir -p "$LOGS"
		boot kvm "$VM_TIMEOUT"
	else
		say "KVM did not boot the guest within 20 s: using TCG"
		[ "$ACCEL" = kvm ] && die "BENCH_VM_ACCEL=kvm but KVM does not boot the guest"
	fi
fi
if [ "$used" = tcg ]; then
	say "booting under TCG (2 vCPUs); guest progress in $RUN/serial.log"
	boot tcg "$VM_TIMEOUT"
fi
echo "$used" >"$RUN/accel"
grep -a '^@@' "$RUN/serial.log" >&2
bad=""
for s in $SCRIPTS; do
	grep -a -q "^@@END $s rc=0" "$RUN/serial.log" || bad="$bad $s"
done
if [ -z "$bad" ]; then
	echo "bench-vm: ok ($used)"
	exit 0
fi
sed -n '/^@@LOG/,/^@@LOGEND/p' "$RUN/serial.log" | tail -n 40 >&2
die "the guest bench did not pass:$bad (console: $RUN/serial.log, logs: $LOGS)"
