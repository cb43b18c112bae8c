#!/bin/sh
# SPDX-License-Identifier: MIT
# Our JOSE module against an independent implementation, python3-jwcrypto
# from Debian: JWE (RSA1_5, RSA-OAEP, ECDH-ES+A128KW with every content
# encryption, both JSON forms) and JWS (RS256, ES256), each way. Prints one
# PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-jwcrypto.XXXXXX")
trap 'rm -rf "$t"' EXIT
# Debian's interpreter, where python3-jwcrypto is installed (not a pyenv shim).
py=/usr/bin/python3

if ! "$py" -c 'import jwcrypto' 2>/dev/null; then
	echo "FAIL: python3-jwcrypto is not installed (make deps)"
	exit 0
fi
if ! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$t/rsa.pem" 2>/dev/null ||
    ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/ec.pem" 2>/dev/null; then
	echo "FAIL: key generation"
	exit 0
fi
"$py" "$top/tests/tools/jwcrypto_check.py" "$build/tests/jose-tool" "$t" ||
	echo "FAIL: the cross-check did not run to its end"
