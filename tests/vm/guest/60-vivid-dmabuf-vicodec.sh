# vm-timeout: 120
# Zero copy through the daemon: vivid capture buffers exported with VIDIOC_EXPBUF and imported
# (V4L2_MEMORY_DMABUF) by vicodec's stateful encoder on its OUTPUT queue, found by discovery
# (--encoder m2m, no path), FWHT standing in for JPEG (--m2m-format fwht).
# Checks: /status names the encoder with "(dmabuf import)", 0 bytes copied, encoded frames at the
# source's rate with no errors; FWHT is counted (frames.not_published, bytes_encoded) but never
# served as image/jpeg (/snapshot.jpg answers 503); SIGTERM exits 0 with every buffer returned.
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
[ -n "$VIVID_CAP" ] || fail "no vivid capture node (vivid-000-vid-cap)"
[ -n "$VICODEC_ENC" ] || fail "no vicodec encoder node (stateful-encoder)"

json_num() { # json_num FILE KEY -> the first number after "KEY":
	sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1
}
die() {
	echo "--- mjpegd log"
	cat "$VM_OUT/mjpegd.log"
	kill -KILL "$pid" 2>/dev/null
	fail "$@"
}

say "--list-devices --m2m-format fwht"
"$MJPEGD" --list-devices --m2m-format fwht >list.txt 2>&1 || fail "--list-devices failed"
grep -A6 "^$VICODEC_ENC: vicodec" list.txt | tee vicodec.txt
grep -q 'as FWHT encoder: usable' vicodec.txt || fail "vicodec not listed as a usable FWHT encoder"

run() { # run FORMAT: vivid in FORMAT order preference → vicodec, dmabuf import, 0 bytes copied
	say "vivid $VIVID_CAP → discovered M2M encoder, FWHT, 640x360@30"
	"$MJPEGD" --source "v4l2:$VIVID_CAP" --encoder m2m --m2m-format fwht --size 640x360 \
		--fps 30 --listen 127.0.0.1:8000 >"$VM_OUT/mjpegd.log" 2>&1 &
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
	cp status2.json "$VM_OUT/status.json"
	kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"

	grep -q "\"encoder\": \"m2m $VICODEC_ENC vicodec YU12→FWHT (dmabuf import)\"" status2.json ||
		die "/status does not show $VICODEC_ENC in dmabuf import mode"
	grep -q "\"source\": \"v4l2 $VIVID_CAP (vivid) YU12 640x360@30 dmabuf\"" status2.json ||
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
	awk -v r="$rate" 'BEGIN { exit !(r >= 20) }' || die "only $rate frames/s encoded"
	[ "$n2" = "$e2" ] || die "not every FWHT frame was kept from clients ($n2 of $e2)"
	[ "${b2:-0}" -gt $((e2 * 1000)) ] || die "FWHT frames are suspiciously small ($b2 bytes)"

	say "FWHT is never served as image/jpeg"
	if timeout 10 wget -q -O snap.bin http://127.0.0.1:8000/snapshot.jpg; then
		die "/snapshot.jpg answered with $(filesize snap.bin) bytes of FWHT"
	fi
	echo "/snapshot.jpg: refused (503 no frame yet), as it must"

	say "SIGTERM"
	rc=$(stop_pid "$pid" 10)
	echo "mjpegd exit status: $rc"
	tail -n 20 "$VM_OUT/mjpegd.log"
	[ "$rc" = 0 ] || fail "mjpegd exited with $rc after SIGTERM"
	grep -q 'destroyed while\|released twice\|was not queued' "$VM_OUT/mjpegd.log" &&
		fail "buffer ownership error in the log"
}
run
dmesg | grep -i -E 'vicodec|vivid|dma' | tail -n 5
echo "PASS"
