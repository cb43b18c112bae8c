#!/bin/sh
# SPDX-License-Identifier: MIT
# docs/openapi.yaml is a valid OpenAPI 3 document, and it describes exactly
# the routes the daemon serves: every route is documented, every documented
# operation is a route. The validator is kin-openapi, built from the Debian
# package (openapi-spec-validator is not packaged for Debian 12, and a
# registry download would make the tests depend on the network). Prints one
# PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
checker=$build/tests/openapi-check
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-openapi.XXXXXX")
trap 'rm -rf "$t"' EXIT

ok() { echo "PASS: $1"; }
no() { echo "FAIL: $1"; }

if [ ! -x "$checker" ] || [ "$top/tests/tools/openapi_check.go" -nt "$checker" ]; then
	mkdir -p "$build/tests" "$build/go-cache"
	if ! (cd "$top/tests/tools" && GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
	    GOCACHE="$build/go-cache" go build -o "$checker" openapi_check.go) >"$t/go.log" 2>&1; then
		no "building the OpenAPI checker: $(tail -3 "$t/go.log")"
		exit 0
	fi
fi
if "$checker" "$top/docs/openapi.yaml" >"$t/doc" 2>"$t/err"; then
	ok "docs/openapi.yaml is a valid OpenAPI document"
else
	no "docs/openapi.yaml is not valid: $(head -c 600 "$t/err")"
	exit 0
fi
# broken documents must be refused, or the check above proves nothing
sed 's|#/components/schemas/SpDetail|#/components/schemas/Nope|' "$top/docs/openapi.yaml" > "$t/bad.yaml"
if "$checker" "$t/bad.yaml" >/dev/null 2>&1; then no "a dangling \$ref is accepted"; else
	ok "a dangling \$ref is refused"; fi
sed "s/        '204': { description: removed }/        '204': {}/" "$top/docs/openapi.yaml" > "$t/bad.yaml"
if "$checker" "$t/bad.yaml" >/dev/null 2>&1; then no "a response without description is accepted"; else
	ok "a response without description is refused"; fi
"$build/tests/list-routes" | sort > "$t/routes"
sort "$t/doc" > "$t/documented"
[ -s "$t/routes" ] && ok "the daemon lists its routes" || no "no routes listed"
while read -r m p; do
	if grep -qx "$m $p" "$t/documented"; then ok "documented: $m $p"; else no "undocumented route: $m $p"; fi
done < "$t/routes"
while read -r m p; do
	if grep -qx "$m $p" "$t/routes"; then ok "served: $m $p"; else no "documented but not served: $m $p"; fi
done < "$t/documented"
