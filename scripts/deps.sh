#!/bin/sh
# Installs the Debian packages a make target needs, only those missing, with apt-get
# (through sudo when not root), --no-install-recommends. Usage: scripts/deps.sh GROUP...
# Groups: build, test, vm, bench, cross-arm64, cross-armhf, deb. Set MJPEGD_NO_APT=1 to only
# report what is missing.
set -eu

pkgs_build="build-essential pkg-config liburing-dev libturbojpeg0-dev libsystemd-dev libcamera-dev libv4l-dev libdrm-dev"
pkgs_test="libcmocka-dev libjpeg-turbo-progs ffmpeg chromium python3 procps systemd libcamera-ipa"
pkgs_vm="qemu-system-x86 busybox-static v4l-utils linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils libcamera-tools libcamera-ipa"
# make bench (bench/README.md): frames, load tools, the baseline's OpenCV, plots, the peer ustreamer
pkgs_bench="ffmpeg libjpeg-turbo-progs python3 python3-numpy python3-opencv python3-matplotlib strace valgrind linux-perf ustreamer procps"
# make CROSS=aarch64-linux-gnu|arm-linux-gnueabihf, make test-cross: the cross toolchain, qemu-user
# and qemu-system; the target's libraries go into a sysroot (scripts/cross-sysroot.sh), not the host
pkgs_cross="pkg-config apt dpkg-dev qemu-user-static qemu-system-arm cpio python3 libjpeg-turbo-progs"
pkgs_cross_arm64="gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu"
pkgs_cross_armhf="gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf binutils-arm-linux-gnueabihf"
# make deb, make test-deb (debian/)
pkgs_deb="debhelper lintian adduser fakeroot python3 libjpeg-turbo-progs"

want=""
for group in "$@"; do
	case "$group" in
	build) want="$want $pkgs_build" ;;
	test) want="$want $pkgs_build $pkgs_test" ;;
	vm) want="$want $pkgs_build $pkgs_vm" ;;
	bench) want="$want $pkgs_build $pkgs_bench" ;;
	cross-arm64) want="$want $pkgs_cross $pkgs_cross_arm64" ;;
	cross-armhf) want="$want $pkgs_cross $pkgs_cross_armhf" ;;
	deb) want="$want $pkgs_build $pkgs_deb" ;;
	*) echo "deps.sh: unknown group '$group' (build, test, vm, bench, cross-arm64, cross-armhf, deb)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
if [ "${MJPEGD_NO_APT:-0}" = 1 ]; then
	echo "deps.sh: MJPEGD_NO_APT=1, not installing" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: apt-get not found: install these packages by hand:$missing" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "deps.sh: not root and no sudo: install these packages as root:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
