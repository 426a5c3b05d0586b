# vm-timeout: 1500
# BENCH, not a test (packed only by bench/vm/run.sh): mjpegd and ustreamer side by side on the
# same vivid capture node, both encoding vivid's YUYV in software at quality 80, each serving N
# stream clients on loopback to bench/loadclient, which samples the server's CPU time and RSS
# over the measurement window. Runs alternate (mjpegd, ustreamer, then ustreamer, mjpegd, ...)
# so the ratio of every pair is measured under the same conditions.
#   mjpegd:    LD_PRELOAD=yuyv_only.so (vivid offers YUV420 too, which mjpegd would prefer) →
#              software encoder, YUYV → 4:2:2 JPEG, one worker thread
#   ustreamer: --format YUYV --encoder CPU (libjpeg, YUYV → 4:2:0 JPEG, --workers default: 2)
# Kernel command line (set by bench/vm/run.sh): mjpegd.bench.clients=1,10,100
# mjpegd.bench.reps=2 mjpegd.bench.window=6 mjpegd.bench.warmup=2 mjpegd.bench.strace=1
# Results: $VM_OUT/peers-SERVER-N-REP.json (+ strace-SERVER-N.txt), logs next to them.

param() { # param NAME DEFAULT
	_v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^mjpegd\.bench\.$1=//p" | head -n1)
	echo "${_v:-$2}"
}
CLIENTS=$(param clients 1,10,100)
REPS=$(param reps 2)
WINDOW=$(param window 6)
WARMUP=$(param warmup 2)
STRACE=$(param strace 1)
SIZE=640x360 # vivid's webcam input gives 30 fps up to 640x360 (640x480 stops at 25)
FPS=30
DEV=$VIVID_CAP

[ -x "$MJPEGD" ] || fail "$MJPEGD missing"
command -v ustreamer >/dev/null || fail "ustreamer missing from the initramfs"
command -v loadclient >/dev/null || fail "loadclient missing from the initramfs"
[ -n "$DEV" ] || fail "no vivid capture node"
ulimit -n 8192

say "guest: $(nproc) CPUs, kernel $(uname -r); $DEV"
v4l2-ctl -d "$DEV" --list-formats | grep -E "YUYV|YU12" || true
ustreamer --version

start_server() { # start_server mjpegd|ustreamer N TAG -> PID PORT URLPATH
	case "$1" in
	mjpegd)
		PORT=8000
		URLPATH=/stream.mjpg
		LD_PRELOAD=/vm/lib/yuyv_only.so "$MJPEGD" --source "v4l2:$DEV" --encoder software \
			--size "$SIZE" --fps "$FPS" --quality 80 --listen "127.0.0.1:$PORT" \
			--max-clients $(($2 + 4)) --log-level notice >"$VM_OUT/$1-$3.log" 2>&1 &
		PID=$!
		SNAP=/snapshot.jpg
		;;
	ustreamer)
		PORT=8080
		URLPATH=/stream
		ustreamer --device "$DEV" --format YUYV --resolution "$SIZE" --desired-fps "$FPS" \
			--quality 80 --encoder CPU --host 127.0.0.1 --port "$PORT" --tcp-nodelay \
			--server-timeout 30 >"$VM_OUT/$1-$3.log" 2>&1 &
		PID=$!
		SNAP=/snapshot
		;;
	esac
	retry 60 timeout 5 wget -q -O /tmp/snap.jpg "http://127.0.0.1:$PORT$SNAP" || {
		tail -n 20 "$VM_OUT/$1-$3.log"
		fail "$1 served no snapshot within 60 s"
	}
}

run_one() { # run_one SERVER N REP [DURING]
	tag=$2-$3
	start_server "$1" "$2" "$tag"
	say "$1 N=$2 rep $3 (pid $PID)"
	out=$VM_OUT/peers-$1-$tag.json
	if [ -n "${4:-}" ]; then
		out=$VM_OUT/strace-$1-$2.json
		loadclient --port "$PORT" --path "$URLPATH" -n "$2" --fps "$FPS" --warmup "$WARMUP" \
			--duration "$WINDOW" --pid "$PID" --label "$1" --ready-timeout 60 \
			--during "strace -c -f -p $PID -o $VM_OUT/strace-$1-$2.txt" >"$out"
	else
		loadclient --port "$PORT" --path "$URLPATH" -n "$2" --fps "$FPS" --warmup "$WARMUP" \
			--duration "$WINDOW" --pid "$PID" --label "$1" --ready-timeout 60 >"$out"
	fi
	rc=$?
	cat "$out"
	echo
	grep -q '"sampled": true' "$out" || echo "WARNING: server not sampled"
	stop_pid "$PID" 10
	[ "$rc" = 0 ] || fail "loadclient failed against $1 (N=$2)"
}

rep=1
while [ "$rep" -le "$REPS" ]; do
	for n in $(echo "$CLIENTS" | tr ',' ' '); do
		if [ $((rep % 2)) = 1 ]; then
			run_one mjpegd "$n" "$rep"
			run_one ustreamer "$n" "$rep"
		else
			run_one ustreamer "$n" "$rep"
			run_one mjpegd "$n" "$rep"
		fi
	done
	rep=$((rep + 1))
done

if [ "$STRACE" = 1 ] && command -v strace >/dev/null; then
	n=$(echo "$CLIENTS" | tr ',' '\n' | tail -n1)
	run_one mjpegd "$n" s strace
	run_one ustreamer "$n" s strace
fi
echo "PASS"
