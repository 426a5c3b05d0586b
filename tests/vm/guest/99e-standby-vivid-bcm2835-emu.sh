# vm-timeout: 240
# --standby-after on the Pi's USB path: vivid (multi-planar, dma-contig) → the emulated
# bcm2835-codec encoder (dma-buf import). With no request for 1 s the daemon closes both: no
# /dev/video* or /dev/media* fd left (ls -l /proc/PID/fd), frames.captured stands still; each
# snapshot then reopens them and is answered with a whole JPEG of the emulated encoder (its Exif
# header). The time from request to JPEG is printed as p50/p95 over 12 wake-ups (standby_wakeups in
# tests/vm/guest/lib/lib.sh).
# Then vivid is unbound in standby (unplugged): a snapshot gets the "no signal" picture (or 503
# after the snapshot wait), and once vivid is bound again one is answered from the camera found
# again by its /dev/v4l/by-path link, which the test keeps as udev would (removed at the unplug,
# made again to the new node at the re-plug: the node number may change).
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
emu_load
LOG=$VM_OUT/mjpegd.log

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
standby_dev_fds >active-fds.txt
cat active-fds.txt
[ "$(wc -l <active-fds.txt)" -ge 2 ] || die "the camera and the encoder are not open while active"

standby_wakeups 12 ffd8ffe1001645786966 20 "vivid → emulated bcm2835-codec, 640x480"

say "vivid unbound during standby (the camera unplugged), bound again: found at the wake-up"
standby_wait "before the unplug"
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
