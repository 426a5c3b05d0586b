# vm-timeout: 150
# The libcamera source on the real kernel: vimc's 'Sensor B' through libcamera's vimc pipeline
# handler → software encoder → HTTP on loopback. vimc gives only RGB888/BGR888 under libcamera, so
# this runs the encoder's RGB path (not zero-copy); the Pi's YUV420 path needs real hardware.
# The camera is reached through the libcamera plugin (its log line and /status say it loaded).
# Checks: /snapshot.jpg is a JPEG, frames keep coming (/status), SIGTERM exits 0 (libcamera's
# threads stop cleanly), --source auto picks the libcamera camera, and a camera index that does
# not exist is a quick, clear error. (busybox 1.35 wget -T segfaults: bounded with `timeout`.)

# Frames keep coming: at least RATE_MIN frames in RATE_SECS s (71 asks less of libcamera 0.7).
RATE_SECS=${RATE_SECS:-3}
RATE_MIN=${RATE_MIN:-3}

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"
"$MJPEGD" --version | grep -q . || fail "$MJPEGD does not run"

captured() { # captured FILE -> frames.captured from a /status body
	sed -n 's/.*"captured": \([0-9]*\).*/\1/p' "$1"
}

start() { # start LOG ARGS...: mjpegd on 127.0.0.1:8000 in the background, pid in $pid
	_log=$1
	shift
	"$MJPEGD" --listen 127.0.0.1:8000 "$@" >"$_log" 2>&1 &
	pid=$!
}


say "--list-devices names the libcamera camera"
"$MJPEGD" --list-devices >list.txt 2>&1 || fail "--list-devices exited non-zero"
sed -n '/^libcamera cameras/,$p' list.txt
grep -q "^  0: .*Sensor B.* usable as the source" list.txt ||
	fail "--list-devices does not list vimc's Sensor B as a usable libcamera camera"

say "--source libcamera (first camera: vimc 'Sensor B') 640x480, software encoder"
start "$VM_OUT/mjpegd.log" --source libcamera --encoder software --size 640x480 --fps 10
# The first frame takes a while under TCG: IPA start, media pipeline setup, ~8 fps capture.
retry 40 timeout 5 wget -q -O snapshot.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 40 s"
kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"
size=$(filesize snapshot.jpg)
head=$(hexhead snapshot.jpg 2)
echo "snapshot.jpg: $size bytes, starts with $head"
cp snapshot.jpg "$VM_OUT/"
[ "$head" = ffd8 ] || die "snapshot does not start with FF D8 (got '$head')"
[ "$size" -gt 1024 ] || die "snapshot is only $size bytes"
# through the plugin (mjpegd-libcamera.so, where this daemon was built to load it from)
grep -q '^<6>libcamera plugin /.*/mjpegd-libcamera.so loaded (built against libcamera ' \
	"$VM_OUT/mjpegd.log" || die "the daemon's log does not say it loaded the libcamera plugin"

say "frames keep coming"
timeout 10 wget -q -O status1.json http://127.0.0.1:8000/status || die "GET /status failed"
sleep "$RATE_SECS"
timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || die "GET /status failed"
cat status2.json
echo
cp status2.json "$VM_OUT/status.json"
grep -q '"source": "libcamera' status2.json || die "/status does not name the libcamera source"
grep -q '"libcamera_plugin": {"state": "loaded"' status2.json ||
	die "/status does not say the libcamera plugin is loaded"
grep -q 'from RGB' status2.json || echo "note: the encoder did not take the RGB path"
c1=$(captured status1.json)
c2=$(captured status2.json)
echo "frames captured: $c1, $RATE_SECS s later $c2"
[ -n "$c1" ] && [ -n "$c2" ] || die "no frames.captured in /status"
[ "$c2" -ge $((c1 + RATE_MIN)) ] ||
	die "fewer than $RATE_MIN frames in $RATE_SECS s from vimc ($c1 → $c2)"

say "SIGTERM"
stop_pid "$pid" 10
rc=$STOP_RC
echo "mjpegd exit status: $rc"
echo "--- mjpegd log"
cat "$VM_OUT/mjpegd.log"
[ "$rc" = 0 ] || fail "mjpegd exited with $rc after SIGTERM (want 0; 137 = needed SIGKILL)"

say "--source auto picks the libcamera camera"
start "$VM_OUT/mjpegd-auto.log" --source auto --size 640x480 --fps 10
retry 40 timeout 5 wget -q -O auto.jpg http://127.0.0.1:8000/snapshot.jpg || {
	cat "$VM_OUT/mjpegd-auto.log"
	kill -KILL "$pid" 2>/dev/null
	fail "--source auto: no snapshot within 40 s"
}
stop_pid "$pid" 10
rc=$STOP_RC
cat "$VM_OUT/mjpegd-auto.log"
[ "$rc" = 0 ] || fail "--source auto: exit status $rc after SIGTERM"
grep -q "pipeline: libcamera" "$VM_OUT/mjpegd-auto.log" ||
	fail "--source auto did not choose the libcamera camera"
[ "$(hexhead auto.jpg 2)" = ffd8 ] || fail "--source auto: snapshot is not a JPEG"

say "--source libcamera:7 (no such camera): a quick error"
t0=$(cut -d' ' -f1 /proc/uptime)
timeout 20 "$MJPEGD" --source libcamera:7 --listen 127.0.0.1:8000 >missing.log 2>&1
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
cat missing.log
echo "exit status $rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "--source libcamera:7: exit status $rc (want a quick failure)"
grep -q "no camera '7'" missing.log || fail "--source libcamera:7: the error does not name the camera"
echo "PASS"
