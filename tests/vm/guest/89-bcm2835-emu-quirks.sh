# vm-timeout: 300
# The emulated Raspberry Pi JPEG encoder's model of the real driver's timing and quirks, one
# module parameter each (tests/vm/drivers/bcm2835-emu/codec.c's header; docs/testing.md):
#   teardown_timeout_ms  STREAMOFF of a queue a stalled job holds buffers of waits that long
#                        (2000: ~2 s for OUTPUT, ~2 s for CAPTURE); 0: at once; nothing held: at once
#   import_hang          a DMABUF OUTPUT job is held (no JPEG, no error), an MMAP one is not;
#                        STREAMOFF does not wait for it; clearing it lets the held frame through
#   dmabuf_reimports     the same dma-buf on slot 0 again and again: one import; two in turn:
#                        one per frame; MMAP: none
#   output_early         the OUTPUT buffer comes back while its JPEG is still being written
#                        (delay_ms 200); 0: together
#   quality_live         0: a quality change while streaming keeps the DQT until a new stream;
#                        1: the next frame has the new DQT
#   jpeg_max_bytes       a JPEG larger than the room comes cut, without EOI, without ERROR
#   S_SELECTION          1920x1088 buffer, crop 1920x1080: a 1920x1080 JPEG; clamped to the
#                        buffer; ignore_crop=1: the whole 1920x1088
# and no oops, BUG or WARNING in the kernel log throughout.

kmsg0=$(dmesg | wc -l)
emu_load

# run NAME ARGS...: bcm2835_emu encode ARGS, its output in NAME.txt (shown); returns its status
run() {
	_n=$1
	shift
	bcm2835_emu encode -d "$EMU_DEV" "$@" >"$_n.txt" 2>&1
	_rc=$?
	cat "$_n.txt"
	return $_rc
}
# streamoff_ms NAME out|cap: the STREAMOFF time bcm2835_emu measured
streamoff_ms() {
	awk -F'[ =]' -v w="$2" '/^streamoff out_ms=/ { o = $3; c = $5 } END { print (w == "out" ? o : c) }' "$1.txt"
}
# between V LO HI: LO <= V < HI
between() {
	[ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]
}
# dqts NAME: the luma DQT DC entry of each JPEG, e.g. "6 6 27 27"
dqts() {
	sed -n 's/^jpeg [0-9]* .* dqt_luma_dc=\([0-9]*\) .*/\1/p' "$1.txt" | tr '\n' ' ' | sed 's/ $//'
}

say "defaults: the real driver's behaviour"
for p in teardown_timeout_ms=2000 import_hang=N dmabuf_reimports=0 output_early=Y \
	quality_live=N jpeg_max_bytes=0 ignore_crop=N; do
	v=$(cat "$EMU_PARAMS/${p%%=*}") || fail "no parameter ${p%%=*}"
	echo "${p%%=*}=$v"
	[ "$v" = "${p#*=}" ] || fail "${p%%=*} is $v, not ${p#*=}"
done

say "teardown: nothing held, STREAMOFF at once"
run plain -f YU12 -W 320 -H 240 -n 2 || fail "plain encode"
o=$(streamoff_ms plain out)
c=$(streamoff_ms plain cap)
between "$o" 0 500 && between "$c" 0 500 || fail "STREAMOFF took $o/$c ms with nothing held"

say "teardown: stall=1, a held job: each queue's STREAMOFF waits teardown_timeout_ms (2000)"
emu_param stall 1
k=$(dmesg | wc -l)
run held2000 -f YU12 -W 320 -H 240 -t 1000 -T
[ "$_rc" = 3 ] || fail "the stalled frame did not time out (exit $_rc)"
o=$(streamoff_ms held2000 out)
c=$(streamoff_ms held2000 cap)
echo "STREAMOFF OUTPUT $o ms, CAPTURE $c ms"
between "$o" 1900 3500 || fail "STREAMOFF(OUTPUT) of a held job took $o ms, not ~2000"
between "$c" 1900 3500 || fail "STREAMOFF(CAPTURE) of a held job took $c ms, not ~2000"
dmesg | tail -n +"$((k + 1))" | grep -q 'did not give the OUTPUT buffers back within 2000 ms' ||
	fail "no log line for the forced OUTPUT buffer"

say "teardown: teardown_timeout_ms=0: at once, even with a held job"
emu_param teardown_timeout_ms 0
run held0 -f YU12 -W 320 -H 240 -t 1000 -T
[ "$_rc" = 3 ] || fail "the stalled frame did not time out (exit $_rc)"
o=$(streamoff_ms held0 out)
c=$(streamoff_ms held0 cap)
between "$o" 0 500 && between "$c" 0 500 || fail "STREAMOFF took $o/$c ms with teardown_timeout_ms=0"
emu_param teardown_timeout_ms 500

say "teardown: close (no STREAMOFF) of a held job: both queues wait (500 ms each now)"
t0=$(cut -d' ' -f1 /proc/uptime)
run held-close -f YU12 -W 320 -H 240 -t 1000
t1=$(cut -d' ' -f1 /proc/uptime)
[ "$_rc" = 3 ] || fail "the stalled frame did not time out (exit $_rc)"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo "program with a 1 s timeout and a held job on close: ${secs} s"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.9) }' || fail "close did not wait for the held buffers (${secs} s)"
emu_param stall 0
emu_param teardown_timeout_ms 2000

say "import_hang=1: DMABUF OUTPUT held, no error; STREAMOFF does not wait"
emu_param import_hang 1
k=$(dmesg | wc -l)
run hang-dmabuf -f YU12 -W 320 -H 240 -s -n 2 -t 1500 -T
[ "$_rc" = 3 ] || fail "the DMABUF frame was not held (exit $_rc)"
grep -q '^timeout frame=0' hang-dmabuf.txt || fail "no timeout on the first frame"
o=$(streamoff_ms hang-dmabuf out)
c=$(streamoff_ms hang-dmabuf cap)
between "$o" 0 500 && between "$c" 0 500 ||
	fail "STREAMOFF took $o/$c ms: the buffer never reached the VPU, nothing to wait for"
n=$(dmesg | tail -n +"$((k + 1))" | grep -c 'could not be imported into the VPU (import_hang)')
[ "$n" = 1 ] || fail "import_hang logged $n times in one stream, not once"
say "import_hang=1: MMAP OUTPUT encodes"
run hang-mmap -f YU12 -W 320 -H 240 -n 2 || fail "MMAP encode with import_hang=1"
grep -q '^jpeg 1 ' hang-mmap.txt || fail "no second JPEG"
say "import_hang=1, cleared while the DMABUF frame waits: it completes"
run hang-clear -f YU12 -W 320 -H 240 -s -n 2 -t 1500 -u "$EMU_PARAMS/import_hang" ||
	fail "the held DMABUF frame did not complete after import_hang=0"
grep -q '^timeout frame=0' hang-clear.txt || fail "frame 0 was not held"
grep -q '^jpeg 1 ' hang-clear.txt || fail "no frame after clearing import_hang"

say "dmabuf_reimports: the same dma-buf on slot 0, four frames: one import"
emu_param dmabuf_reimports 0
run same -f YU12 -W 320 -H 240 -s -n 4 || fail "self-exported dma-buf"
[ "$(cat "$EMU_PARAMS/dmabuf_reimports")" = 1 ] ||
	fail "dmabuf_reimports $(cat "$EMU_PARAMS/dmabuf_reimports"), not 1"
say "dmabuf_reimports: two dma-bufs in turn on slot 0, four frames: four imports"
emu_param dmabuf_reimports 0
run alternate -f YU12 -W 320 -H 240 -s -A -n 4 || fail "two dma-bufs in turn"
[ "$(cat "$EMU_PARAMS/dmabuf_reimports")" = 4 ] ||
	fail "dmabuf_reimports $(cat "$EMU_PARAMS/dmabuf_reimports"), not 4"
say "dmabuf_reimports: MMAP: none"
emu_param dmabuf_reimports 0
run mmap -f YU12 -W 320 -H 240 -n 2 || fail "MMAP"
[ "$(cat "$EMU_PARAMS/dmabuf_reimports")" = 0 ] ||
	fail "dmabuf_reimports $(cat "$EMU_PARAMS/dmabuf_reimports") with MMAP"

say "output_early=1, delay_ms=200: OUTPUT back while the JPEG is not"
emu_param delay_ms 200
run early -f YUYV -W 320 -H 240 -n 3 -e || fail "the OUTPUT buffer did not come back first"
[ "$(grep -c '^order frame=[0-9]* .* cap_pending=1$' early.txt)" = 3 ] || fail "order lines"
say "output_early=1: ENCODER_CMD(STOP) while the last JPEG is written: that JPEG is LAST"
run early-drain -f YUYV -W 320 -H 240 -n 3 -S || fail "draining with output_early"
grep -q '^frame 2 .* last=1 ' early-drain.txt || fail "the last JPEG has no V4L2_BUF_FLAG_LAST"
grep -q 'eos_event=1 dqbuf_after_last errno=32 ' early-drain.txt || fail "no EOS, or DQBUF after LAST not EPIPE"
say "output_early=0: OUTPUT and JPEG together"
emu_param output_early 0
run together -f YUYV -W 320 -H 240 -n 1 -e
[ "$_rc" != 0 ] && grep -q '^order frame=0 .* cap_pending=0$' together.txt ||
	fail "with output_early=0 the OUTPUT buffer came back before the JPEG"
emu_param output_early 1
emu_param delay_ms 0

say "quality_live=0: quality 30 set while streaming (before frame 2): the DQT stays quality 80's"
run qlatched -f YU12 -W 320 -H 240 -n 4 -q 80 -Q 2:30 || fail "quality change while streaming"
[ "$(dqts qlatched)" = "6 6 6 6" ] || fail "DQT luma DC per frame: $(dqts qlatched), not 6 6 6 6"
run qrestart -f YU12 -W 320 -H 240 -n 1 -q 30 || fail "quality 30"
[ "$(dqts qrestart)" = 27 ] || fail "a new stream at quality 30: DQT $(dqts qrestart)"
say "quality_live=1: from the next frame"
emu_param quality_live 1
run qlive -f YU12 -W 320 -H 240 -n 4 -q 80 -Q 2:30 || fail "quality change while streaming"
[ "$(dqts qlive)" = "6 6 27 27" ] || fail "DQT luma DC per frame: $(dqts qlive), not 6 6 27 27"
emu_param quality_live 0

say "jpeg_max_bytes: a JPEG cut at the room, no EOI, no ERROR flag"
run whole -f YUYV -W 640 -H 480 -n 1 || fail "whole JPEG"
size=$(sed -n 's/^jpeg 0 size=\([0-9]*\) .*/\1/p' whole.txt)
room=$((size / 2))
[ "$room" -gt 1000 ] || fail "JPEG of $size bytes too small to cut after its headers"
emu_param jpeg_max_bytes "$room"
run cut -f YUYV -W 640 -H 480 -n 2 -C || fail "cut JPEG"
grep -q "^frame 0 bytes=$room .* error=0 " cut.txt || fail "frame 0 is not $room bytes without ERROR"
grep -q "^jpeg 1 size=$room sof=640x480 .* eoi=0$" cut.txt || fail "the cut JPEG ends with EOI, or its size/SOF differ"
emu_param jpeg_max_bytes 0

say "S_SELECTION: 1920x1088 YU12 buffer, crop 1920x1080: a 1920x1080 JPEG"
run crop -f YU12 -W 1920 -H 1088 -c 1920x1080 -n 1 || fail "crop 1920x1080"
grep -q '^fmt out=YU12 1920x1088 ' crop.txt || fail "the buffer is not 1920x1088"
grep -q '^s_selection 1920x1080 -> 1920x1080 at 0,0$' crop.txt || fail "S_SELECTION answer"
grep -q '^jpeg 0 .* sof=1920x1080 ' crop.txt || fail "the JPEG is not 1920x1080"
say "S_SELECTION: clamped to the buffer (the width to the format's)"
run crop-big -f YU12 -W 640 -H 480 -c 4000x4000 -n 1 || fail "crop 4000x4000"
grep -q '^s_selection 4000x4000 -> 640x480 at 0,0$' crop-big.txt || fail "S_SELECTION was not clamped to 640x480"
say "S_SELECTION: a smaller crop: a JPEG of that size"
run crop-small -f YUYV -W 640 -H 480 -c 600x400 -n 1 || fail "crop 600x400"
grep -q '^jpeg 0 .* sof=600x400 ' crop-small.txt || fail "the JPEG is not 600x400"
say "ignore_crop=1: the whole 1920x1088 buffer, the whole 640 (bytesperline 1280) x 480"
emu_param ignore_crop 1
run nocrop -f YU12 -W 1920 -H 1088 -c 1920x1080 -X 1920x1088 -n 1 || fail "ignore_crop 1920x1088"
grep -q '^jpeg 0 .* sof=1920x1088 ' nocrop.txt || fail "the JPEG is not 1920x1088"
run nocrop-small -f YUYV -W 640 -H 480 -c 600x400 -X 640x480 -n 1 || fail "ignore_crop 640x480"
emu_param ignore_crop 0

say "rmmod"
emu_unload
grep -q "^$EMU_MOD " /proc/modules && fail "the module is still loaded"
kernel_clean "$kmsg0"
echo "PASS"
