# vm-timeout: 120
# Zero copy through the daemon: vivid capture buffers exported with VIDIOC_EXPBUF and imported
# (V4L2_MEMORY_DMABUF) by vicodec's stateful encoder on its OUTPUT queue, found by discovery
# (--encoder m2m, no path), FWHT standing in for JPEG (--m2m-format fwht).
# 640x360: vicodec pads YU12 to 368 rows (chroma elsewhere than vivid's), so the format asked for
# is YUYV, which it imports as is; 640x480: YU12. 15 and 10 fps: vicodec's FWHT encoder, in the kernel
# under TCG, manages about 16 (YUYV) to 24 (YU12) frames a second at 640x360 on the test bed.
# Checks: /status names the encoder with "(dmabuf import)", 0 bytes copied, encoded frames at the
# source's rate with no errors; FWHT is counted (frames.not_published, bytes_encoded) but never
# served as image/jpeg (/snapshot.jpg answers 503); SIGTERM exits 0 with every buffer returned.
# Then the copy path: the test pattern has no dma-buf, so each frame is copied into the
# encoder's MMAP buffers, and /status says so.
# --on-demand off throughout: the encoder's rate is measured with no client (FWHT is never
# served, so no client could ask for frames).
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

# 61 runs this body on vivid's multi-planar instance (CAM, default $VIVID_CAP).
CAM=${CAM:-$VIVID_CAP}
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
[ -n "$CAM" ] || fail "no vivid capture node for this test"
[ -n "$VICODEC_ENC" ] || fail "no vicodec encoder node (stateful-encoder)"

json_num() { # json_num FILE KEY -> the first number after "KEY":
	sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1
}
LOG=/dev/null

say "--list-devices --m2m-format fwht"
"$MJPEGD" --list-devices --m2m-format fwht >list.txt 2>&1 || fail "--list-devices failed"
grep -A6 "^$VICODEC_ENC: vicodec" list.txt | tee vicodec.txt
grep -q 'as FWHT encoder: usable' vicodec.txt || fail "vicodec not listed as a usable FWHT encoder"

run() { # run SIZE FPS FORMAT: vivid → vicodec at SIZE@FPS, expecting FORMAT, imported
	say "vivid $CAM → discovered M2M encoder, FWHT, $1@$2"
	LOG=$VM_OUT/mjpegd-$1.log
	"$MJPEGD" --source "v4l2:$CAM" --encoder m2m --m2m-format fwht --size "$1" \
		--fps "$2" --on-demand off --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
	pid=$!
	retry 20 timeout 5 wget -q -O status0.json http://127.0.0.1:8000/status ||
		die "no answer on /status within 20 s"
	sleep 3 # past start-up
	timeout 10 wget -q -O status1.json http://127.0.0.1:8000/status || die "GET /status failed"
	t1=$(cut -d' ' -f1 /proc/uptime)
	sleep 5
	timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || die "GET /status failed"
	t2=$(cut -d' ' -f1 /proc/uptime)
	cat status2.json
	echo
	cp status2.json "$VM_OUT/status-$1.json"
	kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"

	grep -q "\"encoder\": \"m2m $VICODEC_ENC vicodec $3→FWHT (dmabuf import)\"" status2.json ||
		die "/status does not show $VICODEC_ENC importing $3"
	grep -q "\"source\": \"v4l2 $CAM (vivid) $3 $1@$2 dmabuf\"" status2.json ||
		die "/status does not show the exporting V4L2 source"
	[ "$(json_num status2.json bytes_copied)" = 0 ] || die "bytes were copied"
	[ "$(json_num status2.json bytes_copied_per_frame)" = 0.0 ] || die "bytes copied per frame"
	[ "$(json_num status2.json encode_errors)" = 0 ] || die "encode errors"
	c1=$(json_num status1.json captured)
	c2=$(json_num status2.json captured)
	e1=$(json_num status1.json encoded)
	e2=$(json_num status2.json encoded)
	n2=$(json_num status2.json not_published)
	b2=$(json_num status2.json bytes_encoded)
	d1=$(json_num status1.json dropped)
	d2=$(json_num status2.json dropped)
	rate=$(awk -v a="$e1" -v b="$e2" -v s="$t1" -v t="$t2" 'BEGIN { printf "%.1f", (b - a) / (t - s) }')
	src=$(awk -v a="$c1" -v b="$c2" -v s="$t1" -v t="$t2" 'BEGIN { printf "%.1f", (b - a) / (t - s) }')
	echo "captured $c1 → $c2 ($src/s), encoded $e1 → $e2 ($rate/s), dropped $d1 → $d2," \
		"not published $n2, bytes encoded $b2"
	# the source's rate: every captured frame encoded but a couple in flight
	[ "$((e2 - e1))" -ge $(((c2 - c1) * 9 / 10)) ] || die "encoder slower than the source"
	awk -v r="$rate" -v f="$2" 'BEGIN { exit !(r >= f * 0.8) }' || die "only $rate frames/s encoded"
	[ "$n2" = "$e2" ] || die "not every FWHT frame was kept from clients ($n2 of $e2)"
	[ "${b2:-0}" -gt $((e2 * 1000)) ] || die "FWHT frames are suspiciously small ($b2 bytes)"

	say "FWHT is never served as image/jpeg"
	if timeout 10 wget -q -O snap.bin http://127.0.0.1:8000/snapshot.jpg; then
		die "/snapshot.jpg answered with $(filesize snap.bin) bytes of FWHT"
	fi
	echo "/snapshot.jpg: refused (503 no frame yet), as it must"

	say "SIGTERM"
	stop_pid "$pid" 10
	rc=$STOP_RC
	echo "mjpegd exit status: $rc"
	tail -n 20 "$LOG"
	[ "$rc" = 0 ] || fail "mjpegd exited with $rc after SIGTERM"
	grep -q 'destroyed while\|released twice\|was not queued' "$LOG" &&
		fail "buffer ownership error in the log"
}
run 640x360 15 YUYV
run 640x480 10 YU12

say "the copy path: test pattern (no dma-buf) → vicodec"
LOG=$VM_OUT/mjpegd-copy.log
"$MJPEGD" --source testpattern --encoder m2m --m2m-format fwht --size 640x480 --fps 15 \
	--on-demand off --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 20 timeout 5 wget -q -O status0.json http://127.0.0.1:8000/status ||
	die "no answer on /status within 20 s"
sleep 3
timeout 10 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status failed"
cat status.json
cp status.json "$VM_OUT/status-copy.json"
grep -q "\"encoder\": \"m2m $VICODEC_ENC vicodec YU12→FWHT (copy: the source has no dma-buf)\"" \
	status.json || die "/status does not show the copy mode and why"
e=$(json_num status.json encoded)
[ "${e:-0}" -ge 15 ] || die "only ${e:-0} frames encoded in 3 s at 15 fps"
# every frame copied once: 640x480 I420 is 460800 bytes; frames still in the encoder were
# copied but are not counted as encoded yet
b=$(json_num status.json bytes_copied)
[ "$((b % 460800))" = 0 ] || die "bytes_copied $b is not a whole number of frames"
copies=$((b / 460800))
echo "frames copied: $copies, encoded: $e"
[ "$copies" -ge "$e" ] && [ "$copies" -le "$((e + 8))" ] || die "not one copy per frame"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || fail "mjpegd exited with $STOP_RC after SIGTERM"
dmesg | grep -i -E 'vicodec|vivid|dma' | tail -n 5
echo "PASS"
