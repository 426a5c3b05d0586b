# vm-timeout: 60
# Zero-copy capture → encoder: vivid capture buffers exported with VIDIOC_EXPBUF and imported
# (V4L2_MEMORY_DMABUF) into vicodec's stateful encoder OUTPUT queue; FWHT frames come out of
# its CAPTURE queue. Packed 4:2:2 (YUYV) and planar 4:2:0 (YU12), 640x480.

check() { # check FOURCC
	say "vivid-000-vid-cap --dmabuf--> stateful-encoder, $1 640x480"
	dmabuf_m2m_check -c vivid-000-vid-cap -e stateful-encoder -W 640 -H 480 -f "$1" -n 10 \
		-o "$VM_OUT/frame0-$1.fwht" >"check-$1.txt" 2>&1
	rc=$?
	cat "check-$1.txt"
	[ "$rc" = 0 ] || fail "dmabuf_m2m_check $1 exited $rc"
	line=$(grep '^PASS ' "check-$1.txt") || fail "no PASS line"
	frames=$(echo "$line" | sed -n 's/.*frames=\([0-9]*\).*/\1/p')
	bytes=$(echo "$line" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p')
	[ "${frames:-0}" -eq 10 ] || fail "$1: $frames frames encoded, wanted 10"
	[ "${bytes:-0}" -gt 1000 ] || fail "$1: only $bytes bytes of FWHT"
	echo "$1: $frames FWHT frames, $bytes bytes"
}
check YUYV
check YU12
echo "PASS"
