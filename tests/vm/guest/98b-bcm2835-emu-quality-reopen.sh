# vm-timeout: 120
# vm-host-check: tests/vm/checks/bcm2835_emu_check.py
# vm-alone: a client may wait 0.5 s across the reopen (0.11 to 0.12 s alone, 0.21 s side by side)
# 98-bcm2835-emu-vivid-zerocopy's set-up (vivid's multi-planar dma-contig instance → the emulated
# bcm2835-codec encoder, imported; 3 stream clients), at 640x480 YU12: a SIGHUP from quality 80 to
# 30 reopens the encoder, the served JPEG changes (on the host, vm-host-check: its quantisation
# tables are libjpeg's for each quality), and no client waits 0.5 s for a part across the reopen.
# Apart from 98 so that only this bound runs alone (tests/vm/run.sh's second phase).
. /vm/vivid_emu.sh # checks what it needs, loads the emulated encoder, sets CAM

say "quality 80 → 30 by SIGHUP: the JPEG's quantisation tables follow"
# Whether the Pi's firmware applies a quality set while streaming is unknown; the emulation's
# default (quality_live=0) takes it at the next CAPTURE STREAMON only: mjpegd reopens the encoder.
[ "$(cat "$EMU_PARAMS/quality_live")" = N ] || die "quality_live is not the default (0)"
printf 'quality = 80\n' >q.conf
serve 640x480 --format YU12 --config q.conf
sleep 3
timeout 10 wget -q -O "$VM_OUT/vivid-q80.jpg" http://127.0.0.1:8000/snapshot.jpg || die "snapshot"
printf 'quality = 30\n' >q.conf
kill -HUP "$pid"
sleep 3
timeout 10 wget -q -O "$VM_OUT/vivid-q30.jpg" http://127.0.0.1:8000/snapshot.jpg || die "snapshot"
grep -i 'quality' "$LOG" | tail -n 3
cmp -s "$VM_OUT/vivid-q80.jpg" "$VM_OUT/vivid-q30.jpg" && die "the JPEG did not change"
# The Pi's firmware may ignore a quality change while streaming (the emulation's quality_live=0
# does): mjpegd reopens the encoder for it, the software stand-in serving meanwhile.
grep -q "encoder: reopening for JPEG quality 30" "$LOG" || die "the encoder was not reopened for the quality"
unserve
gap=$(awk '$1 == "part" { if (($2 in t) && $3 - t[$2] > g) g = $3 - t[$2]; t[$2] = $3 }
	END { printf "%.3f", g }' events.txt)
say "the longest gap between parts of a client across the quality change: $gap s (10 fps)"
awk -v g="$gap" 'BEGIN { exit !(g <= 0.5) }' || die "a client waited $gap s for a part"
raw_frame vivid-q80 640 480 YU12 80
cp "$VM_OUT/vivid-q80.raw" "$VM_OUT/vivid-q30.raw"
sed 's/quality=80/quality=30/' "$VM_OUT/vivid-q80.meta" >"$VM_OUT/vivid-q30.meta"
echo "PASS"
