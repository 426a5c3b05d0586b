# vm-timeout: 360
# vm-alone: pi-check fails a reopen gap of 1 s (at most 0.27 s alone, 0.67 s seen side by side)
# `make pi-check` (scripts/pi-check.sh, /vm/bin/pi-check) on the test bed, so that it is known to
# work before any Pi runs it: against the emulated bcm2835-codec encoder, the camera being vivid's
# multi-planar dma-contig instance (a Pi camera's kind of buffers), at 640x480, 1280x720 and
# 1920x1080 in YUYV (--format YUYV: imported at every size, 1080 rows included), under busybox sh
# with busybox wget, measuring 4 s a size (--seconds; 10 by default: 120 frames are enough to see a
# copy or a re-import here, and the test runs alone). Checked: exit 0; pi-check.json has 3 sizes, each with verdict pass, 0 bytes
# copied per frame, the quality change (80 → 40, SIGHUP: the encoder reopened) reached the JPEG,
# no dma-buf re-import while steady, the encoder the emulated one importing; the text summary
# says "0 bytes copied" for each size. Both files are kept in the artifacts.

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
command -v pi-check >/dev/null || fail "pi-check (scripts/pi-check.sh) not in the initramfs"
emu_load

say "pi-check: vivid-001 → $EMU_DEV, 640x480 1280x720 1920x1080, YUYV"
rc=0
pi-check --mjpegd "$MJPEGD" --out out --source "v4l2:$VIVID1_CAP" --encoder "m2m:$EMU_DEV" \
	--sizes "640x480 1280x720 1920x1080" --seconds 4 -- --format YUYV || rc=$?
cp out/pi-check.json out/pi-check.txt out/*.log out/*.jpg "$VM_OUT/" 2>/dev/null
say "pi-check.json"
cat out/pi-check.json
[ "$rc" = 0 ] || fail "pi-check exited with $rc"
[ -s out/pi-check.txt ] || fail "no text summary"
[ -s out/pi-check.json ] || fail "no pi-check.json"
for f in out/.*.tmp out/*.tmp; do
	[ -e "$f" ] && fail "a temporary file was left in the output directory: $f"
done

J=out/pi-check.json
# count KEY VALUE: how many sizes have "KEY": VALUE (the JSON is pi-check's own layout)
count() { grep -c "\"$1\": $2[,}]" "$J"; }
n=$(grep -c '"size": "' "$J")
[ "$n" = 3 ] || fail "$n sizes in pi-check.json, want 3"
for s in 640x480 1280x720 1920x1080; do
	grep -q "\"size\": \"$s\"" "$J" || fail "no $s in pi-check.json"
	grep -q "\"granted\": \"$s\", \"jpeg_size\": \"$s\"" "$J" || fail "$s: not granted or not the JPEG's size"
done
[ "$(count verdict '"pass"')" = 3 ] || fail "not every size passed"
grep -q '"verdict": "pass"$' "$J" || fail "the overall verdict is not pass"
[ "$(count bytes_copied_per_frame 0)" = 3 ] || fail "bytes were copied"
[ "$(count quality_reached_jpeg true)" = 3 ] || fail "the quality change did not reach every JPEG"
[ "$(count dmabuf_imports_growth 0)" = 3 ] || fail "dma-bufs were re-imported while steady"
[ "$(count reopened_for_quality true)" = 3 ] || fail "the encoder was not reopened for the quality"
[ "$(count frames_cut 0)" = 3 ] || fail "cut frames"
[ "$(count encode_errors 0)" = 3 ] || fail "encode errors"
[ "$(grep -c "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image YUYV→JPEG (dmabuf import)\"" "$J")" = 3 ] ||
	fail "not the emulated encoder importing at every size"
grep -q "\"encoder_node\": \"$EMU_DEV\", \"encoder_card\": \"bcm2835-codec-encode_image\"" "$J" ||
	fail "the encoder node and card are not named"
grep -q '"firmware": "unknown (no vcgencmd)"' "$J" || fail "firmware: want 'unknown (no vcgencmd)' here"
grep -q '"model": "not a Raspberry Pi (' "$J" || fail "model: want 'not a Raspberry Pi (...)' here"
grep -q '"libcamera": "not used"' "$J" || fail "libcamera: want 'not used' here"
[ "$(grep -c '0 bytes copied' out/pi-check.txt)" = 3 ] || fail "the summary does not say '0 bytes copied' for each size"
say "pi-check.txt"
cat out/pi-check.txt
echo "PASS"
