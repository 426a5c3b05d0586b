# vm-timeout: 90
# The daemon on the real kernel: test pattern → software JPEG encoder → HTTP on loopback.
# (busybox 1.35 wget -T segfaults: bound requests with `timeout` instead.)
# Snapshot is a JPEG (FF D8, > 1 KB), /status answers, SIGTERM stops it with exit status 0.

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
"$MJPEGD" --source testpattern --encoder software --listen 127.0.0.1:8000 >"$VM_OUT/mjpegd.log" 2>&1 &
pid=$!

say "waiting for http://127.0.0.1:8000/status"
retry 20 timeout 2 wget -q -O status.json http://127.0.0.1:8000/status ||
	die "no answer on 127.0.0.1:8000/status within 20 s"
kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"

say "snapshot"
timeout 10 wget -q -O snapshot.jpg http://127.0.0.1:8000/snapshot.jpg || die "GET /snapshot.jpg failed"
size=$(filesize snapshot.jpg)
head=$(hexhead snapshot.jpg 2)
echo "snapshot.jpg: $size bytes, starts with $head"
cp snapshot.jpg "$VM_OUT/"
[ "$head" = ffd8 ] || die "snapshot does not start with FF D8 (got '$head')"
[ "$size" -gt 1024 ] || die "snapshot is only $size bytes"

say "status"
timeout 10 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status failed"
cat status.json
echo
[ "$(filesize status.json)" -gt 0 ] || die "/status is empty"

say "SIGTERM"
stop_pid "$pid" 10
rc=$STOP_RC
echo "mjpegd exit status: $rc"
echo "--- mjpegd log"
cat "$VM_OUT/mjpegd.log"
[ "$rc" = 0 ] || fail "mjpegd exited with $rc after SIGTERM (want 0; 137 = needed SIGKILL)"
echo "PASS"
