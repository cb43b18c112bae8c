#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every test of the given build directories and print one total.
#   tests/run.sh build [build-asan ...]
# Each cmocka binary contributes its own pass/fail counts; a binary that
# exits non-zero without reporting a failure (crash, sanitizer report, leak)
# counts as one more failure. Shell tests print "PASS: x" / "FAIL: x" lines.
# The last line is "N passed, M failed"; the exit status is 0 only if M = 0.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
total_pass=0
total_fail=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/otrp-tests.XXXXXX")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}"

count() { # file pattern -> number in "[  PASSED  ] N test(s)" style lines
	sed -n "s/^\[  $2  \] \([0-9][0-9]*\) test.*/\1/p" "$1" | awk '{s+=$1} END {print s+0}'
}

run_cmocka() { # label binary [args...]
	label=$1
	shift
	log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	"$@" >"$log" 2>&1
	rc=$?
	p=$(count "$log" PASSED)
	f=$(count "$log" FAILED)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	if grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' -e 'runtime error:' "$log"; then
		[ "$f" -eq 0 ] && f=1
		echo "  sanitizer report in $label" >&2
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$f" -ne 0 ]; then
		printf '%-50s %3d passed, %3d failed (rc=%d)\n' "$label" "$p" "$f" "$rc"
		sed -n '1,200p' "$log" | grep -v '^\[ RUN\|^\[       OK' | tail -n 40 | sed 's/^/    | /'
	else
		printf '%-50s %3d passed\n' "$label" "$p"
	fi
}

run_shell() { # label script
	log="$logdir/$(echo "$1" | tr '/ ' '__').log"
	sh "$2" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^PASS: ' "$log")
	f=$(grep -c '^FAIL: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$f" -ne 0 ]; then
		printf '%-50s %3d passed, %3d failed (rc=%d)\n' "$1" "$p" "$f" "$rc"
		grep -e '^FAIL' "$log" | sed 's/^/    | /'
		tail -n 20 "$log" | sed 's/^/    | /'
	else
		printf '%-50s %3d passed\n' "$1" "$p"
	fi
}

for b in "$@"; do
	echo "== $b"
	export TAM_BUILD_DIR="$top/$b"
	for t in "$top/$b"/tests/unit/test_*; do
		[ -x "$t" ] && run_cmocka "$b/unit/$(basename "$t")" "$t"
	done
	for t in "$top/$b"/tests/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		run_cmocka "$b/fuzz-replay/$n" "$t" "$top/tests/fuzz/corpus/$n"
	done
	for t in "$top/$b"/tests/e2e/test_*; do
		[ -x "$t" ] && run_cmocka "$b/e2e/$(basename "$t")" "$t"
	done
done
for s in "$top"/tests/e2e/test_*.sh; do
	[ -f "$s" ] && TAM_BUILD_DIR="$top/$1" run_shell "script/$(basename "$s")" "$s"
done
rm -rf "$logdir"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
