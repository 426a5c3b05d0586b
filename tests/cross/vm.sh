#!/bin/sh
# The cross-built daemon on a real ARM kernel, since qemu-user has no io_uring: qemu-system (TCG,
# no KVM needed) boots Debian's kernel for ARCH with an initramfs holding busybox, BUILD/mjpegd
# and the libraries it needs from SYSROOT. In the guest, mjpegd serves the test pattern through
# the software encoder on loopback; busybox wget fetches /snapshot.jpg and /stream.mjpg and the
# guest prints them base64-encoded on its console; tests/cross/vmcheck.py checks them here.
# Usage: tests/cross/vm.sh ARCH BUILD SYSROOT. Prints PASS/FAIL lines; exit status 1 on failure.
# The kernel and busybox (Debian packages for ARCH) are fetched once into build-cross/vm-ARCH.
set -u
arch=$1 build=$2 sysroot=$3
here=$(cd "$(dirname "$0")" && pwd)
case $arch in
arm64)
	qemu=qemu-system-aarch64 triplet=aarch64-linux-gnu kernel_meta=linux-image-arm64
	machine="-M virt -cpu cortex-a53"
	;;
armhf)
	qemu=qemu-system-arm triplet=arm-linux-gnueabihf kernel_meta=linux-image-armmp-lpae
	machine="-M virt,highmem=off -cpu cortex-a15"
	;;
*) echo "vm.sh: unknown ARCH '$arch'" >&2; exit 2 ;;
esac
fail() { echo "FAIL  $*"; exit 1; }

# --- Debian's kernel and busybox-static for ARCH, without their dependencies ---
vm=build-cross/vm-$arch
if [ ! -f "$vm/.done" ]; then
	rm -rf "$vm" "$vm.apt"
	mkdir -p "$vm/root" "$vm.apt/lists/partial" "$vm.apt/cache/archives/partial" "$vm.apt/dpkg"
	: >"$vm.apt/dpkg/status"
	st=$(cd "$vm.apt" && pwd)
	apt="-q -o APT::Architecture=$arch -o APT::Architectures::=$arch -o Dir::State=$st
		-o Dir::State::Lists=$st/lists -o Dir::State::status=$st/dpkg/status
		-o Dir::Cache=$st/cache -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
	# shellcheck disable=SC2086
	apt-get $apt update >"$vm/apt.log" 2>&1 # a suite caught mid-sync is dropped; main suffices
	# shellcheck disable=SC2086
	kpkg=$(apt-cache $apt depends "$kernel_meta" 2>>"$vm/apt.log" |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
	[ -n "$kpkg" ] || { cat "$vm/apt.log"; fail "$arch: no kernel package behind $kernel_meta"; }
	# shellcheck disable=SC2086
	(cd "$vm.apt/cache/archives" && apt-get $apt download "$kpkg" busybox-static) \
		>>"$vm/apt.log" 2>&1 || { cat "$vm/apt.log"; fail "$arch: apt-get download $kpkg busybox-static"; }
	for deb in "$vm.apt"/cache/archives/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$vm/root" --wildcards './boot/vmlinuz-*' './bin/*' \
			2>/dev/null
	done
	echo "$kpkg" >"$vm/.done"
	rm -rf "$vm.apt" # the .debs and lists: only vmlinuz and busybox are kept
fi
kernel=$(ls "$vm"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -f "$kernel" ] && [ -x "$vm/root/bin/busybox" ] || fail "$arch: kernel or busybox missing in $vm"

# --- the initramfs: busybox, mjpegd and the closure of its libraries from the sysroot ---
[ -x "$build/mjpegd" ] || fail "$arch: no $build/mjpegd (make CROSS=... first)"
rd=$vm/initrd
rm -rf "$rd" "$vm/initrd.gz"
mkdir -p "$rd/bin" "$rd/usr/bin" "$rd/lib"
cp "$vm/root/bin/busybox" "$rd/bin/busybox"
cp "$build/mjpegd" "$rd/usr/bin/mjpegd"
interp=$(readelf -l "$build/mjpegd" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
todo="$build/mjpegd"
seen=" "
copy_lib() { # SONAME: the file from the sysroot's library directories, at the same path
	for d in /lib/$triplet /usr/lib/$triplet /lib /usr/lib; do
		if [ -e "$sysroot$d/$1" ]; then
			mkdir -p "$rd$d"
			cp -L "$sysroot$d/$1" "$rd$d/$1"
			todo="$todo $rd$d/$1"
			return 0
		fi
	done
	return 1
}
while [ -n "$todo" ]; do
	set -- $todo
	f=$1
	shift
	todo="$*"
	for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		case $seen in *" $lib "*) continue ;; esac
		seen="$seen$lib "
		copy_lib "$lib" || fail "$arch: $lib (needed by $f) is not in $sysroot"
	done
done
[ -n "$interp" ] && [ -e "$sysroot$interp" ] || fail "$arch: interpreter '$interp' not in $sysroot"
mkdir -p "$rd$(dirname "$interp")"
cp -L "$sysroot$interp" "$rd$interp"
cat >"$rd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
ip link set lo up
echo "MJPEGD-VM kernel $(uname -r) $(uname -m)"
/usr/bin/mjpegd --source testpattern --encoder software --size 320x240 --fps 10 \
	--listen 127.0.0.1:8000 >/tmp/daemon.log 2>&1 &
pid=$!
i=0
while [ $i -lt 120 ] && kill -0 $pid 2>/dev/null; do
	wget -q -S -O /tmp/snapshot.jpg http://127.0.0.1:8000/snapshot.jpg 2>/tmp/snapshot.hdr && break
	sleep 1
	i=$((i + 1))
done
timeout 15 wget -q -O /tmp/stream.bin 'http://127.0.0.1:8000/stream.mjpg?fps=5'
for f in snapshot.hdr snapshot.jpg; do
	echo "MJPEGD-VM-BEGIN $f"
	base64 /tmp/$f
	echo "MJPEGD-VM-END $f"
done
echo "MJPEGD-VM-BEGIN stream.bin"
head -c 120000 /tmp/stream.bin | base64
echo "MJPEGD-VM-END stream.bin"
kill -TERM $pid
wait $pid
echo "MJPEGD-VM daemon-exit $?"
echo "MJPEGD-VM-BEGIN daemon.log"
base64 /tmp/daemon.log
echo "MJPEGD-VM-END daemon.log"
poweroff -f
EOF
chmod +x "$rd/init"
(cd "$rd" && find . | cpio -o -H newc --quiet | gzip -1) >"$vm/initrd.gz"

# --- boot it: the guest powers off when done; 10 minutes at most on a slow, shared host ---
start=$(date +%s)
# shellcheck disable=SC2086
timeout 600 "$qemu" $machine -m 512 -smp 1 -nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$vm/initrd.gz" \
	-append "console=ttyAMA0 rdinit=/init panic=-1 loglevel=1" >"$vm/console.log" 2>&1 </dev/null
rc=$?
echo "vm $arch: $qemu, $(basename "$kernel"), exit $rc after $(($(date +%s) - start)) s (console: $vm/console.log)"
/usr/bin/python3 -B "$here/vmcheck.py" "$vm/console.log"
