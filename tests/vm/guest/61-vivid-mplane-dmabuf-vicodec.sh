# vm-timeout: 120
# 60-vivid-dmabuf-vicodec with vivid's multi-planar instance as the camera (vivid.multiplanar=1,2):
# a multi-planar buffer exported (EXPBUF, plane 0) and imported by vicodec, YUYV and YU12, 0 bytes
# copied. (Multi-planar vivid can start YUYV 128 bytes into each buffer, data_offset, which no
# M2M encoder here honours: mjpegd then copies and logs why. vivid clears that offset for every
# instance as soon as one instance is single-planar (vivid-core.c, "vivid_formats[0].data_offset
# [0] = 0"), so this boot cannot show it; tests/unit/test_v4l2_layout.c covers the decision.)

[ -n "$VIVID1_CAP" ] || fail "no second vivid instance (vivid-001-vid-cap)"
v4l2-ctl -d "$VIVID1_CAP" -D | grep -q 'Video Capture Multiplanar' ||
	fail "$VIVID1_CAP is not multi-planar (kernel argument vivid.multiplanar=1,2)"
CAM=$VIVID1_CAP
. /vm/tests/60-vivid-dmabuf-vicodec.sh
