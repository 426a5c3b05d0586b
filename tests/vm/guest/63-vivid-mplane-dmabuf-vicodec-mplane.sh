# vm-timeout: 120
# vm-boot: vicodec-mplane
# 61-vivid-mplane-dmabuf-vicodec in a boot where vicodec is multi-planar (kernel argument
# vicodec.multiplanar=1, fixed at probe: tests/vm/run.sh boots once more for the tests marked
# vicodec-mplane): both multi-planar: vivid's multi-planar instance → vicodec booted multi-planar, 0
# bytes copied.

v4l2-ctl -d "$VICODEC_ENC" -D | grep -q 'Video Memory-to-Memory Multiplanar' ||
	fail "$VICODEC_ENC is not multi-planar (boot vicodec-mplane: vicodec.multiplanar=1)"
. /vm/tests/61-vivid-mplane-dmabuf-vicodec.sh
