# vm-timeout: 150
# As 95, the fault an unbind: the emulated encoder's platform driver lets go of the device while
# mjpegd streams through it (its node vanishes, as when the VPU firmware dies), bound again 3 s
# later, perhaps under another node number: mjpegd finds it again by what it is.
. /vm/faults.sh
faults_setup
emu_load
EXPECT_ERROR='.'
run_emu_fault unbind emu-unbind
finish
echo PASS
