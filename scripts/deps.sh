#!/bin/sh
# Installs the Debian packages a make target needs, only those missing, with apt-get
# (through sudo when not root), --no-install-recommends. Usage: scripts/deps.sh GROUP...
# Groups: build, test, platform-test, vm, bench, cross-arm64, cross-armhf, deb, platforms. Set
# MJPEGD_NO_APT=1
# to only report what is missing.
#
# The release comes from /etc/os-release (MJPEGD_OS_RELEASE names another file, for tests):
# Debian 12 bookworm, Debian 13 trixie, Debian testing/unstable (named as Debian 13 names its
# packages), and Raspberry Pi OS Bookworm or Trixie (ID=raspbian on 32-bit; ID=debian with
# /etc/rpi-issue or Raspberry Pi's archive in the apt sources on 64-bit). Where a release names a
# package differently, the name is chosen below. On Raspberry Pi OS libcamera must come from
# Raspberry Pi's archive (its "+rpt" builds carry the Pi's pipeline handlers and IPA; Debian's do
# not drive a Pi camera): deps.sh refuses to install Debian's instead.
set -eu

os_release=${MJPEGD_OS_RELEASE:-/etc/os-release}
ID="" VERSION_ID="" VERSION_CODENAME="" PRETTY_NAME=""
if [ -r "$os_release" ]; then
	# shellcheck disable=SC1090
	. "$os_release"
fi
codename=${VERSION_CODENAME:-}
if [ -z "$codename" ]; then
	case "${VERSION_ID:-}" in
	12) codename=bookworm ;;
	13) codename=trixie ;;
	esac
fi
# Testing and unstable: the codename of the next release, or none at all ("forky/sid").
case "$codename" in
bookworm | trixie) ;;
"" | forky | duke | sid) [ "${ID:-}" = debian ] && codename=next ;;
esac

pi_os=0
if [ "${ID:-}" = raspbian ] || [ -e "${MJPEGD_RPI_ISSUE:-/etc/rpi-issue}" ]; then
	pi_os=1
elif grep -rqs 'archive\.raspberrypi\.\(com\|org\)' /etc/apt/sources.list /etc/apt/sources.list.d/ \
	2>/dev/null; then
	pi_os=1
fi

case "$codename" in
bookworm) release="Debian 12 (bookworm)" ;;
trixie) release="Debian 13 (trixie)" ;;
next) release="Debian testing/unstable" ;;
*)
	release="${PRETTY_NAME:-an unknown system}"
	echo "deps.sh: $release is not a release mjpegd is made for (Debian 12 or 13, Raspberry Pi" \
		"OS Bookworm or Trixie); trying Debian 13's package names" >&2
	;;
esac
[ $pi_os = 1 ] && release="Raspberry Pi OS on $release"

# The test bed's kernel source: the release's own (tests/vm/bed/build-kernel.sh).
case "$codename" in
bookworm) kernel_source=linux-source-6.1 ;;
trixie) kernel_source=linux-source-6.12 ;;
*) kernel_source=linux-source ;; # testing: whichever version it has now
esac
# systemd.pc (the unit directory, for make deb): in systemd up to Debian 12, systemd-dev after.
systemd_pc=systemd-dev
[ "$codename" = bookworm ] && systemd_pc=systemd
# Chromium: Raspberry Pi OS Bookworm ships its own build as chromium-browser.
chromium=chromium
chromedriver=chromium-driver
if [ $pi_os = 1 ] && [ "$codename" = bookworm ]; then
	chromium=chromium-browser
	chromedriver=chromium-chromedriver
fi

pkgs_build="build-essential pkgconf libcrypt-dev liburing-dev libturbojpeg0-dev libjpeg62-turbo-dev libsystemd-dev libcamera-dev libv4l-dev libdrm-dev"
pkgs_test="libcmocka-dev libjpeg-turbo-progs ffmpeg $chromium $chromedriver python3 procps systemd libcamera-ipa curl apache2-utils nginx haproxy openssl vlc-bin vlc-plugin-base firefox-esr"
# (cvlc and its scene filter: VLC, a client the brief names, plays the stream in a test)
# (firefox-esr: headless Firefox draws a --rotation 90/270 stream and snapshot, test_rotation.py)
# (curl, htpasswd from apache2-utils: the --auth-file tests; nginx, haproxy, openssl: the
# reverse-proxy test, docs/reverse-proxy.md's configurations run for real with a test certificate)
# (djpeg, ffmpeg, python3: tests/vm/checks/bcm2835_emu_check.py checks the emulated Pi encoder's JPEGs)
# make test-platforms' lean rows (tests/platforms/run.sh): the unit tests and the integration tests
# of tests/platforms/integration-tests (the row's libraries through the daemon); what only the
# whole suite needs (chromium, VLC, nginx, haproxy, openssl) runs on the host and one row
pkgs_platform_test="libcmocka-dev libjpeg-turbo-progs ffmpeg python3 procps systemd libcamera-ipa curl apache2-utils"
# (debootstrap: the Debian roots the test bed takes its packaged kernels, test drivers' build and
# libcamera 0.7.1 from, tests/vm/bed/debian-kernel.sh)
pkgs_vm="qemu-system-x86 busybox-static v4l-utils cpio xz-utils libcamera-tools libcamera-ipa libjpeg-turbo-progs ffmpeg python3 debootstrap util-linux"
# the compiled kernel (tests/vm/bed/build-kernel.sh: MJPEGD_VM_KERNEL=compiled, and make bench's VM)
pkgs_vm_kernel="$kernel_source flex bison bc libelf-dev libssl-dev"
# make bench (bench/README.md): frames, load tools, the baseline's OpenCV, plots, the peer ustreamer
pkgs_bench="ffmpeg libjpeg-turbo-progs python3 python3-numpy python3-opencv python3-matplotlib strace valgrind linux-perf ustreamer procps"
# make CROSS=aarch64-linux-gnu|arm-linux-gnueabihf, make test-cross: the cross toolchain, qemu-user
# and qemu-system; the target's libraries go into a sysroot (scripts/cross-sysroot.sh), not the host
pkgs_cross="pkgconf apt dpkg-dev qemu-user-static qemu-system-arm cpio python3 libjpeg-turbo-progs"
pkgs_cross_arm64="gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu"
pkgs_cross_armhf="gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf binutils-arm-linux-gnueabihf"
# make deb, make test-deb (debian/)
pkgs_deb="debhelper lintian adduser fakeroot python3 libjpeg-turbo-progs $systemd_pc"
# make test-platforms (tests/platforms/run.sh): roots of other releases; ip brings up loopback in
# the network namespace each row tests in (scripts/in-root.sh --no-net)
pkgs_platforms="debootstrap util-linux tar iproute2"

want=""
for group in "$@"; do
	case "$group" in
	build) want="$want $pkgs_build" ;;
	test) want="$want $pkgs_build $pkgs_test" ;;
	platform-test) want="$want $pkgs_build $pkgs_platform_test" ;;
	vm) want="$want $pkgs_build $pkgs_vm" ;;
	vm-kernel) want="$want $pkgs_build $pkgs_vm_kernel" ;;
	bench) want="$want $pkgs_build $pkgs_bench" ;;
	cross-arm64) want="$want $pkgs_cross $pkgs_cross_arm64" ;;
	cross-armhf) want="$want $pkgs_cross $pkgs_cross_armhf" ;;
	deb) want="$want $pkgs_build $pkgs_deb" ;;
	platforms) want="$want $pkgs_platforms" ;;
	release)
		# What deps.sh takes this system for (tests, and a user's question).
		echo "$release; kernel source $kernel_source; chromium package $chromium"
		exit 0
		;;
	kernel-source)
		echo "$kernel_source"
		exit 0
		;;
	*) echo "deps.sh: unknown group '$group' (build, test, platform-test, vm, vm-kernel, bench, cross-arm64, cross-armhf, deb, platforms, release, kernel-source)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# On Raspberry Pi OS: libcamera installed or to be installed must be Raspberry Pi's build.
rpi_libcamera_check() { # WHEN (installed | candidate)
	[ $pi_os = 1 ] || return 0
	case " $want " in *" libcamera-dev "*) ;; *) return 0 ;; esac
	if [ "$1" = installed ]; then
		v=$(dpkg-query -W -f='${Version}' libcamera-dev 2>/dev/null || true)
	else
		v=$(apt-cache policy libcamera-dev 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	fi
	case "$v" in
	"" | "(none)") what="no libcamera-dev at all" ;;
	*rpt* | *rpi*) return 0 ;;
	*) what="libcamera-dev $v, Debian's build" ;;
	esac
	echo "deps.sh: $release: apt offers $what, not Raspberry Pi's libcamera (a version with" \
		"\"+rpt\"), which alone drives a Pi camera. Is Raspberry Pi's archive in" \
		"/etc/apt/sources.list.d/raspi.list (or raspi.sources)? Then: sudo apt update" >&2
	return 1
}

if [ -z "$missing" ]; then
	rpi_libcamera_check installed
	exit 0
fi

echo "deps.sh: $release: installing:$missing" >&2
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
# Wait for another apt (unattended-upgrades on a freshly booted Pi, a second make) instead of
# failing at once on its lock.
lock="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086
$SUDO apt-get $lock update -q >&2
rpi_libcamera_check candidate
# shellcheck disable=SC2086
$SUDO apt-get $lock install -y -q --no-install-recommends $missing >&2
