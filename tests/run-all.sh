#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing, builds with
# AddressSanitizer + UndefinedBehaviorSanitizer, runs CTest (unit tests,
# integration tests against real public-inbox, git, ...), then each libFuzzer
# target for FUZZ_SECONDS (default 60) with clang.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash deploy/install-deps.sh

build=${XECI_TEST_BUILD:-$top/build-test}
cmake -S . -B "$build" -DXECI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$build" && ctest --output-on-failure -j2)

fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ] && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
	fbuild=${XECI_FUZZ_BUILD:-$top/build-fuzz}
	CC=clang cmake -S . -B "$fbuild" -DXECI_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$fbuild" -j"$(nproc)"
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		seeds=$(mktemp -d)
		# seeds: the real mails of the corpus and the test data
		find "$top/../shared/corpus/mail" tests/data -type f \( -name '*.mbox' -o -name '*.eml' \
			-o -name '*.in' -o -name '*mboxrd' -o -name '*.patch' -o -name '*.log' -o -name '*.checkpatch' \) -size -256k \
			-exec cp -t "$seeds" {} + 2>/dev/null || true
		echo "fuzz: $name for ${fuzz_seconds}s"
		(cd "$seeds" && "$fbuild/tests/$name" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
			-print_final_stats=0 . >"$seeds.log" 2>&1) ||
			{ tail -50 "$seeds.log"; echo "fuzz: $name found a problem"; exit 1; }
		rm -rf "$seeds" "$seeds.log"
	done
fi
echo "all tests passed"
