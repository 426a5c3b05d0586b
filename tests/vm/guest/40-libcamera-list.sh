# vm-timeout: 60
# libcamera on the real kernel: its vimc pipeline handler finds the vimc camera ('Sensor B').
# Needs the udev "initialised" records /init writes, and libcamera's IPA modules.

command -v cam >/dev/null || fail "cam not in the initramfs (install libcamera-tools libcamera-ipa)"
cam -l >cam-l.txt 2>&1
rc=$?
cat cam-l.txt
[ "$rc" = 0 ] || fail "cam -l exited $rc"
grep -q "'Sensor B'" cam-l.txt || fail "cam -l does not list the vimc camera 'Sensor B'"
echo "PASS"
