# vm-timeout: 150
# Recovery from vivid's inject_v4l2_buf_flag_error (the next buffer is returned with
# V4L2_BUF_FLAG_ERROR: the daemon counts it dropped and restarts the camera, -EIO), with 3
# stream clients connected throughout; with the software encoder and with vicodec's M2M encoder.
# Checks as 80-fault-fatal-streaming.sh (tests/vm/guest/lib/faults.sh, run_source_fault).
. /vm/faults.sh
faults_setup

FAULT_WHAT="inject_v4l2_buf_flag_error"
EXPECT_ERROR="capture failed: Input/output error"
EXPECT_PH=0
inject() {
	T_FAULT=$(now)
	v4l2-ctl -d "$VIVID_CAP" -c inject_v4l2_buf_flag_error=1 || die "cannot inject the error"
}
run_source_fault software bufflag-software
run_source_fault m2m bufflag-m2m
finish
echo PASS
