#!/bin/sh
# SPDX-License-Identifier: MIT
# Where otrp-tamd's CPU goes during the ES256 GetDeviceState round of
# bench/run.sh: perf samples of the daemon, split by library and by symbol
# (docs/performance.md, "Where the rest goes"). Needs perf.
#
#   sh bench/profile.sh [BUILD]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-profile.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }
d=$t/p
sh "$top/pki/otrp-pki.sh" --ec "$d/pki" >/dev/null
db=$d/tamd.db
"$build/otrp-tamctl" -d "$db" init --key "$d/pki/tam/tam.key" --cert "$d/pki/tam/tam-chain.pem" >/dev/null
"$build/otrp-tamctl" -d "$db" trust-anchor add tee-ca "$d/pki/tee/ca.crt" >/dev/null
"$build/otrp-tamctl" -d "$db" device enroll --cert "$d/pki/tee/tee1.crt" >/dev/null
"$build/otrp-tamd" -d "$db" -l 127.0.0.1 -p 0 --port-file "$t/port" --log-level error \
	-o api.port=0 -o limits.threads=2 2>>"$t/log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$t/port" ] && break; sleep 0.1; done
port=$(head -1 "$t/port")
lg() {
	"$build/bench/otrp-loadgen" --url "http://127.0.0.1:$port/tam" --pid "$pid" \
		--tee-key "$d/pki/tee/tee1.key" --tee-cert "$d/pki/tee/tee1.crt" \
		--tee-ca "$d/pki/tee/ca.crt" --tam-cert "$d/pki/tam/tam-chain.pem" \
		--tam-key "$d/pki/tam/tam.key" --anchor "$d/pki/tee/ca.crt" "$@"
}
lg --sessions 200 --concurrency 8 >/dev/null || true
perf record -F 1000 -g -p "$pid" -o "$t/perf.data" -- sleep 3 >/dev/null 2>&1 &
perf_pid=$!
lg --sessions 2000 --concurrency 8
wait "$perf_pid" || true
echo "# by library"
perf report -i "$t/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -12
echo "# by symbol, with callees"
perf report -i "$t/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
	grep -E '^ +[0-9.]+%' | head -40
