#!/bin/sh
# Makes (once) or refreshes a Debian root for one row of the support matrix (docs/testing.md,
# "Platforms"), with debootstrap from Debian's own archive. Usage: scripts/platform-root.sh ROW DIR
#
#   ROW               suite(s)                               libcamera  stands for
#   bookworm          bookworm (+ -updates, -security)       0.0.3      Pi OS Bookworm, Debian 12
#   trixie            trixie (+ -updates, -security)         0.4.0      Debian 13
#   trixie-backports  trixie + trixie-backports, libcamera   0.7.1      Pi OS Trixie (0.7.x+rpt)
#                     pinned to backports
#   testing           testing (forky)                        0.7.2+     the next release
#
# The root is reused while its package lists are younger than MJPEGD_PLATFORM_MAX_AGE hours (24);
# older, it is refreshed (apt-get update + full-upgrade inside); a root that was never finished is
# made again. Nothing of the project goes in here: tests/platforms/run.sh copies the tree in and
# installs what it needs with the project's own scripts/deps.sh.
# Exit status: 0 ready, 3 the archive could not be reached (the caller reports the row as
# skipped), anything else a failure.
set -eu
row=$1
root=$2
mirror=${MJPEGD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${MJPEGD_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
max_age_h=${MJPEGD_PLATFORM_MAX_AGE:-24}

case "$row" in
bookworm | trixie) suite=$row ;;
trixie-backports) suite=trixie ;;
testing) suite=testing ;;
*) echo "platform-root.sh: unknown row '$row' (bookworm, trixie, trixie-backports, testing)" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "platform-root.sh: needs root (debootstrap, chroot)" >&2
	exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	echo "platform-root.sh: debootstrap not found (scripts/deps.sh platforms installs it)" >&2
	exit 1
fi

# The archive answers? A row whose mirror is down is skipped, never passed.
reachable() {
	probe=$(mktemp)
	for s in "$@"; do
		if ! timeout 60 /usr/lib/apt/apt-helper download-file "$mirror/dists/$s/Release" \
			"$probe" >/dev/null 2>&1; then
			echo "platform-root.sh: $mirror/dists/$s/Release cannot be fetched" >&2
			rm -f "$probe"
			return 1
		fi
	done
	rm -f "$probe"
}
suites_needed=$suite
[ "$row" = trixie-backports ] && suites_needed="$suite trixie-backports"
# shellcheck disable=SC2086
reachable $suites_needed || exit 3

write_sources() {
	list="$root/etc/apt/sources.list"
	echo "deb $mirror $suite main" >"$list"
	case "$suite" in
	bookworm | trixie)
		echo "deb $mirror $suite-updates main" >>"$list"
		echo "deb $security $suite-security main" >>"$list"
		;;
	esac
	rm -f "$root/etc/apt/preferences.d/mjpegd-libcamera"
	if [ "$row" = trixie-backports ]; then
		echo "deb $mirror trixie-backports main" >>"$list"
		# What a Pi OS Trixie user has: libcamera 0.7.x. Only libcamera comes from backports.
		cat >"$root/etc/apt/preferences.d/mjpegd-libcamera" <<-EOF
			Package: libcamera* gstreamer1.0-libcamera python3-libcamera
			Pin: release n=trixie-backports
			Pin-Priority: 990
		EOF
	fi
	# testing's Release files outlive their Valid-Until on a mirror that syncs slowly; the
	# signature is still checked.
	if [ "$suite" = testing ]; then
		echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/90mjpegd-valid-until"
	fi
	echo 'Acquire::Retries "3";' >"$root/etc/apt/apt.conf.d/90mjpegd-retries"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

stamp="$root/.mjpegd-root"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$row $mirror" ]; then
	lists="$root/var/lib/apt/lists"
	if [ -n "$(find "$lists" -maxdepth 1 -name '*_InRelease' -mmin -$((max_age_h * 60)) 2>/dev/null)" ]; then
		echo "platform-root.sh: $row: reusing $root (package lists younger than ${max_age_h} h)" >&2
		write_sources
		exit 0
	fi
	echo "platform-root.sh: $row: refreshing $root" >&2
	write_sources
	if chroot "$root" sh -c 'export DEBIAN_FRONTEND=noninteractive;
		apt-get update -q && apt-get -y -q full-upgrade' >&2; then
		exit 0
	fi
	echo "platform-root.sh: $row: refreshing failed; making the root again" >&2
fi

rm -rf "$root"
mkdir -p "$(dirname "$root")"
tmp="$root.partial"
rm -rf "$tmp"
echo "platform-root.sh: $row: debootstrap $suite into $root" >&2
if ! debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
	tail -20 "$tmp.log" >&2
	# A download error is the mirror's; anything else is ours.
	if grep -q 'Failed getting release file\|Couldn.t download\|Failure trying to run\|Connection' \
		"$tmp.log"; then
		rm -rf "$tmp"
		grep -q 'Failure trying to run' "$tmp.log" && exit 1
		exit 3
	fi
	exit 1
fi
rm -f "$tmp.log"
mv "$tmp" "$root"
write_sources
# The lists for -updates, -security and backports: debootstrap fetched only the base suite.
if ! chroot "$root" sh -c 'export DEBIAN_FRONTEND=noninteractive;
	apt-get update -q && apt-get -y -q full-upgrade' >&2; then
	echo "platform-root.sh: $row: apt-get update in the new root failed" >&2
	exit 3
fi
echo "$row $mirror" >"$stamp"
