#!/bin/sh
# make test-platforms: the support matrix (docs/testing.md, "Platforms"). For each row, a Debian
# root from Debian's own archive (scripts/platform-root.sh, cached in $MJPEGD_PLATFORM_CACHE,
# default ~/.cache/mjpegd/platforms), this work tree copied in, then, inside it, one timed step
# after another (a failed step ends the row):
#   deps         the project's own scripts/deps.sh installing what that release names its packages:
#                `platform-test` (no browser, VLC or proxies; the names of the whole `test` group
#                are still resolved by `apt-get install -s`), or `test` on the rows of
#                MJPEGD_PLATFORM_FULL (default trixie-backports)
#   build        make all and the fault-injection daemon (-Werror, the libcamera shim included)
#   unit         make test-unit
#   integration  the tests named in tests/platforms/integration-tests (what depends on the row's
#                libraries), or the whole suite (make test-integration) on MJPEGD_PLATFORM_FULL rows
#   asan         build, unit and the integration-tests list (never the whole suite: the host's
#                make test runs that under ASan) under ASan+UBSan, on the rows in MJPEGD_PLATFORM_ASAN
#   deb          make test-deb, on the rows in MJPEGD_PLATFORM_DEB
# Before the rows, a prepare phase makes every row's root and installs its packages (the deps
# step alone) side by side, each logged to $cache/logs/ROW.prepare.log (MJPEGD_PLATFORM_PREPARE=0:
# one row after another, as the steps); the rows' root and deps steps then find them cached.
# then, for each pair FROM:TO of MJPEGD_PLATFORM_CROSS_PLUGIN whose rows both ran, the libcamera
# plugin built in FROM's root loaded by TO's daemon (test_plugin.py, plugin_from_other_release).
#
# Usage: tests/platforms/run.sh [--prepare-only] [ROW...]   (default: bookworm trixie
# trixie-backports testing; --prepare-only: the prepare phase alone, no test, no summary line)
# Each row runs in its own mount and PID namespace (scripts/in-root.sh), so nothing it mounts or
# starts outlives it. Logs: $cache/logs/ROW.log. Prints each row's and each step's time, the
# matrix, the step times and, last, "platforms: N passed, N failed, N skipped" (tests passed and
# failed in all rows; a step that failed without counting, such as a build error, counts as one
# failure; skipped = rows whose archive could not be reached, never counted as passed). Needs root.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
# Rows at a time (MJPEGD_PLATFORM_JOBS, default 2): the number, 1 to 999, or an error line.
row_jobs=${MJPEGD_PLATFORM_JOBS:-2}
case "$row_jobs" in
[1-9] | [1-9][0-9] | [1-9][0-9][0-9]) ;;
*)
	echo "FAIL  platforms: MJPEGD_PLATFORM_JOBS='$row_jobs' is not a number of rows at a time (1 to 999)"
	echo "platforms: 0 passed, 1 failed, 0 skipped"
	exit 1
	;;
esac
prepare_only=0
if [ "${1:-}" = --prepare-only ]; then
	prepare_only=1 # .ci/run: roots and packages made while the host's tests run
	shift
fi
rows=${*:-bookworm trixie trixie-backports testing}
cache=${MJPEGD_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mjpegd/platforms}
asan_rows=${MJPEGD_PLATFORM_ASAN:-trixie-backports}
deb_rows=${MJPEGD_PLATFORM_DEB:-trixie trixie-backports}
full_rows=${MJPEGD_PLATFORM_FULL:-trixie-backports}
row_timeout=${MJPEGD_PLATFORM_TIMEOUT:-2400}
mkdir -p "$cache/logs"
work=$(mktemp -d)
matrix=$work/matrix
times=$work/times
# The rows' lock (scripts/in-root.sh --lock, row.sh): heavy steps shared, timing tests exclusive.
lock=$work/rows.lock
: >"$lock"
trap 'rm -rf "$work"' EXIT

total_passed=0 total_failed=0 total_skipped=0
t_start=$(date +%s)

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

# The lean rows' integration tests: every name must still be a test (a renamed or moved test
# would otherwise drop out of every row without a word).
unknown=""
for t in $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/tests/platforms/integration-tests"); do
	grep -rqs --include='*.py' "^def test_$t(" "$here/tests/integration" || unknown="$unknown $t"
done
if [ -n "$unknown" ]; then
	echo "FAIL  platforms: tests/platforms/integration-tests names no test in tests/integration/:$unknown"
	echo "platforms: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

all_steps="deps build unit integration asan deb"
# Each step's time in a row's log, from the "--- NAME: exit RC after S s" lines: "NAME TIME" lines.
step_times() { # LOG
	for st in root $all_steps; do
		sec=$(sed -n "s/^--- $st: exit [0-9]* after \([0-9]*\) s$/\1/p" "$1" | tail -1)
		[ -z "$sec" ] || echo "$st $(fmt_time "$sec")"
	done
}
# A line of the step-time table ("-": not run on this row).
times_line() { # ROW LOG TOTAL_SECONDS
	printf '%-17s' "$1"
	for st in root $all_steps; do
		t=$(step_times "$2" | sed -n "s/^$st //p")
		printf ' %-11s' "${t:--}"
	done
	printf ' %s\n' "$(fmt_time "$3")"
}

# Prepare: every row's root and packages made side by side (debootstrap and apt mostly wait on
# the network and the disk), so a cold run pays the slowest row, not their sum. Failures are
# left to the row's own steps below, which then find the cache as far as it got and report.
t_prep=$(date +%s)
n_rows=0
for row in $rows; do n_rows=$((n_rows + 1)); done
if { [ "$n_rows" -gt 1 ] && [ "${MJPEGD_PLATFORM_PREPARE:-1}" = 1 ]; } || [ $prepare_only = 1 ]; then
	for row in $rows; do
		(
			plog="$cache/logs/$row.prepare.log"
			"$here/scripts/platform-root.sh" "$row" "$cache/$row" >"$plog" 2>&1 || exit 0
			opt=""
			in_list "$row" "$full_rows" && opt=" --full"
			in_list "$row" "$deb_rows" && opt="$opt --deb"
			"$here/scripts/in-root.sh" --tree --timeout "$row_timeout" "$cache/$row" \
				"sh /root/mjpegd/tests/platforms/row.sh --deps-only$opt" >>"$plog" 2>&1 \
				</dev/null
		) &
	done
	wait
	echo "=== platforms: prepare (roots and packages, $n_rows rows side by side):" \
		"$(fmt_time $(($(date +%s) - t_prep)))"
fi
[ $prepare_only = 0 ] || exit 0

# One row: its root, its deps step (the host's network: a row whose prepare failed installs here),
# then every other step in a network namespace of its own (scripts/in-root.sh --no-net) holding
# the rows' lock as row.sh says. Prints the row's block (its "=== platforms: ROW" line, PASS, FAIL
# or SKIP and, on failure, the log's tail); leaves "PASSED FAILED SKIPPED" in $work/ROW.count,
# its matrix line in $work/ROW.matrix and its step-time line in $work/ROW.times.
run_row() { # ROW
	row=$1
	log="$cache/logs/$row.log"
	: >"$log"
	root="$cache/$row"
	t0=$(date +%s)
	echo "=== platforms: $row"
	"$here/scripts/platform-root.sh" "$row" "$root" >>"$log" 2>&1
	rc=$?
	t_root=$(($(date +%s) - t0))
	echo "--- root: exit $rc after $t_root s" >>"$log"
	if [ "$rc" -eq 3 ]; then
		reason=$(grep 'platform-root.sh' "$log" | tail -1)
		echo "SKIP  $row: archive not reachable: $reason"
		echo "0 0 1" >"$work/$row.count"
		times_line "$row" "$log" "$t_root" >"$work/$row.times"
		printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" - - SKIPPED "(archive unreachable)" \
			"$(fmt_time "$t_root")" >"$work/$row.matrix"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		tail -20 "$log"
		echo "FAIL  $row: making the root (log: $log)"
		echo "0 1 0" >"$work/$row.count"
		times_line "$row" "$log" "$t_root" >"$work/$row.times"
		printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" - - FAILED "(root)" \
			"$(fmt_time "$t_root")" >"$work/$row.matrix"
		return
	fi

	# The steps inside the root (tests/platforms/row.sh), each timed in the log.
	opts=""
	in_list "$row" "$full_rows" && opts="$opts --full"
	in_list "$row" "$asan_rows" && opts="$opts --asan"
	in_list "$row" "$deb_rows" && opts="$opts --deb"

	t1=$(date +%s)
	"$here/scripts/in-root.sh" --tree --timeout "$row_timeout" "$root" \
		"sh /root/mjpegd/tests/platforms/row.sh --deps-only$opts" >>"$log" 2>&1 </dev/null
	rc=$?
	left=$((row_timeout - ($(date +%s) - t1)))
	if [ "$rc" -eq 0 ] && [ "$left" -gt 0 ]; then
		"$here/scripts/in-root.sh" --no-net --lock "$lock" --timeout "$left" "$root" \
			"sh /root/mjpegd/tests/platforms/row.sh --no-deps$opts" >>"$log" 2>&1 </dev/null
		rc=$?
	elif [ "$rc" -eq 0 ]; then
		rc=124
	fi
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
	echo "$p $f 0" >"$work/$row.count"

	times_line "$row" "$log" $((t_root + t_tests)) >"$work/$row.times"
	steps_said=$(step_times "$log" | sed 's/^/ /; s/$/,/' | tr -d '\n')
	steps_said=${steps_said%,}
	# The time this row's steps waited for the lock (other rows' timing tests), when any.
	waited=$(sed -n 's/.*waited \([0-9][0-9]*\) s for MJPEGD_IT_LOCK.*/\1/p' "$log" |
		awk '{w += $1} END {print w + 0}')
	[ "$waited" -eq 0 ] || steps_said="$steps_said (of which $(fmt_time "$waited") waiting for other rows' timing tests)"

	if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
		result=PASSED
		echo "PASS  $row: libcamera $lc, gcc $gccv: $p passed in $(fmt_time $((t_root + t_tests))):$steps_said"
	else
		result=FAILED
		grep -E '^(FAIL|---)|error:|Error [0-9]' "$log" | tail -30
		echo "FAIL  $row: libcamera $lc, gcc $gccv: $p passed, $f failed, exit $rc after $(fmt_time $((t_root + t_tests))):$steps_said (log: $log)"
	fi
	printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" "$lc" "$gccv" "$result" \
		"$p passed, $f failed" "$(fmt_time "$t_root") + $(fmt_time "$t_tests")" >"$work/$row.matrix"
}

# The rows, MJPEGD_PLATFORM_JOBS at a time. One at a time: in the order given, each row's lines
# as they come. More: the MJPEGD_PLATFORM_FULL rows (the longest) start first, then the others
# in the order given, each in the next free place; each row's block is printed whole when the
# row ends (in the order they end), the matrix and the step times below keep the order given.
if [ "$row_jobs" -eq 1 ] || [ "$n_rows" -eq 1 ]; then
	for row in $rows; do run_row "$row"; done
else
	order=""
	for row in $rows; do in_list "$row" "$full_rows" && order="$order $row"; done
	for row in $rows; do in_list "$row" "$full_rows" || order="$order $row"; done
	echo "=== platforms: rows $row_jobs at a time:$order (each row's lines when it ends)"
	mkfifo "$work/done"
	exec 3<>"$work/done"
	running=0
	# shellcheck disable=SC2086
	set -- $order
	while [ $# -gt 0 ] || [ "$running" -gt 0 ]; do
		while [ $# -gt 0 ] && [ "$running" -lt "$row_jobs" ]; do
			(
				(run_row "$1") >"$work/$1.out" 2>&1 </dev/null
				echo "$1" >&3 # also when run_row stopped short: its row then counts as failed
			) &
			running=$((running + 1))
			shift
		done
		read -r ended <&3 || break
		cat "$work/$ended.out"
		running=$((running - 1))
	done
	exec 3<&-
fi
printf '%-17s %-20s %-8s %-9s %-22s %s\n' row libcamera gcc result tests time >"$matrix"
printf '%-17s' row >"$times"
for st in root $all_steps; do printf ' %-11s' "$st" >>"$times"; done
echo " total" >>"$times"
for row in $rows; do
	# shellcheck disable=SC2046
	set -- $(cat "$work/$row.count" 2>/dev/null || echo "0 1 0")
	total_passed=$((total_passed + $1))
	total_failed=$((total_failed + $2))
	total_skipped=$((total_skipped + $3))
	cat "$work/$row.matrix" >>"$matrix" 2>/dev/null ||
		printf '%-17s %-20s %-8s %-9s %-22s %s\n' "$row" - - FAILED "(run.sh)" - >>"$matrix"
	cat "$work/$row.times" >>"$times" 2>/dev/null
done

# The libcamera plugin across releases: the plugin one row built (against its libcamera) given to
# another row's daemon, which must keep running and say why it cannot load it
# (tests/integration/test_plugin.py, plugin_from_other_release). Pairs FROM:TO whose rows both ran
# (MJPEGD_PLATFORM_CROSS_PLUGIN; default Debian 12's 0.0.3 against trixie-backports' 0.7 and back).
cross_pairs=${MJPEGD_PLATFORM_CROSS_PLUGIN:-bookworm:trixie-backports trixie-backports:bookworm}
for pair in $cross_pairs; do
	from=${pair%%:*} to=${pair#*:}
	in_list "$from" "$rows" && in_list "$to" "$rows" || continue
	plugin=$cache/$from/root/mjpegd/build/mjpegd-libcamera.so
	log="$cache/logs/plugin-$from-in-$to.log"
	if [ ! -f "$plugin" ] || [ ! -x "$cache/$to/root/mjpegd/build/mjpegd-faults" ]; then
		echo "FAIL  plugin from $from in $to: no plugin built in $from or no daemon in $to"
		total_failed=$((total_failed + 1))
		continue
	fi
	t0=$(date +%s)
	install -D -m 0644 "$plugin" "$cache/$to/root/foreign-plugin/$from/mjpegd-libcamera.so"
	"$here/scripts/in-root.sh" --no-net --timeout 300 "$cache/$to" "cd /root/mjpegd &&
		MJPEGD_FOREIGN_PLUGIN=/root/foreign-plugin/$from/mjpegd-libcamera.so \
		MJPEGD_FOREIGN_FROM=$from MJPEGD=build/mjpegd MJPEGD_FAULTS=build/mjpegd-faults \
		tests/integration/run.sh --area plugin plugin_from_other_release" >"$log" 2>&1 </dev/null
	rc=$?
	t=$(($(date +%s) - t0))
	set -- $(count_log "$log")
	p=$1 f=$2
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1 # skipped: the test did not run
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	said=$(sed -n 's/^plugin from [^:]*: //p' "$log" | tail -1)
	if [ "$f" -eq 0 ]; then
		echo "PASS  plugin built in $from, loaded in $to: placeholder, reason, auto and test pattern in $(fmt_time $t): $said"
	else
		tail -30 "$log"
		echo "FAIL  plugin built in $from, loaded in $to (log: $log)"
	fi
	printf '%-17s %-20s %-8s %-9s %-22s %s\n' "plugin $from" "in $to" - \
		"$([ "$f" -eq 0 ] && echo PASSED || echo FAILED)" "$p passed, $f failed" \
		"$(fmt_time $t)" >>"$matrix"
done

echo "=== platforms: support matrix (time: root + install and tests)"
cat "$matrix"
echo "=== platforms: step times (all rows: $(fmt_time $(($(date +%s) - t_start))))"
cat "$times"
echo "platforms: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
