# Helpers for the guest tests (busybox ash). /init sources this file into every
# tests/vm/guest/NN-name.sh before running it, and for itself.
#
# Environment every guest test gets (set by /init; empty when the node is missing):
#   VIVID_CAP VIVID_OUT      vivid instance 0 capture / output   (vivid-000-vid-cap / -vid-out)
#   VIVID1_CAP VIVID1_OUT    vivid instance 1 (boot arg vivid.n_devs=2)
#   VICODEC_ENC VICODEC_DEC  vicodec stateful FWHT encoder / decoder (M2M)
#   VIM2M                    vim2m M2M node
#   VIMC_MEDIA               vimc media controller (/dev/mediaN, model "VIMC MDEV")
#   MJPEGD                   the daemon under test (/vm/bin/mjpegd; may be absent)
#   VM_TEST                  this test's name (file name without .sh)
#   VM_OUT                   a directory for this test's artifacts (copied to build/vm/logs/NAME.d)
#   VIVID1_CAP is dma-contig backed (boot arg vivid.allocators=0,1), VIVID_CAP vmalloc backed.
# The test's cwd is a fresh scratch dir; stdout+stderr go to its log. Exit 0 = pass, 77 = skipped
# (skip REASON).
# A "# vm-timeout: SECONDS" line in a test overrides the default per-test timeout (120 s); a
# "# vm-alone: REASON" line has tests/vm/run.sh run it when no other guest is running (a bound on
# gaps, latency or rates that a second guest on the host's cores would eat into).

# v4l_node NAME -> /dev/videoN (or v4l-subdevN, ...) whose /sys/class/video4linux/*/name is NAME.
v4l_node() {
	for _d in /sys/class/video4linux/*; do
		read -r _n <"$_d/name" 2>/dev/null || continue
		if [ "$_n" = "$1" ]; then
			echo "/dev/${_d##*/}"
			return 0
		fi
	done
	return 1
}

# media_node MODEL -> /dev/mediaN whose model is MODEL (e.g. "VIMC MDEV", "vivid").
media_node() {
	for _d in /sys/bus/media/devices/media*; do
		read -r _n <"$_d/model" 2>/dev/null || continue
		if [ "$_n" = "$1" ]; then
			echo "/dev/${_d##*/}"
			return 0
		fi
	done
	return 1
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# skip REASON: the test cannot run in this run (not a failure, never a pass); exit status 77.
skip() {
	echo "SKIP: $*"
	exit 77
}

say() {
	echo "== $*"
}

# lc07_use: the first step of a test of the libcamera 0.7.x userland (/lc07, tests/vm/bed/lc07.sh,
# a "# vm-needs: lc07" line in the test). Without /lc07: skip when the run left it out on purpose
# (archive unreachable, MJPEGD_VM_LC07=0), fail when preparing it failed (/vm/lc07.status says
# which). Then asserts that cam is the libcamera version /lc07 was made with (0.7.x, in
# LC07_VERSION; 0.7.1 from trixie-backports when this was written) and that cam and the daemon load
# libcamera.so.0.7 inside /lc07 (the daemon through its plugin), and puts /vm/lc07bin first in PATH (cam -> /lc07's cam) and
# MJPEGD=/vm/lc07bin/mjpegd (the daemon built in the trixie-backports root), both run through
# /vm/bin/lc07 (chroot /lc07).
lc07_use() {
	if [ ! -d /lc07 ]; then
		_st=$(cat /vm/lc07.status 2>/dev/null)
		case "$_st" in
		skip\ *) skip "libcamera 0.7 userland left out of this run: ${_st#skip }" ;;
		fail\ *) fail "libcamera 0.7 userland could not be prepared: ${_st#fail }" ;;
		*) fail "/lc07 is missing (/vm/lc07.status: '${_st:-none}')" ;;
		esac
	fi
	LC07_VERSION=$(cat /lc07/.vm/version)
	say "libcamera $LC07_VERSION userland (/lc07)"
	cat /lc07/VERSIONS
	case "$LC07_VERSION" in 0.7.*) ;; *) fail "/lc07 holds libcamera '$LC07_VERSION', not 0.7.x" ;; esac
	_v=$(lc07 /usr/bin/cam --version 2>&1)
	echo "cam --version: $_v"
	case "$_v" in
	*"libcamera version v$LC07_VERSION"*) ;;
	*) fail "/lc07's cam is not libcamera v$LC07_VERSION" ;;
	esac
	# The daemon links no libcamera: its plugin (at the path the daemon was built to load it
	# from, tests/vm/bed/lc07.sh) does.
	_l=$(lc07 /.vm/ld.so --list /vm/bin/mjpegd 2>&1) || fail "/lc07/vm/bin/mjpegd does not load: $_l"
	if echo "$_l" | grep -q 'libcamera\|libstdc++'; then
		fail "/lc07/vm/bin/mjpegd links libcamera or libstdc++ (its plugin should): $_l"
	fi
	for _b in /usr/bin/cam /root/mjpegd-vm.build/mjpegd-libcamera.so; do
		_l=$(lc07 /.vm/ld.so --list "$_b" 2>&1) || fail "/lc07$_b does not load: $_l"
		echo "$_b: $(echo "$_l" | grep 'libcamera')" | tr -s ' \t\n' ' '
		echo
		echo "$_l" | grep -q 'libcamera\.so\.0\.7 => /' || fail "/lc07$_b does not load libcamera.so.0.7"
	done
	_w=$(lc07 /.vm/busybox pwd)
	[ "$_w" = "$PWD" ] || fail "lc07 does not keep the working directory ($PWD, inside: $_w)"
	PATH=/vm/lc07bin:$PATH
	MJPEGD=/vm/lc07bin/mjpegd
	export PATH MJPEGD
}

# lc07_ran LOG...: the daemon that wrote each LOG opened its camera with /lc07's libcamera
# (its "libcamera vX.Y.Z: camera ..." line; after lc07_use).
lc07_ran() {
	for _f in "$@"; do
		grep -F -q "libcamera v$LC07_VERSION: camera" "$_f" ||
			fail "$_f: no 'libcamera v$LC07_VERSION: camera' line"
		grep -F -q "loaded (built against libcamera $LC07_VERSION, running v$LC07_VERSION)" "$_f" ||
			fail "$_f: the libcamera plugin built against $LC07_VERSION was not loaded"
	done
	echo "libcamera v$LC07_VERSION opened the camera (the daemon's log: $*)"
}

# die MESSAGE: for a test that runs one daemon ($pid, its log in $LOG, else $VM_OUT/mjpegd.log)
# and perhaps a stream watcher ($wpid): prints the daemon's log, kills both, fails the test.
# (tests/vm/guest/lib/faults.sh has its own, for the recovery tests.)
die() {
	echo "--- mjpegd log"
	cat "${LOG:-$VM_OUT/mjpegd.log}"
	[ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null
	[ -n "${pid:-}" ] && kill -KILL "$pid" 2>/dev/null
	fail "$@"
}

# --- standby (--standby-after): 70b, 71b, 99e ---------------------------------------------------
# For a test that runs one daemon ($pid) listening on 127.0.0.1:8000 with --standby-after 1.

# standby_dev_fds: the daemon's /dev/video* and /dev/media* fds (ls -l of /proc/$pid/fd; one a
# line, status 0 when there is one)
# shellcheck disable=SC2010 # ls -l prints each fd's target, which is what is looked for
standby_dev_fds() { ls -l "/proc/$pid/fd" | grep -E '/dev/(video|media)'; }

# standby_in: /status (written to st.json) says the daemon is in standby
standby_in() {
	timeout 5 wget -q -O st.json http://127.0.0.1:8000/status &&
		grep -q '"state": "standby", "entered"' st.json
}

# standby_wait WHAT: until /status says standby, a request every 2 s (a /status request counts as
# one, so they are spaced more than --standby-after apart); dies after 20 s ("no standby within
# 20 s (WHAT)")
standby_wait() {
	_n=0
	until sleep 2 && standby_in; do
		_n=$((_n + 1))
		[ "$_n" -lt 10 ] || die "no standby within 20 s ($1)"
	done
}

# standby_wakeups COUNT JPEG_HEAD WGET_SECONDS LABEL: COUNT times: wait for standby, no device fd
# open in it (the first time also: frames.captured stands still for 2 s), then a snapshot (bounded
# by WGET_SECONDS) wakes the daemon and must be a whole JPEG whose first bytes are JPEG_HEAD (hex)
# ending with EOI. Then /status counts COUNT standbys and no encode error, and the request-to-JPEG
# times are printed as p50/p95 (the guest's /proc/uptime: 10 ms steps; TCG, far slower than a Pi).
standby_wakeups() {
	_count=$1 _head=$2 _wt=$3 _label=$4
	_times=""
	_i=1
	while [ "$_i" -le "$_count" ]; do
		standby_wait "wake-up $_i"
		if standby_dev_fds >fds.txt; then
			cat fds.txt
			die "a device is open in standby (wake-up $_i)"
		fi
		if [ "$_i" = 1 ]; then
			grep '"standby"\|"state"' st.json
			_c1=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' st.json)
			sleep 2
			standby_in || die "standby left with no request"
			_c2=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' st.json)
			echo "frames.captured in standby: $_c1 → $_c2 over 2 s"
			[ "$_c1" = "$_c2" ] || die "frames captured in standby: $_c1 → $_c2"
		fi
		_t0=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
		timeout "$_wt" wget -q -O "snap$_i.jpg" http://127.0.0.1:8000/snapshot.jpg ||
			die "GET /snapshot.jpg in standby failed (wake-up $_i)"
		_t1=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
		[ "$(hexhead "snap$_i.jpg" $((${#_head} / 2)))" = "$_head" ] ||
			die "snapshot $_i does not start with $_head: $(hexhead "snap$_i.jpg" 10)"
		[ "$(tail -c 2 "snap$_i.jpg" | od -An -tx1 | tr -d ' \n')" = ffd9 ] ||
			die "snapshot $_i does not end with EOI"
		echo "wake-up $_i: $((_t1 - _t0)) ms, $(filesize "snap$_i.jpg") bytes"
		_times="$_times $((_t1 - _t0))"
		_i=$((_i + 1))
	done
	timeout 5 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status"
	cp status.json "$VM_OUT/"
	grep -q "\"entered\": $_count" status.json ||
		die "/status does not count $_count standbys: $(grep standby status.json)"
	grep -q '"encode_errors": 0' status.json || die "encode errors"
	echo "$_times" | tr ' ' '\n' | grep . | sort -n >times.txt
	_cnt=$(wc -l <times.txt)
	_p50=$(sed -n "$(((_cnt + 1) / 2))p" times.txt)
	_p95=$(sed -n "$(((_cnt * 95 + 99) / 100))p" times.txt)
	echo "standby wake-up ($_label): request to JPEG p50 $_p50 ms, p95 $_p95 ms over $_cnt (TCG)"
}

# --- the emulated Raspberry Pi JPEG encoder (tests/vm/drivers/bcm2835-emu) ---------------------------
# Not loaded at boot (mjpegd's --encoder auto would find it): a test loads it with emu_load,
# which unloads it again when the test's shell exits.
EMU_MOD=bcm2835_codec_emu
EMU_NAME=bcm2835-codec-encode_image
EMU_PARAMS=/sys/module/$EMU_MOD/parameters
EMU_DRV=/sys/bus/platform/drivers/bcm2835-codec

# emu_load [PARAM=VALUE...]: insmod /vm/modules/bcm2835_codec_emu.ko with the parameters (after
# unloading it if loaded) and set EMU_DEV to its node; rmmod at exit.
emu_load() {
	[ -e "/vm/modules/$EMU_MOD.ko" ] || fail "/vm/modules/$EMU_MOD.ko missing (tests/vm/bed/build-kernel.sh builds it)"
	grep -q "^$EMU_MOD " /proc/modules && emu_unload
	insmod "/vm/modules/$EMU_MOD.ko" "$@" || fail "insmod $EMU_MOD $* failed"
	retry 5 v4l_node "$EMU_NAME" || fail "no video4linux node named $EMU_NAME after insmod"
	EMU_DEV=$(v4l_node "$EMU_NAME")
	echo "loaded $EMU_MOD${*:+ $*}: $EMU_DEV"
	trap emu_unload EXIT
}

# emu_unload: rmmod (fails when a file of the device is still open)
emu_unload() {
	grep -q "^$EMU_MOD " /proc/modules || return 0
	rmmod "$EMU_MOD" || echo "emu_unload: rmmod $EMU_MOD failed"
}

# emu_param NAME VALUE: writes a module parameter
emu_param() {
	echo "$2" >"$EMU_PARAMS/$1" || fail "cannot write $EMU_PARAMS/$1"
	echo "$EMU_MOD.$1=$(cat "$EMU_PARAMS/$1")"
}

# emu_unbind / emu_bind: the platform driver lets go of / takes the device again
emu_unbind() {
	echo bcm2835-codec >"$EMU_DRV/unbind" || fail "unbind failed"
}
emu_bind() {
	echo bcm2835-codec >"$EMU_DRV/bind" || fail "bind failed"
	retry 5 v4l_node "$EMU_NAME" || fail "no $EMU_NAME node after bind"
	EMU_DEV=$(v4l_node "$EMU_NAME")
}

# kernel_clean SINCE_LINE: no oops, BUG, WARNING or lockdep splat in dmesg after line SINCE_LINE
kernel_clean() {
	dmesg | tail -n "+$(($1 + 1))" >kmsg.txt
	if grep -E 'BUG:|WARNING:|Oops|general protection|Call Trace|refcount_t|use-after-free' kmsg.txt; then
		fail "kernel trouble in dmesg (above)"
	fi
}

# retry SECONDS CMD... : run CMD every 0.2 s until it succeeds; non-zero after SECONDS.
retry() {
	_end=$(($(cut -d. -f1 /proc/uptime) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ] || return 1
		sleep 0.2
	done
}

# hexhead FILE N -> the first N bytes of FILE as lowercase hex, no spaces.
hexhead() {
	od -An -tx1 -N"$2" "$1" | tr -d ' \n'
}

# jpeg_dims FILE -> WxH from the first SOF0 in its first 4 KiB (the software encoder writes
# baseline JPEGs, headers first).
jpeg_dims() {
	od -An -tx1 -v -N 4096 "$1" | awk '
		function h(s) {
			return (index("0123456789abcdef", substr(s, 1, 1)) - 1) * 16 +
			       index("0123456789abcdef", substr(s, 2, 1)) - 1
		}
		{ for (i = 1; i <= NF; i++) b[n++] = $i }
		END {
			for (i = 0; i + 8 < n; i++)
				if (b[i] == "ff" && b[i + 1] == "c0") {
					printf "%dx%d\n", h(b[i + 7]) * 256 + h(b[i + 8]),
					       h(b[i + 5]) * 256 + h(b[i + 6])
					exit
				}
		}'
}

# filesize FILE -> size in bytes (0 when missing).
filesize() {
	if [ -e "$1" ]; then wc -c <"$1" | tr -d ' '; else echo 0; fi
}

# stop_pid PID [SECONDS] : SIGTERM, wait up to SECONDS (default 10) for exit, then SIGKILL.
# Sets STOP_RC to the exit status (137 after SIGKILL). PID must be a child of the calling
# shell, so call it directly, not in $(...).
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	_n=$((${2:-10} * 5))
	while [ "$_n" -gt 0 ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do
		sleep 0.2
		_n=$((_n - 1))
	done
	if [ "$_n" -eq 0 ]; then
		echo "stop_pid: $1 still running ${2:-10} s after SIGTERM: SIGKILL"
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1"
	# shellcheck disable=SC2034 # read by the caller
	STOP_RC=$?
	if [ "$STOP_RC" = 127 ]; then
		echo "stop_pid: $1 is not a child of this shell: no exit status (call stop_pid" \
			"directly, then read \$STOP_RC; \$(stop_pid ...) runs in a subshell)" >&2
	fi
}
