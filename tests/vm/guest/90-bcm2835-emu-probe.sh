# vm-timeout: 120
# The emulated Raspberry Pi JPEG encoder (tests/vm/drivers/bcm2835-emu, bcm2835_codec_emu.ko) answers as
# bcm2835-codec's encode_image node does by the driver source: identity and capabilities, the
# firmware's format lists, the quality control, the format arithmetic (16-row padding, stride
# alignment per format, 32..1920 clamping, 4 MiB JPEG buffers), the crop, and a dma-buf of the
# unpadded 1920x1080 size refused at QBUF (raspberrypi/linux#4669). v4l2-compliance's reports
# (without and with -s) are kept in the artifacts; their failures must be the known ones, each
# one the real driver's by its source (docs/testing.md).

kmsg0=$(dmesg | wc -l)
emu_load
[ "$EMU_DEV" = /dev/video31 ] || fail "node $EMU_DEV, not /dev/video31 (encode_image_nr=31)"
dmesg | tail -n 3

say "identity"
v4l2-ctl -d "$EMU_DEV" --info >info.txt 2>&1
cat info.txt
grep -q 'Driver name *: bcm2835-codec$' info.txt || fail "driver name"
grep -q 'Card type *: bcm2835-codec-encode_image$' info.txt || fail "card name"
grep -q 'Bus info *: platform:bcm2835-codec$' info.txt || fail "bus info"
# V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT (added by the core)
grep -q 'Device Caps *: 0x04204000$' info.txt || fail "device caps are not M2M_MPLANE|STREAMING"
mdev=$(media_node bcm2835-codec) || fail "no media device with model bcm2835-codec"
media-ctl -d "$mdev" -p >topo.txt 2>&1
grep -q 'bcm2835-codec-encode_image' topo.txt || { cat topo.txt; fail "media topology lacks the node"; }
echo "media device $mdev: $(grep -c '^- entity' topo.txt) entities"

say "formats: the firmware's lists (raspberrypi/linux#4923)"
v4l2-ctl -d "$EMU_DEV" --list-formats-out >fmt-out.txt 2>&1
v4l2-ctl -d "$EMU_DEV" --list-formats >fmt-cap.txt 2>&1
cat fmt-out.txt fmt-cap.txt
got=$(sed -n "s/.*\[[0-9]*\]: '\(....\)'.*/\1/p" fmt-out.txt | tr '\n' ' ')
[ "$got" = "RGBP RGB3 BGR3 AB24 BGR4 YU12 YUYV YVYU VYUY UYVY " ] || fail "OUTPUT formats: $got"
got=$(sed -n "s/.*\[[0-9]*\]: '\(....\)'.*/\1/p" fmt-cap.txt | tr '\n' ' ')
[ "$got" = "JPEG " ] || fail "CAPTURE formats: $got"
grep -q 'compressed' fmt-cap.txt || fail "JPEG not flagged compressed"
v4l2-ctl -d "$EMU_DEV" --list-framesizes=YU12 >sizes.txt 2>&1
cat sizes.txt
grep -q 'Stepwise 32x32 - 1920x1920 with step 2/2' sizes.txt || fail "frame sizes"

say "the quality control"
v4l2-ctl -d "$EMU_DEV" --list-ctrls >ctrls.txt 2>&1
cat ctrls.txt
grep -q 'compression_quality .*(int) *: min=1 max=100 step=1 default=80 value=80' ctrls.txt ||
	fail "V4L2_CID_JPEG_COMPRESSION_QUALITY is not 1..100, default 80"
[ "$(grep -c '(int)\|(bool)\|(menu)\|(button)' ctrls.txt)" = 1 ] || fail "more than one control"

say "defaults at open: the lists' first formats at 32x32"
v4l2-ctl -d "$EMU_DEV" --get-fmt-video-out --get-fmt-video >defaults.txt 2>&1
cat defaults.txt

# fmtline FILE: "WxH FOURCC bytesperline sizeimage" of the first format in v4l2-ctl's output
fmtline() {
	awk '/Width\/Height/ { split($3, a, "/"); wh = a[1] "x" a[2] }
	     /Pixel Format/ { gsub("\x27", "", $4); pf = $4 }
	     /Bytes per Line/ { bpl = $NF }
	     /Size Image/ { si = $NF; print wh, pf, bpl, si; exit }' "$1"
}
# try OUT|CAP WIDTH HEIGHT FOURCC EXPECTED: TRY_FMT and compare "WxH FOURCC bytesperline sizeimage"
try() {
	if [ "$1" = OUT ]; then opt=--try-fmt-video-out; else opt=--try-fmt-video; fi
	v4l2-ctl -d "$EMU_DEV" "$opt=width=$2,height=$3,pixelformat=$4" >try.txt 2>&1 ||
		{ cat try.txt; fail "TRY_FMT $*"; }
	got=$(fmtline try.txt)
	echo "TRY_FMT $1 $2x$3 $4 -> $got"
	[ "$got" = "$5" ] || { cat try.txt; fail "TRY_FMT $1 $2x$3 $4 gave '$got', want '$5'"; }
}
say "TRY_FMT: 16-row padding, per-format stride alignment, clamping"
try OUT 1920 1080 YU12 "1920x1088 YU12 1920 3133440"	# the 1080 -> 1088 trap
try OUT 2000 2000 YU12 "1920x1920 YU12 1920 5529600"	# clamped to 1920
try OUT 16 8 YU12 "32x32 YU12 32 1536"			# raised to 32x32
try OUT 641 481 YU12 "641x496 YU12 672 499968"		# stride to 32
try OUT 641 481 YUYV "641x496 YUYV 1344 666624"		# stride to 64
try OUT 641 481 UYVY "641x496 UYVY 1344 666624"
try OUT 641 481 RGB3 "641x496 RGB3 1952 968192"		# stride to 32
try OUT 641 481 BGR3 "641x496 BGR3 1952 968192"
try OUT 100 100 AB24 "100x112 AB24 448 50176"		# 32-bit: stride to 64
try OUT 100 100 BGR4 "100x112 BGR4 448 50176"
try OUT 100 100 RGBP "100x112 RGBP 224 25088"
try CAP 1920 1080 JPEG "1920x1080 JPEG 0 4194304"	# JPEG: 4 MiB, no padding at TRY
try CAP 2000 2000 JPEG "1920x1920 JPEG 0 4194304"

say "S_FMT 1920x1080 YU12: the buffer has 1088 rows, the picture (crop) 1080"
# (one --get-selection-output per v4l2-ctl; each run is a new open, with its own formats)
for target in crop crop_bounds; do
	v4l2-ctl -d "$EMU_DEV" --set-fmt-video-out=width=1920,height=1080,pixelformat=YU12 \
		--get-fmt-video-out --get-selection-output target=$target >>sfmt.txt 2>&1 ||
		{ cat sfmt.txt; fail "S_FMT"; }
done
cat sfmt.txt
[ "$(fmtline sfmt.txt)" = "1920x1088 YU12 1920 3133440" ] || fail "G_FMT after S_FMT: $(fmtline sfmt.txt)"
grep -q 'Left 0, Top 0, Width 1920, Height 1080' sfmt.txt || fail "crop is not 1920x1080"
grep -q 'Left 0, Top 0, Width 1920, Height 1088' sfmt.txt || fail "crop bounds are not 1920x1088"
v4l2-ctl -d "$EMU_DEV" --set-fmt-video=width=1920,height=1080,pixelformat=JPEG \
	--get-fmt-video >sfmt-cap.txt 2>&1 || { cat sfmt-cap.txt; fail "S_FMT CAPTURE"; }
cat sfmt-cap.txt
# the driver replicates the size to the CAPTURE side with the padded height
[ "$(fmtline sfmt-cap.txt)" = "1920x1088 JPEG 0 4194304" ] || fail "CAPTURE after S_FMT: $(fmtline sfmt-cap.txt)"

say "a dma-buf of 1080 rows is refused at QBUF (raspberrypi/linux#4669)"
# The dma-bufs come from the system heap. Debian bookworm's amd64 kernel (6.1) is built without
# dma-buf heaps (CONFIG_DMABUF_HEAPS unset; Raspberry Pi OS's kernels have them): there this one
# check is left out, said so; trixie's kernel and the compiled one have the heap and run it.
kver=$(uname -r)
if [ ! -e /dev/dma_heap/system ] && case "$kver" in 6.1.*-amd64) true ;; *) false ;; esac; then
	echo "not checked on $kver: no /dev/dma_heap/system (CONFIG_DMABUF_HEAPS unset in Debian bookworm's kernel)"
else
	bcm2835_emu shortbuf -d "$EMU_DEV" >shortbuf.txt 2>&1
	rc=$?
	cat shortbuf.txt
	[ "$rc" = 0 ] || fail "bcm2835_emu shortbuf exited $rc"
	grep -q 'short_refused errno=22' shortbuf.txt || fail "the short dma-buf was not refused with EINVAL"
	dmesg | tail -n 3
fi

say "v4l2-compliance"
# The tool is the booted kernel's Debian release's (tests/vm/bed/debian-kernel.sh): 1.30 with
# trixie's 6.12, 1.22 with 6.1. 1.30.1 also asks CREATE_BUFS for one plane more (of 65536 bytes)
# than the multi-planar format has and wants EINVAL, a check it leaves to the driver's
# queue_setup (v4l2-test-buffers.cpp:901, testReqBufs); the real driver's
# bcm2835_codec_queue_setup() compares only sizes[0] with the port's size when *nplanes is set,
# so it accepts that request: one more known failure, allowed only at that line (the other
# CREATE_BUFS checks there, which the driver passes, print the same text at other lines).
cver=$(v4l2-compliance --version 2>&1 | sed -n 's/^v4l2-compliance \([0-9.]*\).*/\1/p' | head -n1)
echo "v4l2-compliance $cver"
CREATEBUFS_PLANES=
known=3
case "$cver" in
1.30.*) CREATEBUFS_PLANES='v4l2-test-buffers.cpp(901): q.create_bufs(node, 1, &fmt) != EINVAL'; known=4 ;;
esac
v4l2-compliance -d "$EMU_DEV" >compliance.txt 2>&1
crc=$?
cp compliance.txt "$VM_OUT/v4l2-compliance.txt"
grep -E -A1 '^\s*(fail|warn):' compliance.txt
total=$(grep '^Total for' compliance.txt)
echo "v4l2-compliance exit status $crc: $total"
[ -n "$total" ] || fail "no v4l2-compliance summary"
# The real driver fails these three the same way, by its source (docs/testing.md):
#   G/S_PARM kept on a JPEG M2M encoder, which v4l2-compliance does not count as stateful;
#   colorspace REC709 by default where a JPEG codec's raw side must say SRGB;
#   TRY_ENCODER_CMD leaves unknown flags set.
grep -o 'fail: .*' compliance.txt |
	grep -v -e 'node->is_m2m && !is_stateful_enc' \
		-e 'g_colorspace() != V4L2_COLORSPACE_SRGB' \
		-e 'cmd.flags & ~V4L2_ENC_CMD_STOP_AT_GOP_END' |
	{ if [ -n "$CREATEBUFS_PLANES" ]; then grep -v -F "$CREATEBUFS_PLANES"; else cat; fi; } >unexpected.txt
[ -s unexpected.txt ] && { cat unexpected.txt; fail "v4l2-compliance: failures the real driver does not explain"; }
grep -q "Failed: $known," compliance.txt || fail "v4l2-compliance: not exactly the $known known failures"
grep -E '^\s*warn:' compliance.txt && fail "v4l2-compliance warnings"

say "v4l2-compliance -s (MMAP streaming)"
timeout 90 v4l2-compliance -d "$EMU_DEV" -s 10 >compliance-s.txt 2>&1
cp compliance-s.txt "$VM_OUT/v4l2-compliance-s.txt"
grep -o -E 'fail: .*|^\s*warn: .*|^\s*test (MMAP|DMABUF|USERPTR|blocking).*|^Total.*' compliance-s.txt
# Beyond the three above: each JPEG (CAPTURE) buffer must carry the TIMECODE flag, timecode and
# timestamp-source flags of its raw (OUTPUT) buffer; the real driver copies the timestamp alone
# (through the VPU's pts), so each MMAP mode fails on that check, or, when the JPEG buffer is
# dequeued before its raw buffer (timing: seen on a loaded host, MMAP (select)), first on the
# sequence check: the driver never sets a buffer's sequence (it stays 0). (Some "fail:" lines
# follow a progress line without a newline: grep -o finds them.)
grep -o 'fail: .*' compliance-s.txt |
	grep -v -e 'node->is_m2m && !is_stateful_enc' \
		-e 'g_colorspace() != V4L2_COLORSPACE_SRGB' \
		-e 'cmd.flags & ~V4L2_ENC_CMD_STOP_AT_GOP_END' \
		-e '(buf.g_flags() & valid_output_flags) != (orig_buf.flags & valid_output_flags)' \
		-e '(int)g_sequence() < seq.last_seq + 1' -e 'buf.check(q, last_seq)' \
		-e 'captureBufs(node, node_m2m_cap' |
	{ if [ -n "$CREATEBUFS_PLANES" ]; then grep -v -F "$CREATEBUFS_PLANES"; else cat; fi; } >unexpected-s.txt
[ -s unexpected-s.txt ] && { cat unexpected-s.txt; fail "v4l2-compliance -s: failures the real driver does not explain"; }
# one failure per MMAP streaming mode on top of the known ones: 3 modes in 1.22 (no poll,
# select, epoll), 6 in 1.30 (each with REQBUFS and with CREATE_BUFS)
nmmap=$(grep -c '^[[:space:]]*test MMAP (' compliance-s.txt)
[ "$nmmap" -ge 3 ] || fail "v4l2-compliance -s: $nmmap MMAP streaming tests, not 3 or more"
grep -q "^Total for .*Failed: $((known + nmmap))," compliance-s.txt ||
	fail "v4l2-compliance -s: not the $((known + nmmap)) known failures ($known + one per MMAP mode)"

kernel_clean "$kmsg0"
echo "PASS"
