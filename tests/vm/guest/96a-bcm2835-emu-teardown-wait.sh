# vm-timeout: 180
# vm-alone: 0.5 s between parts, /status in 50 ms (0.35 s alone; 0.511 s seen under load)
# A stalled encoder torn down as the real driver tears it down: bcm2835-codec's stop_streaming
# waits up to COMPLETE_TIMEOUT (2 s) per queue for buffers the VPU holds, so closing a stalled
# encoder takes ~4 s on a Pi (the emulation's teardown_timeout_ms, 2000 by default, per queue).
# mjpegd closes it on a thread of its own: with --encoder-timeout-ms 250 the software stand-in
# serves within a quarter second of the stall, no stream client goes more than 0.5 s without a
# part, and /status (asked every 100 ms all along) answers within 50 ms from the fault to the
# recovery (or, on a loaded host, no slower than it did before the fault). The same
# device is not reopened while its teardown holds the driver's lock.
. /vm/faults.sh
faults_setup
emu_load
[ "$(cat "$EMU_PARAMS/teardown_timeout_ms")" = 2000 ] ||
	die "teardown_timeout_ms is not the real driver's 2000 ms: $(cat "$EMU_PARAMS/teardown_timeout_ms" 2>&1)"
EXPECT_ERROR='not back after 250 ms'
EMU_EXTRA_ARGS="--encoder-timeout-ms 250" MAX_GAP=0.5 STATUS_MAX_MS=50 run_emu_fault stall emu-teardown
grep -q "no frame back within" "$DLOG" && die "a stall of a running encoder was taken for an import that never completes"
finish
echo PASS
