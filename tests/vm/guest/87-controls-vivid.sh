# vm-timeout: 180
# vm-host-check: tests/vm/checks/controls_check.py
# Camera controls on a real V4L2 driver (vivid): /controls lists its controls as v4l2-ctl names
# them (brightness 0..255, the test_pattern menu); POST /controls changes them in the driver
# (v4l2-ctl reads the value back) and in the served picture (on the host: brighter, another
# pattern, no colour at saturation 0); an out-of-range value is a 400 that names the range and
# the stream keeps flowing; after vivid is unplugged and re-bound (its controls back at their
# defaults) the values are applied again; after a restart of the daemon they come back from the
# state file.
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
CAM=$VIVID_CAP
[ -n "$CAM" ] || fail "no vivid capture node"
STATE=$PWD/state
mkdir -p "$STATE"
LOG=$VM_OUT/mjpegd.log
: >"$VM_OUT/expect"
URL=http://127.0.0.1:8000

start() {
	"$MJPEGD" --source "v4l2:$CAM" --encoder software --size 640x360 --fps 15 \
		--state-dir "$STATE" --listen 127.0.0.1:8000 >>"$LOG" 2>&1 &
	pid=$!
	retry 20 timeout 5 wget -q -O status.json "$URL/status" || die "no answer on /status"
	retry 10 timeout 5 wget -q -O /dev/null "$URL/snapshot.jpg" || die "no snapshot"
}
# set BODY: POST /controls (a form), fails the test unless 200
set_controls() {
	timeout 10 wget -q -O set.json --post-data "$1" "$URL/controls" ||
		die "POST /controls $1 failed"
}
# snap NAME: a snapshot of a frame made after now
snap() {
	sleep 0.6
	timeout 10 wget -q -O "$VM_OUT/$1" "$URL/snapshot.jpg" || die "GET /snapshot.jpg"
}
ctl() { v4l2-ctl -d "$CAM" -C "$1" | sed 's/.*: *//; s/ .*//'; }

say "vivid → software encoder, /controls"
start
timeout 10 wget -q -O controls.json "$URL/controls" || die "GET /controls"
cp controls.json "$VM_OUT/"
grep -q '"name": "brightness", "type": "integer", "min": 0, "max": 255, "step": 1, "default": 128' \
	controls.json || die "brightness not listed as v4l2-ctl has it: $(grep brightness controls.json)"
grep -q '"name": "test_pattern", "type": "menu"' controls.json || die "no test_pattern menu"
grep -q '"name": "saturation"' controls.json || die "no saturation"
echo "$(grep -c '"name"' controls.json) controls listed"

say "brightness 230: in the driver and in the picture"
snap base.jpg
set_controls "brightness=230"
[ "$(ctl brightness)" = 230 ] || die "the driver's brightness is $(ctl brightness), not 230"
snap bright.jpg
echo "brighter base.jpg bright.jpg 25" >>"$VM_OUT/expect"

say "out of range: 400 naming the control and its range; nothing applied; frames keep coming"
timeout 10 wget -S -O /dev/null --post-data "brightness=999&contrast=10" "$URL/controls" \
	>bad.txt 2>&1 && die "brightness 999 accepted"
cat bad.txt
grep -q "400" bad.txt || die "not a 400"
[ "$(ctl brightness)" = 230 ] || die "brightness changed to $(ctl brightness)"
[ "$(ctl contrast)" != 10 ] || die "contrast applied from a refused request"
timeout 10 wget -q -O s1.json "$URL/status"
sleep 1
timeout 10 wget -q -O s2.json "$URL/status"
c1=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s1.json)
c2=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s2.json)
[ "$((c2 - c1))" -ge 8 ] || die "frames stopped: captured $c1 → $c2 in 1 s"

say "a menu (test_pattern) and saturation 0"
snap pattern0.jpg
set_controls "test_pattern=4"
[ "$(ctl test_pattern)" = 4 ] || die "test_pattern is $(ctl test_pattern)"
snap pattern4.jpg
echo "differs pattern0.jpg pattern4.jpg 10" >>"$VM_OUT/expect"
set_controls "saturation=0"
snap grey.jpg
echo "grey grey.jpg 6" >>"$VM_OUT/expect"
cat "$STATE/controls.conf"
grep -q '^brightness=230$' "$STATE/controls.conf" || die "brightness not in the state file"

say "vivid unplugged and re-bound: its controls reset, mjpegd applies them again"
# vivid reconnects when the last file of the instance closes: keep one open
# shellcheck disable=SC2217 # the redirection is the point: it holds the node open
sleep 600 <"$VIVID_OUT" &
hold=$!
sleep 0.2
v4l2-ctl -d "$CAM" -c disconnect=1 || die "cannot disconnect"
sleep 2
echo vivid.0 >/sys/bus/platform/drivers/vivid/unbind || die "unbind"
echo vivid.0 >/sys/bus/platform/drivers/vivid/bind || die "bind"
kill "$hold"
wait "$hold" 2>/dev/null
CAM=$(v4l_node vivid-000-vid-cap)
retry 15 sh -c '[ "$(v4l2-ctl -d "$1" -C brightness | sed "s/.*: *//")" = 230 ]' sh "$CAM" ||
	die "brightness not applied again after the re-bind: $(ctl brightness)"
echo "after the re-bind: brightness $(ctl brightness), saturation $(ctl saturation)"
[ "$(ctl saturation)" = 0 ] || die "saturation not applied again"
grep 'controls: .* applied' "$LOG" | tail -n 2

say "a restart: the state file brings them back"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "exit status $STOP_RC"
v4l2-ctl -d "$CAM" -c brightness=128,saturation=128 || die "cannot reset vivid"
start
[ "$(ctl brightness)" = 230 ] || die "brightness after the restart: $(ctl brightness)"
snap restarted.jpg
echo "brighter base.jpg restarted.jpg 25" >>"$VM_OUT/expect"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "exit status $STOP_RC"
cat "$VM_OUT/expect"
echo PASS
