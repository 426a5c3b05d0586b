# vm-timeout: 150
# As 95, the fault a stall: the emulated encoder holds every job (stall=1), as a codec whose
# firmware stopped answering would. No frame comes back within --encoder-timeout-ms (1000): the
# encoder alone has failed, the software encoder stands in, every reopened encoder stalls again
# until the fault is cleared; then the emulated encoder serves again. Closing a stalled encoder
# must give every camera buffer back (the source's fds are unchanged, nothing leaks).
. /vm/faults.sh
faults_setup
# teardown_timeout_ms=0: on a Pi (the default, 2000) closing an encoder whose VPU holds a job
# waits 2 s per queue in the driver's stop_streaming; mjpegd closes it on its loop thread, so the
# clients would get nothing for ~4 s at each reset (issue 17). Until mjpegd closes a stalled
# encoder off the loop thread, this test leaves that wait out.
emu_load teardown_timeout_ms=0
EXPECT_ERROR='not back after 1000 ms'
run_emu_fault stall emu-stall
finish
echo PASS
