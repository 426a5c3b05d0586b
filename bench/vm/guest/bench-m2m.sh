# vm-timeout: 1500
# BENCH, not a test (packed only by `bench/vm/run.sh m2m`): the Raspberry Pi's path on the
# emulated bcm2835-codec image encoder (tests/vm/drivers/bcm2835-emu, loaded with emu_load), three servers
# side by side, each serving N stream clients on loopback to bench/loadclient, which samples the
# server's CPU time over the measurement window:
#   mjpegd:    vivid instance 1 (multi-planar, dma-contig) → VIDIOC_EXPBUF → the emulated encoder
#              imports the buffers (V4L2_MEMORY_DMABUF) → JPEG q80 → clients
#   floor:     bench/m2m_floor on the same two devices, same format: the ioctl sequence and one
#              sendmsg per client, nothing else
#   ustreamer: Debian's 4.9 has no M2M encoder (encoders CPU, HW; OMX only in builds WITH_OMX)
#              and opens single-planar capture devices only (V4L2_CAP_VIDEO_CAPTURE), so it can
#              take neither vivid instance 1 nor the emulated encoder: it runs on vivid instance
#              0 (single-planar, vmalloc), same picture, size and rate, YUYV, --encoder CPU. Both
#              refusals are recorded (ustreamer-*.log).
# The emulated encoder encodes in a kernel worker (its "VPU"), outside every server's process:
# like the Pi's VPU, its time is not in the servers' CPU. The whole guest's CPU over the window
# (/proc/stat, everything: vivid's generator thread, the emulated encoder, loadclient) is recorded
# beside it (loadclient's system_busy_s).
# Runs rotate the order (rep 1: mjpegd, ustreamer, floor; rep 2: ustreamer, floor, mjpegd; ...)
# so the ratios of each repetition are measured under the same conditions.
# Kernel command line (set by bench/vm/run.sh m2m): vivid.n_devs=2 vivid.multiplanar=1,2
# vivid.allocators=0,1 mjpegd.bench.clients=1,3,10 mjpegd.bench.reps=5 mjpegd.bench.window=10
# mjpegd.bench.warmup=2 mjpegd.bench.strace=1
# Results: $VM_OUT/m2m-SERVER-N-REP.json (+ status-mjpegd-N-REP.json),
# facts.txt (versions, formats, the encoder mjpegd reports), logs next to them.

param() { # param NAME DEFAULT
	_v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^mjpegd\.bench\.$1=//p" | head -n1)
	echo "${_v:-$2}"
}
CLIENTS=$(param clients 1,3,10)
REPS=$(param reps 5)
WINDOW=$(param window 10)
WARMUP=$(param warmup 2)
STRACE=$(param strace 0) # 1: then N=1 under strace -c -f for mjpegd and the floor (counts)
TRACE=$(param trace 0)   # 1: then N=1 under strace -f with each call (trace-SERVER-1.txt: which
			 # ioctl failed on which queue, the order of the calls in a frame)
EMU_DELAY=$(param emu_delay_ms 0) # the emulated encoder's JPEG this long after the OUTPUT buffer
			 # went back (as a Pi's VPU takes milliseconds; 0: at once)
SIZE=640x360 # vivid's webcam input gives 30 fps up to 640x360 (the encoder pads it to 368 rows)
FPS=30
QUALITY=80
CAM=$VIVID1_CAP  # multi-planar, dma-contig
UCAM=$VIVID_CAP  # single-planar, vmalloc: what ustreamer 4.9 can open

[ -x "$MJPEGD" ] || fail "$MJPEGD missing"
command -v ustreamer >/dev/null || fail "ustreamer missing from the initramfs"
command -v loadclient >/dev/null || fail "loadclient missing from the initramfs"
command -v m2m_floor >/dev/null || fail "m2m_floor missing from the initramfs"
[ -n "$CAM" ] || fail "no vivid-001-vid-cap (vivid.n_devs=2)"
[ -n "$UCAM" ] || fail "no vivid-000-vid-cap"
ulimit -n 8192
emu_load
[ "$EMU_DELAY" = 0 ] || emu_param delay_ms "$EMU_DELAY"
FACTS=$VM_OUT/facts.txt
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n1; }

{
	echo "guest: $(nproc) CPUs, kernel $(uname -r)"
	# tsc: clock_gettime() in the vDSO, no system call, as on a Pi 2 or later (the arch timer);
	# anything else: a system call per read, as on a Pi Zero W or Pi 1
	echo "guest clock: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "camera (mjpegd, floor): $CAM $(cat "/sys/class/video4linux/${CAM#/dev/}/name")"
	echo "camera (ustreamer): $UCAM $(cat "/sys/class/video4linux/${UCAM#/dev/}/name")"
	echo "encoder: $EMU_DEV $(cat "/sys/class/video4linux/${EMU_DEV#/dev/}/name")"
	echo "ustreamer --version: $(ustreamer --version)"
	echo "ustreamer --features:"
	ustreamer --features 2>&1 | sed 's/^/  /'
	echo "ustreamer --help, encoders:"
	ustreamer --help 2>&1 | sed -n '/--encoder/,/NOOP/p' | sed 's/^/  /'
} >"$FACTS" 2>&1
cat "$FACTS"

# what ustreamer 4.9 says to the Pi's path: the emulated encoder, the multi-planar camera
say "ustreamer --encoder M2M-IMAGE (not in 4.9), and on the multi-planar camera"
timeout 10 ustreamer --device "$CAM" --format YUYV --resolution "$SIZE" --encoder M2M-IMAGE \
	--host 127.0.0.1 --port 8081 >"$VM_OUT/ustreamer-m2m-image.log" 2>&1
echo "ustreamer --encoder M2M-IMAGE: exit $?" | tee -a "$FACTS"
head -n 5 "$VM_OUT/ustreamer-m2m-image.log" | tee -a "$FACTS"
timeout 8 ustreamer --device "$CAM" --format YUYV --resolution "$SIZE" --encoder CPU \
	--host 127.0.0.1 --port 8081 >"$VM_OUT/ustreamer-mplane.log" 2>&1
echo "ustreamer --device $CAM (multi-planar): exit $?" | tee -a "$FACTS"
grep -i -m 3 -E "capture|error|support" "$VM_OUT/ustreamer-mplane.log" | tee -a "$FACTS"

FOURCC=""
start_server() { # start_server mjpegd|ustreamer|floor N TAG -> PID PORT URLPATH
	log=$VM_OUT/$1-$3.log
	case "$1" in
	mjpegd)
		PORT=8000
		URLPATH=/stream.mjpg
		"$MJPEGD" --source "v4l2:$CAM" --encoder "m2m:$EMU_DEV" --size "$SIZE" --fps "$FPS" \
			--quality "$QUALITY" --listen "127.0.0.1:$PORT" --max-clients $(($2 + 4)) \
			--log-level notice >"$log" 2>&1 &
		PID=$!
		READY="timeout 5 wget -q -O /tmp/snap.jpg http://127.0.0.1:$PORT/snapshot.jpg"
		;;
	ustreamer)
		PORT=8080
		URLPATH=/stream
		ustreamer --device "$UCAM" --format YUYV --resolution "$SIZE" --desired-fps "$FPS" \
			--quality "$QUALITY" --encoder CPU --host 127.0.0.1 --port "$PORT" --tcp-nodelay \
			--server-timeout 30 >"$log" 2>&1 &
		PID=$!
		READY="timeout 5 wget -q -O /tmp/snap.jpg http://127.0.0.1:$PORT/snapshot"
		;;
	floor)
		PORT=8090
		URLPATH=/stream
		m2m_floor --camera "$CAM" --encoder "$EMU_DEV" --size "$SIZE" --fourcc "$FOURCC" \
			--fps "$FPS" --quality "$QUALITY" --port "$PORT" >"$log" 2>&1 &
		PID=$!
		READY="grep -q '^m2m_floor: port' $log"
		;;
	esac
	retry 60 sh -c "$READY" || {
		tail -n 20 "$log"
		fail "$1 not ready within 60 s"
	}
}

run_one() { # run_one SERVER N REP [strace]
	tag=$2-$3
	start_server "$1" "$2" "$tag"
	say "$1 N=$2 rep $3 (pid $PID)"
	out=$VM_OUT/m2m-$1-$tag.json
	if [ "${4:-}" = trace ]; then
		out=$VM_OUT/trace-$1-$2.json
		loadclient --port "$PORT" --path "$URLPATH" -n "$2" --fps "$FPS" --warmup "$WARMUP" \
			--duration 3 --pid "$PID" --label "$1" --ready-timeout 60 \
			--during "strace -f -tt -v -p $PID -o $VM_OUT/trace-$1-$2.txt" >"$out"
	elif [ -n "${4:-}" ]; then
		out=$VM_OUT/strace-$1-$2.json
		loadclient --port "$PORT" --path "$URLPATH" -n "$2" --fps "$FPS" --warmup "$WARMUP" \
			--duration "$WINDOW" --pid "$PID" --label "$1" --ready-timeout 60 \
			--during "strace -c -f -p $PID -o $VM_OUT/strace-$1-$2.txt" >"$out"
	else
		loadclient --port "$PORT" --path "$URLPATH" -n "$2" --fps "$FPS" --warmup "$WARMUP" \
			--duration "$WINDOW" --pid "$PID" --label "$1" --ready-timeout 60 >"$out"
	fi
	rc=$?
	if [ "$1" = mjpegd ]; then
		timeout 10 wget -q -O "$VM_OUT/status-mjpegd-$tag.json" http://127.0.0.1:8000/status ||
			echo "WARNING: no /status"
		grep -E '"encoder"|bytes_copied|software_fallback' "$VM_OUT/status-mjpegd-$tag.json"
	fi
	cat "$out"
	echo
	grep -q '"sampled": true' "$out" || echo "WARNING: server not sampled"
	stop_pid "$PID" 10
	[ "$rc" = 0 ] || {
		tail -n 20 "$VM_OUT/$1-$tag.log"
		fail "loadclient failed against $1 (N=$2)"
	}
}

# the format mjpegd chooses on this path; the floor takes the same
say "probe: mjpegd on $CAM → $EMU_DEV"
start_server mjpegd 1 probe
timeout 10 wget -q -O "$VM_OUT/status-probe.json" http://127.0.0.1:8000/status || fail "/status"
stop_pid "$PID" 10
enc=$(sed -n 's/.*"encoder": "\([^"]*\)".*/\1/p' "$VM_OUT/status-probe.json" | head -n1)
src=$(sed -n 's/.*"source": "\([^"]*\)".*/\1/p' "$VM_OUT/status-probe.json" | head -n1)
echo "mjpegd source: $src" | tee -a "$FACTS"
echo "mjpegd encoder: $enc" | tee -a "$FACTS"
FOURCC=$(echo "$enc" | sed -n 's/^m2m [^ ]* [^ ]* \([A-Z0-9]*\)→JPEG.*/\1/p')
[ -n "$FOURCC" ] || fail "mjpegd does not run the emulated encoder: '$enc'"
case "$enc" in *"(dmabuf import)"*) ;; *) echo "WARNING: mjpegd does not import the camera's buffers" ;; esac

rep=1
while [ "$rep" -le "$REPS" ]; do
	case $((rep % 3)) in
	1) order="mjpegd ustreamer floor" ;;
	2) order="ustreamer floor mjpegd" ;;
	0) order="floor mjpegd ustreamer" ;;
	esac
	for n in $(echo "$CLIENTS" | tr ',' ' '); do
		for s in $order; do
			run_one "$s" "$n" "$rep"
		done
	done
	rep=$((rep + 1))
done

if [ "$STRACE" = 1 ] && command -v strace >/dev/null; then
	for s in mjpegd floor; do
		run_one "$s" 1 s strace
		cat "$VM_OUT/strace-$s-1.txt"
	done
fi
if [ "$TRACE" = 1 ] && command -v strace >/dev/null; then
	for s in mjpegd floor; do
		run_one "$s" 1 t trace
		echo "trace-$s-1.txt: $(wc -l <"$VM_OUT/trace-$s-1.txt") lines; failed calls by request:"
		grep -E '= -1 E' "$VM_OUT/trace-$s-1.txt" | sed -n 's/.*\(ioctl([0-9]*, [A-Z_0-9]*, {type=[A-Z_0-9]*\).*/\1/p;s/.*\(epoll_wait\|io_uring_enter\).*/\1/p' |
			sort | uniq -c
	done
fi
echo "PASS"
