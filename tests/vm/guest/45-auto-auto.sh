# vm-timeout: 120
# `--source auto --encoder auto` on the real kernel, as a user would start it: a camera is found
# (libcamera's vimc 'Sensor B' first, else vivid through V4L2), never the test pattern, and an
# encoder that works with it is picked (no JPEG M2M device exists here, so software): /status
# names both, /snapshot.jpg is a JPEG, frames keep coming, SIGTERM exits 0.
# (busybox 1.35 wget -T segfaults: bound requests with `timeout` instead.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
# --on-demand off: "frames keep coming" counts frames encoded with no stream client
"$MJPEGD" --source auto --encoder auto --size 640x480 --fps 10 --listen 127.0.0.1:8000 \
	--on-demand off >"$VM_OUT/mjpegd.log" 2>&1 &
pid=$!

say "waiting for the first frame"
# libcamera's first frame takes a while under TCG (IPA start, media pipeline set-up)
retry 40 timeout 5 wget -q -O snapshot.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 40 s"
[ "$(hexhead snapshot.jpg 2)" = ffd8 ] || die "the snapshot is not a JPEG"
timeout 10 wget -q -O status1.json http://127.0.0.1:8000/status || die "GET /status failed"
sleep 3
timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || die "GET /status failed"
grep -o '"source": "[^"]*"' status2.json
grep -o '"encoder": "[^"]*"' status2.json
grep -q '"source": "\(libcamera\|v4l2\)' status2.json || die "auto did not pick a camera"
grep -q '"source": "testpattern' status2.json && die "auto fell back to the test pattern"
grep -q '"encoder": "software' status2.json || die "auto did not pick the software encoder"
e1=$(sed -n 's/.*"encoded": \([0-9]*\).*/\1/p' status1.json | head -n 1) # frames.encoded (snapshot.encoded follows)
e2=$(sed -n 's/.*"encoded": \([0-9]*\).*/\1/p' status2.json | head -n 1) # frames.encoded (snapshot.encoded follows)
echo "frames encoded: $e1, 3 s later $e2"
[ "$((e2 - e1))" -ge 10 ] || die "frames do not keep coming ($e1 → $e2 in 3 s)"

say "SIGTERM"
stop_pid "$pid" 10
rc=$STOP_RC
grep -v '^<7>' "$VM_OUT/mjpegd.log" | tail -n 15
[ "$rc" = 0 ] || fail "mjpegd exited with $rc after SIGTERM"
echo "PASS"
