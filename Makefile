# mjpegd — see README.md. `make run` and `make test` install what is missing, build and run.
VERSION := 0.1.0
# Cross builds (README.md, "Cross-compiling"): make CROSS=aarch64-linux-gnu | arm-linux-gnueabihf
# builds in build-arm64/ | build-armhf/ against SYSROOT, by default Debian's packages for that
# architecture unpacked into build-cross/sysroot-ARCH by scripts/cross-sysroot.sh (SYSROOT=/ uses
# multiarch :arm64/:armhf -dev packages installed on the host instead). ARCH_FLAGS go to every
# compile and link, e.g. ARCH_FLAGS="-march=armv6zk -mfpu=vfp -mfloat-abi=hard -marm" (ARMv6).
CROSS ?=
ARCH_FLAGS ?=
PKG_CONFIG ?= pkg-config
ifneq ($(CROSS),)
CROSS_ARCH_aarch64-linux-gnu := arm64
CROSS_ARCH_arm-linux-gnueabihf := armhf
CROSS_ARCH := $(CROSS_ARCH_$(CROSS))
ifeq ($(CROSS_ARCH),)
$(error CROSS=$(CROSS): supported are aarch64-linux-gnu and arm-linux-gnueabihf)
endif
CC := $(CROSS)-gcc
CXX := $(CROSS)-g++
AR := $(CROSS)-ar
BUILD ?= build-$(CROSS_ARCH)
ifneq ($(MAKECMDGOALS),clean)
$(shell scripts/deps.sh cross-$(CROSS_ARCH) >&2)
ifneq ($(.SHELLSTATUS),0)
$(error scripts/deps.sh cross-$(CROSS_ARCH) failed)
endif
ifeq ($(SYSROOT),)
SYSROOT := build-cross/sysroot-$(CROSS_ARCH)
$(shell scripts/cross-sysroot.sh $(CROSS_ARCH) $(SYSROOT) >&2)
ifneq ($(.SHELLSTATUS),0)
$(error scripts/cross-sysroot.sh $(CROSS_ARCH) $(SYSROOT) failed)
endif
endif
endif
SYSROOT_DIR := $(patsubst %/,%,$(abspath $(SYSROOT)))
PKG_CONFIG := PKG_CONFIG_LIBDIR=$(SYSROOT_DIR)/usr/lib/$(CROSS)/pkgconfig:$(SYSROOT_DIR)/usr/share/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$(SYSROOT_DIR) pkg-config
CROSS_FLAGS := --sysroot=$(SYSROOT_DIR)/
endif
CC ?= cc
CXX ?= c++
BUILD ?= build
PREFIX ?= /usr/local
SAN ?=

PKGS := liburing libturbojpeg libjpeg libsystemd libcrypt
# libcamera is C++ and optional at build time. The daemon never links it (nor libstdc++): the
# libcamera source's C++ shim is a plugin, $(BUILD)/mjpegd-libcamera.so, that the daemon loads with
# dlopen() from one directory fixed at build time (docs/architecture.md, "The libcamera plugin";
# docs/security.md). Without libcamera there is no plugin and `--source libcamera` says so.
HAVE_LIBCAMERA := $(shell $(PKG_CONFIG) --exists libcamera 2>/dev/null && echo 1)
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ifeq ($(HAVE_LIBCAMERA),1)
LIBCAMERA_VERSION := $(shell $(PKG_CONFIG) --modversion libcamera 2>/dev/null)
LIBCAMERA_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcamera 2>/dev/null)
LIBCAMERA_LIBS = $(shell $(PKG_CONFIG) --libs libcamera 2>/dev/null)
PLUGIN := $(BUILD)/mjpegd-libcamera.so
else
LIBCAMERA_VERSION :=
PLUGIN :=
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -DMJPEGD_VERSION='"$(VERSION)"' \
	-MMD -MP
LDLIBS += -lpthread
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -MMD -MP
# 64-bit off_t and ino_t on 32-bit targets too (armhf): otherwise readdir fails with EOVERFLOW
# wherever the kernel hands out 64-bit directory offsets or inode numbers (ext4 hashes, btrfs, NFS).
CFLAGS += -D_FILE_OFFSET_BITS=64 $(CROSS_FLAGS) $(ARCH_FLAGS)
CXXFLAGS += $(CROSS_FLAGS) $(ARCH_FLAGS)
LDFLAGS += $(CROSS_FLAGS) $(ARCH_FLAGS)
# A broken invariant (MJPEGD_BUG(), include/mjpegd/bug.h) aborts in sanitizer builds and in the
# test binaries (the unit tests, mjpegd-faults: they link obj-test/src/bug.o before the library);
# the release daemon logs it and carries on.
ifeq ($(SAN),1)
CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-DMJPEGD_ABORT_ON_BUG=1
LDFLAGS += -fsanitize=address,undefined
endif

# src/plugin/ and the C++ are the plugin's only (below).
LIB_SRCS := $(sort $(shell find src -name '*.c' ! -path src/main.c ! -path 'src/plugin/*'))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all plugin deps deps-test run test test-unit test-integration test-asan test-vm clean install uninstall \
	test-cross deb test-deb test-platforms

all: $(BUILD)/mjpegd $(PLUGIN)
plugin: $(PLUGIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -c $< -o $@

# Made afresh each time: `ar rcs` into the old archive would keep the object of a source file
# since removed or renamed (and its symbols, defined twice then).
$(BUILD)/libmjpegd.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/mjpegd: $(MAIN_OBJ) $(BUILD)/libmjpegd.a
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

# ---- The libcamera plugin and where the daemon looks for it -----------------------------------
# LIBDIR/mjpegd is the one directory an installed daemon loads the plugin from (Debian:
# /usr/lib/<multiarch>/mjpegd, debian/rules sets LIBDIR). The daemon `make run` and the tests use
# ($(BUILD)/mjpegd) looks in the build directory itself, as an absolute path, and trusts a plugin
# owned by the user running it; `make install` installs $(BUILD)/install/mjpegd instead, the same
# objects but the loader's, which is compiled for PLUGINDIR and trusts root only.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR ?= $(PREFIX)/lib
PLUGINDIR := $(LIBDIR)/mjpegd
SYSTEM_LIBDIRS := $(if $(MULTIARCH),/usr/lib/$(MULTIARCH):)/usr/local/lib:/usr/lib
PLUGIN_LOADER := src/source/libcamera_plugin.c
PLUGIN_DEFS = -DMJPEGD_LIBCAMERA_BUILT_AGAINST='"$(LIBCAMERA_VERSION)"' \
	-DMJPEGD_SYSTEM_LIBDIRS='"$(SYSTEM_LIBDIRS)"'
$(BUILD)/obj/$(PLUGIN_LOADER:.c=.o) $(BUILD)/obj-faults/$(PLUGIN_LOADER:.c=.o): CFLAGS += \
	$(PLUGIN_DEFS) -DMJPEGD_PLUGIN_DIR='"$(abspath $(BUILD))"' -DMJPEGD_PLUGIN_TRUST_OWNER=1
$(BUILD)/obj-install/$(PLUGIN_LOADER:.c=.o): $(PLUGIN_LOADER)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PLUGIN_DEFS) -DMJPEGD_PLUGIN_DIR='"$(PLUGINDIR)"' $(PKG_CFLAGS) -c $< -o $@
$(BUILD)/install/mjpegd: $(MAIN_OBJ) $(BUILD)/obj-install/$(PLUGIN_LOADER:.c=.o) $(BUILD)/libmjpegd.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

# The plugin: the C++ shim, its C entry points and log back end (src/plugin/), and its own
# copies of the log helpers (src/log_wrap.c) and of the two pure helpers it calls;
# position-independent, every symbol hidden but the two entry points (src/plugin/libcamera.map),
# and no undefined symbol left for the daemon to provide (-z defs).
PLUGIN_SRCS := src/source/libcamera.cpp src/source/libcamera_controls.cpp \
	src/source/libcamera_manager.cpp src/plugin/libcamera_entry.c src/log_wrap.c \
	src/source/libcamera_log.c src/source/libcamera_crop.c
PLUGIN_OBJS := $(patsubst %,$(BUILD)/obj-plugin/%.o,$(basename $(PLUGIN_SRCS)))
PLUGIN_CFLAGS := -fPIC -fvisibility=hidden -Isrc/source \
	-DMJPEGD_LIBCAMERA_BUILT_AGAINST='"$(LIBCAMERA_VERSION)"'
$(BUILD)/obj-plugin/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PLUGIN_CFLAGS) -c $< -o $@
$(BUILD)/obj-plugin/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(PLUGIN_CFLAGS) $(LIBCAMERA_CFLAGS) -c $< -o $@
$(BUILD)/mjpegd-libcamera.so: $(PLUGIN_OBJS) src/plugin/libcamera.map
	$(CXX) $(LDFLAGS) -shared -Wl,--version-script=src/plugin/libcamera.map -Wl,-z,defs \
		-Wl,-z,now $(PLUGIN_OBJS) $(LIBCAMERA_LIBS) -lpthread -o $@

# The test binary: the same daemon plus --inject-fault (include/mjpegd/fault.h): the option
# (src/config/options.c) and the devices opened wrapped in the faulty back ends (devices.c).
# Only those files are compiled again; the rest (main.c included: its plan is empty without the option) is shared.
FAULT_SRCS := src/config/options.c src/devices.c $(PLUGIN_LOADER)
FAULT_OBJS := $(FAULT_SRCS:%.c=$(BUILD)/obj-faults/%.o)
$(BUILD)/obj-faults/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMJPEGD_FAULT_INJECTION=1 $(PKG_CFLAGS) -c $< -o $@

BUG_ABORT_OBJ := $(BUILD)/obj-test/src/bug.o
$(BUG_ABORT_OBJ): src/bug.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMJPEGD_ABORT_ON_BUG=1 $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/mjpegd-faults: $(MAIN_OBJ) $(FAULT_OBJS) $(BUG_ABORT_OBJ) $(BUILD)/libmjpegd.a
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUG_ABORT_OBJ) $(BUILD)/libmjpegd.a $(PLUGIN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) $< $(BUG_ABORT_OBJ) $(BUILD)/libmjpegd.a $(PKG_LIBS) \
		-lcmocka $(LDLIBS) -o $@

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# Builds take one job per core, as many as the free memory has room for at ~400 MB a compiler
# (the libcamera shim's C++): 1 on a Pi Zero 2 W's 512 MB. Tests run one target at a time.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); \
	m=$$(awk '/^MemAvailable:/ { print int($$2 / 400000) }' /proc/meminfo 2>/dev/null); \
	[ "$${m:-0}" -ge 1 ] || m=1; echo $$((n < m ? n : m)))

run: deps
	$(MAKE) -j$(JOBS) all
	$(BUILD)/mjpegd $(ARGS)

# What the tests run: the daemon, the plugin, the fault-injecting build and the unit tests.
.PHONY: test-build
test-build: all $(UNIT_BINS) $(BUILD)/mjpegd-faults

test: deps-test
	$(MAKE) -j$(JOBS) test-build
	$(MAKE) test-unit test-integration
	$(MAKE) test-asan
	$(MAKE) fuzz

test-unit: $(UNIT_BINS)
	tests/run-unit.sh $(UNIT_BINS)

# T=AREA (or T="AREA AREA") runs tests/integration/test_AREA.py only (docs/testing.md lists them).
test-integration: $(BUILD)/mjpegd $(BUILD)/mjpegd-faults $(PLUGIN)
	MJPEGD=$(BUILD)/mjpegd MJPEGD_FAULTS=$(BUILD)/mjpegd-faults \
		MJPEGD_PLUGIN=$(if $(PLUGIN),$(abspath $(PLUGIN))) tests/integration/run.sh \
		$(if $(T),--area "$(T)")

# The real-kernel test bed: a QEMU guest with vivid, vicodec, vim2m and vimc (docs/testing.md).
# It boots Debian's packaged kernels (cached): trixie's 6.12 with every guest test and bookworm's
# 6.1 with the emulated encoder's and libcamera's (the test drivers Debian lacks built out of tree);
# MJPEGD_VM_KERNEL=trixie|bookworm one of them, MJPEGD_VM_KERNEL=compiled a kernel compiled from
# linux-source instead (tests/vm/run.sh's header lists its settings).
test-vm:
	@scripts/deps.sh vm
	$(MAKE) all
	tests/vm/run.sh $(VM_TESTS)

# The support matrix (docs/testing.md, "Platforms"): Debian 12, 13, 13 + trixie-backports
# (libcamera 0.7.1, as Raspberry Pi OS Trixie) and testing, each a debootstrapped root cached in
# ~/.cache/mjpegd/platforms, the project installed there by its own scripts/deps.sh, then the
# build and the tests inside it. PLATFORMS="trixie testing" picks rows. Needs root.
PLATFORMS ?=
test-platforms:
	@scripts/deps.sh platforms
	tests/platforms/run.sh $(PLATFORMS)

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build dir.
test-asan:
	$(MAKE) -j$(JOBS) BUILD=build-asan SAN=1 test-build
	$(MAKE) BUILD=build-asan SAN=1 test-unit test-integration

# The HTTP parser's contract on random input (tests/fuzz/run.sh, docs/testing.md "Fuzzing"): the
# saved corpus replayed, then libFuzzer (clang) for FUZZ_SECONDS; without clang the replay only.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(BUILD)/fuzz

# Benchmarks (docs/performance.md; never part of `make test`): bench/run.py writes
# bench/results/*.json, docs/img/*.png and the tables in docs/performance.md. BENCH_QUICK=1: a
# short run; BENCH_VM=0: without the QEMU sections (peers: mjpegd vs ustreamer on vivid; m2m: the
# Pi's path on the emulated bcm2835-codec encoder, mjpegd vs ustreamer vs bench/m2m_floor.c).
.PHONY: bench
BENCH_QUICK ?= 0
BENCH_VM ?= 1
BENCH_BINS := $(BUILD)/bench/loadclient $(BUILD)/bench/loadclient-static $(BUILD)/bench/writeloop \
	$(BUILD)/bench/encode_bench $(BUILD)/bench/m2m_floor-static
$(BUILD)/bench/loadclient $(BUILD)/bench/writeloop: $(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@ -lm
$(BUILD)/bench/loadclient-static: bench/loadclient.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static $< -o $@ -lm
$(BUILD)/bench/m2m_floor-static: bench/m2m_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static $< -o $@
$(BUILD)/bench/encode_bench: bench/encode_bench.c $(BUILD)/libmjpegd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) $< $(BUILD)/libmjpegd.a $(PKG_LIBS) $(LDLIBS) -o $@

bench:
	@scripts/deps.sh bench $(if $(filter 1,$(BENCH_VM)),vm vm-kernel)
	$(MAKE) all $(BENCH_BINS)
	/usr/bin/python3 bench/run.py --mjpegd $(BUILD)/mjpegd --bindir $(BUILD)/bench \
		$(if $(filter 1,$(BENCH_QUICK)),--quick) $(if $(filter 1,$(BENCH_VM)),--vm) $(BENCH_ARGS)

# The hostile checks of docs/security.md, long versions (never part of `make test`): tests/soak/run.py
# against build/mjpegd on loopback for SOAK_SECONDS (default 600), writing bench/results/soak.json
# and the table in docs/security.md. SOAK_SAN=1 runs it against the ASan + UBSan build instead
# (build-asan/; figures then are the sanitizer's, not the daemon's).
.PHONY: soak
SOAK_SECONDS ?= 600
SOAK_SAN ?= 0
soak: deps-test
ifeq ($(SOAK_SAN),1)
	$(MAKE) BUILD=build-asan SAN=1 all
	SOAK_SECONDS=$(SOAK_SECONDS) tests/soak/run.sh --mjpegd build-asan/mjpegd $(SOAK_ARGS)
else
	$(MAKE) all
	SOAK_SECONDS=$(SOAK_SECONDS) tests/soak/run.sh --mjpegd $(BUILD)/mjpegd $(SOAK_ARGS)
endif

# What only a Pi can confirm, measured (docs/raspberry-pi.md, "Checking your Pi: make pi-check"):
# scripts/pi-check.sh starts build/mjpegd per size and writes pi-check/pi-check.json and
# pi-check.txt; exit 1 when a size failed. PI_CHECK_ARGS, e.g. "--sizes 1280x720 -- --format YUYV".
.PHONY: pi-check
pi-check:
	$(MAKE) all
	scripts/pi-check.sh --mjpegd $(BUILD)/mjpegd $(PI_CHECK_ARGS)

# Cross builds tested here (tests/cross/run.sh): the unit tests under qemu-user, the daemon on a real
# ARM kernel in qemu-system (qemu-user has no io_uring), and for armhf the ARMv6 objects a Pi Zero W
# needs (ARM1176JZF-S). Without CROSS both architectures. Last line: "cross: N passed, N failed".
ARMV6_FLAGS := -march=armv6zk -mfpu=vfp -mfloat-abi=hard -marm
ifeq ($(CROSS),)
test-cross:
	@mkdir -p build-cross; rm -f build-cross/summary
	-@$(MAKE) --no-print-directory CROSS=aarch64-linux-gnu \
		MJPEGD_CROSS_SUMMARY=$(CURDIR)/build-cross/summary test-cross
	-@$(MAKE) --no-print-directory CROSS=arm-linux-gnueabihf \
		MJPEGD_CROSS_SUMMARY=$(CURDIR)/build-cross/summary test-cross
	@tests/cross/run.sh --total build-cross/summary 2
else
test-cross: $(BUILD)/mjpegd $(UNIT_BINS)
ifeq ($(CROSS_ARCH),armhf)
	$(MAKE) --no-print-directory BUILD=build-armv6 ARCH_FLAGS="$(ARMV6_FLAGS)" all
endif
	@MJPEGD_CROSS_SUMMARY=$(MJPEGD_CROSS_SUMMARY) tests/cross/run.sh $(CROSS_ARCH) $(BUILD) \
		$(SYSROOT_DIR) $(if $(filter armhf,$(CROSS_ARCH)),build-armv6)
endif

# Debian packages mjpegd_$(VERSION)_ARCH.deb in build-deb/, lintian-checked (debian/, scripts/deb.sh):
# amd64, arm64 and armhf on amd64, a machine's own elsewhere; DEB_ARCHS picks. make test-deb
# installs this machine's, runs the installed daemon, purges it.
BUILD_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_ARCHS ?= $(if $(filter amd64,$(BUILD_ARCH)),amd64 arm64 armhf,$(BUILD_ARCH))
deb:
	@scripts/deps.sh deb
	scripts/deb.sh $(DEB_ARCHS)

test-deb:
	@scripts/deps.sh deb
	scripts/deb.sh $(BUILD_ARCH)
	@tests/cross/test-deb.sh build-deb/mjpegd_$(VERSION)_$(BUILD_ARCH).deb

clean:
	rm -rf build build-asan build-arm64 build-armhf build-armv6 build-cross build-deb

# make install / uninstall: PREFIX (default /usr/local), DESTDIR for staging, SYSCONFDIR (/etc),
# UNITDIR (systemd system units). An edited config file is never overwritten.
SYSCONFDIR ?= /etc
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man

# mjpegd.service (one camera) and the template mjpegd@.service (one instance per camera,
# docs/multi-camera.md), each with its socket unit.
$(BUILD)/mjpegd.service $(BUILD)/mjpegd@.service: $(BUILD)/%.service: systemd/%.service.in
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@

install: $(BUILD)/install/mjpegd $(PLUGIN) $(BUILD)/mjpegd.service $(BUILD)/mjpegd@.service
	install -D -m 0755 $(BUILD)/install/mjpegd $(DESTDIR)$(BINDIR)/mjpegd
ifneq ($(PLUGIN),)
	install -D -m 0644 $(PLUGIN) $(DESTDIR)$(PLUGINDIR)/mjpegd-libcamera.so
endif
	install -D -m 0644 $(BUILD)/mjpegd.service $(DESTDIR)$(UNITDIR)/mjpegd.service
	install -D -m 0644 systemd/mjpegd.socket $(DESTDIR)$(UNITDIR)/mjpegd.socket
	install -D -m 0644 $(BUILD)/mjpegd@.service $(DESTDIR)$(UNITDIR)/mjpegd@.service
	install -D -m 0644 systemd/mjpegd@.socket $(DESTDIR)$(UNITDIR)/mjpegd@.socket
	install -D -m 0644 docs/mjpegd.8 $(DESTDIR)$(MANDIR)/man8/mjpegd.8
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf (new default: etc/mjpegd.conf)"; \
	else \
		install -D -m 0644 etc/mjpegd.conf $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload; echo "enable with: systemctl enable --now mjpegd" \
		"(several cameras: mjpegd@NAME, docs/multi-camera.md)"; fi

# The config file stays when it was edited (it differs from the default we installed).
uninstall:
	rm -f $(DESTDIR)$(PLUGINDIR)/mjpegd-libcamera.so
	rmdir $(DESTDIR)$(PLUGINDIR) 2>/dev/null || true
	rm -f $(DESTDIR)$(BINDIR)/mjpegd $(DESTDIR)$(UNITDIR)/mjpegd.service \
		$(DESTDIR)$(UNITDIR)/mjpegd.socket $(DESTDIR)$(UNITDIR)/mjpegd@.service \
		$(DESTDIR)$(UNITDIR)/mjpegd@.socket $(DESTDIR)$(MANDIR)/man8/mjpegd.8
	@if cmp -s etc/mjpegd.conf $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/mjpegd 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf ]; then \
		echo "keeping edited $(DESTDIR)$(SYSCONFDIR)/mjpegd/mjpegd.conf"; fi

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
