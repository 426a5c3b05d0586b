#!/bin/sh
# make deb: builds mjpegd_VERSION_ARCH.deb for each ARCH (default: amd64 arm64 armhf) with
# dpkg-buildpackage from a copy of the working tree, collects them in build-deb/ and runs lintian
# on each (errors fail, warnings are listed). amd64 is a native build (source + binary, so lintian
# sees the source package too); arm64 and armhf are cross builds (dpkg-buildpackage -a ARCH -d)
# against the sysroot that make CROSS=... uses (scripts/cross-sysroot.sh), since the target's -dev
# packages are not installed on the host. Usage: scripts/deb.sh [ARCH...]
set -eu
cd "$(dirname "$0")/.."
archs=${*:-"amd64 arm64 armhf"}
out=build-deb
ver=$(dpkg-parsechangelog -S Version)
mkver=$(sed -n 's/^VERSION := *//p' Makefile)
if [ "$ver" != "$mkver" ]; then
	echo "deb.sh: debian/changelog says $ver, the Makefile's VERSION $mkver: add a changelog entry" >&2
	exit 1
fi
build_arch=$(dpkg --print-architecture)
mkdir -p "$out"
status=0
for arch in $archs; do
	dir=$out/$arch
	src=$dir/mjpegd-$ver
	rm -rf "$dir" "$out/mjpegd_${ver}_$arch.deb"
	mkdir -p "$src"
	# The working tree as git sees it (tracked and new files, not ignored ones), else all of it.
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard |
			xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
			xargs -0 cp -P --parents -t "$src"
	else
		tar -cf - --exclude='./build*' --exclude=./.git . | tar -xf - -C "$src"
	fi
	if [ "$arch" = "$build_arch" ]; then
		set -- -us -uc
	else
		case $arch in
		arm64) group=cross-arm64 CC=aarch64-linux-gnu-gcc ;;
		armhf) group=cross-armhf CC=arm-linux-gnueabihf-gcc ;;
		*) echo "deb.sh: no cross build for $arch (arm64, armhf)" >&2; exit 2 ;;
		esac
		scripts/deps.sh "$group"
		scripts/cross-sysroot.sh "$arch" "build-cross/sysroot-$arch"
		MJPEGD_SYSROOT=$(pwd)/build-cross/sysroot-$arch
		DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}"
		export MJPEGD_SYSROOT CC DEB_BUILD_OPTIONS
		set -- -us -uc -b -a "$arch" -d -Pcross,nocheck
	fi
	echo "deb.sh: $arch: dpkg-buildpackage $* (log: $dir/build.log)"
	if ! (cd "$src" && dpkg-buildpackage "$@") >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log"
		echo "deb.sh: $arch: dpkg-buildpackage failed" >&2
		status=1
		continue
	fi
	cp "$dir/mjpegd_${ver}_$arch.deb" "$out/"
	changes=$dir/mjpegd_${ver}_$arch.changes
	rc=0
	lintian --fail-on error --display-info --tag-display-limit 0 "$changes" >"$dir/lintian.raw" 2>&1 || rc=$?
	grep -v '^running with root privileges' "$dir/lintian.raw" >"$dir/lintian.log" || true
	if [ $rc -ne 0 ]; then status=1; fi
	echo "deb.sh: $arch: $out/mjpegd_${ver}_$arch.deb; lintian (exit $rc):"
	sed 's/^/  /' "$dir/lintian.log"
done
ls -l "$out"/*.deb 2>/dev/null || true
exit $status
