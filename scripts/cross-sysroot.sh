#!/bin/sh
# Builds the sysroot that `make CROSS=...` compiles against and that qemu-user runs the tests in:
# Debian's -dev packages for ARCH (arm64, armhf, ...) with everything they depend on, resolved and
# downloaded by apt for ARCH alone (own lists, cache and an empty dpkg status, the host's
# sources and keys) and unpacked with dpkg-deb -x. Nothing is installed on the host and no
# foreign architecture is added to dpkg (README.md, "Cross-compiling", says why).
# Usage: scripts/cross-sysroot.sh ARCH DIR [PACKAGE...]   (default packages: what mjpegd needs)
# A second run with the same package list does nothing; `rm -rf DIR` to refresh it.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 ARCH DIR [PACKAGE...]" >&2; exit 2; }
arch=$1 root=$2
shift 2
pkgs=${*:-"libc6-dev libcrypt-dev liburing-dev libturbojpeg0-dev libjpeg62-turbo-dev libsystemd-dev libcamera-dev libcamera-ipa libcmocka-dev"}
stamp="$root/.mjpegd-sysroot"
want="$arch: $pkgs"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
for tool in apt-get dpkg-deb; do
	command -v $tool >/dev/null 2>&1 || { echo "cross-sysroot.sh: $tool not found" >&2; exit 1; }
done

state="$root.apt"
rm -rf "$root" "$state"
mkdir -p "$root" "$state/lists/partial" "$state/cache/archives/partial" "$state/dpkg"
: >"$state/dpkg/status"
state=$(cd "$state" && pwd)
# apt as if on an ARCH machine with nothing installed. No locks: this touches none of the host's
# apt or dpkg state, so it can run beside another apt-get.
set -- -q -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
	-o Dir::State="$state" -o Dir::State::Lists="$state/lists" \
	-o Dir::State::status="$state/dpkg/status" -o Dir::Cache="$state/cache" \
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Install-Recommends=0 \
	-o APT::Get::AllowUnauthenticated=0

echo "cross-sysroot.sh: $arch sysroot in $root: $pkgs" >&2
# A mirror caught mid-sync fails one index (bookworm-security armhf here) and apt then drops that
# whole suite for this run: the packages come from the others (main, updates) and still form one
# consistent set, since nothing of another architecture has to match their versions.
if ! apt-get "$@" update >&2; then
	echo "cross-sysroot.sh: apt-get update reported errors (above); going on with what it got" >&2
fi
# shellcheck disable=SC2086
apt-get "$@" install --download-only -y $pkgs >&2
# DEBIAN/shlibs and DEBIAN/symbols of all of them: dpkg-shlibdeps looks there for a library that
# no installed package owns, which gives a cross-built .deb the same Depends as a native one.
mkdir -p "$root/DEBIAN"
: >"$root/DEBIAN/shlibs"
: >"$root/DEBIAN/symbols"
n=0
for deb in "$state"/cache/archives/*.deb; do
	dpkg-deb -x "$deb" "$root"
	dpkg-deb -I "$deb" shlibs >>"$root/DEBIAN/shlibs" 2>/dev/null || true
	dpkg-deb -I "$deb" symbols >>"$root/DEBIAN/symbols" 2>/dev/null || true
	n=$((n + 1))
done
# Absolute symlinks (/lib/ld-linux-armhf.so.3 -> /lib/arm-linux-gnueabihf/...) would point into
# the host once qemu or the linker follow them: make them relative to the sysroot.
find "$root" -type l -lname '/*' | while read -r link; do
	target=$(readlink "$link")
	dir=$(dirname "${link#"$root"}")
	up=$(printf '%s\n' "$dir" | sed -e 's|/[^/]*|../|g' -e 's|/$||')
	ln -sfn "${up:-.}$target" "$link"
done
printf '%s\n' "$want" >"$stamp"
echo "cross-sysroot.sh: $n packages unpacked into $root" >&2
