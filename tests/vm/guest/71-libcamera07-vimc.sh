# vm-timeout: 150
# vm-needs: lc07
# 70-libcamera-vimc with libcamera 0.7.1's userland (/lc07, tests/vm/lc07.sh): the daemon built
# against Debian trixie-backports' libcamera 0.7.1 (Raspberry Pi OS Trixie's release), its vimc
# pipeline handler and IPA: snapshots, steady frames, clean SIGTERM, --source auto, a missing
# camera. Each daemon that opened the camera must have logged "libcamera v0.7.1: camera".

lc07_use
. /vm/tests/70-libcamera-vimc.sh
lc07_ran "$VM_OUT/mjpegd.log" "$VM_OUT/mjpegd-auto.log"
