#!/bin/sh
# SPDX-License-Identifier: MIT
# The published test vectors: `make vectors` reproduces docs/vectors/ byte for
# byte (so the generator is deterministic and the published files are
# current), and python3-jwcrypto, an independent JOSE implementation, checks
# every message in them and makes JWS/JWE with their keys that our decoders
# accept (tests/tools/vectors_check.py). One PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-vectors.XXXXXX")
trap 'rm -rf "$t"' EXIT
py=/usr/bin/python3

if "$build/tests/vectors" "$t/out" "$top/docs/vectors/pki" 2>"$t/err"; then
	echo "PASS: the generator runs"
else
	echo "FAIL: the generator runs: $(tail -3 "$t/err")"
	exit 0
fi
for d in "$t"/out/*/; do
	s=$(basename "$d")
	if diff -r "$d" "$top/docs/vectors/$s" >"$t/diff" 2>&1; then
		echo "PASS: $s is reproduced byte for byte"
	else
		echo "FAIL: $s differs from docs/vectors/$s (run make vectors): $(head -c 300 "$t/diff")"
	fi
done
n=$(ls -d "$top"/docs/vectors/*/ | grep -vc /pki/)
[ "$n" -eq "$(ls -d "$t"/out/*/ | wc -l)" ] && echo "PASS: no stale set in docs/vectors" ||
	echo "FAIL: docs/vectors holds sets the generator no longer makes"
if ! "$py" -c 'import jwcrypto, cryptography' 2>/dev/null; then
	echo "FAIL: python3-jwcrypto is not installed (make deps)"
	exit 0
fi
"$py" "$top/tests/tools/vectors_check.py" "$top/docs/vectors" "$build/tests/jose-tool" ||
	echo "FAIL: the vector check did not run to its end"
