#!/bin/bash
# Builds the test-bed kernel (x86_64 bzImage, tinyconfig + tests/vm/kernel.config, everything
# built in, no modules) from the release's Debian linux-source package (linux-source-6.1 on
# Debian 12, where CI runs it; the name per release comes from scripts/deps.sh kernel-source) and
# caches it.
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/vm/bzImage-<key>, where <key> is the sha256 of
# the fragment + the linux-source package and version + the first line of `gcc --version`.
# A matching cached bzImage is reused ("kernel: cached"). The source is unpacked into a work
# dir in the cache (never the repository) and removed after a successful build unless
# MJPEGD_VM_KEEP_KBUILD=1.
#
# Progress goes to stderr; the path of the bzImage is the only line on stdout.
# Env: MJPEGD_VM_CACHE (cache dir), MJPEGD_VM_JOBS (make -j, default nproc).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FRAG=$HERE/kernel.config
PKG=${MJPEGD_KERNEL_SOURCE:-$("$HERE/../../scripts/deps.sh" kernel-source)}
if [ "$PKG" = linux-source ]; then # the metapackage (testing): the versioned one it depends on
	PKG=$(dpkg-query -W -f='${Depends}' linux-source 2>/dev/null | sed 's/[ ,(].*//')
fi
TARBALL=/usr/src/$PKG.tar.xz
CACHE=${MJPEGD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/vm}
JOBS=${MJPEGD_VM_JOBS:-$(nproc)}

say() { echo "kernel: $*" >&2; }
die() { echo "kernel: error: $*" >&2; exit 1; }

[ -r "$FRAG" ] || die "missing $FRAG"
[ -r "$TARBALL" ] || die "missing $TARBALL (install $PKG: scripts/deps.sh vm)"
command -v gcc >/dev/null || die "gcc not found (scripts/deps.sh vm)"
srcver=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) ||
	die "$PKG is not installed (scripts/deps.sh vm)"
gccver=$(gcc --version | head -n1)
key=$({ cat "$FRAG"; echo "$PKG $srcver"; echo "$gccver"; } | sha256sum | cut -c1-16)
IMAGE=$CACHE/bzImage-$key

mkdir -p "$CACHE"
# One builder at a time per cache; a second caller waits, then finds the image cached.
exec 9>"$CACHE/.lock"
flock 9

if [ -s "$IMAGE" ]; then
	say "cached ($IMAGE)"
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
say "config ok ($(grep -c '=y' "$KB/.config") options =y); compiling bzImage (~5 min on 2 cores)"

make -C "$SRC" O="$KB" -j"$JOBS" bzImage >>"$LOG" 2>&1 &
mk=$!
while kill -0 "$mk" 2>/dev/null; do
	for _ in $(seq 30); do kill -0 "$mk" 2>/dev/null && sleep 1; done
	kill -0 "$mk" 2>/dev/null &&
		say "compiling... $((SECONDS - t0)) s, $(grep -c '^  CC' "$LOG") files compiled"
done
if ! wait "$mk"; then
	tail -n 40 "$LOG" >&2
	die "make bzImage failed (full log: $LOG)"
fi

cp "$KB/arch/x86/boot/bzImage" "$IMAGE.tmp"
cp "$KB/.config" "$CACHE/config-$key"
mv "$IMAGE.tmp" "$IMAGE"
if [ "${MJPEGD_VM_KEEP_KBUILD:-0}" != 1 ]; then
	rm -rf "$SRC" "$KB"
fi
say "built in $((SECONDS - t0)) s: $IMAGE ($(stat -c %s "$IMAGE") bytes)"
echo "$IMAGE"
