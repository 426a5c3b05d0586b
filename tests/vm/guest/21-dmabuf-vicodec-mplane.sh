# vm-timeout: 60
# vm-boot: vicodec-mplane
# 20-dmabuf in a boot where vicodec is multi-planar (kernel argument vicodec.multiplanar=1, fixed at
# probe: tests/vm/run.sh boots once more for the tests marked vicodec-mplane): zero copy into the
# multi-planar M2M API: dmabuf_m2m_check from vivid's single- and multi-planar instances into
# vicodec booted multi-planar (V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE, DMABUF).

v4l2-ctl -d "$VICODEC_ENC" -D | grep -q 'Video Memory-to-Memory Multiplanar' ||
	fail "$VICODEC_ENC is not multi-planar (boot vicodec-mplane: vicodec.multiplanar=1)"
. /vm/tests/20-dmabuf.sh
