# Helpers of the vivid → emulated bcm2835-codec tests 98 and 98b (installed as /vm/vivid_emu.sh):
# one mjpegd on $CAM → $EMU_DEV at 10 fps with 3 stream clients (streamwatch), and the raw vivid
# frames the host check (tests/vm/checks/bcm2835_emu_check.py) compares the served JPEGs with.
# Sourced after /vm/lib.sh (die, retry, stop_pid, filesize, emu_load, VM_OUT): checks what the
# tests need, loads the emulated encoder ($EMU_DEV) and sets CAM to vivid-001 (multi-planar,
# dma-contig).

[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIVID1_CAP" ] || fail "no vivid-001-vid-cap"
command -v streamwatch >/dev/null || fail "streamwatch not in the initramfs"
emu_load
CAM=$VIVID1_CAP
LOG=/dev/null

json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }

# raw_frame NAME W H FOURCC QUALITY: one raw frame of vivid's picture and its .meta
raw_frame() {
	# into the scratch dir first: v4l2-ctl writes straight from the mapped buffer, which the 9p
	# share refuses (EFAULT)
	v4l2-ctl -d "$CAM" --set-fmt-video="width=$2,height=$3,pixelformat=$4" --stream-mmap \
		--stream-count=1 --stream-to="$1.raw" >/dev/null 2>&1 ||
		fail "v4l2-ctl could not capture a $4 $2x$3 frame"
	[ "$(filesize "$1.raw")" -gt 0 ] || fail "v4l2-ctl wrote an empty $1.raw"
	cp "$1.raw" "$VM_OUT/$1.raw"
	bpl=$(v4l2-ctl -d "$CAM" --get-fmt-video | sed -n 's/.*Bytes per Line *: *\([0-9]*\).*/\1/p' | head -n1)
	echo "fourcc=$4 width=$2 height=$3 bytesperline=$bpl buffer_height=$3 quality=$5" \
		"ignore_rows=160" >"$VM_OUT/$1.meta"
	echo "raw $1: $(filesize "$VM_OUT/$1.raw") bytes, bytesperline $bpl"
}

# serve SIZE MJPEGD_ARGS...: mjpegd on 127.0.0.1:8000 ($pid, log $LOG), 3 clients ($wpid)
serve() {
	LOG=$VM_OUT/mjpegd-$1.log
	size=$1
	shift
	"$MJPEGD" --source "v4l2:$CAM" --encoder "m2m:$EMU_DEV" --size "$size" --fps 10 \
		--listen 127.0.0.1:8000 "$@" >"$LOG" 2>&1 &
	pid=$!
	retry 30 timeout 5 wget -q -O status0.json http://127.0.0.1:8000/status ||
		die "no answer on /status within 30 s"
	: >events.txt
	streamwatch -p 8000 -n 3 -i 0 events.txt >watch.json 2>&1 &
	wpid=$!
	retry 10 sh -c '[ "$(grep -c "^open " events.txt)" -ge 3 ]' || die "3 clients did not connect"
}

# unserve: stop the clients (each must have got whole JPEGs) and the daemon (exit 0)
unserve() {
	kill -TERM "$wpid" 2>/dev/null
	wait "$wpid"
	wpid=""
	cat watch.json
	n=$(grep -c '"parts"' watch.json)
	[ "$n" = 3 ] || die "$n client summaries, want 3"
	awk '/^part / { if ($6 != "1" && $6 != "ok" && $6 != "OK") bad++; n[$2]++ }
		END { for (c in n) if (n[c] < 5) low++; exit (bad > 0 || low > 0 || length(n) < 3) }' \
		events.txt || die "a client got fewer than 5 parts, or a part that is not a whole JPEG"
	stop_pid "$pid" 10
	[ "$STOP_RC" = 0 ] || die "mjpegd exited with $STOP_RC after SIGTERM"
}
