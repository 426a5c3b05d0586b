# vm-timeout: 150
# --snapshot-size on a libcamera camera with one stream: libcamera 0.0.3's vimc handler generates
# one configuration whatever roles it is asked for, so mjpegd asks for two streams (the full size
# first, the stream's second), gets one, and says so: the source's warning names the camera and
# why, the pipeline's names the option; snapshots then keep the stream's size, frames keep
# coming, /status shows no full size, SIGTERM exits 0.

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"

LOG=$VM_OUT/mjpegd.log
say "--source libcamera (vimc) 640x480, --snapshot-size 1280x960: one stream, a warning"
"$MJPEGD" --listen 127.0.0.1:8000 --source libcamera --encoder software --size 640x480 \
	--fps 10 --snapshot-size 1280x960 >"$LOG" 2>&1 &
pid=$!
retry 40 timeout 5 wget -q -O snapshot.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 40 s"
kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"
[ "$(hexhead snapshot.jpg 2)" = ffd8 ] || die "snapshot is not a JPEG"
dims=$(jpeg_dims snapshot.jpg)
echo "snapshot.jpg: $(filesize snapshot.jpg) bytes, $dims"
grep -q '^<4>libcamera: .*: no second stream of 1280x960 for --snapshot-size: the camera gives one stream' \
	"$LOG" || die "no warning from the libcamera source naming why there is no second stream"
grep -q '^<4>--snapshot-size 1280x960: the source (libcamera .*) gives one stream only; snapshots are the stream.s size [0-9]*x[0-9]*' \
	"$LOG" || die "no warning naming --snapshot-size and the stream's size"
# vimc grants 636x480 for 640x480 (its sizes step): the stream's size is what the warning names
stream=$(sed -n "s/.*snapshots are the stream's size \([0-9]*x[0-9]*\).*/\1/p" "$LOG" | head -n 1)
[ -n "$stream" ] && [ "$dims" = "$stream" ] ||
	die "the snapshot is '$dims', not the stream's size '$stream'"

timeout 10 wget -q -O s1.json http://127.0.0.1:8000/status || die "GET /status failed"
sleep 3
timeout 10 wget -q -O s2.json http://127.0.0.1:8000/status || die "GET /status failed"
c1=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s1.json)
c2=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s2.json)
echo "frames captured: $c1 -> $c2 in 3 s"
[ -n "$c1" ] && [ -n "$c2" ] && [ "$c2" -gt "$c1" ] || die "frames stopped coming"
stop_pid "$pid" 10
rc=$STOP_RC
cat "$LOG"
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
echo "PASS"
