# vm-timeout: 90
# Zero-copy capture → encoder: vivid capture buffers exported with VIDIOC_EXPBUF and imported
# (V4L2_MEMORY_DMABUF) into vicodec's stateful encoder OUTPUT queue; FWHT frames come out of
# its CAPTURE queue. Packed 4:2:2 (YUYV) and planar 4:2:0 (YU12), 640x480, from vivid's
# single-planar instance and from its multi-planar one (vivid.multiplanar=1,2: the buffer's
# plane 0 exported), each driven through the API it announces.

check() { # check CAPTURE_NAME FOURCC
	say "$1 --dmabuf--> stateful-encoder, $2 640x480"
	dmabuf_m2m_check -c "$1" -e stateful-encoder -W 640 -H 480 -f "$2" -n 10 \
		-o "$VM_OUT/frame0-$1-$2.fwht" >"check-$1-$2.txt" 2>&1
	rc=$?
	cat "check-$1-$2.txt"
	[ "$rc" = 0 ] || fail "dmabuf_m2m_check $1 $2 exited $rc"
	line=$(grep '^PASS ' "check-$1-$2.txt") || fail "no PASS line"
	frames=$(echo "$line" | sed -n 's/.*frames=\([0-9]*\).*/\1/p')
	bytes=$(echo "$line" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
	[ "${frames:-0}" -eq 10 ] || fail "$1 $2: $frames frames encoded, wanted 10"
	[ "${bytes:-0}" -gt 1000 ] || fail "$1 $2: only $bytes bytes of FWHT"
	echo "$1 $2: $frames FWHT frames, $bytes bytes"
}
check vivid-000-vid-cap YUYV
check vivid-000-vid-cap YU12
grep -q 'capture: .*single-planar' check-vivid-000-vid-cap-YUYV.txt ||
	fail "vivid-000 was not driven single-planar"
check vivid-001-vid-cap YUYV
check vivid-001-vid-cap YU12
grep -q 'capture: .*multi-planar' check-vivid-001-vid-cap-YUYV.txt ||
	fail "vivid-001 was not driven multi-planar (kernel argument vivid.multiplanar=1,2)"
echo "PASS"
