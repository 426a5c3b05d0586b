# vm-timeout: 150
# The Pi's path on the emulated encoder (tests/vm/guest/lib/faults.sh, run_emu_fault): --encoder auto finds
# the emulated bcm2835-codec image encoder among vicodec and vim2m by what it can do, imports
# vivid-001's dma-bufs; 3 stream clients. First one JPEG buffer flagged V4L2_BUF_FLAG_ERROR
# (error_after=5 at load): that frame is dropped, the encoder is not reset. Then every buffer
# flagged (as a codec whose firmware went wrong would): after 3 in a row the encoder alone has
# failed, the software encoder stands in, the encoder is reopened (and fails again while the
# fault lasts); once cleared, the emulated encoder serves again.
. /vm/faults.sh
faults_setup
emu_load error_after=5 error_count=1
EXPECT_ERROR='3 frames in a row came back with an error'
run_emu_fault error emu-error
say "the single flagged frame at the start"
_e=$(json_num before.json encode_errors)
_f=$(dev_num before.json encoder failures)
check "one flagged frame dropped, the encoder kept: encode_errors $_e, encoder failures $_f" \
	sh -c '[ "$1" -ge 1 ] && [ "$2" = 0 ]' sh "$_e" "$_f"
finish
echo PASS
