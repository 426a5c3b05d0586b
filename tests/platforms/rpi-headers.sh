#!/bin/sh
# Compiles the libcamera shim (src/source/libcamera*.cpp) with -Werror against the headers of
# Raspberry Pi's own libcamera fork, the source of Raspberry Pi OS's libcamera packages, with its
# Pi pipelines (rpi/vc4, rpi/pisp) and their vendor controls configured as Pi OS builds them.
# Not part of make test-platforms: it needs a checkout of github.com/raspberrypi/libcamera, which
# no Debian archive carries (a tag such as v0.7.1+rpt20260429, the release in Pi OS Trixie).
#
# Usage: tests/platforms/rpi-headers.sh LIBCAMERA_SOURCE_DIR [ROOT]
# ROOT: a root made by scripts/platform-root.sh (default: a trixie-backports one in
# ~/.cache/mjpegd/rpi-headers, made when missing); meson and the fork's build dependencies are
# installed into it, the headers generated there (meson setup + only the header targets; nothing
# is compiled but the shim). Prints "rpi-headers: N passed, N failed".
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
src=$(cd "$1" && pwd)
root=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/rpi-headers}
[ -f "$src/meson.build" ] && [ -d "$src/include/libcamera" ] ||
	{ echo "rpi-headers: $src is not a libcamera source tree"; echo "rpi-headers: 0 passed, 1 failed"; exit 1; }
"$here/scripts/platform-root.sh" trixie-backports "$root"
rm -rf "$root/root/libcamera-src"
cp -a "$src" "$root/root/libcamera-src"
ver=$(cd "$src" && git describe --tags 2>/dev/null || basename "$src")
if "$here/scripts/in-root.sh" --tree "$root" '
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends g++ meson ninja-build python3-yaml \
		python3-jinja2 python3-ply pkgconf libyaml-dev libpisp-dev libgnutls28-dev libudev-dev \
		libdw-dev libunwind-dev openssl >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }
	cd /root/libcamera-src
	meson setup build -Dpipelines=rpi/vc4,rpi/pisp -Dipas=rpi/vc4,rpi/pisp -Dcam=disabled \
		-Dqcam=disabled -Dgstreamer=disabled -Dpycamera=disabled -Dv4l2=false \
		-Dlc-compliance=disabled -Dtest=false -Ddocumentation=disabled -Dtracing=disabled \
		>/tmp/meson.log 2>&1 || { tail -30 /tmp/meson.log; exit 1; }
	ninja -C build include/libcamera/control_ids.h include/libcamera/property_ids.h \
		include/libcamera/version.h include/libcamera/formats.h >/dev/null
	grep "LIBCAMERA_VERSION_M" build/include/libcamera/version.h
	cd /root/mjpegd
	for f in src/source/libcamera*.cpp; do
		g++ -fsyntax-only -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude \
			-DHAVE_LIBCAMERA=1 -I/root/libcamera-src/build/include \
			-I/root/libcamera-src/include "$f" || exit 1
	done
'; then
	echo "PASS  the libcamera shim compiles with -Werror against Raspberry Pi's libcamera $ver"
	echo "rpi-headers: 1 passed, 0 failed"
else
	echo "FAIL  the libcamera shim against Raspberry Pi's libcamera $ver"
	echo "rpi-headers: 0 passed, 1 failed"
	exit 1
fi
