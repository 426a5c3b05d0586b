# vm-timeout: 120
# The encoder fails alone: vicodec's driver unbound while vivid keeps streaming, bound again
# 3 s later; --encoder m2m --m2m-format fwht --encoder-fallback none. FWHT frames are counted,
# not served, so the 3 stream clients get nothing but the placeholder during the outage; after
# the re-bind the encoder is rediscovered and FWHT frames resume (frames.not_published grows).
# Checks: tests/vm/guest/lib/faults.sh, run_encoder_fault.
. /vm/faults.sh
faults_setup
run_encoder_fault none vicodec-nofallback
check "the placeholder said why: $(grep -o 'clients are shown the placeholder: .*' "$DLOG" | head -n1)" \
	grep -q 'clients are shown the placeholder: encoder failed' "$DLOG"
finish
echo PASS
