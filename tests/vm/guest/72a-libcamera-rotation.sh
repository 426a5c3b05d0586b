# vm-timeout: 150
# --rotation on the libcamera source (vimc's 'Sensor B' through libcamera's vimc pipeline
# handler): --rotation 90 alone asks nothing of the sensor (once refused by the libcamera source)
# and sends EXIF 6 after SOI; --rotation 90 --hflip asks the sensor for the mirror: where vimc's
# pipeline handler takes the transform the sensor mirrors and EXIF says 6, where it refuses
# ("cannot rotate/flip as asked" in the log) the whole orientation goes in EXIF (7). Either way
# /status says which, and the snapshot carries that one value.
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"
LOG=$VM_OUT/mjpegd.log
URL=http://127.0.0.1:8000

# run ARGS...: the daemon on vimc, its first snapshot in snap.jpg, /status in status.json
run() {
	"$MJPEGD" --listen 127.0.0.1:8000 --source libcamera --encoder software --size 640x480 \
		--fps 10 "$@" >>"$LOG" 2>&1 &
	pid=$!
	retry 40 timeout 5 wget -q -O snap.jpg "$URL/snapshot.jpg" || die "no /snapshot.jpg within 40 s"
	timeout 10 wget -q -O status.json "$URL/status" || die "no /status"
	grep -o '"orientation": .*' status.json
}
# segment VALUE: the snapshot starts with SOI and our APP1 segment holding VALUE
segment() {
	head=$(hexhead snap.jpg 34)
	[ "$head" = "ffd8ffe100224578696600004d4d002a00000008000101120003000000010${1}0000" ] ||
		die "snapshot head $head, want Orientation $1"
}

say "--rotation 90: nothing asked of the sensor, EXIF 6"
run --rotation 90
grep -q '"sensor": {"rotation": 0, "hflip": false, "vflip": false}, "exif_orientation": 6' \
	status.json || die "/status orientation"
segment 006
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "exit status $STOP_RC"

say "--rotation 90 --hflip: the sensor mirrors (EXIF 6), or cannot (EXIF 7)"
: >"$LOG.2"
LOG=$LOG.2
run --rotation 90 --hflip
if grep -q 'cannot rotate/flip as asked' "$LOG"; then
	echo "vimc's pipeline handler refused the transform: EXIF carries it all"
	grep -q '"sensor": {"rotation": 0, "hflip": false, "vflip": false}, "exif_orientation": 7' \
		status.json || die "/status orientation"
	segment 007
else
	echo "the sensor mirrors"
	grep -q '"sensor": {"rotation": 0, "hflip": true, "vflip": false}, "exif_orientation": 6' \
		status.json || die "/status orientation"
	segment 006
fi
grep 'orientation:' "$LOG"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "exit status $STOP_RC"
echo PASS
