#!/bin/bash
# The test bed on Debian's own packaged kernels (tests/vm/run.sh's default; usage:
# tests/vm/bed/debian-kernel.sh [trixie|bookworm]): instead of compiling a kernel
# (tests/vm/bed/build-kernel.sh), takes the release's linux-image (trixie: 6.12, the family
# Raspberry Pi OS Trixie runs; bookworm: 6.1, Raspberry Pi OS Bookworm's) from Debian's archive and
# builds out of tree, against the matching linux-headers, only what that image does not ship: the
# test drivers vimc, vicodec and vim2m, the v4l2-mem2mem library they need (Debian's amd64 image
# has no M2M driver, so no v4l2-mem2mem.ko), from the linux-source package of the very same
# version, and the test bed's own modules (tests/vm/drivers/*/Kbuild: the emulated Raspberry Pi
# JPEG encoder). It also takes the release's v4l-utils for the guest (below).
#
# Everything Debian is fetched and built inside a root of that release (trixie: the one
# tests/vm/bed/lc07.sh uses, $MJPEGD_PLATFORM_CACHE/vm-trixie-backports; bookworm: vm-bookworm;
# made by scripts/platform-root.sh): apt-get there verifies the archive's signatures, and its
# gcc (14, 12) is the compiler Debian built the kernel with. Nothing is installed on the host.
#
# Cache (${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/vm, or MJPEGD_VM_CACHE):
#   debian-<kver>/vmlinuz            the kernel (<kver>: the image's release, e.g. 6.12.118+deb13-amd64)
#   debian-<kver>/tree/usr/lib/modules/<kver>/   the modules the guest loads at boot (Debian's, for
#                                    vivid, 9p and virtio-rng, and their dependencies; the test
#                                    drivers built here in extra/), uncompressed, with modules.dep
#   debian-<kver>/tree/vm/boot-modules   that list, for tests/vm/bed/init
#   debian-<kver>/modules-<m>/*.ko   the test bed's own modules (<m>: sha256 of their sources)
#   debian-<kver>/v4l-utils/         the release's v4l2-compliance, v4l2-ctl, media-ctl, their
#                                    libraries and loader (bin/, lib/, ld.so, VERSION)
#   debian-<kver>/boot-modules.wanted  the boot modules asked for (another list rebuilds the entry)
# The newest image the root's apt offers is used; a new Debian kernel makes a new cache entry.
#
# Progress goes to stderr; the path of the kernel image is the only line on stdout. Env:
#   MJPEGD_VM_MODULES_OUT: a directory; the test bed's .ko files are copied there (replacing its
#     *.ko) and the boot modules' tree as its tree/ (tests/vm/bed/mkinitramfs.sh packs both).
#   MJPEGD_VM_CACHE, MJPEGD_PLATFORM_CACHE, MJPEGD_VM_DEBIAN_TIMEOUT (work inside the root, 1800 s).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
DRIVERS=$ROOT/tests/vm/drivers
CACHE=${MJPEGD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/vm}
PCACHE=${MJPEGD_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/platforms}
RELEASE=${1:-trixie}
case "$RELEASE" in
# the root tests/vm/bed/lc07.sh uses too (its lock shared); gcc-14 built trixie's kernel
trixie) ROW=trixie-backports PROOT=$PCACHE/vm-trixie-backports LOCK=$PCACHE/.trixie-backports-vm.lock GCC=gcc-14 ;;
# a root of its own (make test-platforms' bookworm root stays a fresh install); gcc-12
bookworm) ROW=bookworm PROOT=$PCACHE/vm-bookworm LOCK=$PCACHE/.bookworm-vm.lock GCC=gcc-12 ;;
*) echo "kernel: error: release '$RELEASE': trixie or bookworm" >&2; exit 2 ;;
esac
# The modules the guest loads at boot (tests/vm/bed/init loads them, with their kernel-command-line
# parameters), with what modules.dep says they need.
# virtio_pci first: built in on trixie's kernel, a module on bookworm's (without it neither the
# 9p share nor virtio-rng appears); a built-in one is left out of the list the guest loads.
BOOT_MODULES="virtio_pci 9pnet_virtio 9p virtio-rng vivid v4l2-mem2mem vicodec vim2m vimc"

say() { echo "kernel: $*" >&2; }
die() { echo "kernel: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (the Debian root: chroot, unshare)"
mkdir -p "$CACHE" "$PCACHE"
exec 9>"$CACHE/.lock-debian$([ "$RELEASE" = trixie ] || echo "-$RELEASE")"
flock 9
exec 8>"$LOCK"
flock -w 1800 8 || die "$LOCK held for 1800 s"

t0=$SECONDS
"$ROOT/scripts/platform-root.sh" "$ROW" "$PROOT" >&2 ||
	die "scripts/platform-root.sh $ROW $PROOT failed"

# The image's release and version, as the root's apt sees them.
kver=$(chroot "$PROOT" apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
[ -n "$kver" ] || die "no linux-image-amd64 in $PROOT's package lists"
D=$CACHE/debian-$kver
modkey=$(cd "$DRIVERS" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)

if [ -f "$D/.complete" ] && [ -f "$D/modules-$modkey/.complete" ] &&
	[ "$(cat "$D/boot-modules.wanted" 2>/dev/null)" = "$BOOT_MODULES" ]; then
	say "Debian $kver cached ($D)"
else
	say "Debian kernel $kver: image, headers, the test drivers' source (in $PROOT)"
	rm -rf "$PROOT/root/vm-debian"
	mkdir -p "$PROOT/root/vm-debian/drivers"
	cp -a "$DRIVERS/." "$PROOT/root/vm-debian/drivers/"
	# shellcheck disable=SC2016 # expanded inside the root
	INSIDE='
kver=$1
export DEBIAN_FRONTEND=noninteractive
echo "DPkg::Lock::Timeout \"600\";" >/tmp/apt-lock.conf
export APT_CONFIG=/tmp/apt-lock.conf
cd /root/vm-debian
pkgs="make $GCC xz-utils kmod linux-headers-$kver"
apt-get install -y -q --no-install-recommends $pkgs >/dev/null ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends $pkgs >/dev/null; }
srcpkg=linux-source-${kver%%.*}.$(echo "$kver" | cut -d. -f2)
debver=$(dpkg-query -W -f="\${Version}" "linux-headers-$kver")
apt-get download -q "linux-image-$kver-unsigned=$debver" "$srcpkg=$debver" >/dev/null
dpkg-deb -x linux-image-"$kver"-unsigned_*.deb image
# of the source, only the test drivers and v4l2-mem2mem
dpkg-deb --fsys-tarfile "${srcpkg}_"*.deb | tar -xO "./usr/src/$srcpkg.tar.xz" |
	tar -xJ --strip-components=1 -C . --wildcards "$srcpkg/drivers/media/test-drivers/vimc/*" \
		"$srcpkg/drivers/media/test-drivers/vicodec/*" "$srcpkg/drivers/media/test-drivers/vim2m.c" \
		"$srcpkg/drivers/media/v4l2-core/v4l2-mem2mem.c"
rm -f ./*.deb
mkdir -p test/v4l2-mem2mem test/vim2m
cp -a drivers/media/test-drivers/vimc drivers/media/test-drivers/vicodec test/
cp drivers/media/v4l2-core/v4l2-mem2mem.c test/v4l2-mem2mem/
cp drivers/media/test-drivers/vim2m.c test/vim2m/
echo "obj-m += v4l2-mem2mem.o" >test/v4l2-mem2mem/Kbuild
echo "obj-m += vim2m.o" >test/vim2m/Kbuild
sed -i "s/CONFIG_VIDEO_VIMC/m/" test/vimc/Makefile
sed -i "s/CONFIG_VIDEO_VICODEC/m/" test/vicodec/Makefile
sed -i "s/^obj-\$(m)/obj-m/" test/vimc/Makefile test/vicodec/Makefile
kb=/usr/src/linux-headers-$kver
make -s -C "$kb" M=/root/vm-debian/test/v4l2-mem2mem modules
for d in vimc vicodec vim2m; do
	cp test/v4l2-mem2mem/Module.symvers "test/$d/"
	make -s -C "$kb" M="/root/vm-debian/test/$d" KBUILD_EXTRA_SYMBOLS=/root/vm-debian/test/v4l2-mem2mem/Module.symvers modules
done
for d in drivers/*/; do
	[ -e "$d/Kbuild" ] || continue
	make -s -C "$kb" M="/root/vm-debian/$d" \
		KBUILD_EXTRA_SYMBOLS=/root/vm-debian/test/v4l2-mem2mem/Module.symvers modules >"${d%/}.log" 2>&1 ||
		{ cat "${d%/}.log"; echo "module $d failed to build"; exit 1; }
	cat "${d%/}.log"
	if grep -q "warning:" "${d%/}.log"; then echo "module $d built with warnings"; exit 1; fi
done
echo "built: $(ls test/*/*.ko drivers/*/*.ko | tr "\n" " ")"
# Debian makes modules.dep at install (depmod): made here for the whole image plus the test
# drivers, then what the boot modules need copied to out/tree, decompressed (busybox insmod
# reads plain .ko files), with its own modules.dep.
M=image/usr/lib/modules/$kver
[ -d "$M" ] || M=image/lib/modules/$kver
mkdir -p scratch/lib/modules out/tree/vm out/modules
cp -a "$M" scratch/lib/modules/
mkdir -p "scratch/lib/modules/$kver/extra"
cp test/*/*.ko "scratch/lib/modules/$kver/extra/"
# an image with its own v4l2-mem2mem keeps it (the one built here only gave the CRCs of its symbols)
if find "$M" -name "v4l2-mem2mem.ko*" | grep -q .; then rm "scratch/lib/modules/$kver/extra/v4l2-mem2mem.ko"; fi
depmod -b scratch "$kver"
T=out/tree/lib/modules/$kver
load=""
for m in $BOOT_MODULES; do
	modprobe -d scratch -S "$kver" --show-depends "$m" 2>/dev/null | grep -q "^insmod " && load="$load $m"
done
for m in $BOOT_MODULES; do
	modprobe -d scratch -S "$kver" --show-depends "$m" >deps.txt ||
		{ echo "no module $m in Debian $kver (nor built here)"; exit 1; }
	sed -n "s/^insmod \([^ ]*\).*/\1/p" deps.txt
done | sort -u | while read -r f; do
	rel=${f#*/lib/modules/$kver/}
	mkdir -p "$T/$(dirname "$rel")"
	case "$f" in
	*.ko.xz) xz -dc "$f" >"$T/${rel%.xz}" ;;
	*) cp "$f" "$T/$rel" ;;
	esac
done
cp "$M"/modules.builtin "$M"/modules.builtin.modinfo "$M"/modules.order "$T/" 2>/dev/null || true
depmod -b out/tree "$kver"
# the initramfs is usrmerged (/lib is a link to usr/lib)
mkdir -p out/tree/usr/lib
mv out/tree/lib/modules out/tree/usr/lib/
rmdir out/tree/lib
echo $load >out/tree/vm/boot-modules
cp "image/boot/vmlinuz-$kver" out/vmlinuz
for d in drivers/*/; do
	[ -e "$d/Kbuild" ] && cp "$d"/*.ko out/modules/
done
echo "boot modules: $(find out/tree -name "*.ko" | wc -l)"
'
	timeout "${MJPEGD_VM_DEBIAN_TIMEOUT:-1800}" "$ROOT/scripts/in-root.sh" "$PROOT" \
		"set -- '$kver'; BOOT_MODULES='$BOOT_MODULES'; GCC='$GCC'; $INSIDE" >&2 </dev/null ||
		die "fetching or building in $PROOT failed (above)"
	W=$PROOT/root/vm-debian/out
	rm -rf "$D.tmp"
	mkdir -p "$D.tmp/modules-$modkey"
	cp "$W/vmlinuz" "$D.tmp/vmlinuz"
	cp -a "$W/tree" "$D.tmp/tree"
	cp "$W"/modules/*.ko "$D.tmp/modules-$modkey/"
	touch "$D.tmp/modules-$modkey/.complete"
	rm -rf "$PROOT/root/vm-debian"
	rm -rf "$D"
	mv "$D.tmp" "$D"
	echo "$BOOT_MODULES" >"$D/boot-modules.wanted"
	touch "$D/.complete"
	T=$D/tree/usr/lib/modules/$kver
	say "Debian $kver ready in $((SECONDS - t0)) s: $(cd "$T" && find . -name '*.ko' | wc -l) boot" \
		"modules, test bed modules: $(cd "$D/modules-$modkey" && echo *.ko)"
fi

# The V4L2 tools of the same release (v4l-utils: v4l2-compliance, v4l2-ctl, media-ctl): the host's
# (Debian 12's 1.22) predate 6.12's uAPI (v4l2-compliance fails VIDIOC_CREATE_BUFS' fields that
# 6.12 uses). Taken from the root with every library its ldd resolves and its loader, flat in
# v4l-utils/{bin,lib}; tests/vm/bed/mkinitramfs.sh puts them in the guest as /vm/v4l-utils, run
# through that loader (wrappers in /usr/bin), so nothing mixes with the host's libraries.
if [ -f "$D/v4l-utils/.complete" ]; then
	say "v4l-utils $(cat "$D/v4l-utils/VERSION") cached"
else
	t1=$SECONDS
	# shellcheck disable=SC2016 # expanded inside the root
	INSIDE_V4L='
export DEBIAN_FRONTEND=noninteractive
echo "DPkg::Lock::Timeout \"600\";" >/tmp/apt-lock.conf
export APT_CONFIG=/tmp/apt-lock.conf
apt-get install -y -q --no-install-recommends v4l-utils >/dev/null ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends v4l-utils >/dev/null; }
o=/root/vm-v4l-utils
rm -rf "$o"
mkdir -p "$o/bin" "$o/lib"
for b in v4l2-compliance v4l2-ctl media-ctl; do
	f=$(command -v "$b") || { echo "no $b in v4l-utils"; exit 1; }
	cp -L "$f" "$o/bin/$b"
	deps=$(ldd "$f") || { echo "$f: not for ldd"; exit 1; }
	if echo "$deps" | grep -q "not found"; then echo "$f: $deps"; exit 1; fi
	echo "$deps" | awk "\$2 == \"=>\" && \$3 ~ /^\\// { print \$3 }" | while read -r l; do
		cp -L "$l" "$o/lib/"
	done
	interp=$(echo "$deps" | awk "\$1 ~ /^\\// { print \$1 }" | head -n1)
	cp -L "$interp" "$o/ld.so"
done
dpkg-query -W -f="\${Version}" v4l-utils >"$o/VERSION"
echo "v4l-utils $(cat "$o/VERSION"): $(ls "$o/bin" | tr "\n" " ")+ $(ls "$o/lib" | wc -l) libraries"
'
	timeout "${MJPEGD_VM_DEBIAN_TIMEOUT:-1800}" "$ROOT/scripts/in-root.sh" "$PROOT" "$INSIDE_V4L" >&2 </dev/null ||
		die "taking v4l-utils from $PROOT failed (above)"
	rm -rf "$D/v4l-utils.tmp" "$D/v4l-utils"
	cp -a "$PROOT/root/vm-v4l-utils" "$D/v4l-utils.tmp"
	rm -rf "$PROOT/root/vm-v4l-utils"
	touch "$D/v4l-utils.tmp/.complete"
	mv "$D/v4l-utils.tmp" "$D/v4l-utils"
	say "v4l-utils $(cat "$D/v4l-utils/VERSION") from $PROOT in $((SECONDS - t1)) s"
fi
flock -u 8

if [ -n "${MJPEGD_VM_MODULES_OUT:-}" ]; then
	mkdir -p "$MJPEGD_VM_MODULES_OUT"
	rm -rf "$MJPEGD_VM_MODULES_OUT"/*.ko "$MJPEGD_VM_MODULES_OUT/tree" "$MJPEGD_VM_MODULES_OUT/v4l-utils"
	cp "$D/modules-$modkey"/*.ko "$MJPEGD_VM_MODULES_OUT/"
	cp -a "$D/tree" "$MJPEGD_VM_MODULES_OUT/tree"
	cp -a "$D/v4l-utils" "$MJPEGD_VM_MODULES_OUT/v4l-utils"
fi
echo "$D/vmlinuz"
