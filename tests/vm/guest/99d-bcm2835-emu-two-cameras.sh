# vm-timeout: 560
# vm-boot: two-cameras
# vm-alone: a viewer may wait 0.5 s for a live part (0.11 to 0.13 s alone, 0.696 s side by side)
# Several cameras, one daemon each (issue 20; on a Pi: mjpegd@NAME.service with
# /etc/mjpegd/NAME.conf), all into the one emulated Pi encoder, each daemon its own M2M context.
# Boot "two-cameras": both vivid instances and vimc hand out dma-contig buffers, which the
# emulated encoder imports.
# The cameras are named by udev's stable links (/dev/v4l/by-path/…; the guest has no udev, so
# they are made here as 60-persistent-v4l.rules makes them); --list-devices prints them.
# 1. Two V4L2 cameras: "nozzle" (vivid-000) on 8080 and "room" (vivid-001) on 8081, each from its
#    own config file and state directory: both encode on the emulated encoder with 0 bytes
#    copied; memory (VmRSS) of each is printed. nozzle's camera is unplugged (vivid's disconnect
#    control), then nozzle is killed (SIGKILL): room's 2 viewers never wait more than 0.5 s.
# 2. libcamera + V4L2: "bench" (vimc's Sensor B through libcamera, named by its libcamera id) on
#    8082 beside room: both 0 bytes copied; bench is killed: room's viewers never wait more than
#    0.5 s. 768x576: libcamera 0.0.3's vimc handler gives sizes that are multiples of 6 (its
#    sensor at a third of them, test 99a), and the encoder wants RGB rows of a multiple of 64
#    bytes, so widths of a multiple of 192 are imported; 1920x1080 is, too, but loads
#    the emulator's 2 vCPUs so that room's parts come up to 0.6 s apart even without a fault.
# 3. An encoder with no context left (the emulation's max_contexts=1, as a Pi out of firmware
#    resources): a second daemon (--encoder auto) beside room encodes in software, says so in one
#    line naming room's PID, and /status devices.encoder.m2m_refused says the same; both serve.
# 3b. The same with a libcamera camera: a daemon naming vimc while "busy" holds it says who
#    holds the camera's media device (libcamera lists no camera then), serves the placeholder,
#    and takes it (imported) once busy stops.
# 4. Two instances naming the same camera: the second ("twin") says the camera is busy, held by
#    room's PID, serves the placeholder and does not exit; when room stops, twin takes the camera
#    (0 bytes copied).
# 5. A daemon naming a camera by a /dev/v4l/by-id link that is not there at start (the USB camera
#    unplugged) waits with the placeholder instead of exiting; once the link appears (plugged in)
#    it resolves it, logs the node, and serves it imported.

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID_CAP" ] || fail "no vivid-000 capture node"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001 capture node"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device"
[ "$(cat /sys/module/vimc/parameters/allocator 2>/dev/null)" = 1 ] ||
	fail "vimc.allocator is not 1 (this test needs the two-cameras boot)"
command -v streamwatch >/dev/null || fail "streamwatch not in the initramfs"
emu_load
[ -e "$EMU_PARAMS/max_contexts" ] || fail "the emulated encoder has no max_contexts parameter"
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
HOLD=""
cleanup() {
	for p in $WATCH_PIDS $DAEMON_PIDS $HOLD; do kill -KILL "$p" 2>/dev/null; done
	emu_unload
}
trap cleanup EXIT
die() {
	for n in nozzle room bench busy lctwin twin plug; do
		[ -f "$VM_OUT/mjpegd-$n.log" ] && { echo "--- mjpegd $n"; tail -n 40 "$VM_OUT/mjpegd-$n.log"; }
	done
	fail "$@"
}

# udev's links (60-persistent-v4l.rules: by-path from the parent device, index from the node)
mkdir -p /dev/v4l/by-path
ln -sfn "../../${VIVID_CAP#/dev/}" /dev/v4l/by-path/platform-vivid.0-video-index0
ln -sfn "../../${VIVID1_CAP#/dev/}" /dev/v4l/by-path/platform-vivid.1-video-index0
NOZZLE_CAM=/dev/v4l/by-path/platform-vivid.0-video-index0
ROOM_CAM=/dev/v4l/by-path/platform-vivid.1-video-index0

say "--list-devices prints the stable names to paste"
"$MJPEGD" --list-devices >list.txt 2>&1 || { cat list.txt; die "--list-devices failed"; }
cat list.txt
cp list.txt "$VM_OUT/"
grep -q "source = v4l2:$NOZZLE_CAM\$" list.txt || die "--list-devices does not print $NOZZLE_CAM"
grep -q "source = v4l2:$ROOM_CAM\$" list.txt || die "--list-devices does not print $ROOM_CAM"
VIMC_ID=$(sed -n 's/^ *source = libcamera:\(.*Sensor B.*\)$/\1/p' list.txt | head -n1)
[ -n "$VIMC_ID" ] || die "--list-devices prints no libcamera id for vimc's Sensor B"
echo "vimc's libcamera id: '$VIMC_ID'"

# conf NAME SOURCE PORT SIZE FPS: NAME.conf as /etc/mjpegd/NAME.conf would be
conf() {
	printf 'source = %s\nencoder = auto\nsize = %s\nfps = %s\nlisten = 127.0.0.1:%s\n' \
		"$2" "$4" "$5" "$3" >"$1.conf"
	cp "$1.conf" "$VM_OUT/"
}
DAEMON_PIDS=""
WATCH_PIDS=""
PID_nozzle="" PID_room="" PID_bench="" PID_busy="" # set by start (eval)
PID_twin="" PID_lctwin="" PID_plug=""
# start NAME PORT: the daemon from NAME.conf, its state in state-NAME ($STATE_DIRECTORY, as
# StateDirectory=mjpegd/NAME sets it); waits for a snapshot. Sets PID_<NAME>.
start() {
	mkdir -p "state-$1"
	STATE_DIRECTORY=$PWD/state-$1 "$MJPEGD" --config "$1.conf" >"$VM_OUT/mjpegd-$1.log" 2>&1 &
	eval "PID_$1=$!"
	DAEMON_PIDS="$DAEMON_PIDS $!"
	retry 90 timeout 10 wget -q -O "snap-$1.jpg" "http://127.0.0.1:$2/snapshot.jpg" ||
		die "$1: no /snapshot.jpg on port $2 within 90 s"
}
# watch NAME PORT: 2 stream clients on PORT, events in events-NAME.txt; sets WATCH_<NAME>
watch() {
	: >"events-$1.txt"
	streamwatch -p "$2" -n 2 -i 0 "events-$1.txt" >"watch-$1.json" 2>&1 &
	eval "WATCH_$1=$!"
	WATCH_PIDS="$WATCH_PIDS $!"
	retry 20 sh -c "[ \"\$(grep -c '^open ' events-$1.txt)\" -ge 2 ]" ||
		die "$1: the 2 stream clients did not connect"
}
unwatch() {
	eval "kill -TERM \$WATCH_$1"
	eval "wait \$WATCH_$1"
	cp "events-$1.txt" "$VM_OUT/events-$1-$2.txt"
}
# zero_copy NAME PORT: /status says the emulated encoder imports, 0 bytes copied, no fallback
zero_copy() {
	timeout 10 wget -q -O "status-$1.json" "http://127.0.0.1:$2/status" || die "$1: GET /status"
	cp "status-$1.json" "$VM_OUT/status-$1-$3.json"
	echo "$1: $(grep -E '"source"|"encoder":' "status-$1.json" | tr -s ' \n' ' ')"
	grep -q "\"encoder\": \"m2m $EMU_DEV bcm2835-codec-encode_image [A-Z0-9]*→JPEG (dmabuf import)\"" \
		"status-$1.json" || die "$1: not imported by the emulated encoder"
	[ "$(json_num "status-$1.json" bytes_copied)" = 0 ] || die "$1: bytes were copied"
	grep -q '"software_fallback": false' "status-$1.json" || die "$1: the software fallback ran"
	grep -q '"m2m_refused": ""' "status-$1.json" || die "$1: /status m2m_refused is set"
}
# undisturbed NAME PHASE FAULT: the clients of NAME (events-NAME.txt) are still connected and
# none waited more than 0.5 s for a live part from FAULT on (streamwatch -a)
undisturbed() {
	streamwatch -a "events-$1.txt" "$3" "$3" >"an-$1-$2.json"
	cat "an-$1-$2.json"
	grep '^{"all"' "an-$1-$2.json" >all.json
	gap=$(json_num all.json live_gap)
	[ "$(json_num all.json connected)" = 1 ] || die "$2: a client of $1 was disconnected"
	[ "$(json_num all.json bad)" = 0 ] || die "$2: $1's clients got parts that are not whole JPEGs"
	[ "$(json_num all.json live_after)" -ge 20 ] || die "$2: $1's clients got few live parts after it"
	say "$2: the longest wait of $1's viewers for a live part from the fault on: $gap s (10 fps)"
	awk -v g="$gap" 'BEGIN { exit !(g <= 0.5) }' || die "$2: a viewer of $1 waited $gap s"
}

say "1. two V4L2 cameras: nozzle ($NOZZLE_CAM) on 8080, room ($ROOM_CAM) on 8081"
conf nozzle "v4l2:$NOZZLE_CAM" 8080 640x480 10
conf room "v4l2:$ROOM_CAM" 8081 640x480 10
start nozzle 8080
start room 8081
grep "is /dev/video" "$VM_OUT/mjpegd-nozzle.log" "$VM_OUT/mjpegd-room.log"
grep -q "v4l2 $NOZZLE_CAM: is $VIVID_CAP" "$VM_OUT/mjpegd-nozzle.log" ||
	die "nozzle does not log what its link resolved to"
watch room 8081
watch nozzle 8080
sleep 5
zero_copy nozzle 8080 two-vivid
zero_copy room 8081 two-vivid
say "memory: nozzle VmRSS $(rss_kib "$PID_nozzle") KiB, room VmRSS $(rss_kib "$PID_room") KiB" \
	"(640x480@10, 2 stream clients each)"

say "1a. nozzle's camera unplugged (vivid-000 disconnect)"
# vivid reconnects an instance when its last file closes: one stays open (test 83)
# shellcheck disable=SC2217 # the redirection is the point: it holds the node open
sleep 600 <"$VIVID_OUT" &
HOLD=$!
sleep 0.2
T_UNPLUG=$(now)
v4l2-ctl -d "$VIVID_CAP" -c disconnect=1 || die "cannot disconnect vivid-000"
sleep 4
timeout 10 wget -q -O unplugged.json http://127.0.0.1:8080/status || die "nozzle: no /status after the unplug"
grep -q '"placeholder": true' unplugged.json || die "nozzle does not show the placeholder after the unplug"
unwatch nozzle unplug

say "1b. nozzle killed (SIGKILL)"
T_KILL=$(now)
kill -KILL "$PID_nozzle"
wait "$PID_nozzle"
sleep 4
unwatch room two-vivid
undisturbed room "unplug+kill of nozzle" "$T_UNPLUG"

say "2. libcamera + V4L2: bench (vimc '$VIMC_ID' through libcamera) on 8082 beside room"
watch room 8081
conf bench "libcamera:$VIMC_ID" 8082 768x576 10
start bench 8082
grep -q "pipeline: libcamera .* → m2m $EMU_DEV" "$VM_OUT/mjpegd-bench.log" ||
	die "bench: --encoder auto did not choose the emulated Pi encoder"
sleep 5
zero_copy bench 8082 libcamera
zero_copy room 8081 libcamera
say "memory: bench VmRSS $(rss_kib "$PID_bench") KiB (768x576@10), room VmRSS $(rss_kib "$PID_room") KiB"
T_KILL=$(now)
kill -KILL "$PID_bench"
wait "$PID_bench"
sleep 4
unwatch room libcamera
undisturbed room "kill of bench (libcamera)" "$T_KILL"

say "3. no context left for a second daemon (max_contexts=1): software, said once, in /status"
emu_param max_contexts 1
# vimc through libcamera: the camera free now (nozzle's is unplugged, room holds vivid-001)
conf busy "libcamera:$VIMC_ID" 8083 768x576 10
start busy 8083
LOGB=$VM_OUT/mjpegd-busy.log
grep "refused another context" "$LOGB"
[ "$(grep -c "encoding in software: the M2M encoder $EMU_DEV refused another context" "$LOGB")" = 1 ] ||
	die "busy does not say once that the encoder refused it a context"
grep -q "refused another context (Cannot allocate memory); also open by PID $PID_room mjpegd" "$LOGB" ||
	die "the refusal does not name room (PID $PID_room)"
timeout 10 wget -q -O busy.json http://127.0.0.1:8083/status || die "busy: GET /status"
cp busy.json "$VM_OUT/status-busy.json"
grep -q "\"m2m_refused\": \"$EMU_DEV refused another context (Cannot allocate memory); also open by PID $PID_room mjpegd\"" busy.json ||
	die "busy: /status m2m_refused does not say it"
grep -q '"encoder": "software' busy.json || die "busy: /status encoder is not software"
zero_copy room 8081 refused
timeout 20 wget -q -O busy.jpg http://127.0.0.1:8083/snapshot.jpg || die "busy: no snapshot"
[ "$(hexhead busy.jpg 2)" = ffd8 ] || die "busy: the snapshot is not a JPEG"
emu_param max_contexts 0

say "3b. a second daemon naming the same libcamera camera: waits with the placeholder, no exit"
conf lctwin "libcamera:$VIMC_ID" 8085 768x576 10
mkdir -p state-lctwin
STATE_DIRECTORY=$PWD/state-lctwin "$MJPEGD" --config lctwin.conf >"$VM_OUT/mjpegd-lctwin.log" 2>&1 &
PID_lctwin=$!
DAEMON_PIDS="$DAEMON_PIDS $PID_lctwin"
retry 60 sh -c 'timeout 10 wget -q -O lctwin.json http://127.0.0.1:8085/status &&
	grep -q "\"placeholder\": true" lctwin.json' ||
	die "lctwin: no placeholder on /status within 60 s while busy holds the camera"
LOGL=$VM_OUT/mjpegd-lctwin.log
grep -E 'not listed|in use|busy' "$LOGL" | head -n 3
# libcamera 0.0.3's vimc handler leaves a camera another process streams from out of its list
# (its links cannot be set up): mjpegd names who holds the media device instead of "no camera"
grep -q "libcamera: the camera is not listed while /dev/media[0-9]* held by PID $PID_busy mjpegd" "$LOGL" ||
	die "lctwin does not say the libcamera camera is held by busy (PID $PID_busy)"
kill -0 "$PID_lctwin" || die "lctwin exited while the camera was busy"
stop_pid "$PID_busy" 10
[ "$STOP_RC" = 0 ] || die "busy exited with $STOP_RC after SIGTERM"
T_FREE=$(now)
retry 60 sh -c 'timeout 10 wget -q -O lctwin.json http://127.0.0.1:8085/status &&
	grep -q "\"placeholder\": false" lctwin.json && grep -q "(dmabuf import)" lctwin.json' ||
	die "lctwin did not take the libcamera camera within 60 s of busy's stop"
say "lctwin serves the libcamera camera $(since "$T_FREE") s after busy stopped"
sleep 2
zero_copy lctwin 8085 after-busy
stop_pid "$PID_lctwin" 10
[ "$STOP_RC" = 0 ] || die "lctwin exited with $STOP_RC after SIGTERM"

say "4. two instances naming the same camera: the second waits with the placeholder, no exit"
conf twin "v4l2:$ROOM_CAM" 8084 640x480 10
mkdir -p state-twin
STATE_DIRECTORY=$PWD/state-twin "$MJPEGD" --config twin.conf >"$VM_OUT/mjpegd-twin.log" 2>&1 &
PID_twin=$!
DAEMON_PIDS="$DAEMON_PIDS $PID_twin"
retry 30 timeout 10 wget -q -O twin.json http://127.0.0.1:8084/status || die "twin: no /status"
sleep 3
timeout 10 wget -q -O twin.json http://127.0.0.1:8084/status || die "twin: no /status"
cp twin.json "$VM_OUT/status-twin-busy.json"
LOGT=$VM_OUT/mjpegd-twin.log
grep 'busy' "$LOGT" | head -n 3
grep -q "v4l2 $ROOM_CAM (vivid) is busy: held by PID $PID_room mjpegd" "$LOGT" ||
	die "twin's error does not name room (PID $PID_room) as the holder"
grep -q '"placeholder": true' twin.json || die "twin does not serve the placeholder while waiting"
kill -0 "$PID_twin" || die "twin exited while the camera was busy"
zero_copy room 8081 twin
say "room stops: twin takes the camera"
stop_pid "$PID_room" 10
[ "$STOP_RC" = 0 ] || die "room exited with $STOP_RC after SIGTERM"
T_FREE=$(now)
retry 30 sh -c 'timeout 10 wget -q -O twin.json http://127.0.0.1:8084/status &&
	grep -q "\"placeholder\": false" twin.json && grep -q "(dmabuf import)" twin.json' ||
	die "twin did not take the camera within 30 s of room's stop"
say "twin serves the camera $(since "$T_FREE") s after room stopped"
sleep 2
zero_copy twin 8084 after-room
stop_pid "$PID_twin" 10
[ "$STOP_RC" = 0 ] || die "twin exited with $STOP_RC after SIGTERM"

say "5. a camera named by its by-id link, not plugged in at start: waits, then plugged in: found"
# udev removes a USB camera's links when it is unplugged and makes them when it is plugged in
# (to whichever /dev/videoN it got): the link is made by hand here, to vivid-001, free now
mkdir -p /dev/v4l/by-id
PLUG=/dev/v4l/by-id/usb-Test_Camera_0001-video-index0
rm -f "$PLUG"
conf plug "v4l2:$PLUG" 8086 640x480 10
mkdir -p state-plug
STATE_DIRECTORY=$PWD/state-plug "$MJPEGD" --config plug.conf >"$VM_OUT/mjpegd-plug.log" 2>&1 &
PID_plug=$!
DAEMON_PIDS="$DAEMON_PIDS $PID_plug"
retry 30 sh -c 'timeout 10 wget -q -O plug.json http://127.0.0.1:8086/status &&
	grep -q "\"placeholder\": true" plug.json' ||
	die "plug: no placeholder on /status within 30 s while the camera is not there"
LOGP=$VM_OUT/mjpegd-plug.log
grep -q "v4l2 $PLUG: no such device" "$LOGP" || die "plug does not say the camera is not there"
grep -q "the camera is not connected; serving the placeholder until it is plugged in" "$LOGP" ||
	die "plug does not say it waits for the camera"
kill -0 "$PID_plug" || die "plug exited while its camera was not plugged in"
ln -s "../../${VIVID1_CAP#/dev/}" "$PLUG"
T_PLUG=$(now)
retry 30 sh -c 'timeout 10 wget -q -O plug.json http://127.0.0.1:8086/status &&
	grep -q "\"placeholder\": false" plug.json && grep -q "(dmabuf import)" plug.json' ||
	die "plug did not take the camera within 30 s of its link appearing"
say "plug serves the camera $(since "$T_PLUG") s after its link appeared"
grep -q "v4l2 $PLUG: is $VIVID1_CAP" "$LOGP" || die "plug does not log what its link resolved to"
sleep 2
zero_copy plug 8086 plugged
stop_pid "$PID_plug" 10
[ "$STOP_RC" = 0 ] || die "plug exited with $STOP_RC after SIGTERM"
rm -f "$PLUG"
kill "$HOLD" 2>/dev/null
echo "PASS"
