#!/bin/sh
# SPDX-License-Identifier: MIT
# HTTPS on the OTrP listener with RSA and ECDSA server certificates from the
# PKI kickstart, TLS 1.2+ only, and client certificates enforced by the
# daemon itself: accepted, missing, and from a CA it does not trust. curl is
# the client; everything stays on 127.0.0.1. One PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-tls.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
[ -n "${KEEP_TLS_LOG:-}" ] && trap "cp \"\$t/log\" /tmp/tls-test.log; cleanup" EXIT
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; }
check() { # description command...
	what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

pki=$t/pki
sh "$top/pki/otrp-pki.sh" "$pki" >/dev/null &&
	sh "$top/pki/otrp-pki.sh" issue "$pki" server rsa >/dev/null &&
	sh "$top/pki/otrp-pki.sh" issue --ec "$pki" server ec >/dev/null &&
	sh "$top/pki/otrp-pki.sh" issue "$pki" client broker >/dev/null &&
	sh "$top/pki/otrp-pki.sh" "$t/other" >/dev/null &&
	sh "$top/pki/otrp-pki.sh" issue "$t/other" client rogue >/dev/null &&
	sh "$top/pki/otrp-pki.sh" issue "$pki" client revoked >/dev/null &&
	sh "$top/pki/otrp-pki.sh" crl "$pki" broker >/dev/null ||
	{ fail "pki setup"; exit 1; }
# A leaf of the broker CA for code signing only: not a TLS client.
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' >"$t/cs.ext"
openssl req -new -newkey rsa:2048 -nodes -keyout "$t/cs.key" -subj '/O=OTrP Test/CN=codesign' \
	-out "$t/cs.csr" >/dev/null 2>&1 &&
	openssl x509 -req -in "$t/cs.csr" -CA "$pki/broker/ca.crt" -CAkey "$pki/broker/ca.key" \
		-set_serial 4242 -days 30 -sha256 -extfile "$t/cs.ext" -out "$t/cs.crt" >/dev/null 2>&1 ||
	{ fail "codeSigning leaf setup"; exit 1; }
"$build/otrp-tamctl" -d "$t/db" init --key "$pki/tam/tam.key" --cert "$pki/tam/tam-chain.pem" \
	>/dev/null 2>&1 || { fail "database setup"; exit 1; }

start() { # extra config lines
	printf '[api]\nport = 0\n[database]\npath = %s\n[otrp]\nport = 0\n%s\n' "$t/db" "$1" > "$t/tamd.conf"
	rm -f "$t/port"
	"$build/otrp-tamd" -c "$t/tamd.conf" --port-file "$t/port" >"$t/log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		[ -s "$t/port" ] && port=$(head -n 1 "$t/port") && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	pid=
	return 1
}
stop() {
	kill "$pid" && wait "$pid"
	st=$?
	pid=
	return "$st"
}
# POST an empty body over HTTPS; prints the HTTP status, the body goes to $t/body.
post() { # curl options...
	curl -s -o "$t/body" -w '%{http_code}' --cacert "$pki/root/ca.crt" -X POST \
		-H 'Content-Type: application/otrp+json' -H 'Accept: application/otrp+json' \
		--data-binary '' "$@" "https://127.0.0.1:$port/tam"
}

tls="tls_cert = $pki/server/rsa-chain.pem
tls_key = $pki/server/rsa.key"
check "daemon starts with an RSA server certificate" start "$tls"
check "HTTPS answers an empty POST with 200" test "$(post)" = 200
check "and the body is a GetDeviceStateRequest" grep -q '"GetDeviceStateRequest"' "$t/body"
check "the certificate verifies as 127.0.0.1" test "$(post --tlsv1.2)" = 200
check "plain HTTP gets no OTrP answer" sh -c "! curl -s -m 5 -X POST --data-binary '' http://127.0.0.1:$port/tam | grep -q GetDeviceState"
# SECLEVEL=0 lets the client offer TLS 1.1 at all; the server must still refuse it.
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' >"$t/s11" 2>&1
check "TLS 1.1 is refused" grep -q 'Cipher is (NONE)' "$t/s11"
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_2 >"$t/s12" 2>&1
check "TLS 1.2 is accepted" grep -q 'New, TLSv1.2' "$t/s12"
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_3 >"$t/s13" 2>&1
check "TLS 1.3 is accepted" grep -q 'New, TLSv1.3' "$t/s13"
check "log says tls=yes" grep -q 'tls=yes client_certs=no' "$t/log"
check "daemon stops cleanly" stop

check "daemon starts with an ECDSA server certificate" start "tls_cert = $pki/server/ec-chain.pem
tls_key = $pki/server/ec.key"
check "HTTPS with ECDSA answers 200" test "$(post)" = 200
check "daemon stops cleanly" stop

# the management listener takes TLS the same way
printf '[api]\nport = 0\ntls_cert = %s\ntls_key = %s\n[database]\npath = %s\n[otrp]\nport = 0\n' \
	"$pki/server/ec-chain.pem" "$pki/server/ec.key" "$t/db" > "$t/tamd.conf"
rm -f "$t/port"
"$build/otrp-tamd" -c "$t/tamd.conf" --port-file "$t/port" >"$t/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$t/port" ] && break; sleep 0.1; done
api=$(sed -n 2p "$t/port")
check "the management listener serves /healthz over HTTPS" \
	test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/root/ca.crt" "https://127.0.0.1:$api/healthz")" = 200
check "and not over plain HTTP" sh -c "! curl -s -m 5 http://127.0.0.1:$api/healthz | grep -q status"
check "daemon stops cleanly" stop

mtls="$tls
tls_client_ca = $pki/broker/ca.crt"
check "daemon starts requiring client certificates" start "$mtls"
check "a client certificate from the trusted CA is accepted" \
	test "$(post --cert "$pki/client/broker.crt" --key "$pki/client/broker.key")" = 200
check "without a client certificate: 403" test "$(post)" = 403
check "the 403 says a client certificate is required" grep -q 'client certificate is required' "$t/body"
check "a client certificate from another CA: 403" \
	test "$(post --cert "$t/other/client/rogue.crt" --key "$t/other/client/rogue.key")" = 403
check "the 403 says the certificate was refused" grep -q 'client certificate refused' "$t/body"
check "a codeSigning-only certificate from the trusted CA: 403" \
	test "$(post --cert "$t/cs.crt" --key "$t/cs.key")" = 403
check "the 403 says it is no TLS client" grep -q 'lacks clientAuth' "$t/body"
check "a TEE certificate is no broker's: 403" \
	test "$(post --cert "$pki/tee/tee1.crt" --key "$pki/tee/tee1.key")" = 403
check "daemon stops cleanly" stop

# The broker CA's CRL: a revoked client certificate is refused, from the next SIGHUP on.
cp "$pki/broker/ca.crl" "$t/brokers.crl"
check "daemon starts with the broker CA's CRL" start "$mtls
tls_client_crl = $t/brokers.crl"
check "a client certificate the CRL does not list: 200" \
	test "$(post --cert "$pki/client/revoked.crt" --key "$pki/client/revoked.key")" = 200
sh "$top/pki/otrp-pki.sh" revoke "$pki" client revoked >/dev/null && cp "$pki/broker/ca.crl" "$t/brokers.crl"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q 'event=tls.reload listener=otrp result=ok' "$t/log" && break; sleep 0.1; done
check "the new CRL is loaded on SIGHUP" grep -q 'event=tls.reload listener=otrp result=ok' "$t/log"
check "the revoked client certificate: 403" \
	test "$(post --cert "$pki/client/revoked.crt" --key "$pki/client/revoked.key")" = 403
check "the 403 says it is revoked" grep -q 'revoked' "$t/body"
check "another client certificate of that CA: 200" \
	test "$(post --cert "$pki/client/broker.crt" --key "$pki/client/broker.key")" = 200
echo garbage >"$t/brokers.crl"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q 'event=reload result=refused' "$t/log" && break; sleep 0.1; done
check "a CRL that does not parse refuses the reload" grep -q 'event=reload result=refused' "$t/log"
check "and the revoked certificate stays refused" \
	test "$(post --cert "$pki/client/revoked.crt" --key "$pki/client/revoked.key")" = 403
check "daemon stops cleanly" stop
printf '[database]\npath = %s\n[otrp]\n%s\ntls_client_crl = %s\n' "$t/db" "$tls" "$t/brokers.crl" > "$t/tamd.conf"
check "tls_client_crl without tls_client_ca is refused" sh -c "! '$build/otrp-tamd' -c '$t/tamd.conf' --check-config >'$t/out' 2>&1 && grep -q 'tls_client_crl needs' '$t/out'"

# SIGHUP re-reads the certificate files; new connections get the new certificate.
fingerprint() {
	echo | openssl s_client -connect "127.0.0.1:$port" 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
cp "$pki/server/rsa-chain.pem" "$t/srv.pem" && cp "$pki/server/rsa.key" "$t/srv.key" && chmod 0600 "$t/srv.key"
check "daemon starts with certificate files to be replaced" start "tls_cert = $t/srv.pem
tls_key = $t/srv.key"
before=$(fingerprint)
check "the first certificate is served" test -n "$before"
cp "$pki/server/ec-chain.pem" "$t/srv.pem" && cp "$pki/server/ec.key" "$t/srv.key"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q 'event=tls.reload listener=otrp result=ok' "$t/log" && break; sleep 0.1; done
check "the reload is logged" grep -q 'event=tls.reload listener=otrp result=ok' "$t/log"
after=$(fingerprint)
check "new connections get the new certificate" test -n "$after" -a "$after" != "$before"
check "HTTPS answers after the swap" test "$(post)" = 200
cp "$pki/server/rsa.key" "$t/srv.key"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q 'event=reload result=refused' "$t/log" && break; sleep 0.1; done
check "a key that does not fit the certificate is refused" grep -q 'event=reload result=refused' "$t/log"
check "the running certificate stays" test "$(fingerprint)" = "$after"
check "HTTPS still answers" test "$(post)" = 200
check "daemon stops cleanly" stop

chmod 0644 "$pki/server/rsa.key"
printf '[database]\npath = %s\n[otrp]\n%s\n' "$t/db" "$tls" > "$t/tamd.conf"
check "a TLS key readable by others is refused" sh -c "! '$build/otrp-tamd' -c '$t/tamd.conf' --check-config >'$t/out' 2>&1"
check "the refusal names the mode" sh -c "grep -q 0600 '$t/out' || { cat '$t/out' >&2; false; }"
printf '[database]\npath = %s\n[otrp]\ntls_cert = %s/server/rsa-chain.pem\n' "$t/db" "$pki" > "$t/tamd.conf"
check "a certificate without its key is refused" sh -c "! '$build/otrp-tamd' -c '$t/tamd.conf' --check-config >/dev/null 2>&1"
