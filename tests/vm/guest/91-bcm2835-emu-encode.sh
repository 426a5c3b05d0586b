# vm-timeout: 240
# vm-host-check: tests/vm/checks/bcm2835_emu_check.py
# The emulated Raspberry Pi JPEG encoder encodes: tests/vm/tools/bcm2835_emu encodes a known pattern
# in every raw format the node offers (and NV12/NV21 with nv12=1) through MMAP buffers on both
# queues; each frame must be a whole JPEG of the picture's size with the OUTPUT timestamp; two
# qualities give different quantisation tables; ENCODER_CMD(STOP) marks the last JPEG (or, sent
# after it, an empty buffer) V4L2_BUF_FLAG_LAST and sends EOS. DMABUF on OUTPUT: a buffer exported by the
# encoder itself (dma-contig) and vivid instance 1's (vivid.allocators=1: dma-contig) are
# imported and encoded; vivid instance 0's (vmalloc, as a UVC webcam's) are refused at QBUF,
# as videobuf2-dma-contig refuses any dma-buf that is not physically contiguous.
# Every raw frame and JPEG goes to the artifacts; on the host, tests/vm/checks/bcm2835_emu_check.py
# decodes each JPEG with djpeg and ffmpeg and compares its 8x8 block means with the raw frame's.

kmsg0=$(dmesg | wc -l)
emu_load nv12=1

# encode NAME ARGS...: bcm2835_emu encode -o $VM_OUT/NAME ARGS; its output in NAME.txt
encode() {
	_n=$1
	shift
	bcm2835_emu encode -d "$EMU_DEV" -o "$VM_OUT/$_n" "$@" >"$_n.txt" 2>&1
	_rc=$?
	cat "$_n.txt"
	return $_rc
}

say "every raw format, 200x120 (16-row padding to 128, partial MCUs on both edges)"
for f in YU12 YUYV YVYU UYVY VYUY RGBP RGB3 BGR3 AB24 BGR4 NV12 NV21; do
	encode "$f-200x120" -f "$f" -W 200 -H 120 -n 2 || fail "$f: bcm2835_emu exited $_rc"
	grep -q '^jpeg 1 size=.* sof=200x120 ' "$f-200x120.txt" || fail "$f: second frame"
	grep -q 'seq=0 ' "$f-200x120.txt" || fail "$f: sequence is not 0 (the driver never sets it)"
done

say "two qualities: different DQT tables (libjpeg scaling of Annex K)"
encode q80-640x360 -f YU12 -W 640 -H 360 || fail "quality 80"
encode q30-640x360 -f YU12 -W 640 -H 360 -q 30 || fail "quality 30"
grep -q '^quality=80$' q80-640x360.txt || fail "the default quality is not 80"
d80=$(sed -n 's/^jpeg 0 .*dqt_luma_dc=\([0-9]*\) dqt_chroma_dc=\([0-9]*\).*/\1 \2/p' q80-640x360.txt)
d30=$(sed -n 's/^jpeg 0 .*dqt_luma_dc=\([0-9]*\) dqt_chroma_dc=\([0-9]*\).*/\1 \2/p' q30-640x360.txt)
echo "DC quantisers (luma chroma): quality 80: $d80, quality 30: $d30"
# libjpeg: 80 -> scale 40: 16*40/100 = 6, 17*40/100 = 7; 30 -> scale 166: 27, 28
[ "$d80" = "6 7" ] || fail "quality 80 DQT DC entries '$d80', libjpeg's are '6 7'"
[ "$d30" = "27 28" ] || fail "quality 30 DQT DC entries '$d30', libjpeg's are '27 28'"
s80=$(sed -n 's/^jpeg 0 size=\([0-9]*\).*/\1/p' q80-640x360.txt)
s30=$(sed -n 's/^jpeg 0 size=\([0-9]*\).*/\1/p' q30-640x360.txt)
echo "sizes: quality 80 $s80 bytes, quality 30 $s30 bytes"
[ "$s30" -lt "$s80" ] || fail "quality 30 is not smaller than quality 80"

say "1920x1080 YU12: the 1088-row buffer, a 1920x1080 JPEG"
encode YU12-1920x1080 -f YU12 -W 1920 -H 1080 -n 3 || fail "1920x1080"
grep -q 'fmt out=YU12 1920x1088 bytesperline=1920 sizeimage=3133440' YU12-1920x1080.txt ||
	fail "1920x1080 layout"
grep -q '^jpeg 2 .* sof=1920x1080 ' YU12-1920x1080.txt || fail "1920x1080 JPEG"
echo "time per 1920x1080 frame: $(sed -n 's/^frame .* ms=\([0-9]*\)$/\1/p' YU12-1920x1080.txt | tr '\n' ' ')ms"

say "draining: ENCODER_CMD(STOP) while the last frame is encoded: that JPEG is LAST"
emu_param delay_ms 300
encode drain1 -f YUYV -W 320 -H 240 -n 3 -S || fail "draining during the last frame"
emu_param delay_ms 0
grep -q '^frame 2 .* last=1 ' drain1.txt || fail "the last JPEG has no V4L2_BUF_FLAG_LAST"
grep -q '^frame [01] .* last=1 ' drain1.txt && fail "an earlier JPEG has V4L2_BUF_FLAG_LAST"
grep -q 'eos_event=1 dqbuf_after_last errno=32 ' drain1.txt || fail "no EOS event, or DQBUF after LAST not EPIPE"

say "draining: ENCODER_CMD(STOP) after the last JPEG: an empty LAST buffer follows"
encode drain2 -f YUYV -W 320 -H 240 -n 3 -E || fail "draining after the last frame"
grep -q '^last: an empty buffer after the last JPEG, bytes=0 ' drain2.txt || fail "no empty LAST buffer"
grep -q 'eos_event=1 dqbuf_after_last errno=32 ' drain2.txt || fail "no EOS event, or DQBUF after LAST not EPIPE"

say "DMABUF: the encoder's own exported (dma-contig) buffer, imported by a second open"
encode self-dmabuf -f YU12 -W 640 -H 360 -s -n 2 || fail "self-exported dma-buf"
grep -q '^jpeg 1 ' self-dmabuf.txt || fail "self-exported dma-buf: no JPEG"

say "DMABUF: vivid instance 1's buffer (vivid.allocators=1: dma-contig) is imported"
encode vivid1-yuyv -i vivid-001-vid-cap -f YUYV -W 640 -H 480 || fail "vivid-001 (dma-contig) dma-buf"
grep -q '^jpeg 0 .* sof=640x480 ' vivid1-yuyv.txt || fail "vivid-001 dma-buf: no 640x480 JPEG"

say "DMABUF: vivid instance 0's buffer (vmalloc) is refused"
k=$(dmesg | wc -l)
encode vivid0-yuyv -i vivid-000-vid-cap -f YUYV -W 640 -H 480
rc=$_rc
rm -f "$VM_OUT/vivid0-yuyv.meta" "$VM_OUT/vivid0-yuyv.raw"
dmesg | tail -n "+$((k + 1))" | tee vivid0-dmesg.txt
[ "$rc" = 4 ] || fail "vivid-000's vmalloc dma-buf was not refused at QBUF (exit $rc)"
grep -q 'qbuf_refused errno=14 ' vivid0-yuyv.txt || fail "refused, but not with EFAULT"
grep -q 'contiguous chunk is too small' vivid0-dmesg.txt ||
	fail "no 'contiguous chunk is too small' from videobuf2-dma-contig"
cp vivid0-yuyv.txt vivid0-dmesg.txt "$VM_OUT/"

kernel_clean "$kmsg0"
echo "PASS"
