# vm-timeout: 500
# vm-boot: vimc-contig
# vm-host-check: tests/vm/checks/bcm2835_emu_check.py
# The Pi's own path on the test bed: libcamera's buffers imported by the encoder. vimc with
# allocator=1 (vimc-core.c: videobuf2-dma-contig) hands out contiguous dma-bufs, as the Pi's ISP
# (bcm2835-isp, CMA) does, and libcamera's vimc pipeline handler gives them to mjpegd → the emulated
# bcm2835-codec image encoder imports them (V4L2_MEMORY_DMABUF). At 960x540 (qHD, a quarter of
# 1080p) the encoder reads rows padded to 544, as it reads 1088 for 1080: mjpegd asks the camera
# for 960x544 and crops the picture's 540 rows (S_SELECTION on OUTPUT), so nothing is copied.
# Not 1920x1080: its 24-bit buffers (1920x1092x3, 6 MiB) need CMA, which Debian's packaged
# kernels (the test bed's default) do not have (CONFIG_CMA unset): dma-contig then takes pages
# from the page allocator, contiguous up to 4 MiB ("dma alloc of size 6291456 failed"). The
# 1088-row trap itself is 90's, 91's and 98's (the emulated encoder and vivid's dma-contig YUYV).
# Checked: /status shows "(dmabuf import)", 0 bytes copied, no error, no fallback, the log says
# 544 rows were asked for 540 (libcamera 0.0.3's vimc handler gives multiples of 6 rows, 546 for
# 544, a taller buffer that a packed format imports from); the
# served JPEG's SOF says 960x540 (the host check), and its 8x8 block means follow a raw frame
# read from vimc's capture node at the same size (its top 540 rows: the top, middle and bottom
# bands where the camera put them below vimc's OSD text, rows 240 on; no 8-row shift, no green
# band). 640x480 and 1280x720: libcamera 0.0.3's vimc shaves them to 636x480 (1908-byte rows) and
# 1278x720 (3834), which no encoder reads: copies, said once with the reason; 0.7's gives the
# widths asked: imported, 0 bytes copied. Checked as such.

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device"
[ "$(cat /sys/module/vimc/parameters/allocator 2>/dev/null)" = 1 ] ||
	fail "vimc.allocator is not 1 (this test needs the vimc-contig boot)"
emu_load
LOG=$VM_OUT/mjpegd.log
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }

# serve W H: mjpegd from vimc through libcamera into the emulated encoder; waits for a snapshot
serve() {
	LOG=$VM_OUT/mjpegd-$1x$2.log
	"$MJPEGD" --source libcamera --encoder auto --size "$1x$2" --fps 10 --listen 127.0.0.1:8000 \
		>"$LOG" 2>&1 &
	pid=$!
	retry 60 timeout 10 wget -q -O snap.jpg http://127.0.0.1:8000/snapshot.jpg ||
		die "no /snapshot.jpg within 60 s at $1x$2"
	sleep 3
	timeout 10 wget -q -O "status-$1x$2.json" http://127.0.0.1:8000/status || die "GET /status"
	timeout 20 wget -q -O "snap-$1x$2.jpg" http://127.0.0.1:8000/snapshot.jpg ||
		die "GET /snapshot.jpg"
	cp "status-$1x$2.json" "$VM_OUT/"
	grep -E '"source"|"encoder"|bytes_copied|encode_errors|software_fallback|"encoded"' \
		"status-$1x$2.json"
	grep -q "pipeline: libcamera .* → m2m $EMU_DEV bcm2835-codec-encode_image" "$LOG" ||
		die "--encoder auto did not choose the emulated Pi encoder"
	[ "$(hexhead "snap-$1x$2.jpg" 4)" = ffd8ffe1 ] || die "the snapshot is not the emulated encoder's"
	grep -q '"encode_errors": 0' "status-$1x$2.json" || die "encode errors"
	grep -q '"software_fallback": false' "status-$1x$2.json" || die "the software fallback ran"
}

stop_serving() {
	stop_pid "$pid" 10
	[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
}

say "960x540: the camera asked for 544 rows, imported, cropped"
serve 960 540
st=status-960x540.json
grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image [A-Z0-9]*→JPEG (dmabuf import)\"" "$st" ||
	die "/status does not say the encoder imports"
[ "$(json_num "$st" bytes_copied)" = 0 ] || die "bytes were copied: $(json_num "$st" bytes_copied)"
grep -q '"width": 960' "$st" && grep -q '"height": 540' "$st" || die "/status size is not 960x540"
rows=$(sed -n "s/.*asked for \([0-9]*\) rows, 540 of them the picture.*/\1/p" "$LOG" | head -n1)
[ -n "$rows" ] && [ "$rows" -ge 544 ] || die "no log of the padded rows (>= 544)"
echo "the camera was asked for 544 rows and gave $rows"
fourcc=$(sed -n 's/.*"source": "libcamera .* 960x540 \([A-Z0-9]*\)@.*/\1/p' "$st")
echo "format: $fourcc"
stop_serving
cp "snap-960x540.jpg" "$VM_OUT/vimc540.jpg"
# The raw picture as the camera gave it to mjpegd: vimc's capture node read directly, its media
# pipeline still as libcamera configured it (960x$rows; vimc's sensor draws a still pattern).
# (libcamera's cam hangs after its capture here, under TCG: not used.)
node=$(v4l_node "RGB/YUV Capture") || fail "no vimc 'RGB/YUV Capture' node"
timeout 60 v4l2-ctl -d "$node" --set-fmt-video="width=960,height=$rows,pixelformat=$fourcc" \
	--stream-mmap --stream-count=1 --stream-to=raw540.bin >v4l2.txt 2>&1 ||
	{ cat v4l2.txt; fail "could not capture a 960x$rows $fourcc frame from $node"; }
[ "$(filesize raw540.bin)" -ge $((2880 * rows)) ] ||
	{ cat v4l2.txt; ls -l raw540.bin; fail "no whole 960x$rows frame from $node"; }
cp raw540.bin "$VM_OUT/vimc540.raw"
# vimc's sensor writes its counters over the picture's top (its OSD, "Show Information"), which
# change from frame to frame: those rows are left out (the comparison starts at row 240)
echo "fourcc=$fourcc width=960 height=540 bytesperline=2880 buffer_height=$rows quality=80" \
	"ignore_rows=240" >"$VM_OUT/vimc540.meta"

for size in 640x480 1280x720; do
	w=${size%x*}
	say "$size: imported where vimc gives the width asked (0.7), copied with the reason where it shaves it (0.0.3)"
	serve "$w" "${size#*x}"
	st=status-$size.json
	got=$(sed -n 's/.*"source": "libcamera .* \([0-9]*\)x[0-9]* [A-Z0-9]*@.*/\1/p' "$st")
	if [ "$got" = "$w" ]; then
		grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image [A-Z0-9]*→JPEG (dmabuf import)\"" \
			"$st" || die "$size: vimc gave the width asked, yet the encoder does not import"
		[ "$(json_num "$st" bytes_copied)" = 0 ] || die "$size: bytes were copied"
	else
		echo "vimc gave $got pixels for $w"
		grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image [A-Z0-9]*→JPEG (copy: " "$st" ||
			die "/status does not say the encoder copies"
		grep -q "do not fit the M2M encoder's layout" "$LOG" || die "no reason logged for the copy"
		[ "$(grep -c 'copying every frame' "$LOG")" = 1 ] || die "the copy was not logged exactly once"
	fi
	stop_serving
done
echo "PASS"
