# vm-timeout: 60
# vm-needs: lc07
# 40-libcamera-list with libcamera 0.7.1's userland (/lc07: cam, IPA modules, libraries from
# Debian trixie-backports, tests/vm/bed/lc07.sh), the release Raspberry Pi OS Trixie ships as
# 0.7.1+rpt: its vimc pipeline handler finds 'Sensor B' with the udev records /init wrote.

lc07_use
. /vm/tests/40-libcamera-list.sh
