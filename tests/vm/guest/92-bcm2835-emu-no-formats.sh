# vm-timeout: 90
# The emulated Raspberry Pi JPEG encoder without the firmware's image encoder (older firmware
# without start_x=1, raspberrypi/linux#4923): no_formats=1 empties the OUTPUT list (ENUM_FMT
# gives EINVAL at index 0), no_formats=2 the CAPTURE list, as the driver builds its lists from
# what the firmware answers at probe. The node still exists and opens; G_FMT reports fourcc 0,
# bytesperline 0, sizeimage 0 (the driver's zeroed default); TRY_FMT and REQBUFS fail with EINVAL
# (where the real driver, by its source, would dereference NULL). Which list is empty on such a
# Pi is not known; docs/testing.md. Then mjpegd on such a node: --list-devices and --encoder m2m
# name start_x=1; --encoder auto serves from the software encoder with one warning that says why.

kmsg0=$(dmesg | wc -l)

# listed OUT|CAP: the fourccs ENUM_FMT lists, space-separated
listed() {
	if [ "$1" = OUT ]; then o=--list-formats-out; else o=--list-formats; fi
	v4l2-ctl -d "$EMU_DEV" "$o" 2>&1 | sed -n "s/.*\[[0-9]*\]: '\(....\)'.*/\1/p" | tr '\n' ' '
}
# gfmt OUT|CAP: "WxH pixelformat bytesperline sizeimage" from G_FMT
gfmt() {
	if [ "$1" = OUT ]; then o=--get-fmt-video-out; else o=--get-fmt-video; fi
	v4l2-ctl -d "$EMU_DEV" "$o" >gfmt.txt 2>&1 || { cat gfmt.txt; fail "G_FMT $1 failed"; }
	awk '/Width\/Height/ { split($3, a, "/"); wh = a[1] "x" a[2] }
	     /Pixel Format/ { pf = $4 }
	     /Bytes per Line/ { bpl = $NF }
	     /Size Image/ { print wh, pf, bpl, $NF; exit }' gfmt.txt
}

say "no_formats=1: no OUTPUT (raw) format"
emu_load no_formats=1
dmesg | tail -n 2
v4l2-ctl -d "$EMU_DEV" --list-formats-out >enum-out.txt 2>&1
cat enum-out.txt
[ -z "$(listed OUT)" ] || fail "OUTPUT formats listed: $(listed OUT)"
[ "$(listed CAP)" = "JPEG " ] || fail "CAPTURE formats: $(listed CAP)"
g=$(gfmt OUT)
echo "G_FMT OUTPUT: $g"
[ "$g" = "32x32 '' 0 0" ] || fail "G_FMT OUTPUT is '$g', not fourcc 0 at 32x32 with no size"
if v4l2-ctl -d "$EMU_DEV" --try-fmt-video-out=width=640,height=480 >try.txt 2>&1; then
	cat try.txt
	fail "TRY_FMT OUTPUT succeeded with no format"
fi
cat try.txt
if v4l2-ctl -d "$EMU_DEV" --reqbufs-out=count=1 >reqbufs.txt 2>&1; then
	cat reqbufs.txt
	fail "REQBUFS OUTPUT succeeded with no format"
fi
cat reqbufs.txt
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 640 -H 480 >encode.txt 2>&1 && fail "encoding worked"
cat encode.txt
dmesg | tail -n 2

say "no_formats=2 (written at run time, applied at bind): no CAPTURE (JPEG) format"
emu_param no_formats 2
emu_unbind
emu_bind
[ "$(listed OUT)" = "RGBP RGB3 BGR3 AB24 BGR4 YU12 YUYV YVYU VYUY UYVY " ] ||
	fail "OUTPUT formats: $(listed OUT)"
[ -z "$(listed CAP)" ] || fail "CAPTURE formats listed: $(listed CAP)"
g=$(gfmt CAP)
echo "G_FMT CAPTURE: $g"
[ "$g" = "32x32 '' 0 0" ] || fail "G_FMT CAPTURE is '$g'"
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 640 -H 480 >encode2.txt 2>&1 && fail "encoding worked"
cat encode2.txt

say "mjpegd on a Pi without the image encoder's firmware (no_formats=1, bound again)"
emu_param no_formats 1
emu_unbind
emu_bind
VIVID1_CAP=$(v4l_node vivid-001-vid-cap)
"$MJPEGD" --list-devices >list.txt 2>&1 || fail "--list-devices failed"
grep -A6 "^$EMU_DEV: " list.txt | tee node.txt
grep -q 'start_x=1' node.txt || fail "--list-devices does not name start_x=1 for $EMU_DEV"
# --encoder m2m (the user asked for the hardware): refused at start, the reason named
timeout 15 "$MJPEGD" --source "v4l2:$VIVID1_CAP" --encoder m2m --listen 127.0.0.1:8000 >m2m.log 2>&1
echo "mjpegd --encoder m2m: exit status $?"
cat m2m.log
grep -q "^<3>.*$EMU_DEV.*start_x=1 in config.txt" m2m.log ||
	fail "--encoder m2m: no error line naming $EMU_DEV and start_x=1"
# --encoder auto (the default): software serves, and one warning says why
LOG=$VM_OUT/mjpegd-auto.log
"$MJPEGD" --source "v4l2:$VIVID1_CAP" --encoder auto --size 640x480 --fps 10 \
	--listen 127.0.0.1:8000 >"$LOG" 2>&1 &
pid=$!
retry 20 timeout 5 wget -q -O status.json http://127.0.0.1:8000/status ||
	{ cat "$LOG"; kill "$pid"; fail "no answer on /status within 20 s"; }
sleep 3
timeout 10 wget -q -O auto.jpg http://127.0.0.1:8000/snapshot.jpg ||
	{ cat "$LOG"; kill "$pid"; fail "GET /snapshot.jpg failed"; }
timeout 10 wget -q -O status.json http://127.0.0.1:8000/status || { kill "$pid"; fail "/status"; }
stop_pid "$pid" 10
cat "$LOG"
grep '"encoder": "' status.json
grep -q '"encoder": "software' status.json || fail "--encoder auto did not fall back to software"
[ "$(hexhead auto.jpg 2)" = ffd8 ] || fail "the snapshot is not a JPEG"
[ "$(grep -c "^<4>--encoder auto: $EMU_DEV (bcm2835-codec-encode_image) .*start_x=1 in config.txt.*: encoding in software" "$LOG")" = 1 ] ||
	fail "not one warning naming $EMU_DEV and start_x=1"
[ "$STOP_RC" = 0 ] || fail "mjpegd exited with $STOP_RC after SIGTERM"

say "no_formats=0 and bind again: both lists back, encoding works"
emu_param no_formats 0
emu_unbind
emu_bind
[ "$(listed CAP)" = "JPEG " ] || fail "CAPTURE formats: $(listed CAP)"
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 >encode3.txt 2>&1 ||
	{ cat encode3.txt; fail "encoding after no_formats=0"; }
grep '^jpeg 0' encode3.txt

kernel_clean "$kmsg0"
echo "PASS"
