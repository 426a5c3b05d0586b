#!/bin/sh
# pi-check: what only a Raspberry Pi can confirm, measured in one command (`make pi-check`,
# docs/raspberry-pi.md, "Checking your Pi: make pi-check").
#
#   scripts/pi-check.sh [--mjpegd PATH] [--out DIR] [--source SPEC] [--encoder SPEC]
#                       [--sizes "640x480 1280x720 1920x1080"] [--seconds N] [-- MJPEGD_ARGS...]
#
# For each size it starts its own mjpegd (--source auto --encoder auto by default, --size WxH
# --fps 30, --listen 127.0.0.1:PORT, --config FILE holding "quality = 80"), waits for /status and
# the first live frame, and measures over a steady interval (--seconds, default 10): bytes copied
# per frame, CPU per frame (utime + stime of /proc/PID/stat), frames per second, dma-buf imports
# (after warm-up, and their growth while steady: 0 once every camera buffer has its OUTPUT slot).
# Then it changes the quality to 40 (the file rewritten, SIGHUP), which makes mjpegd reopen an
# M2M encoder (the software stand-in serving meanwhile), and reads the longest gap between live
# frames across that reopen (/status frames.max_gap_ms) and whether the new quality reached the
# JPEG (its first quantisation table changed). Each snapshot's SOF size is checked against the
# size the camera granted. Once: the Pi model, kernel, firmware, OS, libcamera, camera, encoder.
#
# Writes DIR/pi-check.json and DIR/pi-check.txt (a summary to paste into a bug report), each
# through a temporary name and mv; beside them each daemon's log and the two snapshots per size.
# Exit status: 0 every size passed, 1 one failed, 2 a setup error (no mjpegd, ports busy, bad
# options). POSIX sh: runs under busybox sh (the QEMU test bed's guest, tests/vm/guest/88-pi-check.sh)
# with busybox's wget, awk, sed, od; curl is used when present.

PROG=pi-check
MJPEGD=build/mjpegd
OUT=pi-check
SOURCE=auto
ENCODER=auto
SIZES="640x480 1280x720 1920x1080"
SECS=10
BASE_PORT=18480
Q1=80
Q2=40

usage() {
	sed -n '5,6p' "$0" | sed 's/^#  *//; s/^/usage: /' >&2
	exit 2
}
setup_error() {
	echo "$PROG: error: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--mjpegd) [ $# -ge 2 ] || usage; MJPEGD=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
	--source) [ $# -ge 2 ] || usage; SOURCE=$2; shift 2 ;;
	--encoder) [ $# -ge 2 ] || usage; ENCODER=$2; shift 2 ;;
	--sizes) [ $# -ge 2 ] || usage; SIZES=$2; shift 2 ;;
	--seconds) [ $# -ge 2 ] || usage; SECS=$2; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "$PROG: unknown argument '$1'" >&2; usage ;;
	esac
done
# "$@" now holds the extra mjpegd arguments.

case "$SECS" in '' | *[!0-9]*) setup_error "--seconds '$SECS': a whole number of seconds" ;; esac
[ "$SECS" -ge 2 ] || setup_error "--seconds $SECS: at least 2"
[ -n "$SIZES" ] || setup_error "--sizes is empty"
for s in $SIZES; do
	case "$s" in
	[1-9]*x[1-9]*) case "${s%x*}${s#*x}" in *[!0-9]*) setup_error "--sizes: '$s' is not WIDTHxHEIGHT" ;; esac ;;
	*) setup_error "--sizes: '$s' is not WIDTHxHEIGHT" ;;
	esac
done
case "$MJPEGD" in */*) ;; *) MJPEGD=./$MJPEGD ;; esac
[ -e "$MJPEGD" ] || setup_error "no mjpegd binary at $MJPEGD (build it with 'make', or give --mjpegd PATH)"
[ -x "$MJPEGD" ] || setup_error "$MJPEGD is not executable"
[ -r /proc/self/stat ] || setup_error "/proc is not mounted"
mkdir -p "$OUT" || setup_error "cannot create $OUT"
[ -w "$OUT" ] || setup_error "cannot write to $OUT"

# --- tools -------------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
	HTTP=curl
elif command -v wget >/dev/null 2>&1; then
	HTTP=wget
	WGET_ARGS=""
	wget --version 2>/dev/null | grep -q 'GNU Wget' && WGET_ARGS="-t 1 -T 10"
	command -v timeout >/dev/null 2>&1 || setup_error "wget without curl needs 'timeout'"
else
	setup_error "neither curl nor wget is installed"
fi
for t in awk sed grep od; do
	command -v "$t" >/dev/null 2>&1 || setup_error "'$t' is missing"
done
HZ=$(getconf CLK_TCK 2>/dev/null)
case "$HZ" in '' | *[!0-9]* | 0) HZ=100 ;; esac

# fget URL FILE: the body into FILE; non-zero on any failure or HTTP error, within 10 s.
fget() {
	rm -f "$2"
	if [ "$HTTP" = curl ]; then
		curl -s -f -m 10 -o "$2" "$1"
	else
		# shellcheck disable=SC2086
		timeout 10 wget -q $WGET_ARGS -O "$2" "$1" 2>/dev/null
	fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pi-check.XXXXXX") || setup_error "mktemp failed"
DPID=""

# stop_daemon: SIGTERM, up to 15 s (an M2M teardown may wait 2 s per queue on a Pi), then
# SIGKILL; STOP_RC is its exit status.
stop_daemon() {
	STOP_RC=""
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null
	n=75
	while [ $n -gt 0 ] && alive "$DPID"; do
		sleep 0.2
		n=$((n - 1))
	done
	if [ $n -eq 0 ]; then
		echo "$PROG: mjpegd (pid $DPID) still running 15 s after SIGTERM: SIGKILL" >&2
		kill -KILL "$DPID" 2>/dev/null
	fi
	wait "$DPID" 2>/dev/null
	STOP_RC=$?
	DPID=""
}
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	stop_daemon
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# alive PID: running (not gone, not a zombie waiting for us)
alive() {
	[ -d "/proc/$1" ] || return 1
	! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}
upper() { case "$1" in pass) echo PASS ;; fail) echo FAIL ;; *) echo "$1" ;; esac; }
now() { cut -d' ' -f1 /proc/uptime; }
# until_t T: true while the uptime clock is below T
until_t() { awk -v a="$(now)" -v b="$1" 'BEGIN { exit !(a < b) }'; }
addt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
# jnum FILE KEY: the first number after "KEY": in /status
jnum() { sed -n "s/.*\"$2\": \(-\{0,1\}[0-9][0-9.]*\).*/\1/p" "$1" 2>/dev/null | head -n1; }
# jstr FILE KEY: a top-level string of /status
jstr() { sed -n "s/^  \"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" "$1" 2>/dev/null | head -n1; }
# jbool FILE KEY: true or false
jbool() { sed -n -E "s/.*\"$2\": (true|false).*/\1/p" "$1" 2>/dev/null | head -n1; }
# js VALUE: a JSON string (null when empty)
js() {
	if [ -z "$1" ]; then
		printf 'null'
	else
		printf '%s' "$1" | awk 'BEGIN { ORS = "" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, " ");
			o = o (NR > 1 ? " " : "") $0 } END { printf "\"%s\"", o }'
	fi
}
# jn VALUE: a JSON number (null when empty)
jn() { if [ -z "$1" ]; then printf 'null'; else printf '%s' "$1"; fi; }
# ticks PID: utime + stime in clock ticks
ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
# log_tail LOG: the daemon's last 20 lines, to standard error
log_tail() {
	echo "--- the last 20 lines of $1:" >&2
	tail -n 20 "$1" >&2
	echo "---" >&2
}

# jpeg_info FILE -> "sof=WxH app=Exif|JFIF|- dqt0=HEX dc=N" from the markers before SOS
jpeg_info() {
	od -An -tx1 -v -N 262144 "$1" 2>/dev/null | awk '
	function hv(s) { return (index("0123456789abcdef", substr(s, 1, 1)) - 1) * 16 + index("0123456789abcdef", substr(s, 2, 1)) - 1 }
	function done() { finished = 1; printf "sof=%s app=%s dqt0=%s dc=%s\n", sof, app, dqt == "" ? "-" : dqt, dc; exit }
	BEGIN { pos = 0; st = 0; sof = "-"; app = "-"; dqt = ""; dc = "-"; ndqt = 0 }
	{
		for (i = 1; i <= NF; i++) {
			b = $i
			if (pos < 2) {
				if ((pos == 0 && b != "ff") || (pos == 1 && b != "d8")) { finished = 1; print "notjpeg"; exit }
				pos++; continue
			}
			if (st == 0) { if (b != "ff") done(); st = 1; continue }
			if (st == 1) {
				if (b == "ff") continue
				m = b
				if (m == "da" || m == "d9") done()
				if (m == "01" || (m >= "d0" && m <= "d7")) { st = 0; continue }
				st = 2; continue
			}
			if (st == 2) { lh = hv(b); st = 3; continue }
			if (st == 3) {
				len = lh * 256 + hv(b) - 2; k = 0; body = ""; tlen = 0
				st = len > 0 ? 4 : 0; continue
			}
			# st == 4: segment body, k counts from 1
			k++
			if (m == "db" && ndqt == 0) {
				if (k == 1) tlen = (hv(b) >= 16) ? 129 : 65
				if (k <= tlen) body = body b
				if (k == 2) dc = hv(b)
				if (k == 3 && tlen == 129) dc = dc * 256 + hv(b)
			}
			if (m == "c0" || m == "c1" || m == "c2") {
				if (k == 2) hh = hv(b)
				if (k == 3) hh = hh * 256 + hv(b)
				if (k == 4) ww = hv(b)
				if (k == 5) { ww = ww * 256 + hv(b); sof = ww "x" hh }
			}
			if ((m == "e0" || m == "e1") && app == "-" && k <= 4) {
				aid = aid sprintf("%c", hv(b))
				if (k == 4) { app = aid; aid = "" }
			}
			if (k >= len) {
				if (m == "db" && ndqt == 0) { dqt = body; ndqt = 1 }
				st = 0
			}
		}
	}
	END { if (!finished && pos >= 2) done() }'
}

# --- system facts ------------------------------------------------------------------------------
if [ -r /proc/device-tree/model ]; then
	PI_MODEL=$(tr -d '\000' </proc/device-tree/model)
else
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n1)
	[ -n "$cpu" ] || cpu=$(sed -n 's/^Hardware[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n1)
	PI_MODEL="not a Raspberry Pi (${cpu:-$(uname -m)})"
fi
KERNEL="$(uname -r) $(uname -m)"
if command -v vcgencmd >/dev/null 2>&1; then
	FIRMWARE=$(vcgencmd version 2>&1 | grep -v -i copyright | tr -s ' \t\n' ' ' | sed 's/^ //; s/ $//')
	[ -n "$FIRMWARE" ] || FIRMWARE="unknown (vcgencmd version said nothing)"
else
	FIRMWARE="unknown (no vcgencmd)"
fi
OS=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null | head -n1)
OS=${OS:-unknown (no /etc/os-release)}
CMA=$(awk '/^CmaTotal:/ { t = $2 } /^CmaFree:/ { f = $2 } END { if (t != "") printf "CmaTotal %d kB, CmaFree %d kB", t, f }' /proc/meminfo 2>/dev/null)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
EXTRA=""
for a in "$@"; do EXTRA="$EXTRA${EXTRA:+ }$a"; done
VERSION=""
LIBCAMERA=""
CAMERA=""
ENC_NODE=""
ENC_CARD=""

SIZES_JSON=$TMP/sizes.json
SUMMARY=$TMP/summary.txt
: >"$SIZES_JSON"
: >"$SUMMARY"
N_PASS=0
N_FAIL=0

# --- one size ----------------------------------------------------------------------------------
# run_size INDEX WxH [MJPEGD_ARGS...]: appends one object to $SIZES_JSON and lines to $SUMMARY
run_size() {
	idx=$1
	size=$2
	shift 2
	conf=$TMP/quality-$size.conf
	log=$OUT/mjpegd-$size.log
	snap1=$OUT/snapshot-$size-q$Q1.jpg
	snap2=$OUT/snapshot-$size-q$Q2.jpg
	rm -f "$snap1" "$snap2"
	printf 'quality = %s\n' "$Q1" >"$conf"
	why=""
	fail=0
	st=$TMP/status.json
	echo "$PROG: $size: starting mjpegd --source $SOURCE --encoder $ENCODER --size $size --fps 30${EXTRA:+ $EXTRA}" >&2

	# start, on a free port: one taken by another program makes mjpegd exit with "address
	# already in use"; the next port is tried, 5 in all
	port=$((BASE_PORT + idx))
	try=0
	while :; do
		# --on-demand off: the steady interval measures encoding with no client
		"$MJPEGD" --source "$SOURCE" --encoder "$ENCODER" --size "$size" --fps 30 \
			--on-demand off --listen "127.0.0.1:$port" --config "$conf" "$@" >"$log" 2>&1 &
		DPID=$!
		t_start=$(now)
		deadline=$(addt "$t_start" 30)
		up=0
		while until_t "$deadline"; do
			if ! alive "$DPID"; then
				break
			fi
			if fget "http://127.0.0.1:$port/status" "$st" && grep -q '"version"' "$st"; then
				up=1
				break
			fi
			sleep 0.3
		done
		if [ $up = 1 ]; then
			sleep 0.3
			alive "$DPID" && ! grep -q 'already in use' "$log" && break
		fi
		if ! alive "$DPID"; then
			wait "$DPID" 2>/dev/null
			rc=$?
			DPID=""
			if grep -q 'already in use' "$log"; then
				try=$((try + 1))
				[ $try -lt 5 ] || setup_error "port busy: 127.0.0.1:$((BASE_PORT + idx)) and the next 4 ports tried are in use"
				echo "$PROG: $size: 127.0.0.1:$port is in use; trying $((port + 10))" >&2
				port=$((port + 10))
				continue
			fi
			echo "$PROG: error: $size: mjpegd exited early with status $rc" >&2
			log_tail "$log"
			[ "$rc" = 2 ] && setup_error "mjpegd refused its options (status 2; the log above says which)"
			why="mjpegd exited early with status $rc: $(grep -v '^ *$' "$log" | tail -n 1)"
		else
			echo "$PROG: error: $size: no answer on /status within 30 s" >&2
			log_tail "$log"
			stop_daemon
			why="no answer on /status within 30 s"
		fi
		size_failed_early "$size" "$why"
		return
	done

	# the first live frame, at most 30 s after the start
	deadline=$(addt "$t_start" 30)
	live=0
	while until_t "$deadline" && alive "$DPID"; do
		if fget "http://127.0.0.1:$port/status" "$st"; then
			e=$(jnum "$st" encoded)
			if [ "${e:-0}" -gt 0 ] && [ "$(jbool "$st" placeholder)" = false ]; then
				live=1
				break
			fi
		fi
		sleep 0.3
	done
	if [ $live = 0 ]; then
		if alive "$DPID"; then
			echo "$PROG: error: $size: no frame within 30 s" >&2
			why="no frame within 30 s"
		else
			echo "$PROG: error: $size: mjpegd exited early" >&2
			why="mjpegd exited early: $(grep -v '^ *$' "$log" | tail -n 1)"
		fi
		log_tail "$log"
		stop_daemon
		size_failed_early "$size" "$why"
		return
	fi
	t_live=$(now)

	# warm-up: every camera buffer gets its encoder slot (dma-buf imports stop growing)
	sleep 3
	fget "http://127.0.0.1:$port/status" "$st"
	i0=$(jnum "$st" dmabuf_imports)
	n=0
	while [ $n -lt 5 ]; do
		sleep 1
		fget "http://127.0.0.1:$port/status" "$st"
		i1=$(jnum "$st" dmabuf_imports)
		[ "$i1" = "$i0" ] && break
		i0=$i1
		n=$((n + 1))
	done

	# the steady interval
	s0=$TMP/s0.json
	s1=$TMP/s1.json
	k0=$(ticks "$DPID")
	t0=$(now)
	fget "http://127.0.0.1:$port/status" "$s0" || why="${why}${why:+; }/status failed"
	sleep "$SECS"
	k1=$(ticks "$DPID")
	t1=$(now)
	fget "http://127.0.0.1:$port/status" "$s1" || why="${why}${why:+; }/status failed"
	# the gap window (10 s) must hold only steady frames when the quality changes
	quiet=$(addt "$t_live" 11)
	while until_t "$quiet"; do sleep 0.5; done

	version=$(jstr "$s1" version)
	source_d=$(jstr "$s1" source)
	enc_before=$(jstr "$s1" encoder)
	granted="$(jnum "$s1" width)x$(jnum "$s1" height)"
	e0=$(jnum "$s0" encoded)
	e1=$(jnum "$s1" encoded)
	c0=$(jnum "$s0" bytes_copied)
	c1=$(jnum "$s1" bytes_copied)
	imp0=$(jnum "$s0" dmabuf_imports)
	imp1=$(jnum "$s1" dmabuf_imports)
	bpf_status=$(jnum "$s1" bytes_copied_per_frame)
	steady_gap=$(jnum "$s1" max_gap_ms)
	nums=$(awk -v e0="$e0" -v e1="$e1" -v c0="$c0" -v c1="$c1" -v k0="$k0" -v k1="$k1" \
		-v t0="$t0" -v t1="$t1" -v hz="$HZ" 'BEGIN {
		de = e1 - e0
		if (de > 0) printf "%d %d %.1f %d\n", de, (c1 - c0) / de + 0.5, (t1 > t0 ? de / (t1 - t0) : 0), (k1 - k0) * 1000000 / hz / de + 0.5
		else printf "0 - - -\n" }')
	read -r dframes bpf fps cpu <<EOF
$nums
EOF
	[ "$bpf" = - ] && bpf=""
	[ "$fps" = - ] && fps=""
	[ "$cpu" = - ] && cpu=""
	growth=""
	[ -n "$imp0" ] && [ -n "$imp1" ] && growth=$((imp1 - imp0))
	if [ "$dframes" = 0 ]; then
		fail=1
		why="${why}${why:+; }no frame encoded during the ${SECS} s interval"
	fi
	case "$enc_before" in
	m2m*) kind=m2m ;;
	software*) kind=software ;;
	passthrough*) kind=passthrough ;;
	*) kind=other ;;
	esac
	copy_reason=$(printf '%s' "$enc_before" | sed -n 's/.*(copy: \(.*\))$/\1/p')

	# snapshot at quality 80
	fget "http://127.0.0.1:$port/snapshot.jpg" "$snap1" || why="${why}${why:+; }GET /snapshot.jpg failed"
	info1=$(jpeg_info "$snap1")

	# the quality change: the file rewritten, SIGHUP; an M2M encoder is reopened for it
	printf 'quality = %s\n' "$Q2" >"$conf"
	kill -HUP "$DPID"
	t_hup=$(now)
	sleep 3
	s2=$TMP/s2.json
	fget "http://127.0.0.1:$port/status" "$s2"
	gap=$(jnum "$s2" max_gap_ms)
	if [ $kind = m2m ]; then
		# the JPEG to compare must come from the M2M encoder again, not from the stand-in
		deadline=$(addt "$t_hup" 13)
		back=0
		while :; do
			case "$(jstr "$s2" encoder)" in
			m2m*) [ "$(jbool "$s2" software_fallback)" = false ] && { back=1; break; } ;;
			esac
			until_t "$deadline" || break
			sleep 0.5
			fget "http://127.0.0.1:$port/status" "$s2"
		done
		g2=$(jnum "$s2" max_gap_ms)
		gap=$(awk -v a="$gap" -v b="$g2" 'BEGIN { if (a == "" || b + 0 > a + 0) a = b; print a }')
		if [ $back = 0 ]; then
			fail=1
			why="${why}${why:+; }the M2M encoder was not back 13 s after the quality change ($(jstr "$s2" encoder))"
		fi
		sleep 0.5
	else
		sleep 0.5
	fi
	enc_after=$(jstr "$s2" encoder)
	fget "http://127.0.0.1:$port/snapshot.jpg" "$snap2" || why="${why}${why:+; }GET /snapshot.jpg failed after the quality change"
	info2=$(jpeg_info "$snap2")
	reopened=false
	grep -q "encoder: reopening for JPEG quality $Q2" "$log" && reopened=true

	s3=$TMP/s3.json
	fget "http://127.0.0.1:$port/status" "$s3" || cp "$s2" "$s3"
	cut=$(jnum "$s3" cut)
	errs=$(jnum "$s3" encode_errors)
	fallback=$(jbool "$s3" software_fallback)
	stop_daemon
	stop_rc=$STOP_RC

	# facts for the whole run, from the first size that had them
	[ -n "$VERSION" ] || VERSION=$version
	[ -n "$CAMERA" ] || CAMERA=$source_d
	if [ -z "$LIBCAMERA" ]; then
		lc=$(grep -m1 'libcamera v[0-9][^:]*: camera ' "$log" | sed 's/.*libcamera \(v[^:]*\): camera \(.*\)/\1: camera \2/')
		[ -n "$lc" ] && LIBCAMERA=$lc
	fi
	if [ -z "$ENC_NODE" ] && [ $kind = m2m ]; then
		ENC_NODE=$(echo "$enc_before" | awk '{ print $2 }')
		ENC_CARD=$(echo "$enc_before" | awk '{ print $3 }')
	fi

	# the JPEGs
	sof1=$(echo "$info1" | sed -n 's/.*sof=\([^ ]*\).*/\1/p')
	sof2=$(echo "$info2" | sed -n 's/.*sof=\([^ ]*\).*/\1/p')
	app1=$(echo "$info1" | sed -n 's/.*app=\([^ ]*\).*/\1/p')
	app2=$(echo "$info2" | sed -n 's/.*app=\([^ ]*\).*/\1/p')
	dqt1=$(echo "$info1" | sed -n 's/.*dqt0=\([^ ]*\).*/\1/p')
	dqt2=$(echo "$info2" | sed -n 's/.*dqt0=\([^ ]*\).*/\1/p')
	dc1=$(echo "$info1" | sed -n 's/.*dc=\([^ ]*\).*/\1/p')
	dc2=$(echo "$info2" | sed -n 's/.*dc=\([^ ]*\).*/\1/p')
	[ "$dc1" = - ] && dc1=""
	[ "$dc2" = - ] && dc2=""
	quality=null
	if [ $kind = passthrough ]; then
		quality=null # the camera's own JPEG: mjpegd cannot change its quality
	elif [ -z "$dqt1" ] || [ "$dqt1" = - ] || [ -z "$dqt2" ] || [ "$dqt2" = - ]; then
		fail=1
		why="${why}${why:+; }a snapshot has no quantisation table (not a JPEG?)"
	elif [ "$dqt1" != "$dqt2" ]; then
		quality=true
	else
		quality=false
		fail=1
		why="${why}${why:+; }quality $Q1 → $Q2 did not reach the JPEG (same quantisation table)"
	fi
	if [ "$sof1" != "$granted" ] || [ "$sof2" != "$granted" ]; then
		fail=1
		why="${why}${why:+; }the JPEG is ${sof1:-unreadable}${sof2:+ / $sof2}, /status says $granted"
	fi
	[ "$granted" != "$size" ] && why="${why}${why:+; }the camera granted $granted for $size"
	if [ "${cut:-0}" != 0 ]; then
		fail=1
		why="${why}${why:+; }$cut cut JPEGs (frames.cut)"
	fi
	if [ "${errs:-0}" != 0 ]; then
		fail=1
		why="${why}${why:+; }$errs encode errors"
	fi
	if [ $kind = m2m ]; then
		if [ -z "$gap" ] || ! awk -v g="$gap" 'BEGIN { exit !(g < 1000) }'; then
			fail=1
			why="${why}${why:+; }clients waited ${gap:-?} ms for a frame across the encoder reopen (limit 1000)"
		fi
		[ "$reopened" = true ] || why="${why}${why:+; }no 'encoder: reopening for JPEG quality $Q2' in the log"
		[ "$fallback" = false ] || why="${why}${why:+; }the software stand-in still serves"
	fi
	[ -n "$app1" ] && [ -n "$app2" ] && [ "$app1" != "$app2" ] &&
		why="${why}${why:+; }the JPEG's header changed from $app1 to $app2 (another encoder made the second)"
	[ -n "$growth" ] && [ "$growth" != 0 ] &&
		why="${why}${why:+; }dma-buf re-imports while steady: $growth (every frame re-imported into the VPU?)"
	case "$SOURCE:$source_d" in
	auto:testpattern*)
		fail=1
		why="${why}${why:+; }no camera: the test pattern was served (is mjpegd.service or an rpicam-* app holding the camera?)"
		;;
	esac
	if [ "$stop_rc" != 0 ]; then
		fail=1
		why="${why}${why:+; }mjpegd exited with status $stop_rc on SIGTERM"
	fi
	verdict=pass
	[ $fail = 0 ] || verdict=fail
	record_size "$size" "$verdict" "$why"

	# the summary's lines for this size
	if [ -z "$bpf" ]; then
		copy_txt="bytes copied: unknown"
	elif [ "$bpf" = 0 ]; then
		copy_txt="0 bytes copied"
	else
		copy_txt="copies $bpf bytes per frame: ${copy_reason:-the encoder copies (${enc_before})}"
	fi
	case "$quality" in
	true) q_txt="quality $Q1→$Q2 reached the JPEG${dc1:+ (luma DC quantiser $dc1→$dc2)}" ;;
	false) q_txt="quality $Q1→$Q2 did NOT reach the JPEG" ;;
	*) q_txt="quality: not applicable ($kind)" ;;
	esac
	{
		echo "$size: $(upper "$verdict")  $source_d → $enc_before${granted:+, granted $granted}"
		echo "  $copy_txt; CPU ${cpu:-?} µs/frame at ${fps:-?} fps; dma-buf imports ${imp0:-?} (+${growth:-?} while steady); reopen gap ${gap:-?} ms; $q_txt; cut ${cut:-?}, errors ${errs:-?}"
		[ -n "$why" ] && echo "  why: $why"
	} >>"$SUMMARY"
	echo "$PROG: $size: $verdict${why:+ ($why)}" >&2
}

# record_size WxH VERDICT WHY: the JSON object of one size (the measured values in variables)
record_size() {
	[ -s "$SIZES_JSON" ] && printf ',\n' >>"$SIZES_JSON"
	{
		printf '    {"size": %s, "source": %s, "encoder": %s, "encoder_after_reopen": %s,\n' \
			"$(js "$1")" "$(js "$source_d")" "$(js "$enc_before")" "$(js "$enc_after")"
		printf '     "granted": %s, "jpeg_size": %s, "jpeg_size_after_reopen": %s, "jpeg_header": %s,\n' \
			"$(js "$granted")" "$(js "$sof1")" "$(js "$sof2")" "$(js "$app1")"
		printf '     "bytes_copied_per_frame": %s, "bytes_copied_per_frame_status": %s, "copy_reason": %s,\n' \
			"$(jn "$bpf")" "$(jn "$bpf_status")" "$(js "$copy_reason")"
		printf '     "cpu_us_per_frame": %s, "fps": %s, "frames_in_interval": %s, "interval_s": %s,\n' \
			"$(jn "$cpu")" "$(jn "$fps")" "$(jn "$dframes")" "$SECS"
		printf '     "dmabuf_imports": %s, "dmabuf_imports_growth": %s,\n' "$(jn "$imp0")" "$(jn "$growth")"
		printf '     "steady_max_gap_ms": %s, "reopened_for_quality": %s, "reopen_gap_ms": %s,\n' \
			"$(jn "$steady_gap")" "$reopened" "$(jn "$gap")"
		printf '     "quality_from": %s, "quality_to": %s, "quality_reached_jpeg": %s, "luma_dc_quantiser": [%s, %s],\n' \
			"$Q1" "$Q2" "$quality" "$(jn "$dc1")" "$(jn "$dc2")"
		printf '     "frames_cut": %s, "encode_errors": %s, "software_fallback": %s, "exit_status": %s,\n' \
			"$(jn "$cut")" "$(jn "$errs")" "$(jn "$fallback")" "$(jn "$stop_rc")"
		printf '     "verdict": "%s", "why": %s}' "$2" "$(js "$3")"
	} >>"$SIZES_JSON"
	if [ "$2" = pass ]; then N_PASS=$((N_PASS + 1)); else N_FAIL=$((N_FAIL + 1)); fi
}

# size_failed_early WxH WHY: a size that never got to measuring
size_failed_early() {
	source_d=""
	enc_before=""
	enc_after=""
	granted=""
	sof1=""
	sof2=""
	app1=""
	bpf=""
	bpf_status=""
	copy_reason=""
	cpu=""
	fps=""
	dframes=""
	imp0=""
	growth=""
	steady_gap=""
	reopened=false
	gap=""
	quality=null
	dc1=""
	dc2=""
	cut=""
	errs=""
	fallback=""
	stop_rc=""
	record_size "$1" fail "$2"
	echo "$1: FAIL  $2 (log: $OUT/mjpegd-$1.log)" >>"$SUMMARY"
}

others=$(pidof mjpegd 2>/dev/null)
[ -n "$others" ] && echo "$PROG: warning: another mjpegd is running (pid $others): it may hold the camera (sudo systemctl stop mjpegd)" >&2
i=0
for size in $SIZES; do
	run_size "$i" "$size" "$@"
	i=$((i + 1))
done

# --- the files ---------------------------------------------------------------------------------
if [ "$N_FAIL" = 0 ]; then VERDICT=pass; else VERDICT=fail; fi
{
	printf '{\n  "pi_check": 1, "started": %s, "mjpegd": %s, "mjpegd_path": %s,\n' \
		"$(js "$STARTED")" "$(js "$VERSION")" "$(js "$MJPEGD")"
	printf '  "args": {"source": %s, "encoder": %s, "fps": 30, "seconds": %s, "extra": %s},\n' \
		"$(js "$SOURCE")" "$(js "$ENCODER")" "$SECS" "$(js "$EXTRA")"
	printf '  "system": {"model": %s, "kernel": %s, "firmware": %s, "os": %s,\n' \
		"$(js "$PI_MODEL")" "$(js "$KERNEL")" "$(js "$FIRMWARE")" "$(js "$OS")"
	printf '    "libcamera": %s, "camera": %s, "encoder_node": %s, "encoder_card": %s, "cma": %s, "clk_tck": %s},\n' \
		"$(js "${LIBCAMERA:-not used}")" "$(js "$CAMERA")" "$(js "$ENC_NODE")" "$(js "$ENC_CARD")" "$(js "$CMA")" "$HZ"
	printf '  "sizes": [\n'
	cat "$SIZES_JSON"
	printf '\n  ],\n  "passed": %s, "failed": %s, "verdict": "%s"\n}\n' "$N_PASS" "$N_FAIL" "$VERDICT"
} >"$OUT/.pi-check.json.tmp" && mv "$OUT/.pi-check.json.tmp" "$OUT/pi-check.json"

{
	echo "mjpegd pi-check: $(upper "$VERDICT") ($N_PASS of $((N_PASS + N_FAIL)) sizes passed) ${STARTED}"
	echo "mjpegd ${VERSION:-?} on: $PI_MODEL"
	echo "kernel $KERNEL; firmware: $FIRMWARE"
	echo "OS: $OS; libcamera: ${LIBCAMERA:-not used}${CMA:+; $CMA}"
	if [ -n "$ENC_NODE" ]; then enc_txt="$ENC_NODE $ENC_CARD"; else enc_txt="no M2M encoder used"; fi
	echo "camera: ${CAMERA:-?}; encoder: $enc_txt"
	echo "args: --source $SOURCE --encoder $ENCODER --fps 30${EXTRA:+ $EXTRA}; ${SECS} s per size"
	cat "$SUMMARY"
} >"$OUT/.pi-check.txt.tmp" && mv "$OUT/.pi-check.txt.tmp" "$OUT/pi-check.txt"

cat "$OUT/pi-check.txt"
echo "$PROG: wrote $OUT/pi-check.json and $OUT/pi-check.txt (attach the JSON to a bug report)" >&2
[ "$VERDICT" = pass ] && exit 0
exit 1
