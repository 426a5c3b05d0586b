#!/bin/sh
# make test-platforms: the support matrix (docs/testing.md, "Platforms"). For each row, a Debian
# root from Debian's own archive (scripts/platform-root.sh, cached in $MJPEGD_PLATFORM_CACHE,
# default ~/.cache/mjpegd/platforms), this work tree copied in, the project's own
# `scripts/deps.sh test` installing what that release names its packages, then the build (-Werror,
# the libcamera shim included), the unit and the integration tests inside it; `make test-asan` on
# the rows in MJPEGD_PLATFORM_ASAN, `make test-deb` on those in MJPEGD_PLATFORM_DEB.
#
# Usage: tests/platforms/run.sh [ROW...]   (default: bookworm trixie trixie-backports testing)
# Each row runs in its own mount and PID namespace (scripts/in-root.sh), so nothing it mounts or
# starts outlives it. Logs: $cache/logs/ROW.log. Prints the matrix and, last,
# "platforms: N passed, N failed, N skipped" (tests passed and failed in all rows; a step that
# failed without counting, such as a build error, counts as one failure; skipped = rows whose
# archive could not be reached, never counted as passed). Needs root.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
rows=${*:-bookworm trixie trixie-backports testing}
cache=${MJPEGD_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/platforms}
asan_rows=${MJPEGD_PLATFORM_ASAN:-trixie-backports}
deb_rows=${MJPEGD_PLATFORM_DEB:-trixie trixie-backports}
row_timeout=${MJPEGD_PLATFORM_TIMEOUT:-2400}
mkdir -p "$cache/logs"
matrix=$(mktemp)
trap 'rm -f "$matrix"' EXIT

total_passed=0 total_failed=0 total_skipped=0

if [ "$(id -u)" != 0 ]; then
	echo "FAIL  platforms: needs root (debootstrap, chroot, unshare)"
	echo "platforms: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

in_list() { # WORD LIST
	case " $2 " in *" $1 "*) return 0 ;; esac
	return 1
}

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Sums "NAME: N passed, N failed" lines of a log: prints "PASSED FAILED".
count_log() {
	sed -n 's/^[a-z-]*: *\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1 \2/p' "$1" |
		awk '{p += $1; f += $2} END {printf "%d %d\n", p, f}'
}

printf '%-17s %-20s %-8s %-9s %-22s %s\n' row libcamera gcc result tests time >"$matrix"
for row in $rows; do
	log="$cache/logs/$row.log"
	: >"$log"
	root="$cache/$row"
	t0=$(date +%s)
	echo "=== platforms: $row"
	"$here/scripts/platform-root.sh" "$row" "$root" >>"$log" 2>&1
	rc=$?
	t_root=$(($(date +%s) - t0))
	if [ "$rc" -eq 3 ]; then
		reason=$(grep 'platform-root.sh' "$log" | tail -1)
		echo "SKIP  $row: archive not reachable: $reason"
		total_skipped=$((total_skipped + 1))
		printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" - - SKIPPED "(archive unreachable)" \
			"$(fmt_time "$t_root")" >>"$matrix"
		continue
	fi
	if [ "$rc" -ne 0 ]; then
		tail -20 "$log"
		echo "FAIL  $row: making the root (log: $log)"
		total_failed=$((total_failed + 1))
		printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" - - FAILED "(root)" \
			"$(fmt_time "$t_root")" >>"$matrix"
		continue
	fi

	steps='cd /root/mjpegd
		echo "--- scripts/deps.sh test"; scripts/deps.sh test
		echo "--- versions"
		echo "libcamera $(dpkg-query -W -f="\${Version}" libcamera-dev) gcc $(gcc -dumpfullversion)"
		echo "--- make all"; make -j"$(nproc)" all
		echo "--- make test-unit test-integration"; make test-unit test-integration'
	in_list "$row" "$asan_rows" && steps="$steps
		echo \"--- make test-asan\"; make -j\"\$(nproc)\" BUILD=build-asan SAN=1 all; make test-asan"
	in_list "$row" "$deb_rows" && steps="$steps
		echo \"--- make test-deb\"; make test-deb"

	t1=$(date +%s)
	"$here/scripts/in-root.sh" --tree --timeout "$row_timeout" "$root" "$steps" >>"$log" 2>&1 \
		</dev/null
	rc=$?
	[ "$rc" -eq 124 ] && echo "--- timed out after ${row_timeout} s" >>"$log"
	t_tests=$(($(date +%s) - t1))

	set -- $(count_log "$log")
	p=$1 f=$2
	versions=$(sed -n 's/^libcamera \([^ ]*\) gcc \([^ ]*\)$/\1 \2/p' "$log" | tail -1)
	lc=${versions% *}
	gccv=${versions#* }
	[ -n "$versions" ] || { lc=-; gccv=-; }
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # a step failed without counting it (deps, build error, timeout)
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
		result=PASSED
		echo "PASS  $row: libcamera $lc, gcc $gccv: $p passed ($(fmt_time "$t_root") root, $(fmt_time "$t_tests") install + tests)"
	else
		result=FAILED
		grep -E '^(FAIL|---)|error:|Error [0-9]' "$log" | tail -30
		echo "FAIL  $row: libcamera $lc, gcc $gccv: $p passed, $f failed, exit $rc (log: $log)"
	fi
	printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" "$lc" "$gccv" "$result" \
		"$p passed, $f failed" "$(fmt_time "$t_root") + $(fmt_time "$t_tests")" >>"$matrix"
done

echo "=== platforms: support matrix (time: root + install and tests)"
cat "$matrix"
echo "platforms: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
