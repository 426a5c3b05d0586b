# vm-timeout: 200
# vm-alone: <= 1.1 extra wake-ups per frame (0.95 to 1.00 alone); 200 frames in 20 s at 15 fps
# Two costs of the real driver's behaviour that mjpegd must not pay per frame:
#  - re-imports: bcm2835-codec imports an OUTPUT buffer's dma-buf into the VPU again whenever its
#    slot is queued with another dma-buf than last time (bcm2835_codec_buf_prepare; the
#    emulation counts them in dmabuf_reimports). mjpegd gives each camera buffer its own slot:
#    over 20 s at 15 fps (300 frames) the count stays within the camera's buffer count (each
#    buffer's first turn), and mjpegd's own /status dmabuf_imports counts the same.
#  - wake-ups: the driver returns a job's OUTPUT buffer when the VPU has read it, before the JPEG
#    (ip_buffer_cb before op_buffer_cb; the emulation's output_early, on by default). mjpegd
#    watches the device for results only (EPOLLIN), but on Linux 6.1 that still costs one
#    wake-up: vb2 wakes the OUTPUT queue's done_wq without a key, so epoll cannot filter it and
#    wakes its own waiters with EPOLLIN, which io_uring's poll takes as the answer without
#    polling again (io_poll_check_events(): "cqe.res contains only events of the first wake
#    up"). mjpegd then finds no JPEG and goes back to sleep: one completion and one DQBUF. Before
#    (EPOLLIN|EPOLLOUT) the level-triggered POLLOUT cost two. Checked: at most 1.1 completions
#    per frame more with output_early=1 than with 0 (delay_ms=20 keeps the two apart).
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
command -v streamwatch >/dev/null || fail "streamwatch not in the initramfs"
emu_load
LOG=$VM_OUT/mjpegd.log
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }

# --on-demand off: the wake-ups are counted with no client, every frame encoded all the same
"$MJPEGD" --source "v4l2:$VIVID1_CAP" --encoder "m2m:$EMU_DEV" --size 640x480 --fps 15 \
	--format YUYV --camera-buffers 4 --on-demand off --listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 30 timeout 5 wget -q -O st0.json http://127.0.0.1:8000/snapshot.jpg ||
	die "no snapshot within 30 s"

say "re-imports over 20 s, 3 stream clients"
echo 0 >"$EMU_PARAMS/dmabuf_reimports"
timeout 5 wget -q -O st0.json http://127.0.0.1:8000/status || die "GET /status"
streamwatch -p 8000 -n 3 -i 0 events.txt >watch.json 2>&1 &
wpid=$!
sleep 20
kill -TERM "$wpid" 2>/dev/null
wait "$wpid"
wpid=""
timeout 5 wget -q -O st1.json http://127.0.0.1:8000/status || die "GET /status"
cp st0.json st1.json "$VM_OUT/"
re=$(cat "$EMU_PARAMS/dmabuf_reimports")
e0=$(json_num st0.json encoded)
e1=$(json_num st1.json encoded)
i0=$(json_num st0.json dmabuf_imports)
i1=$(json_num st1.json dmabuf_imports)
say "$((e1 - e0)) frames in 20 s: the driver re-imported $re dma-bufs; mjpegd's dmabuf_imports $i0 → $i1"
grep -q '(dmabuf import)' st1.json || die "not importing"
[ "$((e1 - e0))" -ge 200 ] || die "only $((e1 - e0)) frames in 20 s"
[ "$re" -le 4 ] || die "$re re-imports over 20 s: more than the camera's 4 buffers"
# a buffer's first turn imports it (some had not had one when the count was reset)
[ "$i1" -le 4 ] || die "mjpegd's dmabuf_imports $i1: more than the camera's 4 buffers"
echo "(mjpegd counts a slot's change when it queues the buffer, the driver when it prepares it:"
echo " a buffer queued around the reset may be counted by one side only)"
awk '/^part / { if ($6 != "1" && $6 != "ok" && $6 != "OK") bad++ } END { exit bad > 0 }' \
	events.txt || die "a client got a part that is not a whole JPEG"

# completions per encoded frame over 10 s, no client (the same work but the device's)
per_frame() {
	timeout 5 wget -q -O a.json http://127.0.0.1:8000/status || die "GET /status"
	sleep 10
	timeout 5 wget -q -O b.json http://127.0.0.1:8000/status || die "GET /status"
	[ "$(json_num b.json encoded)" -ge "$(($(json_num a.json encoded) + 100))" ] ||
		{ echo "fewer than 100 frames encoded in 10 s: nothing to count the wake-ups over" >&2
		  exit 1; }
	awk -v c0="$(json_num a.json completions)" -v c1="$(json_num b.json completions)" \
		-v e0="$(json_num a.json encoded)" -v e1="$(json_num b.json encoded)" \
		'BEGIN { printf "%.3f", (c1 - c0) / (e1 - e0) }'
}
say "wake-ups: OUTPUT returned before its JPEG (output_early=1) against together (0)"
emu_param delay_ms 20 # the JPEG comes 20 ms after the raw buffer went back
early=$(per_frame) || die "counting wake-ups with output_early=1"
emu_param output_early 0
late=$(per_frame) || die "counting wake-ups with output_early=0"
emu_param output_early 1
emu_param delay_ms 0
extra=$(awk -v a="$early" -v b="$late" 'BEGIN { printf "%.3f", a - b }')
say "loop completions per frame: $early with output_early=1, $late with 0: $extra extra"
awk -v x="$extra" 'BEGIN { exit !(x <= 1.1) }' || die "$extra extra wake-ups per frame"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
echo "PASS"
