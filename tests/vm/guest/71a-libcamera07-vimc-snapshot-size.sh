# vm-timeout: 150
# vm-needs: lc07
# 70a-libcamera-vimc-snapshot-size with libcamera 0.7.1's userland (/lc07, tests/vm/bed/lc07.sh): its
# vimc handler also gives one stream, so --snapshot-size warns and snapshots keep the stream's
# size; the daemon that opened the camera logged "libcamera v0.7.1: camera".

lc07_use
. /vm/tests/70a-libcamera-vimc-snapshot-size.sh
lc07_ran "$VM_OUT/mjpegd.log"
