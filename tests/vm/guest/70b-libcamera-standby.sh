# vm-timeout: 300
# --standby-after with libcamera: vimc's 'Sensor B' through the libcamera plugin → software
# encoder. With no request for 1 s the daemon closes both: no
# /dev/video* or /dev/media* fd left (ls -l /proc/PID/fd), frames.captured stands still; each
# snapshot then reopens them (libcamera acquires, configures and starts the camera again; its
# first 5 frames are let go while auto exposure settles) and is answered with a whole JPEG.
# --source-timeout-ms 10000 (STANDBY_SOURCE_TIMEOUT_MS, 71b's larger): the snapshot wait, since
# TCG takes seconds to start vimc. The time
# from request to JPEG is printed as p50/p95 over 10 wake-ups (standby_wakeups in
# tests/vm/guest/lib/lib.sh).
# (busybox wget -T segfaults: every wget is bounded with `timeout`.) 71b sources this body with
# libcamera 0.7.1 (STANDBY_LABEL names the userland in the output).

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"
LOG=$VM_OUT/mjpegd.log
STANDBY_LABEL=${STANDBY_LABEL:-libcamera vimc}

say "$STANDBY_LABEL → software, 640x480@10, --standby-after 1"
"$MJPEGD" --source libcamera --encoder software --size 640x480 --fps 10 \
	--source-timeout-ms "${STANDBY_SOURCE_TIMEOUT_MS:-10000}" --standby-after 1 --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 60 timeout 5 wget -q -O first.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 30 s"
standby_dev_fds >active-fds.txt
cat active-fds.txt
[ "$(wc -l <active-fds.txt)" -ge 1 ] || die "the camera is not open while active"

standby_wakeups 10 ffd8 30 "$STANDBY_LABEL → software, 640x480, 5 frames settling"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
echo "PASS"
