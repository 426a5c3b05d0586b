# vm-timeout: 150
# --rotation/--hflip/--vflip on a real V4L2 driver that has V4L2_CID_HFLIP and V4L2_CID_VFLIP
# (vivid): the sensor's part is set in the driver (v4l2-ctl reads horizontal_flip and
# vertical_flip back), the 90/270 turn goes in an EXIF Orientation segment right after SOI of
# every snapshot and stream part, and /status says which part is done where. --rotation 90
# --hflip: the driver flips, EXIF 6. SIGHUP to --rotation 180: the camera is reopened with both
# flips, no EXIF. SIGHUP to --rotation 270 (no flips): the camera is reopened with none, EXIF 8.
# Frames keep coming throughout.
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
CAM=$VIVID_CAP
[ -n "$CAM" ] || fail "no vivid capture node"
LOG=$VM_OUT/mjpegd.log
URL=http://127.0.0.1:8000
CONF=$PWD/rotation.conf

ctl() { v4l2-ctl -d "$CAM" -C "$1" | sed 's/.*: *//; s/ .*//'; }
# status_has TEXT: /status contains TEXT (retried: a reopen takes a moment)
status_has() {
	retry 10 sh -c 'timeout 5 wget -q -O status.json "$1/status" && grep -q "$2" status.json' \
		sh "$URL" "$1" || die "/status never had $1: $(grep orientation status.json)"
}
# exif_in_snapshot HEX: the snapshot's first bytes (SOI, APP1 of 0x22 bytes, "Exif\0\0", "MM",
# 42, IFD at 8, one entry 0x0112 SHORT 1, value) end in HEX; "none": no APP1 after SOI
exif_in_snapshot() {
	sleep 0.5
	timeout 10 wget -q -O snap.jpg "$URL/snapshot.jpg" || die "GET /snapshot.jpg"
	head=$(hexhead snap.jpg 34)
	echo "snapshot starts $head"
	if [ "$1" = none ]; then
		case "$head" in ffd8ffe1*) die "an APP1 segment where none belongs" ;; esac
	else
		[ "$head" = "ffd8ffe10022457869660000${1}" ] || die "snapshot head $head"
	fi
}
conf() {
	printf 'source = v4l2:%s\nencoder = software\nsize = 640x360\nfps = 15\n%s' "$CAM" "$1" >"$CONF"
}

say "--rotation 90 --hflip: vivid flips, EXIF 6"
conf "rotation = 90
hflip = true
"
"$MJPEGD" --config "$CONF" --listen 127.0.0.1:8000 >>"$LOG" 2>&1 &
pid=$!
retry 20 timeout 5 wget -q -O /dev/null "$URL/snapshot.jpg" || die "no snapshot"
[ "$(ctl horizontal_flip)" = 1 ] || die "horizontal_flip is $(ctl horizontal_flip)"
[ "$(ctl vertical_flip)" = 0 ] || die "vertical_flip is $(ctl vertical_flip)"
status_has '"sensor": {"rotation": 0, "hflip": true, "vflip": false}, "exif_orientation": 6'
exif_in_snapshot "4d4d002a000000080001011200030000000100060000"
timeout 10 wget -q -O - "$URL/stream.mjpg" 2>/dev/null | head -c 200000 >stream.bin
parts=$(grep -a -c 'Content-Type: image/jpeg' stream.bin)
exif=$(od -An -v -tx1 stream.bin | tr -d ' \n' | grep -o 'ffd8ffe10022457869660000' | wc -l)
echo "stream: $parts parts, $exif with the Exif segment after SOI"
[ "$parts" -ge 2 ] && [ "$exif" -ge "$parts" ] || die "stream parts without the segment"

say "SIGHUP --rotation 180: the camera reopened with both flips, no EXIF"
conf "rotation = 180
"
kill -HUP "$pid"
retry 10 sh -c '[ "$(v4l2-ctl -d "$1" -C vertical_flip | sed "s/.*: *//")" = 1 ]' sh "$CAM" ||
	die "vertical_flip is $(ctl vertical_flip)"
[ "$(ctl horizontal_flip)" = 1 ] || die "horizontal_flip is $(ctl horizontal_flip)"
status_has '"sensor": {"rotation": 180, "hflip": false, "vflip": false}, "exif_orientation": 1'
exif_in_snapshot none

say "SIGHUP --rotation 270: no flips in the driver, EXIF 8"
conf "rotation = 270
"
kill -HUP "$pid"
retry 10 sh -c '[ "$(v4l2-ctl -d "$1" -C vertical_flip | sed "s/.*: *//")" = 0 ]' sh "$CAM" ||
	die "vertical_flip is $(ctl vertical_flip)"
[ "$(ctl horizontal_flip)" = 0 ] || die "horizontal_flip is $(ctl horizontal_flip)"
status_has '"exif_orientation": 8'
exif_in_snapshot "4d4d002a000000080001011200030000000100080000"
grep 'orientation:\|flips its picture' "$LOG"
timeout 10 wget -q -O s1.json "$URL/status"
sleep 1
timeout 10 wget -q -O s2.json "$URL/status"
c1=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s1.json)
c2=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s2.json)
[ "$((c2 - c1))" -ge 5 ] || die "frames stopped: captured $c1 → $c2 in 1 s"
grep -q '"bytes_copied": 0,' s2.json || die "bytes copied: $(grep bytes_copied s2.json)"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "exit status $STOP_RC"
echo PASS
