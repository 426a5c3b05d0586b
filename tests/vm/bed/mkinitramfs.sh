#!/bin/bash
# Packs the test VM's initramfs: build/vm/initramfs.cpio (staging tree build/vm/rootfs).
#
# Contents: busybox-static and its applets; /init (tests/vm/bed/init); /vm/lib.sh; /vm/faults.sh
# (helpers of the recovery tests); /vm/bin/pi-check (scripts/pi-check.sh); the guest tests
# /vm/tests/*.sh (tests/vm/guest/*.sh); /vm/bin: the daemon under test ($MJPEGD, default
# build/mjpegd; skipped with a warning when missing; its libcamera plugin at the absolute path the
# daemon loads it from, build/mjpegd-libcamera.so) and every tests/vm/tools/*.c compiled into
# build/vm/bin/ (static when possible); /vm/modules: the test bed's kernel modules
# (build/vm/modules/*.ko, tests/vm/drivers/bcm2835-emu); v4l2-ctl, v4l2-compliance, media-ctl; libcamera's
# `cam` + IPA modules/proxies/data when installed. Every dynamic ELF comes with the shared
# libraries `ldd` reports and the loader.
# The libcamera 0.7.1 userland when MJPEGD_VM_LC07_TREE names the tree tests/vm/bed/lc07.sh made: as
# /lc07 (the same busybox hard-linked as /lc07/.vm/busybox), with /vm/bin/lc07 (tests/vm/bed/lc07-exec,
# chroot into it) and /vm/lc07bin/{cam,mjpegd} (cam and the daemon run through it).
# MJPEGD_VM_LC07_STATUS: one line for /vm/lc07.status ("ready ...", "skip REASON", "fail REASON"),
# read by the guest tests of that userland (lc07_use in tests/vm/guest/lib/lib.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
VMSRC=$ROOT/tests/vm
OUT=$ROOT/build/vm
# MJPEGD_VM_FLAVOUR (run.sh: "-bookworm" for a second kernel): the modules are taken from
# build/vm/modules$FLAVOUR, the archive is build/vm/initramfs$FLAVOUR.cpio
FLAVOUR=${MJPEGD_VM_FLAVOUR:-}
MODULES=$OUT/modules$FLAVOUR
STAGE=$OUT/rootfs$FLAVOUR
IMG=$OUT/initramfs$FLAVOUR.cpio # uncompressed: boots ~1 s faster under TCG than gzip
MJPEGD=${MJPEGD:-$ROOT/build/mjpegd}
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
CC=${VM_CC:-gcc}
CFLAGS="-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror"

die() { echo "initramfs: error: $*" >&2; exit 1; }
[ -x /bin/busybox ] || die "/bin/busybox missing (busybox-static: scripts/deps.sh vm)"
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

# Test helper programs: tests/vm/tools/NAME.c -> build/vm/bin/NAME (rebuilt when the source is newer).
mkdir -p "$OUT/bin"
for src in "$VMSRC"/tools/*.c; do
	[ -e "$src" ] || continue
	bin=$OUT/bin/$(basename "$src" .c)
	[ "$bin" -nt "$src" ] && [ "$bin" -nt "$VMSRC/tools/vmtool.h" ] && continue
	# shellcheck disable=SC2086
	$CC $CFLAGS -static -o "$bin" "$src" 2>/dev/null || $CC $CFLAGS -o "$bin" "$src" ||
		die "cannot compile $src"
	echo "initramfs: compiled $(basename "$bin")$(file_is_static "$bin" && echo ' (static)')" >&2
done

rm -rf "$STAGE"
mkdir -p "$STAGE"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,root,mnt/host,vm/bin,vm/tests}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$STAGE/$d"; done

put() { # put HOST_PATH [GUEST_PATH]: copy a file (dereferenced) unless already there
	local dst=$STAGE${2:-$1}
	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")"
	cp -L "$1" "$dst"
}
put_elf() { # put_elf HOST_PATH [GUEST_PATH]: a binary plus every library ldd resolves, and the loader
	put "$@"
	local deps
	deps=$(ldd "$1" 2>/dev/null) || return 0 # static
	if grep -q 'not found' <<<"$deps"; then
		die "$1: unresolved libraries: $(grep 'not found' <<<"$deps" | tr -s ' \t\n' ' ')"
	fi
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$deps" |
		while read -r lib; do put "$lib"; done
}

# busybox and its applets (links to /usr/bin/busybox; the layout is usrmerged)
cp /bin/busybox "$STAGE/usr/bin/busybox"
for a in $("$STAGE/usr/bin/busybox" --list-full); do
	[ -e "$STAGE/$a" ] || [ -L "$STAGE/$a" ] || ln -s /usr/bin/busybox "$STAGE/$a"
done

# V4L2 tools: those of the booted kernel's Debian release when tests/vm/bed/debian-kernel.sh took
# them (build/vm/modules/v4l-utils: binaries, their libraries and loader, as /vm/v4l-utils, each
# run by that loader from a /usr/bin wrapper, so they never load the host's libraries); else the
# host's.
V4L=$MODULES/v4l-utils
if [ -f "$V4L/.complete" ]; then
	cp -a "$V4L" "$STAGE/vm/v4l-utils"
	for b in v4l2-ctl v4l2-compliance media-ctl; do
		[ -x "$V4L/bin/$b" ] || die "$V4L/bin/$b missing"
		printf '#!/bin/sh\nexec /vm/v4l-utils/ld.so --inhibit-cache --library-path /vm/v4l-utils/lib /vm/v4l-utils/bin/%s "$@"\n' \
			"$b" >"$STAGE/usr/bin/$b"
		chmod 755 "$STAGE/usr/bin/$b"
	done
	echo "initramfs: v4l-utils $(cat "$V4L/VERSION") from the kernel's Debian release" >&2
else
	for b in v4l2-ctl v4l2-compliance media-ctl; do
		command -v "$b" >/dev/null || die "$b missing (v4l-utils: scripts/deps.sh vm)"
		put_elf "$(command -v "$b")" "/usr/bin/$b"
	done
fi

# libcamera: cam, IPA modules (+ .sign: modified or missing signatures make libcamera isolate
# the IPA in a proxy worker, also shipped) and IPA data
if command -v cam >/dev/null; then
	put_elf "$(command -v cam)" /usr/bin/cam
	for f in /usr/lib/"$MULTIARCH"/libcamera/*; do
		[ -f "$f" ] || continue
		case "$f" in *.sign) put "$f" ;; *) put_elf "$f" ;; esac
	done
	[ -d /usr/share/libcamera ] && mkdir -p "$STAGE/usr/share" && cp -a /usr/share/libcamera "$STAGE/usr/share/"
else
	echo "initramfs: warning: libcamera's cam not installed (libcamera-tools libcamera-ipa)" >&2
fi

# binaries under test
if [ -x "$MJPEGD" ]; then
	put_elf "$MJPEGD" /vm/bin/mjpegd
	# Its libcamera plugin (and libcamera, through ldd) at the very path the daemon was built to
	# load it from: the development build looks in its build directory, by absolute path.
	plugin=$(dirname "$(readlink -f "$MJPEGD")")/mjpegd-libcamera.so
	if [ -f "$plugin" ]; then
		put_elf "$plugin"
	else
		echo "initramfs: warning: $plugin missing; the libcamera tests will fail" >&2
	fi
else
	echo "initramfs: warning: $MJPEGD missing; the daemon tests will fail" >&2
fi
for bin in "$OUT"/bin/*; do
	[ -x "$bin" ] && put_elf "$bin" "/vm/bin/$(basename "$bin")"
done

# the libcamera 0.7.1 userland (tests/vm/bed/lc07.sh)
LC07_TREE=${MJPEGD_VM_LC07_TREE:-}
if [ -n "$LC07_TREE" ]; then
	if [ ! -x "$LC07_TREE/usr/bin/cam" ] || [ ! -x "$LC07_TREE/vm/bin/mjpegd" ]; then
		die "$LC07_TREE is not a libcamera 0.7 userland (tests/vm/bed/lc07.sh makes it)"
	fi
	cp -a "$LC07_TREE" "$STAGE/lc07"
	mkdir -p "$STAGE/lc07/.vm" "$STAGE/vm/lc07bin"
	ln "$STAGE/usr/bin/busybox" "$STAGE/lc07/.vm/busybox" # one copy in the archive
	install -m 755 "$VMSRC/bed/lc07-exec" "$STAGE/vm/bin/lc07"
	printf '#!/bin/sh\nexec /vm/bin/lc07 /usr/bin/cam "$@"\n' >"$STAGE/vm/lc07bin/cam"
	printf '#!/bin/sh\nexec /vm/bin/lc07 /vm/bin/mjpegd "$@"\n' >"$STAGE/vm/lc07bin/mjpegd"
	chmod 755 "$STAGE/vm/lc07bin/cam" "$STAGE/vm/lc07bin/mjpegd"
fi
[ -n "${MJPEGD_VM_LC07_STATUS:-}" ] && echo "$MJPEGD_VM_LC07_STATUS" >"$STAGE/vm/lc07.status"

# the test bed's kernel modules (tests/vm/bed/build-kernel.sh copies them to build/vm/modules when
# run.sh runs it): /vm/modules/*.ko, loaded by the tests that need them (insmod)
mkdir -p "$STAGE/vm/modules"
for ko in "$MODULES"/*.ko; do
	[ -e "$ko" ] && install -m 644 "$ko" "$STAGE/vm/modules/"
done

# Debian's packaged kernel (tests/vm/bed/debian-kernel.sh): its modules under /lib/modules, and
# /vm/boot-modules, the list /init loads at boot
if [ -d "$MODULES/tree" ]; then cp -a "$MODULES/tree/." "$STAGE/"; fi

# init, helpers, tests
install -m 755 "$VMSRC/bed/init" "$STAGE/init"
install -m 644 "$VMSRC/guest/lib/lib.sh" "$STAGE/vm/lib.sh"
install -m 644 "$VMSRC/guest/lib/faults.sh" "$STAGE/vm/faults.sh" # helpers of the 8x recovery tests
install -m 644 "$VMSRC/guest/lib/vivid_emu.sh" "$STAGE/vm/vivid_emu.sh" # helpers of 98 and 98b
install -m 755 "$ROOT/scripts/pi-check.sh" "$STAGE/vm/bin/pi-check" # make pi-check (88-pi-check)
n=0
for t in "$VMSRC"/guest/*.sh; do
	[ -e "$t" ] || continue
	install -m 755 "$t" "$STAGE/vm/tests/"
	n=$((n + 1))
done

cat >"$STAGE/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
printf 'root:x:0:\nvideo:x:44:\nnogroup:x:65534:\n' >"$STAGE/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$STAGE/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$STAGE/etc/nsswitch.conf"

(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$IMG.tmp"
mv "$IMG.tmp" "$IMG"
echo "initramfs: $IMG: $(($(stat -c %s "$IMG") / 1024)) KiB, $n guest tests," \
	"$(du -sm "$STAGE" | cut -f1) MiB unpacked${LC07_TREE:+ ($(du -sm "$STAGE/lc07" | cut -f1) MiB of them /lc07)}" >&2
