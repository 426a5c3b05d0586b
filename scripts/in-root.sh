#!/bin/sh
# Runs a shell script as root inside a Debian root made by scripts/platform-root.sh, in fresh
# mount and PID namespaces (unshare): /proc, /sys and /dev of the host, a private /tmp and /run,
# the host's network (apt, loopback tests) unless --no-net. Nothing it mounts or starts outlives
# it; the environment is cleared (PATH, HOME, LANG, TERM, CI only, and MJPEGD_IT_LOCK with --lock).
#
# Usage: scripts/in-root.sh [--tree] [--tree-dir NAME] [--timeout SECONDS] [--no-net]
#                           [--lock FILE] ROOT SCRIPT
#   --tree     first copy this work tree (committed or not, without ignored files such as build
#              output) to ROOT/root/mjpegd, replacing what was there
#   --tree-dir copy it to ROOT/root/NAME instead (implies --tree), so that runs sharing a root
#              do not replace each other's tree (tests/vm/bed/lc07.sh uses mjpegd-vm)
#   --timeout  bound the whole run (default 3600 s); exit status 124 when it was reached
#   --no-net   a network namespace of its own, loopback only (up, 127.0.0.1/8): the ports its
#              tests bind, and the ports they pick before a server binds them, are its own, apart
#              from the host's and other roots' (tests/platforms/run.sh runs rows side by side)
#   --lock     FILE (on the host) appears as /run/mjpegd-it.lock, named by MJPEGD_IT_LOCK: the
#              lock that rows side by side share (tests/integration/harness.py, row.sh)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
tree=0
tree_dir=mjpegd
limit=3600
net=""
lock=""
while [ $# -gt 2 ]; do
	case "$1" in
	--tree) tree=1 ;;
	--tree-dir) tree=1; tree_dir=$2; shift ;;
	--timeout) limit=$2; shift ;;
	--no-net) net=--net ;;
	--lock) lock=$2; shift ;;
	*) break ;;
	esac
	shift
done
if [ $# -ne 2 ]; then
	echo "usage: scripts/in-root.sh [--tree] [--tree-dir NAME] [--timeout SECONDS] [--no-net]" \
		"[--lock FILE] ROOT SCRIPT" >&2
	exit 2
fi
root=$1
script=$2
if [ ! -x "$root/bin/sh" ]; then
	echo "in-root.sh: $root is not a root (scripts/platform-root.sh makes one)" >&2
	exit 2
fi

if [ -n "$net" ] && ! command -v ip >/dev/null 2>&1; then
	echo "in-root.sh: --no-net needs ip to bring loopback up (iproute2; scripts/deps.sh platforms)" >&2
	exit 2
fi
if [ -n "$lock" ] && [ ! -f "$lock" ]; then
	echo "in-root.sh: --lock $lock: no such file" >&2
	exit 2
fi
case "$tree_dir" in
"" | . | .. | */*) echo "in-root.sh: --tree-dir wants a plain directory name, not '$tree_dir'" >&2; exit 2 ;;
esac
if [ $tree = 1 ]; then
	dest=$root/root/$tree_dir
	rm -rf "$dest"
	mkdir -p "$dest"
	(cd "$here" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$dest"
	if [ ! -f "$dest/Makefile" ]; then
		echo "in-root.sh: copying the work tree into $root failed" >&2
		exit 1
	fi
fi

# --kill-child: when unshare goes (timeout), the namespace's first process and so every
# process in it goes too.
# shellcheck disable=SC2086
exec timeout -k 30 "$limit" unshare --mount --pid $net --fork --kill-child \
	--mount-proc="$root/proc" sh -euc '
	r=$1
	[ -z "$3" ] || ip link set lo up
	mount --rbind /dev "$r/dev"
	mount --rbind /sys "$r/sys"
	mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
	mount -t tmpfs -o mode=0755 tmpfs "$r/run"
	mkdir -p "$r/run/lock"
	lockenv=""
	if [ -n "$4" ]; then
		: >"$r/run/mjpegd-it.lock"
		mount --bind "$4" "$r/run/mjpegd-it.lock"
		lockenv=MJPEGD_IT_LOCK=/run/mjpegd-it.lock
	fi
	cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
	exec chroot "$r" /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" $lockenv /bin/sh -euc "$2"
' in-root "$root" "$script" "$net" "$lock"
