# vm-timeout: 150
# Recovery from vivid's inject_vidioc_qbuf_error (the next VIDIOC_QBUF fails with EINVAL: the
# daemon queues a buffer back when the encoder is done with it), with 3 stream clients connected
# throughout; with the software encoder and with vicodec's M2M encoder.
# Checks as 80-fault-fatal-streaming.sh (tests/vm/guest/lib/faults.sh, run_source_fault).
. /vm/faults.sh
faults_setup

FAULT_WHAT="inject_vidioc_qbuf_error"
EXPECT_ERROR="capture failed: Invalid argument"
EXPECT_PH=0
inject() {
	T_FAULT=$(now)
	v4l2-ctl -d "$VIVID_CAP" -c inject_vidioc_qbuf_error=1 || die "cannot inject the error"
}
run_source_fault software qbuf-software
run_source_fault m2m qbuf-m2m
finish
echo PASS
