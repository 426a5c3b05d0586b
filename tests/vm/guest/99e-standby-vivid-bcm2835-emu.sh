# vm-timeout: 240
# --standby-after on the Pi's USB path: vivid (multi-planar, dma-contig) → the emulated
# bcm2835-codec encoder (dma-buf import). With no request for 1 s the daemon closes both: no
# /dev/video* or /dev/media* fd left (ls -l /proc/PID/fd), frames.captured stands still; each
# snapshot then reopens them and is answered with a whole JPEG of the emulated encoder (its Exif
# header). The time from request to JPEG is printed as p50/p95 over 12 wake-ups (the guest's
# /proc/uptime: 10 ms steps; TCG, so far slower than a Pi).
# Then vivid is unbound in standby (unplugged): a snapshot gets the "no signal" picture (or 503
# after the snapshot wait), and once vivid is bound again one is answered from the camera found
# again by its /dev/v4l/by-path link, which the test keeps as udev would (removed at the unplug,
# made again to the new node at the re-plug: the node number may change).
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
emu_load
LOG=$VM_OUT/mjpegd.log
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
captured() { sed -n 's/.*"captured": \([0-9]*\).*/\1/p' "$1"; }
# shellcheck disable=SC2010 # ls -l prints each fd's target, which is what is looked for
dev_fds() { ls -l "/proc/$pid/fd" | grep -E '/dev/(video|media)'; }
in_standby() {
	timeout 5 wget -q -O st.json http://127.0.0.1:8000/status &&
		grep -q '"state": "standby", "entered"' st.json
}

# the camera's stable name, as udev makes it
CAM=/dev/v4l/by-path/platform-vivid.0-video-index1
mkdir -p /dev/v4l/by-path
ln -sfn "../../${VIVID1_CAP#/dev/}" "$CAM"
say "v4l2:$CAM ($VIVID1_CAP) → m2m:$EMU_DEV, 640x480@10, --standby-after 1"
"$MJPEGD" --source "v4l2:$CAM" --encoder "m2m:$EMU_DEV" --size 640x480 --fps 10 \
	--standby-after 1 --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 30 timeout 5 wget -q -O first.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 30 s"
dev_fds >active-fds.txt
cat active-fds.txt
[ "$(wc -l <active-fds.txt)" -ge 2 ] || die "the camera and the encoder are not open while active"

times=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
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
	timeout 20 wget -q -O "snap$i.jpg" http://127.0.0.1:8000/snapshot.jpg ||
		die "GET /snapshot.jpg in standby failed (wake-up $i)"
	t1=$(now_ms)
	[ "$(hexhead "snap$i.jpg" 10)" = ffd8ffe1001645786966 ] ||
		die "snapshot $i is not the emulated encoder's JPEG: $(hexhead "snap$i.jpg" 10)"
	[ "$(tail -c 2 "snap$i.jpg" | od -An -tx1 | tr -d ' \n')" = ffd9 ] ||
		die "snapshot $i does not end with EOI"
	echo "wake-up $i: $((t1 - t0)) ms, $(filesize "snap$i.jpg") bytes"
	times="$times $((t1 - t0))"
done
timeout 5 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status"
cp status.json "$VM_OUT/"
grep -q '"entered": 12' status.json || die "/status does not count 12 standbys: $(grep standby status.json)"
grep -q '"encode_errors": 0' status.json || die "encode errors"
echo "$times" | tr ' ' '\n' | grep . | sort -n >times.txt
cnt=$(wc -l <times.txt)
p50=$(sed -n "$(((cnt + 1) / 2))p" times.txt)
p95=$(sed -n "$(((cnt * 95 + 99) / 100))p" times.txt)
echo "standby wake-up (vivid → emulated bcm2835-codec, 640x480): request to JPEG p50 $p50 ms," \
	"p95 $p95 ms over $cnt (TCG)"

say "vivid unbound during standby (the camera unplugged), bound again: found at the wake-up"
n=0
until sleep 2 && in_standby; do
	n=$((n + 1))
	[ "$n" -lt 10 ] || die "no standby within 20 s (before the unplug)"
done
echo vivid.0 >/sys/bus/platform/drivers/vivid/unbind || die "cannot unbind vivid.0"
[ ! -e "$VIVID1_CAP" ] || die "$VIVID1_CAP still there after the unbind"
rm -f "$CAM" # udev removes the link with the device
# the wake-up cannot open the camera: as in any outage, the snapshot is the "no signal" picture
# saying why (not the emulated encoder's JPEG), or 503 when none was published within the wait
if timeout 10 wget -q -O gone.jpg http://127.0.0.1:8000/snapshot.jpg; then
	[ "$(hexhead gone.jpg 10)" != ffd8ffe1001645786966 ] ||
		die "a camera picture with the camera unplugged"
	timeout 5 wget -q -O gone.json http://127.0.0.1:8000/status || die "GET /status"
	grep -q '"placeholder": true' gone.json || die "200 with the camera unplugged, no placeholder"
	echo "snapshot with the camera unplugged: the placeholder, $(filesize gone.jpg) bytes"
else
	echo "snapshot with the camera unplugged: refused (503 after the snapshot wait)"
	timeout 5 wget -q -O gone.json http://127.0.0.1:8000/status || die "GET /status"
fi
grep '"source": {"state"' gone.json
echo vivid.0 >/sys/bus/platform/drivers/vivid/bind || die "cannot bind vivid.0"
retry 10 v4l_node vivid-001-vid-cap >/dev/null || die "no vivid-001-vid-cap after the bind"
NEW_CAP=$(v4l_node vivid-001-vid-cap)
ln -sfn "../../${NEW_CAP#/dev/}" "$CAM" # udev makes the link again, to the new node
echo "re-plugged: $CAM → $NEW_CAP (was $VIVID1_CAP)"
# the placeholder until the camera's first frame is in: snapshots until one is the encoder's
camera_jpeg() {
	timeout 10 wget -q -O back.jpg http://127.0.0.1:8000/snapshot.jpg &&
		[ "$(hexhead back.jpg 10)" = ffd8ffe1001645786966 ]
}
retry 30 camera_jpeg || die "no camera JPEG within 30 s of plugging the camera in again"
echo "after the re-plug: $(filesize back.jpg) bytes from $NEW_CAP"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
echo "PASS"
