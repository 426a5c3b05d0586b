# vm-timeout: 150
# vm-boot: vicodec-mplane
# 75-libcamera-vicodec in a boot where vicodec is multi-planar (kernel argument
# vicodec.multiplanar=1, fixed at probe: tests/vm/run.sh boots once more for the tests marked
# vicodec-mplane): libcamera's FrameBuffers (vimc) imported by vicodec booted multi-planar, 0 bytes
# copied.

v4l2-ctl -d "$VICODEC_ENC" -D | grep -q 'Video Memory-to-Memory Multiplanar' ||
	fail "$VICODEC_ENC is not multi-planar (boot vicodec-mplane: vicodec.multiplanar=1)"
. /vm/tests/75-libcamera-vicodec.sh
