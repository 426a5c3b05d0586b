# vm-timeout: 150
# Recovery from vivid's inject_fatal_streaming_error (vb2_queue_error: the capture queue fails,
# poll gives POLLERR, VIDIOC_DQBUF -EIO), with 3 stream clients connected throughout. Twice:
# vivid → software encoder (the clients get live JPEGs) and vivid → vicodec's M2M encoder
# (FWHT: counted, not served; the encoder is then a V4L2 node whose fd must stay).
# Checks (tests/vm/guest/lib/faults.sh, run_source_fault): the source alone restarted (the encoder's
# restarts and failures 0, its fds unchanged), the clients stay connected and get live frames
# again within 5 s, fd count, VmRSS and the frame pool do not grow.
. /vm/faults.sh
faults_setup

FAULT_WHAT="inject_fatal_streaming_error"
EXPECT_ERROR="reported an error|capture failed"
EXPECT_PH=0 # a reopen takes ~0.1 s: no placeholder (shown after 0.5 s)
inject() {
	T_FAULT=$(now)
	v4l2-ctl -d "$VIVID_CAP" -c inject_fatal_streaming_error=1 || die "cannot inject the error"
}
run_source_fault software fatal-software
run_source_fault m2m fatal-m2m
finish
echo PASS
