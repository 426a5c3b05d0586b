# vm-timeout: 90
# The emulated Raspberry Pi JPEG encoder without the firmware's image encoder (older firmware
# without start_x=1, raspberrypi/linux#4923): no_formats=1 empties the OUTPUT list (ENUM_FMT
# gives EINVAL at index 0), no_formats=2 the CAPTURE list, as the driver builds its lists from
# what the firmware answers at probe. The node still exists and opens; G_FMT reports fourcc 0,
# bytesperline 0, sizeimage 0 (the driver's zeroed default); TRY_FMT and REQBUFS fail with EINVAL
# (where the real driver, by its source, would dereference NULL). Which list is empty on such a
# Pi is not known; docs/testing.md.

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
