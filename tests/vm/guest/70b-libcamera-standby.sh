# vm-timeout: 300
# --standby-after with libcamera: vimc's 'Sensor B' through the libcamera plugin → software
# encoder. With no request for 1 s the daemon closes both: no
# /dev/video* or /dev/media* fd left (ls -l /proc/PID/fd), frames.captured stands still; each
# snapshot then reopens them (libcamera acquires, configures and starts the camera again; its
# first 5 frames are let go while auto exposure settles) and is answered with a whole JPEG.
# --source-timeout-ms 10000: the snapshot wait, since TCG takes seconds to start vimc. The time from request to JPEG is printed as p50/p95 over 10 wake-ups (the guest's
# /proc/uptime: 10 ms steps; TCG, so far slower than a Pi).
# (busybox wget -T segfaults: every wget is bounded with `timeout`.) 71b sources this body with
# libcamera 0.7.1 (STANDBY_LABEL names the userland in the output).

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"
LOG=$VM_OUT/mjpegd.log
STANDBY_LABEL=${STANDBY_LABEL:-libcamera vimc}
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
captured() { sed -n 's/.*"captured": \([0-9]*\).*/\1/p' "$1"; }
# shellcheck disable=SC2010 # ls -l prints each fd's target, which is what is looked for
dev_fds() { ls -l "/proc/$pid/fd" | grep -E '/dev/(video|media)'; }
in_standby() {
	timeout 5 wget -q -O st.json http://127.0.0.1:8000/status &&
		grep -q '"state": "standby", "entered"' st.json
}

say "$STANDBY_LABEL → software, 640x480@10, --standby-after 1"
"$MJPEGD" --source libcamera --encoder software --size 640x480 --fps 10 \
	--source-timeout-ms 10000 --standby-after 1 --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 60 timeout 5 wget -q -O first.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 30 s"
dev_fds >active-fds.txt
cat active-fds.txt
[ "$(wc -l <active-fds.txt)" -ge 1 ] || die "the camera is not open while active"

times=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	n=0
	# a /status request counts as one: wait 2 s (more than --standby-after) between them
	until sleep 2 && in_standby; do
		n=$((n + 1))
		[ "$n" -lt 10 ] || die "no standby within 20 s (wake-up $i)"
	done
	if dev_fds >fds.txt; then
		cat fds.txt
		die "a device is open in standby (wake-up $i)"
	fi
	if [ "$i" = 1 ]; then
		grep '"standby"\|"state"' st.json
		c1=$(captured st.json)
		sleep 2
		in_standby || die "standby left with no request"
		c2=$(captured st.json)
		echo "frames.captured in standby: $c1 → $c2 over 2 s"
		[ "$c1" = "$c2" ] || die "frames captured in standby: $c1 → $c2"
	fi
	t0=$(now_ms)
	timeout 30 wget -q -O "snap$i.jpg" http://127.0.0.1:8000/snapshot.jpg ||
		die "GET /snapshot.jpg in standby failed (wake-up $i)"
	t1=$(now_ms)
	[ "$(hexhead "snap$i.jpg" 2)" = ffd8 ] || die "snapshot $i is not a JPEG: $(hexhead "snap$i.jpg" 10)"
	[ "$(tail -c 2 "snap$i.jpg" | od -An -tx1 | tr -d ' \n')" = ffd9 ] ||
		die "snapshot $i does not end with EOI"
	echo "wake-up $i: $((t1 - t0)) ms, $(filesize "snap$i.jpg") bytes"
	times="$times $((t1 - t0))"
done
timeout 5 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status"
cp status.json "$VM_OUT/"
grep -q '"entered": 10' status.json || die "/status does not count 10 standbys: $(grep standby status.json)"
grep -q '"encode_errors": 0' status.json || die "encode errors"
echo "$times" | tr ' ' '\n' | grep . | sort -n >times.txt
cnt=$(wc -l <times.txt)
p50=$(sed -n "$(((cnt + 1) / 2))p" times.txt)
p95=$(sed -n "$(((cnt * 95 + 99) / 100))p" times.txt)
echo "standby wake-up ($STANDBY_LABEL → software, 640x480, 5 frames settling): request to JPEG p50 $p50 ms," \
	"p95 $p95 ms over $cnt (TCG)"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
echo "PASS"
