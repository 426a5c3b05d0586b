# vm-timeout: 150
# vm-needs: lc07
# 75-libcamera-vicodec with libcamera 0.7.1's userland (/lc07, tests/vm/lc07.sh): the
# FrameBuffers that libcamera 0.7.1 allocates for vimc, imported by vicodec as dma-bufs with 0
# bytes copied; the daemon must have logged "libcamera v0.7.1: camera".

lc07_use
. /vm/tests/75-libcamera-vicodec.sh
lc07_ran "$VM_OUT/mjpegd.log"
