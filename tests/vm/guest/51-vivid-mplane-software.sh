# vm-timeout: 120
# 50-vivid-software on vivid's second instance, booted multi-planar (vivid.multiplanar=1,2):
# the V4L2 source's V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE path (S_FMT pix_mp, QUERYBUF/DQBUF with
# a plane array, EXPBUF of plane 0), the busy error, a fatal streaming error and its recovery.

[ -n "$VIVID1_CAP" ] || fail "no second vivid instance (vivid-001-vid-cap)"
v4l2-ctl -d "$VIVID1_CAP" -D | grep -q 'Video Capture Multiplanar' ||
	fail "$VIVID1_CAP is not multi-planar (kernel argument vivid.multiplanar=1,2)"
CAM=$VIVID1_CAP
. /vm/tests/50-vivid-software.sh
