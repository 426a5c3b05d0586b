# vm-timeout: 150
# vm-needs: lc07
# 70-libcamera-vimc with libcamera 0.7.1's userland (/lc07, tests/vm/bed/lc07.sh): the daemon built
# against Debian trixie-backports' libcamera 0.7.1 (Raspberry Pi OS Trixie's release), its vimc
# pipeline handler and IPA: snapshots, steady frames, clean SIGTERM, --source auto, a missing
# camera. Each daemon that opened the camera must have logged "libcamera v0.7.1: camera".
# Frames: 4 in 8 s. From libcamera 0.3 on (kernel >= 5.16) the vimc handler runs the sensor at
# 1920x1080 and scales down, so the emulated guest debayers 1920x1080 per frame: ~2 frames/s
# here against ~25 with 0.0.3's 212x160 sensor.

lc07_use
# shellcheck disable=SC2034 # read by the body sourced below
RATE_SECS=8 RATE_MIN=4
. /vm/tests/70-libcamera-vimc.sh
lc07_ran "$VM_OUT/mjpegd.log" "$VM_OUT/mjpegd-auto.log"
