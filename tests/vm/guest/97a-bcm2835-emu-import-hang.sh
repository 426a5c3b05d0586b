# vm-timeout: 150
# An import that never completes: on a Pi, a dma-buf the VPU cannot import is logged by the
# driver in device_run and its buffer never comes back (a stall, not a QBUF error). The emulation's
# import_hang=1 holds every job whose OUTPUT buffer is a dma-buf. mjpegd imports vivid-001's
# buffers, gets no frame back within --encoder-timeout-ms (1000), says why in one log line, and
# reopens the encoder copying: the emulated encoder's JPEGs (APP1 Exif) are served, /status says
# "(copy: an earlier import … never completed)", bytes are copied, the software stand-in stops.
# (A buffer whose import failed never reached the VPU, so the driver's stop_streaming has nothing
# to wait for: the emulation's STREAMOFF is instant here, 89 shows.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
emu_load import_hang=1
LOG=$VM_OUT/mjpegd.log
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }

"$MJPEGD" --source "v4l2:$VIVID1_CAP" --encoder auto --size 640x480 --fps 10 \
	--listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 30 timeout 5 wget -q -O st.json http://127.0.0.1:8000/status || die "no /status within 30 s"
# the import is tried first, then copying
retry 20 sh -c 'grep -q "(copy: an earlier import of the camera" st.json &&
	grep -q "\"state\": \"running\"" st.json && grep -q "\"software_fallback\": false" st.json ||
	{ timeout 5 wget -q -O st.json http://127.0.0.1:8000/status; false; }' ||
	{ cat st.json; die "the encoder is not running copying within 20 s"; }
sleep 2
timeout 5 wget -q -O st.json http://127.0.0.1:8000/status || die "GET /status"
timeout 5 wget -q -O snap.jpg http://127.0.0.1:8000/snapshot.jpg || die "GET /snapshot.jpg"
cp st.json snap.jpg "$VM_OUT/"
grep -E '"encoder"|bytes_copied|software_fallback|last_error' st.json
[ "$(hexhead snap.jpg 4)" = ffd8ffe1 ] || die "the snapshot is not the emulated encoder's"
[ "$(json_num st.json bytes_copied)" -gt 0 ] || die "no byte copied"
grep -q "no frame back within 1000 ms of importing the camera's dma-bufs; copying them from now on" \
	"$LOG" || die "the log does not say why it copies"
[ "$(grep -c "no frame back within" "$LOG")" = 1 ] || die "the reason was not logged exactly once"
dmesg | grep -i "import" | tail -n 3
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
grep -v '^<7>' "$LOG" | tail -n 20
echo "PASS"
