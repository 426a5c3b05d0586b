# vm-timeout: 120
# As 84-fault-vicodec-unbind.sh with the default --encoder-fallback software: while vicodec is
# gone the software encoder stands in, so the 3 stream clients get live JPEGs for the outage
# only; /status shows software_fallback true during it and false once vicodec is back.
# Checks: tests/vm/guest/lib/faults.sh, run_encoder_fault.
. /vm/faults.sh
faults_setup
run_encoder_fault software vicodec-fallback
finish
echo PASS
