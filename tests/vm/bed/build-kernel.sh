#!/bin/bash
# Builds the test-bed kernel (x86_64 bzImage, tinyconfig + tests/vm/bed/kernel.config, everything
# built in) from the release's Debian linux-source package (linux-source-6.1 on Debian 12; the
# name per release comes from scripts/deps.sh kernel-source) and caches it, with
# what out-of-tree modules need to be built against it; then builds the test bed's own modules
# (tests/vm/drivers/*/Kbuild: the emulated Raspberry Pi JPEG encoder, tests/vm/drivers/bcm2835-emu)
# against it.
#
# Cache (${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/vm, or MJPEGD_VM_CACHE):
#   bzImage-<key>     the kernel; <key>: sha256 of the fragment + the linux-source package and
#                     version + the first line of `gcc --version`
#   config-<key>      its .config
#   kbuild-<key>/     its kbuild tree for `make -C kbuild-<key> M=DIR modules`: the files
#                     Debian's linux-headers package holds (Makefiles, include/, scripts/,
#                     arch/x86 headers, .config, Module.symvers, objtool), ~60 MB
#   modules-<key>-<m>/*.ko  the test bed's modules; <m>: sha256 of their source files
# A matching cached bzImage + kbuild tree is reused ("kernel: cached"); modules are rebuilt
# when their source changes (~10 s). The source is unpacked into a work dir in the cache
# (never the repository) and removed after a successful build unless MJPEGD_VM_KEEP_KBUILD=1.
#
# Progress goes to stderr; the path of the bzImage is the only line on stdout.
# Env: MJPEGD_VM_CACHE (cache dir), MJPEGD_VM_JOBS (make -j, default nproc),
#      MJPEGD_VM_MODULES_OUT (a directory: the modules' .ko files are copied there, replacing
#      its *.ko; tests/vm/run.sh passes build/vm/modules, which mkinitramfs.sh packs).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FRAG=$HERE/kernel.config
DRIVERS=$(cd "$HERE/../drivers" && pwd)
PKG=${MJPEGD_KERNEL_SOURCE:-$("$HERE/../../../scripts/deps.sh" kernel-source)}
if [ "$PKG" = linux-source ]; then # the metapackage (testing): the versioned one it depends on
	PKG=$(dpkg-query -W -f='${Depends}' linux-source 2>/dev/null | sed 's/[ ,(].*//')
fi
TARBALL=/usr/src/$PKG.tar.xz
CACHE=${MJPEGD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/vm}
JOBS=${MJPEGD_VM_JOBS:-$(nproc)}

say() { echo "kernel: $*" >&2; }
die() { echo "kernel: error: $*" >&2; exit 1; }

[ -r "$FRAG" ] || die "missing $FRAG"
[ -r "$TARBALL" ] || die "missing $TARBALL (install $PKG: scripts/deps.sh vm-kernel)"
command -v gcc >/dev/null || die "gcc not found (scripts/deps.sh vm-kernel)"
srcver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) ||
	die "$PKG is not installed (scripts/deps.sh vm-kernel)"
gccver=$(gcc --version | head -n1)
key=$({ cat "$FRAG"; echo "$PKG $srcver"; echo "$gccver"; } | sha256sum | cut -c1-16)
IMAGE=$CACHE/bzImage-$key
KBUILD=$CACHE/kbuild-$key

mkdir -p "$CACHE"
# One builder at a time per cache; a second caller waits, then finds the image cached.
exec 9>"$CACHE/.lock"
flock 9

# build_modules: every tests/vm/drivers/*/Kbuild directory built against $KBUILD into
# $CACHE/modules-$key-<sha of the sources>/, then copied to MJPEGD_VM_MODULES_OUT.
build_modules() {
	local dirs=() d modkey mdir mwork t
	for d in "$DRIVERS"/*/Kbuild; do
		[ -e "$d" ] && dirs+=("$(dirname "$d")")
	done
	[ ${#dirs[@]} -gt 0 ] || return 0
	modkey=$(cd "$DRIVERS" && find "${dirs[@]##*/}" -type f ! -name '*.o' ! -name '*.ko' \
		! -name '.*' ! -name '*.mod*' ! -name 'Module.symvers' ! -name 'modules.order' |
		LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
	mdir=$CACHE/modules-$key-$modkey
	if [ -f "$mdir/.complete" ]; then
		say "modules cached ($mdir)"
	else
		t=$SECONDS
		rm -rf "$mdir"
		mkdir -p "$mdir"
		for d in "${dirs[@]}"; do
			# a copy: kbuild writes its objects beside the sources
			mwork=$CACHE/work/module-${d##*/}
			rm -rf "$mwork"
			mkdir -p "$mwork"
			cp -a "$d/." "$mwork/"
			if ! make -C "$KBUILD" M="$mwork" -j"$JOBS" modules >"$mwork.log" 2>&1; then
				tail -n 40 "$mwork.log" >&2
				die "module ${d##*/} failed to build (log: $mwork.log)"
			fi
			if grep -E 'warning:' "$mwork.log" >&2; then
				die "module ${d##*/} built with warnings (log: $mwork.log)"
			fi
			cp "$mwork"/*.ko "$mdir/"
			rm -rf "$mwork"
		done
		touch "$mdir/.complete"
		say "modules built in $((SECONDS - t)) s: $(cd "$mdir" && echo *.ko)"
	fi
	if [ -n "${MJPEGD_VM_MODULES_OUT:-}" ]; then
		mkdir -p "$MJPEGD_VM_MODULES_OUT"
		rm -f "$MJPEGD_VM_MODULES_OUT"/*.ko
		cp "$mdir"/*.ko "$MJPEGD_VM_MODULES_OUT/"
	fi
}

if [ -s "$IMAGE" ] && [ -f "$KBUILD/.complete" ]; then
	say "cached ($IMAGE)"
	build_modules
	echo "$IMAGE"
	exit 0
fi

WORK=$CACHE/work
SRC=$WORK/linux-$srcver
KB=$WORK/kbuild-$key
LOG=$WORK/build-$key.log
t0=$SECONDS
say "building: key $key ($PKG $srcver, $gccver), $JOBS jobs, log $LOG"
mkdir -p "$WORK"
if [ ! -f "$SRC/.unpacked" ]; then
	say "unpacking $TARBALL into $SRC"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar xf "$TARBALL" -C "$SRC" --strip-components=1
	touch "$SRC/.unpacked"
	say "unpacked in $((SECONDS - t0)) s"
fi

rm -rf "$KB"
mkdir -p "$KB"
: >"$LOG"
{
	make -C "$SRC" O="$KB" tinyconfig
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$KB" "$KB/.config" "$FRAG"
	make -C "$SRC" O="$KB" olddefconfig
} >>"$LOG" 2>&1 || { tail -n 30 "$LOG" >&2; die "configuration failed"; }

# Every line of the fragment must be in the final .config as written: Kconfig drops
# options whose dependencies are unmet without a word.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
	*) continue ;;
	esac
	got=$(grep -E "^$opt=|^# $opt is not set" "$KB/.config" || true)
	if [ "$got" != "$line" ]; then
		echo "kernel: option dropped: want '$line', got '${got:-(absent)}'" >&2
		bad=1
	fi
done <"$FRAG"
[ "$bad" = 0 ] || die "kernel.config asks for options Kconfig did not keep (see above)"
say "config ok ($(grep -c '=y' "$KB/.config") options =y); compiling bzImage (~5-8 min on 2 cores)"

# `modules` (no module is configured) runs modpost, which writes Module.symvers, and
# modules_prepare (objtool, scripts): what out-of-tree module builds need.
make -C "$SRC" O="$KB" -j"$JOBS" bzImage modules >>"$LOG" 2>&1 &
mk=$!
while kill -0 "$mk" 2>/dev/null; do
	for _ in $(seq 30); do kill -0 "$mk" 2>/dev/null && sleep 1; done
	kill -0 "$mk" 2>/dev/null &&
		say "compiling... $((SECONDS - t0)) s, $(grep -c '^  CC' "$LOG") files compiled"
done
if ! wait "$mk"; then
	tail -n 40 "$LOG" >&2
	die "make bzImage modules failed (full log: $LOG)"
fi
[ -s "$KB/Module.symvers" ] || die "no Module.symvers after make modules (log: $LOG)"

# The kbuild tree for external modules, as Debian's linux-headers package makes it
# (scripts/package/builddeb, deploy_kernel_headers): sources' Makefiles, include/, scripts/,
# arch headers; the build's generated headers, scripts, Module.symvers, objtool and .config.
rm -rf "$KBUILD" "$KBUILD.tmp"
mkdir -p "$KBUILD.tmp"
(
	cd "$SRC"
	find . arch/x86 -maxdepth 1 -name 'Makefile*'
	find include scripts -type f -o -type l
	find arch/x86 -name Kbuild.platforms -o -name Platform
	find $(find arch/x86 -name include -o -name scripts -type d) -type f
) | tar -c -f - -C "$SRC" -T - | tar -x -f - -C "$KBUILD.tmp"
(
	cd "$KB"
	if grep -q '^CONFIG_OBJTOOL=y' .config; then echo tools/objtool/objtool; fi
	find arch/x86/include Module.symvers include scripts -type f
) | tar -c -f - -C "$KB" -T - | tar -x -f - -C "$KBUILD.tmp"
cp "$KB/.config" "$KBUILD.tmp/.config"
touch "$KBUILD.tmp/.complete"
mv "$KBUILD.tmp" "$KBUILD"

cp "$KB/arch/x86/boot/bzImage" "$IMAGE.tmp"
cp "$KB/.config" "$CACHE/config-$key"
mv "$IMAGE.tmp" "$IMAGE"
if [ "${MJPEGD_VM_KEEP_KBUILD:-0}" != 1 ]; then
	rm -rf "$SRC" "$KB"
fi
say "built in $((SECONDS - t0)) s: $IMAGE ($(stat -c %s "$IMAGE") bytes), kbuild tree" \
	"$KBUILD ($(du -sm "$KBUILD" | cut -f1) MB)"
build_modules
echo "$IMAGE"
