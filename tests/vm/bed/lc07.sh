#!/bin/bash
# The test bed's second guest userland: libcamera 0.7.1 (Debian trixie-backports, the upstream
# release of Raspberry Pi OS Trixie's 0.7.1+rpt). Usage: tests/vm/bed/lc07.sh DIR
#
# Makes or reuses the trixie-backports root (scripts/platform-root.sh, in the cache of
# tests/platforms/run.sh, as its own root: ${MJPEGD_PLATFORM_CACHE:-~/.cache/mjpegd/platforms}/vm-trixie-backports),
# and inside it (scripts/in-root.sh) installs libcamera-tools + libcamera-ipa and the build
# dependencies, copies this work tree to /root/mjpegd-vm and builds mjpegd in /root/mjpegd-vm.build
# (incremental; neither clashes with tests/platforms/run.sh's /root/mjpegd). Then DIR gets a
# self-contained tree, everything taken from the root, never from the host: `cam`, the IPA
# modules with their .sign files and proxies, /usr/share/libcamera, that mjpegd as /vm/bin/mjpegd,
# every shared library these need as the root's own ldd resolves them, the root's loader and
# ld.so.cache, the usrmerge links. tests/vm/bed/mkinitramfs.sh packs it as /lc07; the guest runs it
# with `chroot /lc07` (/vm/bin/lc07, tests/vm/bed/lc07-exec). Every ELF is checked in DIR itself
# with DIR's loader (`ld.so --list` in a chroot): nothing may resolve outside it.
#
# Exit status: 0 ready (DIR/VERSIONS names the packages); 3 skipped: the archive cannot be
# reached (platform-root.sh's exit 3) or not root; anything else a failure. The reason is the
# last line on stderr and in DIR.reason. Full log: DIR.log.
# Env: MJPEGD_VM_LC07_TIMEOUT (bound on the work inside the root, default 1800 s).
set -uo pipefail

HERE=$(cd "$(dirname "$0")/../../.." && pwd)
DEST=${1:?usage: tests/vm/bed/lc07.sh DIR}
case "$DEST" in /*) ;; *) DEST=$PWD/$DEST ;; esac
CACHE=${MJPEGD_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/platforms}
PROOT=$CACHE/vm-trixie-backports # its own root: make test-platforms keeps its roots as a fresh install
LOG=$DEST.log
TREE=mjpegd-vm # /root/mjpegd-vm in the root; the build in /root/mjpegd-vm.build

say() { echo "vm: lc07: $*" >&2; }
finish() { # finish RC REASON
	echo "$2" >"$DEST.reason"
	if [ "$1" = 3 ]; then say "skipped: $2"; else say "error: $2"; fi
	exit "$1"
}

rm -rf "$DEST" "$DEST.reason"
mkdir -p "$(dirname "$DEST")"
: >"$LOG"
[ "$(id -u)" = 0 ] || finish 3 "needs root (debootstrap, chroot, unshare); run as root for the libcamera 0.7.1 tests"
"$HERE/scripts/deps.sh" platforms >>"$LOG" 2>&1 || finish 1 "scripts/deps.sh platforms failed (log: $LOG)"

# Two checkouts may share the cached root: one preparation at a time.
mkdir -p "$CACHE"
exec 9>"$CACHE/.trixie-backports-vm.lock"
flock -w 1800 9 || finish 1 "$CACHE/.trixie-backports-vm.lock held for 1800 s"

t=$SECONDS
"$HERE/scripts/platform-root.sh" trixie-backports "$PROOT" >>"$LOG" 2>&1
rc=$?
if [ "$rc" = 3 ]; then
	finish 3 "archive not reachable: $(grep 'platform-root.sh' "$LOG" | tail -n1)"
elif [ "$rc" != 0 ]; then
	tail -n 20 "$LOG" >&2
	finish 1 "scripts/platform-root.sh trixie-backports $PROOT failed with status $rc (log: $LOG)"
fi
say "root $PROOT ready ($((SECONDS - t)) s)"

# Inside the root: packages, the build, and the list of files the guest needs (paths with their
# directories resolved, so /lib/x/libc.so.6 is listed as /usr/lib/x/libc.so.6).
# shellcheck disable=SC2016 # expanded inside the root
INSIDE='
export DEBIAN_FRONTEND=noninteractive
# Another run of tests/platforms/run.sh may hold the dpkg lock: wait for it instead of failing.
echo "DPkg::Lock::Timeout \"600\";" >/tmp/apt-lock.conf
export APT_CONFIG=/tmp/apt-lock.conf
cd /root/mjpegd-vm
echo "--- packages"
scripts/deps.sh build
want="libcamera-tools libcamera-ipa"
missing=""
for p in $want; do
	dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get install -y -q --no-install-recommends $missing ||
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $missing; }
fi
v=$(dpkg-query -W -f="\${Version}" libcamera-tools libcamera-ipa | sort -u)
case "$v" in
0.7.*) ;;
*) echo "lc07: libcamera-tools/libcamera-ipa are $v, not 0.7.x: is trixie-backports pinned?"; exit 1 ;;
esac
echo "--- make"
# The tree is copied with its files times (tar): a source older than an object of an earlier
# build would not be rebuilt. The build directory is kept only for the same sources.
sum=$(find src include Makefile -type f | LC_ALL=C sort | xargs sha256sum | sha256sum)
if [ "$(cat /root/mjpegd-vm.build/.sources 2>/dev/null)" != "$sum" ]; then
	rm -rf /root/mjpegd-vm.build
	mkdir -p /root/mjpegd-vm.build
fi
make -j"$(nproc)" BUILD=/root/mjpegd-vm.build all
echo "$sum" >/root/mjpegd-vm.build/.sources
echo "--- files"
out=/root/mjpegd-vm.build/lc07
rm -rf "$out.files" "$out.elves"
is_elf() { [ "$(od -An -tx1 -N4 "$1" | tr -d " ")" = 7f454c46 ]; }
norm() { # PATH -> the path with its directory resolved (usrmerge links, ..)
	echo "$(readlink -f "$(dirname "$1")")/$(basename "$1")"
}
# libcamera-ipa: IPA modules, .sign files, proxies, /usr/share/libcamera; the library package:
# whatever it holds besides the libraries (ldd brings those). Of libcamera-tools only cam (its
# qcam and lc-compliance would bring Qt, ICU and gtest: 60 MiB more).
lib=$(dpkg -S "$(readlink -f /usr/lib/*/libcamera.so.0.7)" | cut -d: -f1)
echo "lc07: library package $lib"
dpkg -L libcamera-ipa "$lib" | while read -r f; do
	[ -f "$f" ] || continue # files and links to files; not directories
	case "$f" in /usr/share/doc/* | /usr/share/man/* | /usr/share/lintian/* | /usr/share/bash-completion/*) continue ;; esac
	norm "$f"
done >"$out.files"
{
	norm /usr/bin/cam
	grep -v "^/usr/share/" "$out.files" | while read -r f; do
		if is_elf "$f"; then echo "$f"; fi
	done
	echo /root/mjpegd-vm.build/mjpegd
	echo /root/mjpegd-vm.build/mjpegd-libcamera.so
} | sort -u >"$out.elves"
while read -r f; do
	deps=$(ldd "$f" 2>&1) || { echo "lc07: $f: static or not for ldd: $deps" >&2; continue; }
	if echo "$deps" | grep -q "not found"; then
		echo "lc07: $f: unresolved libraries:" >&2; echo "$deps" | grep "not found" >&2; exit 1
	fi
	echo "$deps" | awk "\$2 == \"=>\" && \$3 ~ /^\\// { print \$3 } \$1 ~ /^\\// { print \$1 }" |
		while read -r lib; do norm "$lib"; done
done <"$out.elves" >>"$out.files"
grep -v "^/root/" "$out.elves" >>"$out.files"
[ -f /etc/ld.so.cache ] && echo /etc/ld.so.cache >>"$out.files"
# A link (libcamera.so.0.7 -> libcamera.so.0.7.1, the loader) stays a link: its target too.
while read -r f; do
	echo "$f"
	if [ -L "$f" ]; then norm "$(readlink -f "$f")"; fi
done <"$out.files" | sort -u >"$out.files.new"
mv "$out.files.new" "$out.files"
{
	dpkg-query -W -f="\${Package} \${Version}\n" libcamera-tools libcamera-ipa "$lib" libc6
	echo "mjpegd built in this root against libcamera $(pkg-config --modversion libcamera)"
} >"$out.versions"
pkg-config --modversion libcamera >"$out.version"
echo "lc07: $(wc -l <"$out.files") files, $(wc -l <"$out.elves") ELF objects resolved"
'
t=$SECONDS
say "packages and mjpegd build in the root (/root/$TREE, log $LOG)"
"$HERE/scripts/in-root.sh" --tree-dir "$TREE" --timeout "${MJPEGD_VM_LC07_TIMEOUT:-1800}" \
	"$PROOT" "$INSIDE" >>"$LOG" 2>&1 </dev/null
rc=$?
if [ "$rc" != 0 ]; then
	grep -E '^lc07:|error|Error|E: ' "$LOG" | tail -n 20 >&2
	finish 1 "preparing the root failed with status $rc$([ "$rc" = 124 ] && echo ' (timeout)') (log: $LOG)"
fi
B=$PROOT/root/$TREE.build
say "root: $(grep '^lc07: ' "$LOG" | tail -n1 | sed 's/^lc07: //') ($((SECONDS - t)) s)"

# The tree: the root's usrmerge links first, so /lib/... and /usr/lib/... are one directory.
mkdir -p "$DEST"
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "$PROOT/$d" ]; then
		ln -s "$(readlink "$PROOT/$d")" "$DEST/$d"
	fi
done
while read -r f; do
	mkdir -p "$DEST$(dirname "$f")"
	cp -P --preserve=mode "$PROOT$f" "$DEST$f" || finish 1 "cannot copy $PROOT$f"
done <"$B/lc07.files"
mkdir -p "$DEST/vm/bin" "$DEST/dev" "$DEST/proc" "$DEST/sys" "$DEST/run" "$DEST/tmp" "$DEST/.vm"
cp "$B/mjpegd" "$DEST/vm/bin/mjpegd"
# The daemon (built with BUILD=/root/mjpegd-vm.build) loads its libcamera plugin from there.
install -D -m 0644 "$B/mjpegd-libcamera.so" "$DEST/root/mjpegd-vm.build/mjpegd-libcamera.so"
cp "$B/lc07.versions" "$DEST/VERSIONS"
cp "$B/lc07.version" "$DEST/.vm/version" # what the guest tests expect to see at run time
case "$(cat "$DEST/.vm/version")" in
0.7.*) ;;
*) finish 1 "the root's libcamera is $(cat "$DEST/.vm/version"), not 0.7.x" ;;
esac

# Every ELF resolved inside DIR by DIR's own loader, as the guest's chroot will.
interp=$(readelf -l "$DEST/usr/bin/cam" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [ -z "$interp" ] || [ ! -e "$DEST$interp" ]; then
	finish 1 "the loader '$interp' of cam is not in $DEST"
fi
ln -s "$interp" "$DEST/.vm/ld.so" # for the guest's check: lc07 /.vm/ld.so --list BINARY
sed "s|^/root/$TREE.build/mjpegd\$|/vm/bin/mjpegd|" "$B/lc07.elves" | while read -r f; do
	if ! out=$(chroot "$DEST" "$interp" --list "$f" 2>&1) || grep -q 'not found' <<<"$out"; then
		echo "$f:" >&2
		echo "$out" >&2
		exit 1
	fi
done || finish 1 "an ELF object does not load inside $DEST (above)"
out=$(chroot "$DEST" "$interp" --list /vm/bin/mjpegd)
if grep -q 'libcamera\|libstdc++' <<<"$out"; then
	finish 1 "$DEST/vm/bin/mjpegd links libcamera or libstdc++: the plugin should"
fi
out=$(chroot "$DEST" "$interp" --list /root/mjpegd-vm.build/mjpegd-libcamera.so)
grep -q 'libcamera\.so\.0\.7 => /' <<<"$out" ||
	finish 1 "$DEST/root/mjpegd-vm.build/mjpegd-libcamera.so does not load libcamera.so.0.7"
say "$DEST: $(du -sm "$DEST" | cut -f1) MiB; $(sed -n 's/^\(libcamera-tools .*\)/\1/p' "$DEST/VERSIONS")"
