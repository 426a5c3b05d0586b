# mjpegd — see README.md. `make run` and `make test` install what is missing, build and run.
VERSION := 0.1.0
CC ?= cc
CXX ?= c++
BUILD ?= build
PREFIX ?= /usr/local
SAN ?=

PKGS := liburing libturbojpeg libsystemd
# libcamera is C++ and optional at build time: without it the libcamera source is left out and
# `--source libcamera` says so.
HAVE_LIBCAMERA := $(shell pkg-config --exists libcamera 2>/dev/null && echo 1)
ifeq ($(HAVE_LIBCAMERA),1)
PKGS += libcamera
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -DMJPEGD_VERSION='"$(VERSION)"' \
	-MMD -MP
LDLIBS += -lpthread
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -MMD -MP
ifeq ($(HAVE_LIBCAMERA),1)
CFLAGS += -DHAVE_LIBCAMERA=1
CXXFLAGS += -DHAVE_LIBCAMERA=1
LDLIBS += -lstdc++
endif
ifeq ($(SAN),1)
CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS := $(sort $(shell find src -name '*.c' ! -path src/main.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
ifeq ($(HAVE_LIBCAMERA),1)
LIB_CXX_SRCS := $(sort $(shell find src -name '*.cpp'))
LIB_OBJS += $(LIB_CXX_SRCS:%.cpp=$(BUILD)/obj/%.o)
endif
MAIN_OBJ := $(BUILD)/obj/src/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-test run test test-unit test-integration test-asan test-vm clean install uninstall

all: $(BUILD)/mjpegd

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libmjpegd.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/mjpegd: $(MAIN_OBJ) $(BUILD)/libmjpegd.a
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmjpegd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) $< $(BUILD)/libmjpegd.a $(PKG_LIBS) -lcmocka $(LDLIBS) -o $@

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

run: deps
	$(MAKE) all
	$(BUILD)/mjpegd $(ARGS)

test: deps-test
	$(MAKE) all
	$(MAKE) test-unit test-integration
	$(MAKE) test-asan

test-unit: $(UNIT_BINS)
	tests/run-unit.sh $(UNIT_BINS)

test-integration: $(BUILD)/mjpegd
	MJPEGD=$(BUILD)/mjpegd tests/integration/run.sh

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build dir.
test-asan:
	$(MAKE) BUILD=build-asan SAN=1 all test-unit test-integration

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
