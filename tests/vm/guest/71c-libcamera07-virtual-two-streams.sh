# vm-timeout: 420
# vm-needs: lc07
# --snapshot-size on a real two-stream camera: libcamera 0.7.1's own `virtual` pipeline handler
# (src/libcamera/pipeline/virtual/, built into trixie-backports' libcamera; up to 3 streams, NV12
# only). It reads its cameras from /usr/share/libcamera/pipeline/virtual/virtual.yaml and from
# nowhere else (PipelineHandler::configurationFile: no environment variable), so this test writes
# that file into /lc07 and removes it when it ends (the other lc07 tests must not see a second
# camera). Its validate() keeps a stream's size only when the file lists it exactly, else it
# gives the largest: both sizes are listed.
#
# mjpegd --source libcamera:Virtual0 --encoder software --size 320x240 --snapshot-size 1280x960:
# two streams (no "one stream" warning), NV12 into the software encoder; /snapshot.jpg is
# 1280x960, /snapshot.jpg?size=stream and /stream.mjpg are 320x240, at the same time; /status
# names both sizes. Then, with one stream client kept open (tests/vm/streamwatch.c), 10
# back-to-back full-size snapshots: prints the largest gap between stream parts from the first
# snapshot's request to the last one's answer, against the stream's median part interval before
# them (and whether issue 20's bound of 2 intervals was met), and the full-size snapshot latency
# p50/p95; fails when a snapshot was not a 200 without Retry-After, the stream gave less than a
# third of its rate during them or had a gap of a second. The same again with --snapshot-size
# 640x480 (a quarter of the rendering and encoding).
#
# The virtual handler does not pace frames: it lists FrameDurationLimits (from the first size's
# frame_rates) but its processRequest() fills a buffer as soon as a request is queued. The shim
# notices (timestamps closer than half the frame duration) and paces its requests itself: the
# test asserts the log line and a captured rate of at most 11.5 frames/s for --fps 10 (a 1 s
# window of paced frames under TCG jitter read 11.03 once, 2026-12-06).

lc07_use
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
command -v streamwatch >/dev/null || fail "streamwatch not in the initramfs"

VDIR=/lc07/usr/share/libcamera/pipeline/virtual
[ -d "$VDIR" ] || fail "$VDIR missing: this libcamera was built without the virtual pipeline handler"
YAML=$VDIR/virtual.yaml
cleanup() { rm -f "$YAML"; }
trap cleanup EXIT
cat >"$YAML" <<'EOF'
%YAML 1.1
---
"Virtual0":
  supported_formats:
  - width: 320
    height: 240
    frame_rates:
    - 5
    - 30
  - width: 640
    height: 480
  - width: 1280
    height: 960
  test_pattern: "bars"
  location: "CameraLocationFront"
  model: "mjpegd test bed virtual"
EOF

say "cam -l sees the virtual camera"
lc07 /usr/bin/cam -l >cam-l.txt 2>&1
cat cam-l.txt
grep -q "Virtual0" cam-l.txt || fail "cam -l does not list Virtual0 (the virtual handler read no $YAML?)"

LOG=$VM_OUT/mjpegd.log
say "--source libcamera:Virtual0 --size 320x240 --snapshot-size 1280x960"
"$MJPEGD" --listen 127.0.0.1:8000 --source libcamera:Virtual0 --encoder software \
	--size 320x240 --fps 10 --snapshot-size 1280x960 >"$LOG" 2>&1 &
pid=$!
retry 60 timeout 10 wget -q -O full.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 60 s"
kill -0 "$pid" 2>/dev/null || die "mjpegd exited early"
lc07_ran "$LOG"
grep -q "gives one stream" "$LOG" && die "the virtual camera gave one stream"
grep -q "from NV12" "$LOG" || die "the software encoder does not say it reads NV12"
retry 20 grep -q "mjpegd paces its requests to --fps" "$LOG" ||
	die "the shim did not notice that the virtual camera ignores FrameDurationLimits"

[ "$(hexhead full.jpg 2)" = ffd8 ] || die "/snapshot.jpg is not a JPEG"
d=$(jpeg_dims full.jpg)
echo "/snapshot.jpg: $(filesize full.jpg) bytes, $d"
[ "$d" = 1280x960 ] || die "/snapshot.jpg is $d, not 1280x960"
timeout 10 wget -q -O small.jpg 'http://127.0.0.1:8000/snapshot.jpg?size=stream' ||
	die "GET /snapshot.jpg?size=stream failed"
d=$(jpeg_dims small.jpg)
echo "/snapshot.jpg?size=stream: $(filesize small.jpg) bytes, $d"
[ "$d" = 320x240 ] || die "/snapshot.jpg?size=stream is $d, not 320x240"

# the stream's parts while full-size snapshots are taken
timeout 4 wget -q -O stream.bin http://127.0.0.1:8000/stream.mjpg &
spid=$!
timeout 10 wget -q -O full2.jpg http://127.0.0.1:8000/snapshot.jpg || die "/snapshot.jpg failed"
wait "$spid"
d=$(jpeg_dims stream.bin)
echo "/stream.mjpg: $(filesize stream.bin) bytes in 4 s, first part $d; snapshot meanwhile $(jpeg_dims full2.jpg)"
[ "$d" = 320x240 ] || die "/stream.mjpg parts are $d, not 320x240"
[ "$(jpeg_dims full2.jpg)" = 1280x960 ] || die "the snapshot taken during the stream is not 1280x960"

timeout 10 wget -q -O status.json http://127.0.0.1:8000/status || die "GET /status failed"
grep -o '"snapshot": {[^}]*}' status.json | head -n 1
grep -q '1280' status.json && grep -q '320' status.json || die "/status does not name both sizes"

# measure FULL: with one stream client kept open, 10 back-to-back snapshots of the running
# daemon ($pid, --snapshot-size FULL); prints the figures, fails on the bounds above.
measure() {
	say "$1: 10 back-to-back full-size snapshots with a stream client open"
	rm -f stream.txt snaps.txt
	streamwatch -p 8000 -n 1 -i 0 stream.txt >stream.json 2>&1 &
	wpid=$!
	sleep 6 # the baseline: the stream's own pace
	streamwatch -p 8000 -n 0 -u /snapshot.jpg -i 1 snaps.txt >snaps.json 2>&1 &
	swpid=$!
	n=0
	while [ "$(n_snaps)" -lt 10 ] && [ "$n" -lt 120 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 1
		n=$((n + 1))
	done
	kill "$swpid" 2>/dev/null
	wait "$swpid"
	sleep 2
	kill "$wpid" 2>/dev/null
	wait "$wpid"
	wpid=
	cp stream.txt "$VM_OUT/stream-$1.txt"
	cp snaps.txt "$VM_OUT/snaps-$1.txt"
	kill -0 "$pid" 2>/dev/null || die "mjpegd died during the snapshots"
	[ "$(n_snaps)" -ge 10 ] || die "fewer than 10 snapshots in 120 s: $(cat snaps.txt)"
	head -n 10 snaps.txt >snaps10.txt
	bad=$(awk '$3 != 200 || $4 != 0' snaps10.txt)
	[ -z "$bad" ] || die "snapshots that were not 200 without Retry-After: $bad"

	# the window: from the first snapshot's request to the tenth's answer
	start=$(awk 'NR == 1 { printf "%.3f", $2 - $7 / 1000 }' snaps10.txt)
	end=$(awk 'END { print $2 }' snaps10.txt)
	lat=$(awk '{ print $7 }' snaps10.txt | sort -n | awk '{ v[NR] = $1 } END {
		printf "p50 %.0f ms, p95 %.0f ms", (v[5] + v[6]) / 2, v[10] }')
	# baseline parts, median interval ms, largest gap ms, parts in the window, window s
	res=$(awk -v s="$start" -v e="$end" '
		$1 == "part" { t[n++] = $3 }
		END {
			m = 0
			for (i = 1; i < n && t[i] <= s; i++) d[m++] = t[i] - t[i - 1]
			for (i = 0; i < m; i++)
				for (j = i + 1; j < m; j++)
					if (d[j] < d[i]) { x = d[i]; d[i] = d[j]; d[j] = x }
			med = m ? d[int(m / 2)] : 0
			g = 0; k = 0
			for (i = 1; i < n; i++)
				if (t[i] >= s && t[i - 1] <= e) {
					if (t[i] - t[i - 1] > g) g = t[i] - t[i - 1]
					if (t[i] <= e) k++
				}
			printf "%d %.1f %.1f %d %.2f", m, med * 1000, g * 1000, k, e - s
		}' stream.txt)
	set -- "$1" $res
	echo "stream before: $2 parts, median interval $3 ms"
	echo "during 10 $1 snapshots ($6 s): $5 parts, largest gap $4 ms" \
		"($(awk -v g="$4" -v m="$3" 'BEGIN { if (m > 0) printf "%.2f", g / m }') median intervals;" \
		"issue 20's bound of 2: $(awk -v g="$4" -v m="$3" 'BEGIN { print (g <= 2 * m ? "met" : "NOT met") }'))"
	echo "$1 snapshot latency: $lat"
	timeout 10 wget -q -O status2.json http://127.0.0.1:8000/status || die "GET /status failed"
	grep -o '"fps[a-z_]*": [0-9.]*' status2.json | tr '\n' ' '
	echo
	cap=$(sed -n 's/.*"fps_captured": \([0-9.]*\).*/\1/p' status2.json | head -n 1)
	awk -v c="$cap" 'BEGIN { exit !(c > 0 && c <= 11.5) }' ||
		die "captured $cap frames/s: --fps 10 is not held (paced requests)"
	[ "$2" -ge 20 ] || die "the stream gave only $2 parts in the 6 s before the snapshots"
	# The stream kept flowing: at least a third of its own rate through the window, and never
	# a second without a part (a stream that waited for each full-size encode would give one
	# part a snapshot). Issue 20's 2 intervals are printed above, not asserted: here the
	# virtual camera renders both pictures in software on the same 2 emulated vCPUs as the
	# full-size encode (docs/testing.md, 71c).
	awk -v k="$5" -v w="$6" -v m="$3" 'BEGIN { exit !(m > 0 && k * 3 * m / 1000 >= w) }' ||
		die "only $5 stream parts in the $6 s of snapshots (median interval $3 ms)"
	awk -v g="$4" 'BEGIN { exit !(g < 1000) }' ||
		die "largest gap $4 ms during the snapshots: the stream stalled"
}
n_snaps() { cat snaps.txt 2>/dev/null | grep -c '^snap '; }

measure 1280x960
stop_pid "$pid" 10
rc=$STOP_RC
cat "$LOG"
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"

say "--snapshot-size 640x480: the same measure with a quarter of the full-size work"
LOG=$VM_OUT/mjpegd-640.log
"$MJPEGD" --listen 127.0.0.1:8000 --source libcamera:Virtual0 --encoder software \
	--size 320x240 --fps 10 --snapshot-size 640x480 >"$LOG" 2>&1 &
pid=$!
retry 60 timeout 10 wget -q -O full.jpg http://127.0.0.1:8000/snapshot.jpg ||
	die "no /snapshot.jpg within 60 s"
d=$(jpeg_dims full.jpg)
[ "$d" = 640x480 ] || die "/snapshot.jpg is $d, not 640x480"
measure 640x480
stop_pid "$pid" 10
rc=$STOP_RC
[ "$rc" = 0 ] || die "exit status $rc after SIGTERM"
echo "PASS"
