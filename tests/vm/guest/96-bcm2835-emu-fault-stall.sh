# vm-timeout: 150
# vm-alone: no client may wait 2 s for a part (1.15 s alone; 3.3 s seen on a loaded host)
# As 95, the fault a stall: the emulated encoder holds every job (stall=1), as a codec whose
# firmware stopped answering would. No frame comes back within --encoder-timeout-ms (1000): the
# encoder alone has failed, the software encoder stands in, every reopened encoder stalls again
# until the fault is cleared; then the emulated encoder serves again. Closing a stalled encoder
# must give every camera buffer back (the source's fds are unchanged, nothing leaks).
. /vm/faults.sh
faults_setup
# With the real driver's teardown wait (teardown_timeout_ms 2000 per queue, the default): mjpegd
# closes the stalled encoder on a thread of its own (96a measures the gap and /status then).
emu_load
EXPECT_ERROR='not back after 1000 ms'
run_emu_fault stall emu-stall
finish
echo PASS
