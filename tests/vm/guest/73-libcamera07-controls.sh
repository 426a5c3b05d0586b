# vm-timeout: 150
# vm-needs: lc07
# 72-libcamera-controls with libcamera 0.7.1's userland (/lc07, tests/vm/bed/lc07.sh): the
# ControlInfoMap as 0.7 reports it (ControlId::enumerators() names menu entries from 0.4 on), a
# control set over HTTP shown as its value, frames flowing (2 s of ~2 fps under TCG: FRAMES_MIN).
lc07_use
# shellcheck disable=SC2034 # read by the body sourced below
FRAMES_MIN=1
. /vm/tests/72-libcamera-controls.sh
lc07_ran "$VM_OUT/mjpegd.log"
