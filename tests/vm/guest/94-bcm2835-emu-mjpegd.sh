# vm-timeout: 90
# mjpegd with the emulated Raspberry Pi JPEG encoder, the first daemon test on it:
# --source testpattern --encoder m2m:/dev/videoN serves JPEG snapshots that the emulated encoder
# made (they start with its APP1 Exif segment; libjpeg-turbo's start with APP0 JFIF), with the
# multi-planar M2M path: /status names the node and the YU12 -> JPEG conversion, copying (the
# test pattern has no dma-buf), no encode error, the software fallback unused; SIGTERM exits 0.
# On demand (the default), with no stream client: the encoder's first frame, then one frame per
# snapshot through the M2M encoder, every other camera frame skipped; a stream client then gets
# every frame.
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
kmsg0=$(dmesg | wc -l)
emu_load

say "mjpegd --list-devices judges the node"
"$MJPEGD" --list-devices >list.txt 2>&1 || fail "--list-devices failed"
grep -A6 "^$EMU_DEV: " list.txt | tee node.txt
grep -q "as JPEG encoder: usable (from YU12), --encoder m2m:$EMU_DEV" node.txt ||
	fail "mjpegd does not call $EMU_DEV a usable JPEG encoder"

say "testpattern -> m2m:$EMU_DEV, 640x480@10"
LOG=$VM_OUT/mjpegd.log
"$MJPEGD" --source testpattern --encoder "m2m:$EMU_DEV" --size 640x480 --fps 10 \
	--listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 20 timeout 5 wget -q -O status0.json http://127.0.0.1:8000/status ||
	{ cat "$LOG"; kill "$pid"; fail "no answer on /status within 20 s"; }
sleep 3
for i in 1 2 3; do
	timeout 10 wget -q -O "snap$i.jpg" http://127.0.0.1:8000/snapshot.jpg ||
		{ cat "$LOG"; kill "$pid"; fail "GET /snapshot.jpg failed"; }
	echo "snapshot $i: $(filesize "snap$i.jpg") bytes, starts $(hexhead "snap$i.jpg" 10)"
	# SOI, APP1 (length 0x0016), "Exif": the emulated encoder's header
	[ "$(hexhead "snap$i.jpg" 10)" = ffd8ffe1001645786966 ] ||
		{ kill "$pid"; fail "snapshot $i is not the emulated encoder's JPEG"; }
	[ "$(tail -c 2 "snap$i.jpg" | od -An -tx1 | tr -d ' \n')" = ffd9 ] ||
		{ kill "$pid"; fail "snapshot $i does not end with EOI"; }
	cp "snap$i.jpg" "$VM_OUT/"
	sleep 0.5
done
timeout 10 wget -q -O status.json http://127.0.0.1:8000/status || { kill "$pid"; fail "GET /status"; }
cp status.json "$VM_OUT/"
grep -E '"encoder"|"frames"|bytes_copied|software_fallback' status.json
grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image YU12→JPEG (copy: the source has no dma-buf)\"" \
	status.json || { kill "$pid"; fail "/status does not show the emulated encoder copying YU12"; }
grep -q '"encode_errors": 0' status.json || { kill "$pid"; fail "encode errors"; }
grep -q '"software_fallback": false' status.json || { kill "$pid"; fail "the software fallback ran"; }
enc=$(sed -n 's/.*"encoded": \([0-9]*\).*/\1/p' status.json | head -n 1) # frames.encoded, not snapshot.encoded
cap=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' status.json)
skip=$(sed -n 's/.*"skipped_idle": \([0-9]*\).*/\1/p' status.json)
echo "idle: captured $cap, encoded $enc (the first frame and 3 snapshots), skipped $skip"
[ "${enc:-0}" -ge 4 ] && [ "${enc:-0}" -le 6 ] ||
	{ kill "$pid"; fail "$enc frames encoded with no stream client, want 4 (up to 6)"; }
[ "${skip:-0}" -ge 20 ] || { kill "$pid"; fail "only ${skip:-0} frames skipped while idle"; }

say "a stream client: every frame encoded"
timeout 4 wget -q -O stream.bin http://127.0.0.1:8000/stream.mjpg 2>/dev/null
timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || { kill "$pid"; fail "GET /status"; }
enc2=$(sed -n 's/.*"encoded": \([0-9]*\).*/\1/p' status2.json | head -n 1)
parts=$(grep -a -c 'Content-Type: image/jpeg' stream.bin)
echo "stream: $parts parts; encoded $enc → $enc2"
[ "$((enc2 - enc))" -ge 20 ] || { kill "$pid"; fail "only $((enc2 - enc)) frames encoded in 4 s of streaming at 10 fps"; }
[ "$parts" -ge 20 ] || { kill "$pid"; fail "only $parts parts in 4 s at 10 fps"; }
grep -q '"encode_errors": 0' status2.json || { kill "$pid"; fail "encode errors"; }

say "SIGTERM"
stop_pid "$pid" 10
echo "mjpegd exit status: $STOP_RC"
tail -n 12 "$LOG"
[ "$STOP_RC" = 0 ] || fail "mjpegd exited with $STOP_RC after SIGTERM"
kernel_clean "$kmsg0"
echo "PASS"
