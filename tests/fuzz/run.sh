#!/bin/sh
# make fuzz: the HTTP parser's contract checked on random input for a bounded time.
# Usage: tests/fuzz/run.sh BUILD_DIR   (FUZZ_SECONDS, default 60; CC for the replay build)
# With clang and its libFuzzer (Debian's clang package): the saved corpus (tests/fuzz/corpus/)
# replayed, then libFuzzer for FUZZ_SECONDS under ASan + UBSan, new inputs kept in
# BUILD_DIR/corpus (never in the source tree), a finding written to BUILD_DIR/crash-*.
# Without clang: the saved corpus replayed only (tests/fuzz/replay.c, $CC with ASan + UBSan).
# Last line: "fuzz: N passed, N failed" (each step a check), as .ci/run sums them.
set -u
out=${1:-build/fuzz}
seconds=${FUZZ_SECONDS:-60}
here=$(dirname "$0")
top=$here/../..
mkdir -p "$out/corpus"
passed=0 failed=0
pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1"; failed=$((failed + 1)); }
srcs="$here/fuzz_http_parser.c $top/src/http/parser.c"
flags="-std=c11 -D_GNU_SOURCE -g -O1 -I$top/include -fno-omit-frame-pointer"
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
n_corpus=$(find "$here/corpus" -type f | wc -l)

if command -v clang >/dev/null 2>&1 &&
	clang $flags $san -fsanitize=fuzzer $srcs -o "$out/fuzz_http_parser" 2>"$out/build.log"; then
	bin=$out/fuzz_http_parser
	# 1. the saved corpus, every input once (libFuzzer runs the files given and exits)
	if "$bin" $(find "$here/corpus" -type f | sort) >"$out/replay.log" 2>&1; then
		pass "http_parser: $n_corpus saved inputs replayed"
	else
		tail -n 30 "$out/replay.log"
		fail "http_parser: the saved corpus (log: $out/replay.log)"
	fi
	# 2. fuzzing for a bounded time, from the saved corpus and what earlier runs found
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
		-dict="$here/http.dict" -artifact_prefix="$out/" -print_final_stats=1 \
		"$out/corpus" "$here/corpus" >"$out/fuzz.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
		pass "http_parser: libFuzzer for ${seconds} s, ${runs:-?} inputs, no finding"
	else
		tail -n 40 "$out/fuzz.log"
		fail "http_parser: libFuzzer found an input breaking the contract (log: $out/fuzz.log;" \
			"the input: $(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* 2>/dev/null | head -n1))"
	fi
else
	[ -s "$out/build.log" ] && { echo "clang -fsanitize=fuzzer failed:"; tail -n 5 "$out/build.log"; }
	echo "SKIP  http_parser: libFuzzer (no clang with libFuzzer here: Debian's clang package);" \
		"replaying the saved corpus only"
	cc=${CC:-cc}
	if $cc $flags $san "$here/replay.c" $srcs -o "$out/replay_http_parser" &&
		"$out/replay_http_parser" "$here/corpus"; then
		pass "http_parser: $n_corpus saved inputs replayed"
	else
		fail "http_parser: the saved corpus"
	fi
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
