#!/bin/sh
# make test-deb: installs build-deb/mjpegd_VERSION_ARCH.deb (this machine's architecture) with
# dpkg -i, checks what it put where, runs the installed /usr/bin/mjpegd as the package's user with
# the test pattern on loopback and fetches a snapshot and stream frames (tests/cross/smoke.py),
# then two camera instances as the installed mjpegd@.service template starts them (its ExecStart
# with the instance name filled in, /etc/mjpegd/NAME.conf each on its own port, each its own
# $STATE_DIRECTORY; the template and its socket unit pass systemd-analyze verify), both serving
# at once, then dpkg --purge and checks everything is gone. Needs root; no systemd needs to run.
# The package is purged (and a user it created removed again) even when a check fails.
# Usage: tests/cross/test-deb.sh DEB. Prints PASS/FAIL lines and, last, "deb: N passed, N failed".
set -u
deb=$1
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS  $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
check() { # NAME COMMAND...
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi
}
finish() {
	echo "deb: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if [ "$(id -u)" != 0 ]; then
	fail "test-deb needs root (dpkg -i)"
	finish
fi
if dpkg-query -W -f='${Status}' mjpegd 2>/dev/null | grep -q 'installed'; then
	fail "mjpegd is already installed here: not touching it (dpkg --purge mjpegd first)"
	finish
fi
had_user=0
getent passwd mjpegd >/dev/null && had_user=1
tmp=$(mktemp -d)
daemon=
instances=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	for p in $instances; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -f /etc/mjpegd/nozzle.conf /etc/mjpegd/room.conf
	if dpkg-query -W -f='${Status}' mjpegd 2>/dev/null | grep -q 'installed\|config-files\|half'; then
		dpkg --purge mjpegd >/dev/null 2>&1
	fi
	if [ $had_user = 0 ] && getent passwd mjpegd >/dev/null; then
		deluser --quiet --system mjpegd >/dev/null 2>&1
		getent group mjpegd >/dev/null && delgroup --quiet --system mjpegd >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "test-deb: $deb"
if dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	pass "dpkg -i $(basename "$deb")"
else
	cat "$tmp/install.log"
	fail "dpkg -i $(basename "$deb")"
	finish
fi

check "/usr/bin/mjpegd is installed and runs" /usr/bin/mjpegd --version
# Built for the release it was built on: the daemon links no libcamera; its libcamera plugin
# (/usr/lib/<multiarch>/mjpegd/mjpegd-libcamera.so, where the installed daemon looks) does, and the
# package depends on that release's libcamera library package (libcamera0.0.3 on Debian 12,
# libcamera0.4 on 13, libcamera0.7 with trixie-backports or on Raspberry Pi OS Trixie), whichever
# ${shlibs:Depends} found in the plugin.
check "/usr/bin/mjpegd links neither libcamera nor libstdc++" \
	sh -c "! readelf -d /usr/bin/mjpegd | grep NEEDED | grep -q 'libcamera\|libstdc++'"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
plugin=/usr/lib/$multiarch/mjpegd/mjpegd-libcamera.so
check "the libcamera plugin is installed at $plugin, root-owned, 0644" \
	sh -c "[ \"\$(stat -c '%U:%G %a' $plugin)\" = 'root:root 644' ]"
lib=$(ldd "$plugin" 2>/dev/null | awk '/libcamera\.so/ { print $3; exit }')
if [ -n "$lib" ]; then
	libpkg=$(dpkg -S "*/$(basename "$lib")" 2>/dev/null | head -n1 | cut -d: -f1)
	echo "test-deb: the plugin links $lib from ${libpkg:-no package}; Depends: $(dpkg-query -W -f='${Depends}' mjpegd)"
	check "Depends names this system's libcamera library package (${libpkg:-?})" \
		sh -c "[ -n '$libpkg' ] && dpkg-query -W -f='\${Depends}' mjpegd | tr ',' '\n' | grep -q '^ *$libpkg\( \|\$\)'"
else
	fail "$plugin links no libcamera (ldd: $(ldd "$plugin" 2>&1 | head -n3))"
fi
check "the installed mjpegd, as user mjpegd, loads its plugin from $plugin" sh -c \
	"setpriv --reuid=mjpegd --regid=mjpegd --init-groups /usr/bin/mjpegd --list-devices 2>&1 |
	 grep -q 'libcamera plugin $plugin loaded'"
unit=/lib/systemd/system/mjpegd.service
check "$unit: ExecStart=/usr/bin/mjpegd --config /etc/mjpegd/mjpegd.conf" \
	grep -qx 'ExecStart=/usr/bin/mjpegd --config /etc/mjpegd/mjpegd.conf $MJPEGD_ARGS' "$unit"
check "$unit has no @VARIABLES@ left" sh -c "! grep -q '@[A-Z]*@' $unit"
check "/lib/systemd/system/mjpegd.socket is installed" test -f /lib/systemd/system/mjpegd.socket
check "/etc/mjpegd/mjpegd.conf is a conffile" \
	sh -c "dpkg-query -W -f='\${Conffiles}' mjpegd | grep -q ' /etc/mjpegd/mjpegd.conf '"
check "man page /usr/share/man/man8/mjpegd.8.gz" test -f /usr/share/man/man8/mjpegd.8.gz
check "system user mjpegd exists, in group video" sh -c \
	'getent passwd mjpegd | grep -q ":/nonexistent:/usr/sbin/nologin$" && id -nG mjpegd | grep -qw video'
check "nothing enabled: no mjpegd symlink under /etc/systemd/system" \
	sh -c '! find /etc/systemd/system -name "mjpegd*" | grep -q .'

# The installed binary, as the package's user (like the unit), with the installed config file.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setpriv --reuid=mjpegd --regid=mjpegd --init-groups --inh-caps=-all \
	/usr/bin/mjpegd --config /etc/mjpegd/mjpegd.conf --source testpattern --encoder software \
	--size 320x240 --fps 15 --listen "127.0.0.1:$port" >"$tmp/daemon.log" 2>&1 &
daemon=$!
i=0
while [ $i -lt 100 ] && kill -0 "$daemon" 2>/dev/null &&
	! /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if /usr/bin/python3 -B "$here/smoke.py" 127.0.0.1 "$port" 3 >"$tmp/smoke.out" 2>&1; then
	pass "installed /usr/bin/mjpegd as user mjpegd: $(sed "s/^PASS  //" "$tmp/smoke.out" | paste -sd ";" -)"
else
	cat "$tmp/smoke.out" "$tmp/daemon.log"
	fail "installed /usr/bin/mjpegd serves a JPEG snapshot and stream frames"
fi
kill -TERM "$daemon"
wait "$daemon"
rc=$?
daemon=
if [ $rc -eq 0 ]; then pass "mjpegd stops cleanly on SIGTERM"; else
	cat "$tmp/daemon.log"
	fail "mjpegd exited $rc on SIGTERM"
fi

# Two cameras, one instance each, as mjpegd@nozzle and mjpegd@room would run (docs/multi-camera.md):
# the installed template's ExecStart for each instance name, as the package's user, each with its
# own config file (the test pattern here: no camera) and state directory.
tunit=$(dpkg -L mjpegd | grep '/mjpegd@\.service$' | head -n1)
tsock=$(dpkg -L mjpegd | grep '/mjpegd@\.socket$' | head -n1)
check "the template mjpegd@.service and mjpegd@.socket are installed" test -f "$tunit" -a -f "$tsock"
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify loads an instance of a template from the template's directory
	vdir=$tmp/units
	mkdir -p "$vdir"
	cp "$tunit" "$tsock" "$vdir/"
	systemd-analyze verify --man=no "$vdir/mjpegd@nozzle.service" "$vdir/mjpegd@nozzle.socket" \
		>"$tmp/verify.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/verify.out" ]; then
		pass "systemd-analyze verify mjpegd@nozzle.service mjpegd@nozzle.socket (installed template)"
	else
		cat "$tmp/verify.out"
		fail "systemd-analyze verify of the installed template: exit $rc"
	fi
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$tunit")
check "$tunit: ExecStart=/usr/bin/mjpegd --config /etc/mjpegd/%i.conf \$MJPEGD_ARGS" \
	test "$exec_start" = '/usr/bin/mjpegd --config /etc/mjpegd/%i.conf $MJPEGD_ARGS'
check "$tunit: StateDirectory=mjpegd/%i" grep -qx 'StateDirectory=mjpegd/%i' "$tunit"
ports=""
for name in nozzle room; do
	p=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	ports="$ports $p"
	printf 'source = testpattern\nencoder = software\nsize = 320x240\nfps = 15\nlisten = 127.0.0.1:%s\n' \
		"$p" >"/etc/mjpegd/$name.conf"
	# StateDirectory=mjpegd/NAME: systemd makes it, owned by the service's user, and sets
	# $STATE_DIRECTORY
	install -d -o mjpegd -g mjpegd "$tmp/state-$name"
	# shellcheck disable=SC2046 # the ExecStart line is split into words, as systemd does
	set -- $(echo "$exec_start" | sed -e "s/%i/$name/g" -e 's/ \$MJPEGD_ARGS//')
	STATE_DIRECTORY=$tmp/state-$name setpriv --reuid=mjpegd --regid=mjpegd --init-groups \
		--inh-caps=-all "$@" >"$tmp/$name.log" 2>&1 &
	instances="$instances $!"
done
for p in $ports; do
	i=0
	while [ $i -lt 100 ] &&
		! /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $p), 1)" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
done
set -- $ports
for name in nozzle room; do
	if /usr/bin/python3 -B "$here/smoke.py" 127.0.0.1 "$1" 3 >"$tmp/smoke-$name.out" 2>&1; then
		pass "instance $name (/etc/mjpegd/$name.conf, port $1) serves while the other runs:" \
			"$(sed "s/^PASS  //" "$tmp/smoke-$name.out" | paste -sd ";" -)"
	else
		cat "$tmp/smoke-$name.out" "$tmp/$name.log"
		fail "instance $name (port $1) serves a JPEG snapshot and stream frames"
	fi
	shift
done
for name in nozzle room; do
	rss=$(pgrep -f -x "/usr/bin/mjpegd --config /etc/mjpegd/$name.conf" | head -n1)
	[ -n "$rss" ] && echo "test-deb: instance $name: VmRSS $(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$rss/status")"
done
set -- $instances
for name in nozzle room; do
	kill -TERM "$1"
	wait "$1"
	rc=$?
	if [ $rc -eq 0 ]; then pass "instance $name stops cleanly on SIGTERM"; else
		cat "$tmp/$name.log"
		fail "instance $name exited $rc on SIGTERM"
	fi
	shift
done
instances=
rm -f /etc/mjpegd/nozzle.conf /etc/mjpegd/room.conf

if dpkg --purge mjpegd >"$tmp/purge.log" 2>&1; then pass "dpkg --purge mjpegd"; else
	cat "$tmp/purge.log"
	fail "dpkg --purge mjpegd"
fi
left=""
for f in /usr/bin/mjpegd "$plugin" /lib/systemd/system/mjpegd.service /lib/systemd/system/mjpegd.socket \
	/lib/systemd/system/mjpegd@.service /lib/systemd/system/mjpegd@.socket \
	/etc/mjpegd /usr/share/man/man8/mjpegd.8.gz /usr/share/doc/mjpegd; do
	[ -e "$f" ] && left="$left $f"
done
if [ -z "$left" ]; then pass "purge removed every file"; else fail "left after purge:$left"; fi
check "dpkg no longer knows mjpegd" sh -c "! dpkg-query -W mjpegd"
finish
