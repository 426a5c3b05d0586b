# vm-timeout: 180
# vm-alone: no client may wait 2 s for a part through the outage (1.2 s measured alone)
# vivid's disconnect control: the capture device vanishes as an unplugged camera does (its
# nodes answer ENODEV, poll gives POLLERR|POLLHUP), with 3 stream clients connected throughout.
# vivid re-registers a disconnected instance as soon as its last open file closes, so another
# of its nodes is held open meanwhile: the camera stays gone until the driver is re-bound
# through sysfs (/sys/bus/platform/drivers/vivid/unbind + bind vivid.0, both instances), 3 s
# later. Twice: software encoder (live JPEGs) and vicodec's M2M encoder.
# Checks (tests/vm/guest/lib/faults.sh, run_source_fault): /status during the outage (source failed, the
# disconnect named, placeholder), the clients get the "camera disconnected" placeholder, the
# source alone restarted and live frames again within 5 s of the re-bind, the capture node
# back under the same path, no leak.
. /vm/faults.sh
faults_setup

FAULT_WHAT="disconnect (unplug), re-bind after 3 s"
# The last error is the last reopen's. A reopen that races vivid's unbind and bind (below) may
# find the node already gone: on 6.12 (Debian trixie's kernel) the unbind removes /dev/videoN
# before the bind makes it again, so that open() answers ENOENT; on 6.1 it answered ENODEV. So
# the reopen's ENOENT is accepted, only as "reopening failed"; the outage's own error (the
# device there but disconnected) must still be ENODEV (checked in inject).
# Seen once (CI run of 2026-12-05, M2M half, compiled 6.1 kernel): the first stream on the node
# re-registered by the bind got one POLLERR ("the device reported an error: Input/output error",
# vb2's queue in error while vivid's bind was still under way); the daemon restarted it and it
# ran on. That is the right answer to a POLLERR, and the outage's ENODEV is checked apart, so a
# POLLERR after the re-bind is accepted as the last error too (not root-caused; the closing note
# of that session says so).
EXPECT_ERROR='No such device|^reopening failed: No such file or directory$|^the device reported an error: Input/output error$'
EXPECT_PH=1
inject() {
	# vivid reconnects when the last file of the instance closes: keep one open
	# shellcheck disable=SC2217 # the redirection is the point: it holds the node open
	sleep 600 <"$VIVID_OUT" &
	hold=$!
	sleep 0.2
	T_FAULT=$(now)
	v4l2-ctl -d "$VIVID_CAP" -c disconnect=1 || die "cannot disconnect"
	MIN_FAILURES=1 wait_dev source failed 10 ||
		{ cat wait.json; die "the source is not marked failed 10 s after the disconnect"; }
	say "source failed $(since "$T_FAULT") s after the disconnect; $(dev_summary wait.json source)"
	sleep 3
	get_status outage.json || die "GET /status failed during the outage"
	cp outage.json "$VM_OUT/status-outage-$DNAME.json"
	say "during the outage: $(dev_summary outage.json source); placeholder" \
		"$(json_num outage.json placeholder)"
	_ok=0
	[ "$(dev_str outage.json source state)" != running ] &&
		[ "$(json_num outage.json placeholder)" = true ] && _ok=1
	check "/status during the outage: source $(dev_str outage.json source state), placeholder $(json_num outage.json placeholder)" \
		[ "$_ok" = 1 ]
	check "the outage's error says the device is gone: '$(dev_str outage.json source last_error)'" \
		sh -c 'echo "$1" | grep -q "No such device"' sh "$(dev_str outage.json source last_error)"
	check "the camera is really gone: $(v4l2-ctl -d "$VIVID_CAP" -D 2>&1 | head -n1)" \
		sh -c '! v4l2-ctl -d "$1" -D >/dev/null 2>&1' sh "$VIVID_CAP"
	say "re-binding vivid.0"
	echo vivid.0 >/sys/bus/platform/drivers/vivid/unbind || die "cannot unbind vivid.0"
	echo vivid.0 >/sys/bus/platform/drivers/vivid/bind || die "cannot bind vivid.0"
	T_BACK=$(now)
	kill "$hold"
	wait "$hold" 2>/dev/null
	_was=$VIVID_CAP
	find_nodes
	check "vivid-000-vid-cap is back as $VIVID_CAP (was $_was)" [ "$VIVID_CAP" = "$_was" ]
}
run_source_fault software disconnect-software
check "the placeholder said why: $(grep -o 'clients are shown the placeholder: .*' "$VM_OUT/disconnect-software.log" | head -n1)" \
	grep -q 'clients are shown the placeholder: camera disconnected' "$VM_OUT/disconnect-software.log"
run_source_fault m2m disconnect-m2m
finish
echo PASS
