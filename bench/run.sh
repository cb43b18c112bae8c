#!/bin/sh
# SPDX-License-Identifier: MIT
# The otrp-tamd benchmark (make bench): for each key profile, a fresh PKI and
# database with N registered devices (rows made in bulk), a daemon on
# 127.0.0.1, and otrp-loadgen playing devices whose GetDeviceState rounds have
# nothing to do; then the daemon's memory with many sessions open. Prints one
# result line per run; docs/performance.md explains them.
#
#   sh bench/run.sh [BUILD]        knobs: SESSIONS CONCURRENCY PROFILES COUNTS OPEN INSTALLS
#                                  (OPEN=0 or INSTALLS=0 skip those parts)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
sessions=${SESSIONS:-3000}
concurrency=${CONCURRENCY:-8}
profiles=${PROFILES:-"es256-p256 rs256-rsa2048 rs256-rsa4096"}
counts=${COUNTS:-"100 10000 1000000"}
open=${OPEN:-1000}
installs=${INSTALLS:-40}
py=/usr/bin/python3
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-bench.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT

# N filler devices, each a row like an enrolled raw-key TEE, in one transaction.
fill() { # db n
	"$py" - "$1" "$2" <<'PY'
import os, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("BEGIN")
c.executemany("INSERT INTO devices (did, key_kind, spki, thumbprint, created)"
              " VALUES (?, 'rawkey', ?, ?, 0)",
              ((os.urandom(32), os.urandom(91), os.urandom(32).hex()) for _ in range(n)))
c.commit()
PY
}

start() { # db
	rm -f "$t/port"
	# every simulated device comes from 127.0.0.1: no per-client session or failure rate
	"$build/otrp-tamd" -d "$1" -l 127.0.0.1 -p 0 --port-file "$t/port" --log-level error \
		-o api.port=0 -o limits.threads=2 -o limits.open_rate=0 -o limits.failure_rate=0 \
		2>>"$t/tamd.log" &
	pid=$!
	for _ in $(seq 1 100); do [ -s "$t/port" ] && break; sleep 0.1; done
	port=$(head -1 "$t/port")
}

stop() {
	kill "$pid"
	wait "$pid" || true
	pid=
}

echo "# otrp-tamd benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(openssl version)"
for p in $profiles; do
	case $p in
	es256-p256) alg=--ec ;;
	rs256-rsa2048) alg= ;;
	rs256-rsa4096) alg=--rsa4096 ;;
	*) echo "unknown profile $p" >&2; exit 2 ;;
	esac
	d=$t/$p
	# shellcheck disable=SC2086 # alg is one option or none
	sh "$top/pki/otrp-pki.sh" $alg "$d/pki" >/dev/null
	for n in $counts; do
		[ "$p" = rs256-rsa4096 ] && [ "$n" != 100 ] && continue
		db=$d/tamd-$n.db
		"$build/otrp-tamctl" -d "$db" init --key "$d/pki/tam/tam.key" \
			--cert "$d/pki/tam/tam-chain.pem" >/dev/null
		"$build/otrp-tamctl" -d "$db" trust-anchor add tee-ca "$d/pki/tee/ca.crt" >/dev/null
		"$build/otrp-tamctl" -d "$db" device enroll --cert "$d/pki/tee/tee1.crt" >/dev/null
		fill "$db" "$n"
		start "$db"
		lg() {
			"$build/bench/otrp-loadgen" --url "http://127.0.0.1:$port/tam" --pid "$pid" \
				--tee-key "$d/pki/tee/tee1.key" --tee-cert "$d/pki/tee/tee1.crt" \
				--tee-ca "$d/pki/tee/ca.crt" --tam-cert "$d/pki/tam/tam-chain.pem" \
				--tam-key "$d/pki/tam/tam.key" --anchor "$d/pki/tee/ca.crt" "$@"
		}
		# warm-up: caches, the trust store, SQLite's pages
		lg --sessions 200 --concurrency "$concurrency" >/dev/null || true
		printf 'profile=%s devices=%s ' "$p" "$n"
		lg --sessions "$sessions" --concurrency "$concurrency"
		if [ "$n" = 100 ] && [ "$open" -gt 0 ]; then
			printf 'profile=%s devices=%s ' "$p" "$n"
			"$build/bench/otrp-loadgen" --url "http://127.0.0.1:$port/tam" --pid "$pid" \
				--open "$open"
		fi
		stop
	done
done

# A 1 MiB TA installed on fresh devices against a 1 KiB one: the difference is
# what each device costs for the megabyte (its bulk encryption was done once,
# at upload), next to the AES-256-CBC + copy floor of 1 MiB.
[ "$installs" -gt 0 ] || exit 0
for p in es256-p256 rs256-rsa2048; do
	case $p in es256-p256) alg=--ec ;; *) alg= ;; esac
	d=$t/install-$p
	# shellcheck disable=SC2086
	sh "$top/pki/otrp-pki.sh" $alg "$d/pki" >/dev/null
	db=$d/tamd.db
	ctl() { "$build/otrp-tamctl" -d "$db" "$@" >/dev/null; }
	ctl init --key "$d/pki/tam/tam.key" --cert "$d/pki/tam/tam-chain.pem"
	ctl trust-anchor add tee-ca "$d/pki/tee/ca.crt"
	ctl sp add sp1 "$d/pki/sp/sp1.crt"
	head -c 1048576 /dev/urandom >"$d/big.bin"
	head -c 1024 /dev/urandom >"$d/small.bin"
	for s in big small; do
		ctl ta sign --key "$d/pki/sp/sp1.key" "$d/$s.bin" "$d/$s.jws"
	done
	ctl ta upload sp1 11111111-1111-4111-8111-111111111111 1.0 "$d/big.jws"
	ctl ta upload sp1 22222222-2222-4222-8222-222222222222 1.0 "$d/small.jws"
	for i in $(seq 1 "$installs"); do
		for s in big small; do
			# shellcheck disable=SC2086
			sh "$top/pki/otrp-pki.sh" issue $alg "$d/pki" tee "$s$i" >/dev/null
			ctl device enroll --cert "$d/pki/tee/$s$i.crt" --name "$s$i"
		done
		ctl assign "big$i" 11111111-1111-4111-8111-111111111111
		ctl assign "small$i" 22222222-2222-4222-8222-222222222222
	done
	for i in 1 2 3; do
		# shellcheck disable=SC2086
		sh "$top/pki/otrp-pki.sh" issue $alg "$d/pki" tee "warm$i" >/dev/null
		ctl device enroll --cert "$d/pki/tee/warm$i.crt" --name "warm$i"
		ctl assign "warm$i" 22222222-2222-4222-8222-222222222222
	done
	start "$db"
	# warm-up, not measured: the trust store, SQLite's pages, the allocator
	"$build/bench/otrp-loadgen" --url "http://127.0.0.1:$port/tam" --pid "$pid" \
		--install "$d/pki" --devices 3 --prefix warm --anchor "$d/pki/root/ca.crt" >/dev/null
	# Big and small take turns; the difference is what the megabyte costs a device.
	printf 'profile=%s ta=big versus=small ' "$p"
	"$build/bench/otrp-loadgen" --url "http://127.0.0.1:$port/tam" --pid "$pid" \
		--install "$d/pki" --devices "$installs" --prefix big --versus small \
		--anchor "$d/pki/root/ca.crt"
	stop
done
