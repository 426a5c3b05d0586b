# vm-timeout: 1500
# BENCH, not a test (packed by `bench/vm/run.sh m2m` beside bench-m2m.sh, or alone by
# `bench/vm/run.sh m2m-lc1080`): the Raspberry Pi's own path at 1920x1080 — libcamera's buffers
# imported by the emulated bcm2835-codec image encoder (tests/vm/drivers/bcm2835-emu) — against the floor
# of the same ioctl sequence, each serving N stream clients on loopback to bench/loadclient, which
# samples the server's CPU time over the measurement window:
#   mjpegd: --source libcamera --encoder auto --size 1920x1080: libcamera 0.0.3's vimc pipeline
#           (vimc.allocator=1: videobuf2-dma-contig, contiguous dma-bufs like the Pi's ISP) asked
#           for 1088 rows (the encoder's padded height) and granting 1092 → the encoder imports
#           the buffers (V4L2_MEMORY_DMABUF) and crops the top 1080 rows (S_SELECTION); /status
#           must say "(dmabuf import)" and bytes_copied 0 (recorded per run)
#   floor:  bench/m2m_floor on vimc's capture node ("RGB/YUV Capture", single-planar; its media
#           pipeline as libcamera configured it) and the same encoder, at the format and rows
#           libcamera configured (read from mjpegd's /status and log in a probe run: RGB3, 1092
#           rows on 0.0.3), --size 1920x1080 --rows R: the same import, the same crop; the ioctl
#           sequence and one sendmsg per client, nothing else
# No ustreamer here: 4.9 opens neither libcamera nor the M2M encoder (bench-m2m.sh records why).
# vimc debayers in a kernel thread (vimc-streamer), the emulated encoder in a kernel worker: neither
# is in a server's CPU time. vimc streams at its own rate (no VIDIOC_S_PARM; under TCG a few to
# ~10 frames/s at this size, with the host's load), so the figure is CPU per frame, and each window
# runs until every client has mjpegd.bench.lc_frames frames (or mjpegd.bench.lc_window seconds):
# the guest counts a server's CPU in 10 ms ticks (utime+stime, no schedstat), and the floor
# spends about a tick per 10 frames here, so a window needs ~200 frames for a few per cent.
# Runs alternate the order (rep 1: mjpegd, floor; rep 2: floor, mjpegd; ...).
# Kernel command line (bench/vm/run.sh m2m / m2m-lc1080): vimc.allocator=1
# mjpegd.bench.lc_clients=1,10 mjpegd.bench.lc_reps=3 mjpegd.bench.lc_frames=200
# mjpegd.bench.lc_window=60 mjpegd.bench.warmup=2
# Results: $VM_OUT/lc1080-SERVER-N-REP.json (+ status-mjpegd-N-REP.json), facts.txt (formats,
# rows, the encoder mjpegd reports, the floor's log line), logs next to them.

param() { # param NAME DEFAULT
	_v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^mjpegd\.bench\.$1=//p" | head -n1)
	echo "${_v:-$2}"
}
CLIENTS=$(param lc_clients 1,10)
REPS=$(param lc_reps 3)
FRAMES=$(param lc_frames 200)
WINDOW=$(param lc_window 60) # the longest a window may take (s); it ends at FRAMES per client
WARMUP=$(param warmup 2)
WIDTH=1920
HEIGHT=1080
FPS=10 # asked for (as in tests/vm/guest/99a); vimc streams at its own rate
QUALITY=80

[ -x "$MJPEGD" ] || fail "$MJPEGD missing"
command -v loadclient >/dev/null || fail "loadclient missing from the initramfs"
command -v m2m_floor >/dev/null || fail "m2m_floor missing from the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device"
[ "$(cat /sys/module/vimc/parameters/allocator 2>/dev/null)" = 1 ] ||
	fail "vimc.allocator is not 1 (bench/vm/run.sh sets it for the m2m boot)"
VIMC_CAP=$(v4l_node "RGB/YUV Capture") || fail "no vimc 'RGB/YUV Capture' node"
ulimit -n 8192
emu_load
FACTS=$VM_OUT/facts.txt
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }
{
	echo "guest: $(nproc) CPUs, kernel $(uname -r)"
	echo "camera (mjpegd): libcamera, vimc ($VIMC_MEDIA), vimc.allocator=1"
	echo "camera (floor): $VIMC_CAP $(cat "/sys/class/video4linux/${VIMC_CAP#/dev/}/name")"
	echo "encoder: $EMU_DEV $(cat "/sys/class/video4linux/${EMU_DEV#/dev/}/name")"
} >"$FACTS" 2>&1

ROWS=""
FOURCC=""
start_server() { # start_server mjpegd|floor N TAG [LOGLEVEL] -> PID PORT URLPATH
	log=$VM_OUT/$1-$3.log
	case "$1" in
	mjpegd)
		PORT=8000
		URLPATH=/stream.mjpg
		"$MJPEGD" --source libcamera --encoder auto --size "${WIDTH}x$HEIGHT" --fps "$FPS" \
			--quality "$QUALITY" --listen "127.0.0.1:$PORT" --max-clients $(($2 + 4)) \
			--log-level "${4:-notice}" >"$log" 2>&1 &
		PID=$!
		READY="timeout 10 wget -q -O /tmp/snap.jpg http://127.0.0.1:$PORT/snapshot.jpg"
		;;
	floor)
		PORT=8090
		URLPATH=/stream
		m2m_floor --camera "$VIMC_CAP" --encoder "$EMU_DEV" --size "${WIDTH}x$HEIGHT" \
			--rows "$ROWS" --fourcc "$FOURCC" --fps "$FPS" --quality "$QUALITY" \
			--port "$PORT" >"$log" 2>&1 &
		PID=$!
		READY="grep -q '^m2m_floor: port' $log"
		;;
	esac
	retry 120 sh -c "$READY" || {
		tail -n 20 "$log"
		fail "$1 not ready within 120 s"
	}
}

run_one() { # run_one SERVER N REP
	tag=$2-$3
	start_server "$1" "$2" "$tag"
	say "$1 N=$2 rep $3 (pid $PID)"
	out=$VM_OUT/lc1080-$1-$tag.json
	loadclient --port "$PORT" --path "$URLPATH" -n "$2" --fps "$FPS" --warmup "$WARMUP" \
		--duration "$WINDOW" --frames "$FRAMES" --pid "$PID" --label "$1" \
		--ready-timeout 120 >"$out"
	rc=$?
	if [ "$1" = mjpegd ]; then
		timeout 20 wget -q -O "$VM_OUT/status-mjpegd-$tag.json" http://127.0.0.1:8000/status ||
			echo "WARNING: no /status"
		grep -E '"source"|"encoder"|bytes_copied|software_fallback|encode_errors' \
			"$VM_OUT/status-mjpegd-$tag.json"
		[ "$(json_num "$VM_OUT/status-mjpegd-$tag.json" bytes_copied)" = 0 ] ||
			echo "WARNING: mjpegd copied bytes (N=$2 rep $3)" | tee -a "$FACTS"
	fi
	cat "$out"
	echo
	grep -q '"sampled": true' "$out" || echo "WARNING: server not sampled"
	stop_pid "$PID" 20
	[ "$rc" = 0 ] || {
		tail -n 20 "$VM_OUT/$1-$tag.log"
		fail "loadclient failed against $1 (N=$2)"
	}
}

# the format and rows libcamera configured for mjpegd: the floor takes the same
say "probe: mjpegd --source libcamera --size ${WIDTH}x$HEIGHT → the emulated encoder"
start_server mjpegd 1 probe info
sleep 3
timeout 20 wget -q -O "$VM_OUT/status-probe.json" http://127.0.0.1:8000/status || fail "/status"
stop_pid "$PID" 20
enc=$(sed -n 's/.*"encoder": "\([^"]*\)".*/\1/p' "$VM_OUT/status-probe.json" | head -n1)
src=$(sed -n 's/.*"source": "\([^"]*\)".*/\1/p' "$VM_OUT/status-probe.json" | head -n1)
echo "mjpegd source: $src" | tee -a "$FACTS"
echo "mjpegd encoder: $enc" | tee -a "$FACTS"
case "$enc" in
"m2m $EMU_DEV bcm2835-codec-encode_image "*"(dmabuf import)") ;;
*) fail "mjpegd does not import libcamera's buffers into the emulated encoder: '$enc'" ;;
esac
FOURCC=$(echo "$enc" | sed -n 's/^m2m [^ ]* [^ ]* \([A-Z0-9]*\)→JPEG.*/\1/p')
[ -n "$FOURCC" ] || fail "no fourcc in '$enc'"
line=$(grep -m1 "asked for [0-9]* rows, $HEIGHT of them the picture" "$VM_OUT/mjpegd-probe.log")
echo "mjpegd log: ${line#*libcamera: }" | tee -a "$FACTS"
ROWS=$(echo "$line" | sed -n 's/.*asked for \([0-9]*\) rows.*/\1/p')
[ -n "$ROWS" ] || fail "no 'asked for N rows' line in mjpegd's log (the camera's rows)"
echo "floor camera format: $FOURCC ${WIDTH}x$ROWS (the picture: the top $HEIGHT rows)" | tee -a "$FACTS"

rep=1
while [ "$rep" -le "$REPS" ]; do
	if [ $((rep % 2)) = 1 ]; then order="mjpegd floor"; else order="floor mjpegd"; fi
	for n in $(echo "$CLIENTS" | tr ',' ' '); do
		for s in $order; do
			run_one "$s" "$n" "$rep"
		done
	done
	rep=$((rep + 1))
done
cat "$VM_OUT"/floor-*.log | grep -m1 "^<6>m2m_floor: $FOURCC" | sed 's/^<6>/floor log: /' |
	tee -a "$FACTS"
echo "PASS"
