# vm-timeout: 700
# vm-boot: vimc-contig
# vm-needs: lc07
# vm-host-check: tests/vm/checks/bcm2835_emu_check.py
# 99a with libcamera 0.7.1's userland (/lc07, Raspberry Pi OS Trixie's release): the daemon built
# against it imports vimc's contiguous buffers at 960x540 (asked for 544 rows), 0 bytes copied,
# the JPEG checked against the raw frame on the host.

lc07_use
. /vm/tests/99a-bcm2835-emu-libcamera-contig.sh
lc07_ran "$VM_OUT"/mjpegd-960x540.log
