# vm-timeout: 150
# Zero copy from libcamera: vimc's 'Sensor B' through libcamera's vimc pipeline handler, its
# FrameBuffers' dma-bufs imported (V4L2_MEMORY_DMABUF) by vicodec's stateful encoder, found by
# discovery (--encoder m2m), FWHT standing in for JPEG (--m2m-format fwht). vimc gives only
# RGB888/BGR888 under libcamera and vicodec takes RGB3/BGR3 on its OUTPUT queue, so this is the
# RGB path; the Pi's YUV420 planes at offsets are covered by tests/unit/test_libcamera_planes.c.
# 960x720: a size vimc gives exactly (3 x 320x240 at the sensor) and vicodec does not pad.
# Checks: /status names the source with "dmabuf" and the encoder with "(dmabuf import)", 0 bytes
# copied per frame, frames encoded with no errors, FWHT never served as image/jpeg, SIGTERM exits
# 0 with every buffer back (no ownership errors in the log).
# (busybox wget -T segfaults: every wget is bounded with `timeout`.)

# Frames keep coming: at least RATE_MIN encoded in RATE_SECS s (76 asks less of libcamera 0.7).
RATE_SECS=${RATE_SECS:-4}
RATE_MIN=${RATE_MIN:-4}

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"
[ -n "$VICODEC_ENC" ] || fail "no vicodec encoder node (stateful-encoder)"

json_num() { # json_num FILE KEY -> the first number after "KEY":
	sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1
}
LOG=$VM_OUT/mjpegd.log

say "vicodec takes RGB on its OUTPUT queue"
v4l2-ctl -d "$VICODEC_ENC" --list-formats-out | grep -E "'(RGB3|BGR3)'" ||
	fail "vicodec lists neither RGB3 nor BGR3"

say "libcamera (vimc) → discovered M2M encoder, FWHT, 960x720@10"
# --on-demand off: the encoder's rate is measured with no client (FWHT is never served)
"$MJPEGD" --source libcamera --encoder m2m --m2m-format fwht --size 960x720 --fps 10 \
	--on-demand off --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
# The first frame takes a while under TCG: IPA start, media pipeline setup.
retry 40 timeout 5 wget -q -O status0.json http://127.0.0.1:8000/status ||
	die "no answer on /status within 40 s"
e=0
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do # until frames flow
	timeout 10 wget -q -O status1.json http://127.0.0.1:8000/status || die "GET /status failed"
	e=$(json_num status1.json encoded)
	[ "${e:-0}" -ge 3 ] && break
	sleep 1
done
[ "${e:-0}" -ge 3 ] || die "fewer than 3 frames encoded after 15 s"
sleep "$RATE_SECS"
timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || die "GET /status failed"
cat status2.json
echo
cp status2.json "$VM_OUT/status.json"
kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"

grep -q '"source": "libcamera Sensor B 960x720 \(RGB3\|BGR3\)@10 dmabuf"' status2.json ||
	die "/status does not show the libcamera source at 960x720 with its dma-bufs"
grep -q "\"encoder\": \"m2m $VICODEC_ENC vicodec \(RGB3\|BGR3\)→FWHT (dmabuf import)\"" \
	status2.json || die "/status does not show $VICODEC_ENC importing libcamera's dma-bufs"
[ "$(json_num status2.json bytes_copied)" = 0 ] || die "bytes were copied"
[ "$(json_num status2.json bytes_copied_per_frame)" = 0.0 ] || die "bytes copied per frame"
[ "$(json_num status2.json encode_errors)" = 0 ] || die "encode errors"
e1=$(json_num status1.json encoded)
e2=$(json_num status2.json encoded)
c2=$(json_num status2.json captured)
n2=$(json_num status2.json not_published)
b2=$(json_num status2.json bytes_encoded)
echo "encoded $e1 → $e2 in $RATE_SECS s, captured $c2, not published $n2, bytes encoded $b2"
[ "$e2" -ge $((e1 + RATE_MIN)) ] ||
	die "fewer than $RATE_MIN frames encoded in $RATE_SECS s ($e1 → $e2)"
[ "$n2" = "$e2" ] || die "not every FWHT frame was kept from clients ($n2 of $e2)"
[ "${b2:-0}" -gt $((e2 * 1000)) ] || die "FWHT frames are suspiciously small ($b2 bytes)"

say "FWHT is never served as image/jpeg"
if timeout 10 wget -q -O snap.bin http://127.0.0.1:8000/snapshot.jpg; then
	die "/snapshot.jpg answered with $(filesize snap.bin) bytes of FWHT"
fi
echo "/snapshot.jpg: refused, as it must"

say "SIGTERM"
stop_pid "$pid" 10
rc=$STOP_RC
echo "mjpegd exit status: $rc"
echo "--- mjpegd log"
cat "$LOG"
[ "$rc" = 0 ] || fail "mjpegd exited with $rc after SIGTERM (want 0; 137 = needed SIGKILL)"
grep -q 'destroyed while\|released twice\|was not queued\|does not own' "$LOG" &&
	fail "buffer ownership error in the log"
grep -q 'cannot import' "$LOG" && fail "the source said its buffers cannot be imported"
dmesg | grep -i -E 'vicodec|vimc|dma' | tail -n 5
echo "PASS"
