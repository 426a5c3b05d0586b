# vm-timeout: 120
# Camera controls of a libcamera camera (vimc's 'Sensor B' through libcamera's vimc pipeline
# handler and its IPA): /controls lists what its ControlInfoMap offers; a writable numeric or
# boolean control set with POST /controls shows as the control's value afterwards and reaches
# the camera's requests without breaking the stream (frames keep coming); an unknown name is a
# 400. What each control does to vimc's synthetic picture is not checked (vimc's IPA is a stub).
[ -x "$MJPEGD" ] || fail "$MJPEGD not in the initramfs"
[ -n "$VIMC_MEDIA" ] || fail "no vimc media device (VIMC MDEV)"
URL=http://127.0.0.1:8000
LOG=$VM_OUT/mjpegd.log
"$MJPEGD" --listen 127.0.0.1:8000 --source libcamera --encoder software --size 640x480 \
	--fps 10 >"$LOG" 2>&1 &
pid=$!
retry 40 timeout 5 wget -q -O /dev/null "$URL/snapshot.jpg" || die "no /snapshot.jpg within 40 s"
timeout 10 wget -q -O controls.json "$URL/controls" || die "GET /controls"
cp controls.json "$VM_OUT/"
cat controls.json
n=$(grep -c '"name"' controls.json)
[ "$n" -ge 1 ] || die "no control listed for a libcamera camera"
# the first writable integer or float control, and a value other than its default: halfway
# between the default and the maximum
line=$(grep -E '"type": "(integer|float)"' controls.json | grep '"read_only": false' | head -n1)
[ -n "$line" ] || die "no writable numeric control listed"
name=$(echo "$line" | sed 's/.*"name": "\([^"]*\)".*/\1/')
def=$(echo "$line" | sed 's/.*"default": \([^,]*\),.*/\1/')
max=$(echo "$line" | sed 's/.*"max": \([^,]*\),.*/\1/')
if echo "$line" | grep -q '"type": "integer"'; then
	value=$(awk -v d="$def" -v m="$max" 'BEGIN { printf "%d", (d + m) / 2 }')
else
	value=$(awk -v d="$def" -v m="$max" 'BEGIN { printf "%g", (d + m) / 2 }')
fi
[ "$value" != "$def" ] || die "$name: no value other than its default ($def..$max)"
say "POST $name=$value"
timeout 10 wget -q -O set.json --post-data "$name=$value" "$URL/controls" || die "POST $name=$value"
grep "\"name\": \"$name\"" set.json
grep "\"name\": \"$name\"" set.json | grep -q "\"value\": $value," ||
	die "$name does not show the value set"
timeout 10 wget -S -O /dev/null --post-data "NoSuchControl=1" "$URL/controls" >bad.txt 2>&1 &&
	die "an unknown control was accepted"
grep -q 400 bad.txt || die "an unknown control is not a 400"
timeout 10 wget -q -O s1.json "$URL/status"
sleep 2
timeout 10 wget -q -O s2.json "$URL/status"
c1=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s1.json)
c2=$(sed -n 's/.*"captured": \([0-9]*\).*/\1/p' s2.json)
echo "captured $c1 → $c2 in 2 s"
[ "$((c2 - c1))" -ge "${FRAMES_MIN:-3}" ] || die "frames stopped after the control was set"
stop_pid "$pid" 10
[ "$STOP_RC" = 0 ] || die "exit status $STOP_RC"
echo PASS
