# Helpers for the device-recovery guest tests (tests/vm/guest/8x-*.sh), which source this file
# (packed as /vm/faults.sh) after /vm/lib.sh. busybox ash.
#
# A test starts the daemon (start_daemon), keeps 3 stream clients and a /snapshot.jpg poller
# on it throughout (start_watch: /vm/bin/streamwatch), records a baseline (baseline), makes a
# fault and records T_FAULT, brings the device back and records T_BACK (= T_FAULT for a fault
# the device recovers from by itself), waits for recovery, records the end state (after) and
# judges with check ...; finish stops everything and exits 0 only when every check passed.
# Every check prints its evidence ("ok"/"FAIL" + the figures).

PORT=8000
FAILS=0
DPID=""
WPID=""
DLOG=/dev/null

now() { cut -d' ' -f1 /proc/uptime; }
# since T -> seconds since uptime T, 2 decimals
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# fle A B: A <= B (floats)
fle() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# check DESCRIPTION CMD...: runs CMD; prints "ok"/"FAIL" and the description (the evidence).
check() {
	_d=$1
	shift
	if "$@"; then
		echo "  ok    $_d"
	else
		echo "  FAIL  $_d"
		FAILS=$((FAILS + 1))
	fi
}

# Nodes again by name: a re-bound driver may have renumbered them.
find_nodes() {
	VIVID_CAP=$(v4l_node vivid-000-vid-cap)
	VIVID_OUT=$(v4l_node vivid-000-vid-out)
	VICODEC_ENC=$(v4l_node stateful-encoder)
}

faults_setup() {
	[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs (build/mjpegd was missing when it was packed)"
	command -v streamwatch >/dev/null || fail "streamwatch not in the initramfs"
	find_nodes
	[ -n "$VIVID_CAP" ] || fail "no vivid capture node (vivid-000-vid-cap)"
}

# ---------------------------------------------------------------- /status

get_status() { timeout 10 wget -q -O "$1" "http://127.0.0.1:$PORT/status"; }
# dev_num FILE DEV KEY -> devices.DEV.KEY (a number or true/false)
dev_num() {
	sed -n "s/^    \"$2\": {.*\"$3\": \([a-z0-9]*\).*/\1/p" "$1" | head -n1
}
# dev_str FILE DEV KEY -> devices.DEV.KEY (a string)
dev_str() {
	sed -n "s/^    \"$2\": {.*\"$3\": \"\([^\"]*\)\".*/\1/p" "$1" | head -n1
}
# json_num FILE KEY -> the first number (or true/false) after "KEY":
json_num() {
	sed -n "s/.*\"$2\": \([a-z0-9.-]*\).*/\1/p" "$1" | head -n1
}
# dev_summary FILE DEV -> "state S, restarts R, failures F, last_error 'E'"
dev_summary() {
	echo "$2: state $(dev_str "$1" "$2" state), restarts $(dev_num "$1" "$2" restarts)," \
		"failures $(dev_num "$1" "$2" failures), last error '$(dev_str "$1" "$2" last_error)'"
}

# wait_dev DEV STATE SECONDS: until /status shows devices.DEV.state == STATE
# (and, with MIN_FAILURES set, failures >= MIN_FAILURES). Leaves the answer in wait.json.
wait_dev() {
	_end=$(awk -v t="$(now)" -v s="$3" 'BEGIN { print t + s }')
	while :; do
		if get_status wait.json && [ "$(dev_str wait.json "$1" state)" = "$2" ] &&
			[ "$(dev_num wait.json "$1" failures)" -ge "${MIN_FAILURES:-0}" ]; then
			return 0
		fi
		fle "$(now)" "$_end" || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------- the daemon

die() {
	echo "FAIL: $*"
	echo "--- mjpegd log ($DLOG)"
	cat "$DLOG"
	[ -n "$WPID" ] && kill -TERM "$WPID" 2>/dev/null
	[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
	exit 1
}

# start_daemon NAME ARGS...: mjpegd ARGS on 127.0.0.1:$PORT, log $VM_OUT/NAME.log; waits until
# /status answers and the source and encoder are running.
start_daemon() {
	DNAME=$1
	shift
	DLOG=$VM_OUT/$DNAME.log
	say "mjpegd $*"
	"$MJPEGD" "$@" --listen "127.0.0.1:$PORT" >"$DLOG" 2>&1 &
	DPID=$!
	retry 20 get_status start.json || die "no answer on /status within 20 s"
	wait_dev source running 10 || die "the source is not running 10 s after start"
	wait_dev encoder running 10 || die "the encoder is not running 10 s after start"
	grep -E '"(source|encoder)":' wait.json | head -n 4
}

stop_daemon() {
	[ -n "$DPID" ] || return 0
	stop_pid "$DPID" 10
	check "mjpegd exits 0 on SIGTERM (status $STOP_RC)" [ "$STOP_RC" = 0 ]
	if grep -q 'destroyed while\|released twice\|was not queued\|came back twice\|leaking' "$DLOG"; then
		grep 'destroyed while\|released twice\|was not queued\|came back twice\|leaking' "$DLOG"
		check "no buffer ownership error in the log" false
	fi
	DPID=""
}

# ---------------------------------------------------------------- clients

# start_watch: 3 stream clients + a /snapshot.jpg poller (every 0.5 s) on the daemon; waits
# until the 3 have their response heads. Events in $PWD/events.txt.
start_watch() {
	streamwatch -p "$PORT" -n 3 -i 500 -d "$VM_OUT" events.txt >watch.json 2>&1 &
	WPID=$!
	retry 10 sh -c '[ "$(grep -c "^open " events.txt)" -ge 3 ]' ||
		die "the 3 stream clients did not connect"
}

stop_watch() {
	[ -n "$WPID" ] || return 0
	kill -TERM "$WPID" 2>/dev/null
	wait "$WPID"
	WPID=""
	cp events.txt "$VM_OUT/events-$DNAME.txt"
}

# analyse: streamwatch -a over events.txt with T_FAULT and T_BACK; prints the per-client
# lines; AN holds the "all" line (read with an KEY).
analyse() {
	streamwatch -a events.txt "$T_FAULT" "${T_BACK:-$T_FAULT}" >analysis.json
	cat analysis.json
	grep '^{"all"' analysis.json >all.json
}
an() { json_num all.json "$1"; }

# ---------------------------------------------------------------- resources

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$DPID/status"; }
# quiet / unquiet: pause the clients' snapshot poller (once no snapshot is in flight) / resume
# it, so that the daemon's fds can be counted with only the 3 stream connections open.
quiet() {
	_n=$(grep -c '^paused ' events.txt)
	kill -USR1 "$WPID"
	retry 10 sh -c '[ "$(grep -c "^paused " events.txt)" -gt "$1" ]' sh "$_n" ||
		echo "warning: the snapshot poller did not pause"
	sleep 0.5 # the daemon closes its side of the last request (and of our /status) meanwhile
}
unquiet() { kill -USR2 "$WPID"; }
fd_count() { ls "/proc/$DPID/fd" | wc -l; }
# fd_list -> "N TARGET" per open fd, sorted by N (one closed meanwhile is left out)
fd_list() {
	for _f in /proc/"$DPID"/fd/*; do
		_t=$(readlink "$_f") && echo "${_f##*/} $_t"
	done | sort -n
}
# source_fds -> the source's fds: its node and the dma-bufs it exported
source_fds() { fd_list | awk -v n="$SRC_NODE" '$2 == n || $2 ~ /dmabuf/'; }
# other_fds -> every fd but the source's and sockets (the encoder's node or eventfd, io_uring...)
other_fds() { fd_list | awk -v n="$SRC_NODE" '$2 != n && $2 !~ /dmabuf/ && $2 !~ /^socket:/'; }

# baseline: /status, fd count, RSS, the fd lists, before the fault
baseline() {
	get_status before.json || die "GET /status failed"
	quiet
	FD0=$(fd_count)
	RSS0=$(rss_kib)
	fd_list >fds-before.txt
	source_fds >source-fds-before.txt
	other_fds >other-fds-before.txt
	unquiet
	say "before: $FD0 fds, VmRSS $RSS0 KiB; $(dev_summary before.json source); $(dev_summary before.json encoder)"
	cat fds-before.txt
}

after() {
	get_status after.json || die "GET /status failed after the recovery"
	quiet
	FD1=$(fd_count)
	RSS1=$(rss_kib)
	fd_list >fds-after.txt
	source_fds >source-fds-after.txt
	other_fds >other-fds-after.txt
	unquiet
	say "after: $FD1 fds, VmRSS $RSS1 KiB; $(dev_summary after.json source); $(dev_summary after.json encoder)"
	cat after.json
	echo
	cp before.json "$VM_OUT/status-before-$DNAME.json"
	cp after.json "$VM_OUT/status-after-$DNAME.json"
}

# check_untouched DEV: the device that did not fail kept its state (no restart, no failure)
check_untouched() {
	_r=$(dev_num after.json "$1" restarts)
	_f=$(dev_num after.json "$1" failures)
	_s=$(dev_str after.json "$1" state)
	_ok=0
	[ "$_s" = running ] && [ "$_r" = 0 ] && [ "$_f" = 0 ] && _ok=1
	check "the $1 was left alone: state $_s, restarts $_r, failures $_f" [ "$_ok" = 1 ]
}

# check_fds_same WHAT BEFORE AFTER: the same fds (numbers and targets) before and after
check_fds_same() {
	if cmp -s "$2" "$3"; then
		check "$1 unchanged: $(tr '\n' ',' <"$2" | sed 's/,$//;s/,/, /g')" true
	else
		echo "    before: $(tr '\n' ';' <"$2")"
		echo "    after:  $(tr '\n' ';' <"$3")"
		check "$1 unchanged" false
	fi
}

check_no_leak() {
	if [ "$FD1" -gt "$FD0" ]; then
		echo "    before: $(tr '\n' ';' <fds-before.txt)"
		echo "    after:  $(tr '\n' ';' <fds-after.txt)"
	fi
	check "no fd leak: $FD0 fds before, $FD1 after" [ "$FD1" -le "$FD0" ]
	_d=$((RSS1 - RSS0))
	check "no memory leak: VmRSS $RSS0 → $RSS1 KiB ($_d KiB)" [ "$_d" -lt 2048 ]
	_p0=$(sed -n 's/.*"frame_pool": {.*"in_use": \([0-9]*\).*/\1/p' before.json)
	_p1=$(sed -n 's/.*"frame_pool": {.*"in_use": \([0-9]*\).*/\1/p' after.json)
	check "frame pool not leaking: $_p0 in use before, $_p1 after" [ "$_p1" -le $((_p0 + 2)) ]
}

finish() {
	stop_watch
	stop_daemon
	if [ "$FAILS" -gt 0 ]; then
		echo "--- mjpegd log ($DLOG)"
		cat "$DLOG"
		fail "$FAILS check(s) failed"
	fi
}

# ---------------------------------------------------------------- a source fault

# run_source_fault ENCODER NAME: vivid → ENCODER (software: clients get live JPEGs; m2m:
# vicodec FWHT, counted but not served, the other device then being a V4L2 node), 3 clients,
# then the test's inject function: it makes the fault and sets T_FAULT, and T_BACK when the
# device came back later (default T_FAULT). Expects the source alone restarted, its last error
# matching the regex EXPECT_ERROR, the placeholder seen by the clients when EXPECT_PH=1, live
# frames again within 5 s of T_BACK, and no leak.
run_source_fault() {
	_enc=$1
	find_nodes
	SRC_NODE=$VIVID_CAP
	T_BACK=""
	if [ "$_enc" = software ]; then
		start_daemon "$2" --source "v4l2:$VIVID_CAP" --encoder software --size 640x360 --fps 15
	else
		[ -n "$VICODEC_ENC" ] || die "no vicodec encoder node (stateful-encoder)"
		start_daemon "$2" --source "v4l2:$VIVID_CAP" --encoder m2m --m2m-format fwht \
			--encoder-fallback none --size 640x360 --fps 15
	fi
	start_watch
	sleep 3 # the clients get frames; every long-lived fd is open
	baseline
	say "fault: $FAULT_WHAT"
	inject
	T_BACK=${T_BACK:-$T_FAULT}
	MIN_FAILURES=1 wait_dev source running 15 ||
		{ cat wait.json; die "the source is not running again 15 s after the device came back"; }
	T_REC=$(now)
	cp wait.json recovered.json
	say "source running again $(since "$T_BACK") s after the device came back" \
		"($(since "$T_FAULT") s after the fault); $(dev_summary recovered.json source)"
	sleep 5
	after
	stop_watch
	say "clients (fault at $T_FAULT, device back at $T_BACK)"
	analyse

	say "verdict: $FAULT_WHAT, $_enc encoder"
	_f=$(dev_num after.json source failures)
	_r=$(dev_num after.json source restarts)
	_e=$(dev_str after.json source last_error)
	_ok=0
	[ "$_f" -ge 1 ] && [ "$_r" -ge 1 ] && [ "$(dev_str after.json source state)" = running ] && _ok=1
	check "the source was restarted: failures $_f, restarts $_r, state running" [ "$_ok" = 1 ]
	check "its last error says why: '$_e' (expected /$EXPECT_ERROR/)" \
		sh -c 'echo "$1" | grep -q -E "$2"' sh "$_e" "$EXPECT_ERROR"
	check_untouched encoder
	check_fds_same "the other fds (encoder, loop)" other-fds-before.txt other-fds-after.txt
	check_no_leak
	check "3 clients connected throughout: connected $(an connected), $(an parts)+ parts each" \
		[ "$(an connected)" = 1 ]
	check "every part a whole JPEG ($(an bad) bad)" [ "$(an bad)" = 0 ]
	if [ "${EXPECT_PH:-0}" = 1 ]; then
		check "the clients got the placeholder during the outage: ≥ $(an ph_outage) each, the first $(an first_ph) s after the fault" \
			[ "$(an ph_outage)" -ge 1 ]
	else
		echo "  info  placeholder parts during the outage: $(an ph_outage) (outage too short to show one: expected 0)"
	fi
	if [ "$_enc" = software ]; then
		check "live frames before the fault: ≥ $(an live_before) each" [ "$(an live_before)" -ge 10 ]
		_rc=$(an recover)
		_ok=0
		fle 0 "$_rc" && fle "$_rc" 5 && _ok=1
		check "live frames again $_rc s after the device came back (≤ 5 s); the live picture stopped for $(an live_gap) s" \
			[ "$_ok" = 1 ]
		check "live frames after: ≥ $(an live_after) each" [ "$(an live_after)" -ge 20 ]
		check "longest time a client got nothing: $(an max_gap) s (≤ 2 s)" fle "$(an max_gap)" 2
	else
		_n1=$(json_num recovered.json not_published)
		_n2=$(json_num after.json not_published)
		check "FWHT frames again after the recovery: frames.not_published $_n1 → $_n2 in 5 s" \
			[ "$_n2" -ge $((_n1 + 20)) ]
		_rt=$(awk -v a="$T_BACK" -v b="$T_REC" 'BEGIN { printf "%.2f", b - a }')
		check "the source running again $_rt s after the device came back (≤ 5 s)" fle "$_rt" 5
	fi
	echo "--- mjpegd log"
	grep -v '^<7>' "$DLOG" | tail -n 15
	stop_daemon
}

# ---------------------------------------------------------------- an encoder fault

# run_encoder_fault FALLBACK NAME: vivid → vicodec (FWHT, counted, not served) with
# --encoder-fallback FALLBACK (none: the clients get the placeholder while the encoder is
# gone; software: live JPEGs from the stand-in), 3 clients; vicodec's driver unbound (the
# device vanishes, as a codec whose firmware died would), left out 3 s, bound again. Expects
# the encoder alone restarted (the source's restarts and failures 0, its node and dma-buf fds
# unchanged), the encoder rediscovered and running within 5 s of the re-bind, FWHT frames
# again, and no leak.
run_encoder_fault() {
	_fb=$1
	find_nodes
	SRC_NODE=$VIVID_CAP
	[ -n "$VICODEC_ENC" ] || die "no vicodec encoder node (stateful-encoder)"
	[ -e /sys/bus/platform/drivers/vicodec/vicodec.0 ] || die "vicodec.0 is not bound to vicodec"
	start_daemon "$2" --source "v4l2:$VIVID_CAP" --encoder m2m --m2m-format fwht \
		--encoder-fallback "$_fb" --size 640x360 --fps 15
	start_watch
	sleep 3
	baseline
	say "fault: vicodec.0 unbound from its driver"
	T_FAULT=$(now)
	echo vicodec.0 >/sys/bus/platform/drivers/vicodec/unbind || die "cannot unbind vicodec.0"
	MIN_FAILURES=1 wait_dev encoder failed 10 ||
		{ cat wait.json; die "the encoder is not marked failed 10 s after vicodec went"; }
	say "encoder failed $(since "$T_FAULT") s after the unbind; $(dev_summary wait.json encoder)"
	sleep 3
	get_status outage.json || die "GET /status failed during the outage"
	say "during the outage: $(dev_summary outage.json encoder), encoder" \
		"'$(json_num outage.json software_fallback)' software_fallback," \
		"placeholder $(json_num outage.json placeholder); $(grep '"encoder": "' outage.json)"
	cp outage.json "$VM_OUT/status-outage-$DNAME.json"
	say "vicodec.0 bound again"
	echo vicodec.0 >/sys/bus/platform/drivers/vicodec/bind || die "cannot bind vicodec.0"
	T_BACK=$(now)
	find_nodes
	echo "stateful-encoder is $VICODEC_ENC now"
	MIN_FAILURES=1 wait_dev encoder running 15 ||
		{ cat wait.json; die "the encoder is not running 15 s after vicodec came back"; }
	T_REC=$(now)
	cp wait.json recovered.json
	_rt=$(awk -v a="$T_BACK" -v b="$T_REC" 'BEGIN { printf "%.2f", b - a }')
	say "encoder running again $_rt s after the re-bind; $(dev_summary recovered.json encoder)"
	sleep 5
	after
	stop_watch
	say "clients (fault at $T_FAULT, device back at $T_BACK)"
	analyse

	say "verdict: vicodec unbound and re-bound, --encoder-fallback $_fb"
	_f=$(dev_num after.json encoder failures)
	_r=$(dev_num after.json encoder restarts)
	_ok=0
	[ "$_f" -ge 1 ] && [ "$_r" -ge 1 ] && [ "$(dev_str after.json encoder state)" = running ] && _ok=1
	check "the encoder was restarted: failures $_f, restarts $_r, state running" [ "$_ok" = 1 ]
	_e=$(dev_str after.json encoder last_error)
	check "its last error says why: '$_e'" [ -n "$_e" ]
	check "encoder running again $_rt s after the re-bind (≤ 5 s)" fle "$_rt" 5
	_d=$(grep '"encoder": "' after.json)
	check "it is vicodec importing dma-bufs again: $_d" \
		sh -c 'echo "$1" | grep -q "m2m $2 vicodec .*→FWHT (dmabuf import)"' sh "$_d" "$VICODEC_ENC"
	check_untouched source
	check_fds_same "the source's fds (node, dma-bufs)" source-fds-before.txt source-fds-after.txt
	check_no_leak
	_n1=$(json_num recovered.json not_published)
	_n2=$(json_num after.json not_published)
	check "FWHT frames again: frames.not_published $_n1 → $_n2 in 5 s" [ "$_n2" -ge $((_n1 + 20)) ]
	check "3 clients connected throughout: connected $(an connected)" [ "$(an connected)" = 1 ]
	check "every part a whole JPEG ($(an bad) bad of $(an parts)+ each)" [ "$(an bad)" = 0 ]
	check "no live JPEG before the fault (FWHT is not served): $(an live_before)" \
		[ "$(an live_before)" = 0 ]
	_lim=$(awk -v r="$_rt" 'BEGIN { print r + 1.5 }')
	if [ "$_fb" = none ]; then
		_ok=0
		[ "$(json_num outage.json placeholder)" = true ] &&
			[ "$(json_num outage.json software_fallback)" = false ] && _ok=1
		check "/status during the outage: placeholder $(json_num outage.json placeholder), software_fallback $(json_num outage.json software_fallback)" \
			[ "$_ok" = 1 ]
		check "the clients got the placeholder during the outage: $(an ph_outage)+ each, the first $(an first_ph) s after the fault" \
			[ "$(an ph_outage)" -ge 2 ]
		check "and nothing live: $(an live_outage) live parts" [ "$(an live_outage)" = 0 ]
		check "the placeholder stopped when the encoder was back: last one $(an last_ph) s after the re-bind (≤ $_lim)" \
			fle "$(an last_ph)" "$_lim"
	else
		_ok=0
		[ "$(json_num outage.json software_fallback)" = true ] && _ok=1
		check "/status during the outage: software_fallback $(json_num outage.json software_fallback), placeholder $(json_num outage.json placeholder)" \
			[ "$_ok" = 1 ]
		check "the clients got live JPEGs from the fallback: $(an live_outage)+ each, the first $(an first_live) s after the fault" \
			[ "$(an live_outage)" -ge 15 ]
		echo "  info  placeholder parts during the outage: $(an ph_outage) (the fallback starts at once: expected 0)"
		check "the fallback stopped when the encoder was back: last live part $(an last_live) s after the re-bind (≤ $_lim)" \
			fle "$(an last_live)" "$_lim"
	fi
	check "/status after: software_fallback $(json_num after.json software_fallback), placeholder $(json_num after.json placeholder)" \
		[ "$(json_num after.json software_fallback)" = false ]
	echo "--- mjpegd log"
	grep -v '^<7>' "$DLOG" | tail -n 25
	stop_daemon
}

# ---------------------------------------------------------------- the emulated Pi encoder

# run_emu_fault KIND NAME: the Pi's path on the emulated bcm2835-codec image encoder (loaded by
# the caller with emu_load): vivid-001 (multi-planar, dma-contig) → --encoder auto, which must
# pick the emulated node by what it can do (vicodec and vim2m are there too) and import the
# camera's dma-bufs; default --encoder-fallback software; 3 stream clients throughout. KIND:
#   error   the encoder flags every CAPTURE buffer V4L2_BUF_FLAG_ERROR (error_all=1: a reopened
#           encoder's first frame too, so that no reopen leaves probation before it is cleared)
#   stall   the encoder holds every job (stall=1; a reopened encoder too, until cleared)
#   cut     every JPEG cut short at 3000 bytes, no EOI, no error flag (jpeg_max_bytes: the driver
#           does not check that a JPEG fits its CAPTURE buffer): each dropped and counted
#   unbind  the platform driver lets go of the device; bound again 3 s later
# The fault stays until the encoder is marked failed and the clients have had 3 s of the
# software stand-in; then it is cleared (T_BACK). Expects: the encoder alone failed and was
# reopened (the source untouched, its node and dma-buf fds unchanged), the emulated encoder
# importing again within 8 s of T_BACK (the supervisor's backoff is at most 5 s), live JPEGs
# all along from the stand-in (clients connected, no bad part, no gap over 2 s), the stand-in
# stopped after, no leak.
run_emu_fault() {
	_kind=$1
	find_nodes
	VIVID1_CAP=$(v4l_node vivid-001-vid-cap)
	[ -n "$VIVID1_CAP" ] || die "no vivid-001-vid-cap"
	SRC_NODE=$VIVID1_CAP
	# shellcheck disable=SC2086 # EMU_EXTRA_ARGS: words
	start_daemon "$2" --source "v4l2:$VIVID1_CAP" --encoder auto --size 640x480 --fps 15 \
		${EMU_EXTRA_ARGS:-}
	_d=$(grep '"encoder": "' wait.json)
	check "--encoder auto picked the emulated encoder by capability, importing: $_d" \
		sh -c 'echo "$1" | grep -q "m2m $2 bcm2835-codec-encode_image .*→JPEG (dmabuf import)"' \
		sh "$_d" "$EMU_DEV"
	start_watch
	if [ -n "${STATUS_MAX_MS:-}" ]; then
		# /status every 100 ms all along: the loop must answer while a teardown waits
		streamwatch -p "$PORT" -n 0 -i 100 -u /status status-events.txt >/dev/null 2>&1 &
		SPID=$!
	fi
	sleep 3
	baseline
	T_FAULT=$(now)
	case $_kind in
	error)
		say "fault: every JPEG buffer flagged V4L2_BUF_FLAG_ERROR"
		emu_param error_all 1
		;;
	stall)
		say "fault: the encoder holds every job"
		emu_param stall 1
		;;
	cut)
		say "fault: every JPEG larger than 3000 bytes, cut there without EOI and no error flag"
		emu_param jpeg_max_bytes 3000
		;;
	unbind)
		say "fault: the emulated encoder's driver unbound"
		emu_unbind
		;;
	*) die "run_emu_fault: unknown kind $_kind" ;;
	esac
	MIN_FAILURES=1 wait_dev encoder failed 10 ||
		{ cat wait.json; die "the encoder is not marked failed 10 s after the fault"; }
	say "encoder failed $(since "$T_FAULT") s after the fault; $(dev_summary wait.json encoder)"
	sleep 3
	get_status outage.json || die "GET /status failed during the outage"
	cp outage.json "$VM_OUT/status-outage-$DNAME.json"
	say "during the outage: $(dev_summary outage.json encoder), software_fallback" \
		"$(json_num outage.json software_fallback); $(grep '"encoder": "' outage.json)"
	case $_kind in
	error) emu_param error_all 0 ;;
	stall) emu_param stall 0 ;;
	cut) emu_param jpeg_max_bytes 0 ;;
	unbind)
		emu_bind
		echo "$EMU_NAME is $EMU_DEV now"
		;;
	esac
	T_BACK=$(now)
	MIN_FAILURES=1 wait_dev encoder running 15 ||
		{ cat wait.json; die "the encoder is not running 15 s after the fault was cleared"; }
	T_REC=$(now)
	cp wait.json recovered.json
	_rt=$(awk -v a="$T_BACK" -v b="$T_REC" 'BEGIN { printf "%.2f", b - a }')
	say "encoder running again $_rt s after the fault was cleared; $(dev_summary recovered.json encoder)"
	sleep 4
	after
	stop_watch
	say "clients (fault at $T_FAULT, cleared at $T_BACK)"
	analyse

	say "verdict: emulated encoder, $_kind"
	_f=$(dev_num after.json encoder failures)
	_r=$(dev_num after.json encoder restarts)
	_ok=0
	[ "$_f" -ge 1 ] && [ "$_r" -ge 1 ] && [ "$(dev_str after.json encoder state)" = running ] && _ok=1
	check "the encoder was restarted: failures $_f, restarts $_r, state running" [ "$_ok" = 1 ]
	_e=$(dev_str after.json encoder last_error)
	check "its last error says why: '$_e' (expected /$EXPECT_ERROR/)" \
		sh -c 'echo "$1" | grep -q -E "$2"' sh "$_e" "$EXPECT_ERROR"
	check "encoder running again $_rt s after the fault was cleared (≤ 8 s)" fle "$_rt" 8
	_d=$(grep '"encoder": "' after.json)
	check "the emulated encoder importing again: $_d" \
		sh -c 'echo "$1" | grep -q "m2m $2 bcm2835-codec-encode_image .*→JPEG (dmabuf import)"' \
		sh "$_d" "$EMU_DEV"
	_b1=$(json_num recovered.json bytes_copied)
	_b2=$(json_num after.json bytes_copied)
	check "no byte copied once it was back: bytes_copied $_b1 → $_b2" [ "$_b1" = "$_b2" ]
	check_untouched source
	check_fds_same "the source's fds (node, dma-bufs)" source-fds-before.txt source-fds-after.txt
	check_no_leak
	_ok=0
	[ "$(json_num outage.json software_fallback)" = true ] && _ok=1
	check "/status during the outage: software_fallback $(json_num outage.json software_fallback)" \
		[ "$_ok" = 1 ]
	check "3 clients connected throughout: connected $(an connected)" [ "$(an connected)" = 1 ]
	check "every part a whole JPEG ($(an bad) bad of $(an parts)+ each)" [ "$(an bad)" = 0 ]
	check "live JPEGs before the fault: ≥ $(an live_before) each" [ "$(an live_before)" -ge 10 ]
	check "live JPEGs from the stand-in during the outage: $(an live_outage)+ each" \
		[ "$(an live_outage)" -ge 15 ]
	check "live JPEGs after: ≥ $(an live_after) each" [ "$(an live_after)" -ge 20 ]
	_mg=${MAX_GAP:-2}
	check "longest time a client got nothing: $(an max_gap) s (≤ $_mg s)" fle "$(an max_gap)" "$_mg"
	check "/status after: software_fallback $(json_num after.json software_fallback)" \
		[ "$(json_num after.json software_fallback)" = false ]
	if [ -n "${SPID:-}" ]; then
		kill "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
		SPID=
		cp status-events.txt "$VM_OUT/status-events-$DNAME.txt"
		_sn=$(grep -c '^snap ' status-events.txt)
		_sbad=$(awk '$1 == "snap" && $3 != 200' status-events.txt | wc -l)
		# the slowest answer before the fault (what this loaded TCG guest gives anyway) and
		# from the fault until a second after the recovery (the teardown and the reopen)
		_sbefore=$(awk -v f="$T_FAULT" '$1 == "snap" && $2 < f && $7 + 0 > m { m = $7 + 0 }
			END { printf "%.1f", m }' status-events.txt)
		_sfault=$(awk -v f="$T_FAULT" -v r="$T_REC" '$1 == "snap" && $2 >= f && $2 <= r + 1 &&
			$7 + 0 > m { m = $7 + 0 } END { printf "%.1f", m }' status-events.txt)
		_sbound=$(awk -v a="$STATUS_MAX_MS" -v b="$_sbefore" 'BEGIN { print (b > a ? b : a) }')
		say "/status: $_sn answers every 100 ms, $_sbad not 200; the slowest ${_sfault} ms from" \
			"the fault to the recovery, ${_sbefore} ms before the fault"
		check "/status answered all along: $_sn answers, $_sbad not 200" \
			sh -c '[ "$1" -ge 50 ] && [ "$2" = 0 ]' sh "$_sn" "$_sbad"
		check "/status within $STATUS_MAX_MS ms (or the steady state's ${_sbefore} ms) through the teardown and reopen: the slowest ${_sfault} ms" \
			fle "$_sfault" "$_sbound"
	fi
	echo "--- mjpegd log"
	grep -v '^<7>' "$DLOG" | tail -n 25
	stop_daemon
}
