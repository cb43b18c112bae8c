#!/bin/sh
# SPDX-License-Identifier: MIT
# docs/openapi.yaml is a valid OpenAPI 3 document (checked against the
# official JSON Schemas by @seriousme/openapi-schema-validator, installed
# from npm into the build directory once), and it describes exactly the
# routes the daemon serves: every route is documented, every documented
# operation is a route. Prints one PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
npmdir=$build/npm
validator=@seriousme/openapi-schema-validator@2.11.0
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-openapi.XXXXXX")
trap 'rm -rf "$t"' EXIT

ok() { echo "PASS: $1"; }
no() { echo "FAIL: $1"; }

if [ ! -d "$npmdir/node_modules/@seriousme/openapi-schema-validator" ]; then
	mkdir -p "$npmdir"
	if ! npm install --prefix "$npmdir" --no-audit --no-fund --loglevel=error "$validator" \
	    >"$t/npm.log" 2>&1; then
		no "npm install $validator: $(tail -3 "$t/npm.log")"
		exit 0
	fi
fi
cp "$top/tests/e2e/openapi-check.mjs" "$npmdir/openapi-check.mjs"
if node "$npmdir/openapi-check.mjs" "$top/docs/openapi.yaml" >"$t/doc" 2>"$t/err"; then
	ok "docs/openapi.yaml is a valid OpenAPI document"
else
	no "docs/openapi.yaml is not valid: $(head -c 600 "$t/err")"
	exit 0
fi
# a broken document must be refused, or the check above proves nothing
sed 's/^openapi: 3.0.3$/openapi: 3.0.3\nnot_a_field: 1/' "$top/docs/openapi.yaml" > "$t/bad.yaml"
if node "$npmdir/openapi-check.mjs" "$t/bad.yaml" >/dev/null 2>&1; then
	no "the validator accepts a document with an unknown top-level field"
else
	ok "the validator refuses a broken document"
fi
"$build/tests/list-routes" | sort > "$t/routes"
sort "$t/doc" > "$t/documented"
[ -s "$t/routes" ] && ok "the daemon lists its routes" || no "no routes listed"
while read -r m p; do
	if grep -qx "$m $p" "$t/documented"; then ok "documented: $m $p"; else no "undocumented route: $m $p"; fi
done < "$t/routes"
while read -r m p; do
	if grep -qx "$m $p" "$t/routes"; then ok "served: $m $p"; else no "documented but not served: $m $p"; fi
done < "$t/documented"
