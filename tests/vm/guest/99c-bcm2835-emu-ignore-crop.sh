# vm-timeout: 150
# A firmware that ignores the crop for still images (whether the Pi's does is only known on a Pi:
# `make pi-check` reports it): the emulation's ignore_crop=1 encodes the padded rows, 1920x1088
# for a 1920x1080 picture. mjpegd reads every JPEG's SOF: such a JPEG is never served; the
# encoder stops for that size, says why in one line, and the software encoder serves 1920x1080;
# the reopen after the backoff is refused for that size (copying could not help: the driver pads
# the rows of any buffer), with the stand-in serving on.
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
emu_load ignore_crop=1
LOG=$VM_OUT/mjpegd.log
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }
# sof FILE -> "WxH" of the JPEG's first SOF0/SOF2
sof() {
	od -An -tu1 -v "$1" | tr -s ' \n' '  ' | awk '{
		for (i = 1; i < NF - 8; i++)
			if ($i == 255 && ($(i + 1) == 192 || $(i + 1) == 194)) {
				printf "%dx%d", $(i + 7) * 256 + $(i + 8), $(i + 5) * 256 + $(i + 6); exit
			}
	}'
}

"$MJPEGD" --source "v4l2:$VIVID1_CAP" --encoder auto --size 1920x1080 --fps 10 --format YUYV \
	--listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 40 timeout 5 wget -q -O st.json http://127.0.0.1:8000/status || die "no /status within 40 s"
retry 30 sh -c 'grep -q "ignores the OUTPUT crop" "$1"' sh "$LOG" ||
	die "the encoder's 1088-row JPEGs were not noticed within 30 s"
sleep 8 # past the supervisor's first reopen
for i in 1 2 3 4 5; do
	timeout 10 wget -q -O "snap$i.jpg" http://127.0.0.1:8000/snapshot.jpg || die "GET /snapshot.jpg"
	s=$(sof "snap$i.jpg")
	echo "snapshot $i: $s, starts $(hexhead "snap$i.jpg" 4)"
	[ "$s" = 1920x1080 ] || die "a $s JPEG was served for a 1920x1080 picture"
	sleep 1
done
timeout 5 wget -q -O st.json http://127.0.0.1:8000/status || die "GET /status"
cp st.json snap5.jpg "$VM_OUT/"
grep -E '"encoder"|software_fallback|last_error|encode_errors' st.json
grep -q '"software_fallback": true' st.json || die "the software encoder is not serving"
[ "$(grep -c "ignores the OUTPUT crop" "$LOG")" = 1 ] || die "not said exactly once"
grep -q "made JPEGs of another size than 1920x1080 before; not used at this size" "$LOG" ||
	die "the reopen was not refused for this size"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
grep -v '^<7>' "$LOG" | tail -n 15
echo "PASS"
