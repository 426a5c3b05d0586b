# vm-timeout: 60
# The kernel's test drivers are all there, found by name: vivid capture/output (two instances),
# vicodec's stateful FWHT encoder/decoder, vim2m, the vimc media device; vivid's fault-injection
# controls; the dma-buf devices.

for n in vivid-000-vid-cap vivid-000-vid-out vivid-001-vid-cap vivid-001-vid-out \
	stateful-encoder stateful-decoder vim2m; do
	p=$(v4l_node "$n") || fail "no video4linux node named '$n'"
	[ -c "$p" ] || fail "$p ($n) is not a character device"
	echo "$n -> $p"
done
[ -c "${VIMC_MEDIA:-/nonexistent}" ] || fail "no media device with model 'VIMC MDEV'"
echo "VIMC MDEV -> $VIMC_MEDIA"

say "vivid capture"
v4l2-ctl -d "$VIVID_CAP" --info >info.txt 2>&1
cat info.txt
grep -q 'Driver name *: vivid' info.txt || fail "$VIVID_CAP is not driven by vivid"
grep -q 'Video Capture' info.txt || fail "$VIVID_CAP has no Video Capture capability"
v4l2-ctl -d "$VIVID_CAP" --list-formats >fmts.txt 2>&1
grep -q "'YUYV'" fmts.txt || fail "vivid capture does not offer YUYV"

say "vivid fault injection controls"
v4l2-ctl -d "$VIVID_CAP" --list-ctrls >ctrls.txt 2>&1
for c in disconnect inject_fatal_streaming_error inject_vidioc_qbuf_error \
	inject_vidioc_streamon_error inject_v4l2_buf_flag_error inject_vidioc_reqbufs_error; do
	grep -q "^ *$c " ctrls.txt || { cat ctrls.txt; fail "vivid control '$c' missing"; }
	echo "control $c: ok"
done

say "vivid output"
v4l2-ctl -d "$VIVID_OUT" --info 2>&1 | grep -q 'Video Output' || fail "$VIVID_OUT is not a video output"

say "vicodec stateful encoder"
v4l2-ctl -d "$VICODEC_ENC" --info >enc.txt 2>&1
cat enc.txt
grep -q 'Driver name *: vicodec' enc.txt || fail "$VICODEC_ENC is not driven by vicodec"
grep -q 'Video Memory-to-Memory' enc.txt || fail "$VICODEC_ENC is not a M2M device"
v4l2-ctl -d "$VICODEC_ENC" --list-formats >enc-cap.txt 2>&1
v4l2-ctl -d "$VICODEC_ENC" --list-formats-out >enc-out.txt 2>&1
grep -q "'FWHT'" enc-cap.txt || fail "encoder CAPTURE does not produce FWHT"
grep -q "'YUYV'" enc-out.txt || fail "encoder OUTPUT does not take YUYV"
grep -q "'YU12'" enc-out.txt || fail "encoder OUTPUT does not take YU12"

say "vim2m"
v4l2-ctl -d "$VIM2M" --info 2>&1 | grep -q 'Driver name *: vim2m' || fail "$VIM2M is not vim2m"

say "vimc topology"
media-ctl -d "$VIMC_MEDIA" -p >topo.txt 2>&1
grep -q 'Sensor B' topo.txt || { cat topo.txt; fail "vimc topology lacks 'Sensor B'"; }
grep -c '^- entity' topo.txt | sed 's/^/vimc entities: /'

say "dma-buf"
[ -c /dev/udmabuf ] || fail "/dev/udmabuf missing"
[ -c /dev/dma_heap/system ] || fail "/dev/dma_heap/system missing"
echo "udmabuf and dma_heap/system present"
echo "PASS"
