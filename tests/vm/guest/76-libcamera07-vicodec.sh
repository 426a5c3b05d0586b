# vm-timeout: 150
# vm-needs: lc07
# vm-alone: 0.7.1's vimc gives a frame every 1.0 to 1.3 s alone; 2 s without one fails the source
# 75-libcamera-vicodec with libcamera 0.7.1's userland (/lc07, tests/vm/bed/lc07.sh): the
# FrameBuffers that libcamera 0.7.1 allocates for vimc, imported by vicodec as dma-bufs with 0
# bytes copied; the daemon must have logged "libcamera v0.7.1: camera".
# Frames: 4 encoded in 8 s (0.7's vimc handler debayers 1920x1080 per frame: see 71).

lc07_use
# shellcheck disable=SC2034 # read by the body sourced below
RATE_SECS=8 RATE_MIN=4
. /vm/tests/75-libcamera-vicodec.sh
lc07_ran "$VM_OUT/mjpegd.log"
