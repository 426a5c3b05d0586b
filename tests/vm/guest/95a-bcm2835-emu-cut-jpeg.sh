# vm-timeout: 150
# As 95, the fault a cut JPEG: bcm2835-codec does not check that a JPEG fits its CAPTURE buffer,
# so one that does not arrives cut, without EOI and without an error flag (the emulation's
# jpeg_max_bytes). No such JPEG may leave mjpegd: each is dropped and counted (/status
# frames.cut), three in a row fail the encoder, the software stand-in serves, every part the
# clients get is a whole JPEG; once the fault is cleared the emulated encoder serves again.
. /vm/faults.sh
faults_setup
emu_load
EXPECT_ERROR='frames in a row came back with an error'
run_emu_fault cut emu-cut
_c=$(sed -n 's/.*"cut": \([0-9]*\).*/\1/p' after.json | head -n1)
check "the cut JPEGs were counted: frames.cut $_c" [ "${_c:-0}" -ge 3 ]
check "the log says why they were dropped" grep -q "the JPEG ends without EOI" "$DLOG"
finish
echo PASS
