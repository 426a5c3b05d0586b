# vm-timeout: 150
# The emulated Raspberry Pi JPEG encoder's faults, through its module parameters:
#   error_after=N (error_count=M): frames N..N+M-1 of each CAPTURE stream come back with
#     V4L2_BUF_FLAG_ERROR (and half a JPEG), the frames around them whole;
#   stall=1: no frame completes within the timeout; clearing it lets the held frame complete;
#     a stalled stream that is closed lets go of its buffers after teardown_timeout_ms (2 s,
#     the driver's COMPLETE_TIMEOUT) per queue (89-bcm2835-emu-quirks measures that wait);
#   unbind/bind through sysfs: the node disappears and comes back, encoding works again, also
#     when the device was unbound under an open, stalled stream;
# and no oops, BUG or WARNING in the kernel log throughout.

kmsg0=$(dmesg | wc -l)
emu_load

# frames FILE: "error flags of each frame", e.g. "0 0 0 1 0 0"
frames() {
	sed -n 's/^frame [0-9]* .* error=\([01]\) .*/\1/p' "$1" | tr '\n' ' '
}

say "error_after=3: the fourth frame is flagged ERROR, the others are whole JPEGs"
emu_param error_after 3
bcm2835_emu encode -d "$EMU_DEV" -f YUYV -W 320 -H 240 -n 6 >err1.txt 2>&1 || { cat err1.txt; fail "encode"; }
cat err1.txt
[ "$(frames err1.txt)" = "0 0 0 1 0 0 " ] || fail "error flags per frame: $(frames err1.txt)"
grep -q 'PASS frames=6 errors=1' err1.txt || fail "not one error in six frames"
errbytes=$(sed -n 's/^frame 3 bytes=\([0-9]*\) .*/\1/p' err1.txt)
okbytes=$(sed -n 's/^jpeg 2 size=\([0-9]*\) .*/\1/p' err1.txt)
echo "the ERROR frame carries $errbytes bytes, a whole one $okbytes"
[ "$errbytes" -lt "$okbytes" ] || fail "the ERROR frame is not truncated"

say "error_after=2 error_count=2, counted again in a new stream"
emu_param error_count 2
emu_param error_after 2
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 -n 5 >err2.txt 2>&1 || { cat err2.txt; fail "encode"; }
[ "$(frames err2.txt)" = "0 0 1 1 0 " ] || { cat err2.txt; fail "error flags per frame: $(frames err2.txt)"; }
echo "flags: $(frames err2.txt)"
emu_param error_after 0
emu_param error_count 1

say "stall=1: the frame does not complete"
emu_param stall 1
t0=$(cut -d' ' -f1 /proc/uptime)
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 -t 2000 >stall1.txt 2>&1
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
cat stall1.txt
[ "$rc" = 3 ] || fail "a stalled frame did not time out (exit $rc)"
grep -q '^timeout frame=0' stall1.txt || fail "no timeout line"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo "the stalled stream was closed and the program gone ${secs} s after it started"
# 2 s of timeout, then close: OUTPUT and CAPTURE wait teardown_timeout_ms (2 s) each, as the
# driver's stop_streaming waits for the buffers a stuck VPU holds; was < 6 before that wait
awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "closing a stalled stream took ${secs} s"

say "stall=1, then cleared while a frame waits: that frame completes"
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 -n 2 -t 1500 -u "$EMU_PARAMS/stall" \
	>stall2.txt 2>&1 || { cat stall2.txt; fail "the held frame did not complete after stall=0"; }
cat stall2.txt
grep -q '^timeout frame=0' stall2.txt || fail "frame 0 did not stall"
grep -q '^jpeg 1 ' stall2.txt || fail "no frame after clearing stall"
[ "$(cat "$EMU_PARAMS/stall")" = N ] || fail "stall is still set"

say "unbind: the node disappears; bind: it comes back and encodes"
emu_unbind
sleep 0.5
v4l_node "$EMU_NAME" && fail "$EMU_NAME still there after unbind"
[ -e "$EMU_DEV" ] && fail "$EMU_DEV still exists after unbind"
media_node bcm2835-codec && fail "the media device is still there after unbind"
echo "unbound: no $EMU_NAME node, no $EMU_DEV"
emu_bind
echo "bound again: $EMU_DEV"
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 -n 2 >rebind1.txt 2>&1 ||
	{ cat rebind1.txt; fail "encoding after bind"; }
grep '^jpeg' rebind1.txt

say "unbind under an open, stalled stream; bind; encode"
emu_param stall 1
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 -t 20000 >held.txt 2>&1 &
held=$!
retry 10 grep -q '^fmt cap=' held.txt || fail "the held stream did not start"
sleep 1
emu_unbind
sleep 0.5
v4l_node "$EMU_NAME" && fail "$EMU_NAME still there after unbind"
echo "unbound under an open stream"
# the program's poll() sees POLLERR on the unregistered node and exits; closing aborts the job
n=0
while kill -0 "$held" 2>/dev/null && [ "$n" -lt 50 ]; do
	sleep 0.2
	n=$((n + 1))
done
kill -0 "$held" 2>/dev/null && { kill "$held"; fail "the program on the unbound node did not end"; }
wait "$held"
echo "the program on the unbound node ended with status $?:"
cat held.txt
emu_param stall 0
emu_bind
bcm2835_emu encode -d "$EMU_DEV" -f YU12 -W 320 -H 240 -n 2 >rebind2.txt 2>&1 ||
	{ cat rebind2.txt; fail "encoding after unbind under a stream and bind"; }
grep '^jpeg' rebind2.txt
[ "$EMU_DEV" = /dev/video31 ] || echo "note: the node came back as $EMU_DEV"

say "rmmod"
emu_unload
grep -q "^$EMU_MOD " /proc/modules && fail "the module is still loaded"
dmesg | tail -n 6
kernel_clean "$kmsg0"
echo "PASS"
