# vm-timeout: 240
# vm-host-check: tests/vm/checks/bcm2835_emu_check.py
# The Pi's path, end to end, on the emulated encoder: vivid's multi-planar instance on dma-contig
# buffers (a Pi camera's kind) → VIDIOC_EXPBUF → the emulated bcm2835-codec image encoder imports
# them (V4L2_MEMORY_DMABUF, multi-planar) → JPEG → 3 stream clients, at 640x480, 1280x720 and
# 1920x1080, each in YU12 and YUYV (--format). 1920x1080 is the trap of the real driver: it pads
# the height to 1088 rows and refuses a shorter plane at QBUF, so the camera's buffers must
# already have room for 1088 rows (YUYV); YU12's chroma planes would sit 8 rows off, so that one
# case is copied, with the reason logged.
# Checked: /status shows "(dmabuf import)", 0 bytes copied, no encode error, no fallback; the 3
# clients get whole JPEGs all along; on the host (vm-host-check) each served JPEG has libjpeg's
# tables for its quality and its 8x8 block means follow a raw frame of the same vivid picture
# (vivid's colour bars; its on-screen clock above row 160 is left out: it changes every frame).
# The quality change by SIGHUP on the same set-up, whose bound runs alone, is
# 98b-bcm2835-emu-quality-reopen; the helpers of both are tests/vm/guest/lib/vivid_emu.sh.

. /vm/vivid_emu.sh # checks what it needs, loads the emulated encoder, sets CAM

# Each size in YUV420 (YU12) and YUYV (--format). 1920x1080 YU12 cannot be imported: the encoder
# pads to 1088 rows, so its chroma planes start 8 rows later than the camera's; that one is
# copied, and the log says why. YUYV, packed, only needs longer buffers, which the source
# allocates: imported at every size.
for case in 640x480:YU12 640x480:YUYV 1280x720:YU12 1280x720:YUYV 1920x1080:YUYV 1920x1080:YU12; do
	size=${case%:*}
	fourcc=${case#*:}
	w=${size%x*}
	h=${size#*x}
	name=vivid-$size-$fourcc
	say "vivid-001 (multi-planar, dma-contig) $fourcc → $EMU_DEV, $size, 3 clients"
	serve "$size" --format "$fourcc"
	sleep 4
	timeout 10 wget -q -O status1.json http://127.0.0.1:8000/status || die "GET /status"
	sleep 3
	timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || die "GET /status"
	timeout 10 wget -q -O "$VM_OUT/$name.jpg" http://127.0.0.1:8000/snapshot.jpg ||
		die "GET /snapshot.jpg"
	grep -E '"source"|"encoder"|bytes_copied|encode_errors|software_fallback' status2.json
	cp status2.json "$VM_OUT/status-$name.json"
	if [ "$case" = 1920x1080:YU12 ]; then
		grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image YU12→JPEG (copy: " \
			status2.json || die "$size $fourcc: not copied"
		grep -q 'copying every frame' "$LOG" || die "$size $fourcc: the log does not say why it copies"
		grep 'copying every frame' "$LOG"
		[ "$(json_num status2.json bytes_copied)" -gt 0 ] || die "$size $fourcc: no byte copied?"
	else
		grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image $fourcc→JPEG (dmabuf import)\"" \
			status2.json || die "$size $fourcc: the emulated encoder does not import the camera's buffers"
		[ "$(json_num status2.json bytes_copied)" = 0 ] || die "$size $fourcc: bytes were copied"
	fi
	[ "$(json_num status2.json encode_errors)" = 0 ] || die "$size: encode errors"
	grep -q '"software_fallback": false' status2.json || die "$size: the software fallback ran"
	e1=$(json_num status1.json encoded)
	e2=$(json_num status2.json encoded)
	echo "$size $fourcc: encoded $e1 → $e2 in 3 s"
	[ "$((e2 - e1))" -ge 10 ] || die "$size $fourcc: only $((e2 - e1)) frames encoded in 3 s at 10 fps"
	unserve
	raw_frame "$name" "$w" "$h" "$fourcc" 80
done
echo "PASS"
