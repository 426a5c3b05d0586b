# vm-timeout: 120
# vm-boot: vicodec-mplane
# 60-vivid-dmabuf-vicodec in a boot where vicodec is multi-planar (kernel argument
# vicodec.multiplanar=1, fixed at probe: tests/vm/run.sh boots once more for the tests marked
# vicodec-mplane): the daemon's M2M encoder on vicodec's multi-planar API: vivid → vicodec (dmabuf
# import), 0 bytes copied, then the copy path.

v4l2-ctl -d "$VICODEC_ENC" -D | grep -q 'Video Memory-to-Memory Multiplanar' ||
	fail "$VICODEC_ENC is not multi-planar (boot vicodec-mplane: vicodec.multiplanar=1)"
. /vm/tests/60-vivid-dmabuf-vicodec.sh
