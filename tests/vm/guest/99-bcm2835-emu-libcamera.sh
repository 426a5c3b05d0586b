# vm-timeout: 150
# libcamera (vimc's 'Sensor B', through libcamera's vimc pipeline handler) → the emulated Pi
# encoder: the path of a CSI camera on a Pi, with the encoder found by --encoder auto among vicodec
# (FWHT), vim2m and the emulated node. vimc's RGB rows (1908 bytes at 636x480) are not the Pi
# encoder's 64-byte multiple, and its buffers are vmalloc memory, which videobuf2-dma-contig (the
# Pi encoder's memory, emulated here) refuses to import: mjpegd must copy each frame, say why once,
# and go on serving the hardware encoder's JPEGs. (On a Pi, libcamera's buffers come from the ISP
# in CMA with the Pi's strides and are imported: test 98 shows that path with vivid.)
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device"
emu_load
LOG=$VM_OUT/mjpegd.log

say "--source libcamera --encoder auto, 640x480@10"
"$MJPEGD" --source libcamera --encoder auto --size 640x480 --fps 10 --listen 127.0.0.1:8000 \
	>"$LOG" 2>&1 &
pid=$!
retry 40 timeout 5 wget -q -O snap.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 40 s"
sleep 4
timeout 10 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status"
timeout 10 wget -q -O snap.jpg http://127.0.0.1:8000/snapshot.jpg || die "GET /snapshot.jpg"
cp status.json snap.jpg "$VM_OUT/"
grep -E '"source"|"encoder"|bytes_copied|encode_errors|software_fallback|"encoded"' status.json
grep -q "pipeline: libcamera .* → m2m $EMU_DEV bcm2835-codec-encode_image" "$LOG" ||
	die "--encoder auto did not choose the emulated Pi encoder"
# SOI, APP1 "Exif": the emulated encoder's JPEG, not libjpeg-turbo's (APP0 JFIF)
[ "$(hexhead snap.jpg 10)" = ffd8ffe1001645786966 ] || die "the snapshot is not the emulated encoder's"
grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image [A-Z0-9]*→JPEG (copy: " status.json ||
	die "/status does not say the encoder copies, and why"
grep -q "its buffers do not fit the M2M encoder's layout (libcamera set bytesperline" "$LOG" ||
	die "the libcamera source does not say why its buffers cannot be imported"
[ "$(grep -c 'copying every frame' "$LOG")" = 1 ] || die "the copy was not logged exactly once"
grep -q '"encode_errors": 0' status.json || die "encode errors"
grep -q '"software_fallback": false' status.json || die "the software fallback ran"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
cat "$LOG"
echo "PASS"
