#!/bin/sh
# SPDX-License-Identifier: MIT
# Black-box tests of otrp-tamctl (and otrp-tamd -n): every subcommand's happy
# path and each documented exit code (0 ok, 1 usage, 2 not found,
# 3 conflict, 5 other). Prints one PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-ctl.XXXXXX")
trap 'rm -rf "$t"' EXIT
db=$t/tamd.db
ctl() { "$build/otrp-tamctl" -d "$db" "$@" >"$t/out" 2>"$t/err"; }
taid=8d82573a-926d-4754-9353-32dc29997f74

# expect CODE DESCRIPTION COMMAND...: run the command, compare its exit code
expect() {
	want=$1 what=$2
	shift 2
	"$@" >"$t/out" 2>"$t/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		echo "PASS: $what"
	else
		echo "FAIL: $what (exit $got, wanted $want): $(head -c 300 "$t/err")"
	fi
}
# expect_text PATTERN DESCRIPTION: the last command's stdout+stderr match
expect_text() {
	if grep -q -e "$1" "$t/out" "$t/err"; then echo "PASS: $2"; else echo "FAIL: $2 (no \"$1\")"; fi
}

sh "$top/pki/otrp-pki.sh" "$t/pki" >/dev/null || { echo "FAIL: pki setup"; exit 1; }
sh "$top/pki/otrp-pki.sh" "$t/pki2" >/dev/null || { echo "FAIL: pki setup"; exit 1; }
sh "$top/pki/otrp-pki.sh" issue "$t/pki" tee tee2 >/dev/null || { echo "FAIL: pki setup"; exit 1; }
printf 'ta one\n' > "$t/ta.bin"
c="$build/otrp-tamctl -d $db"

expect 1 "no command is a usage error" "$build/otrp-tamctl"
expect 1 "unknown command is a usage error" $c frobnicate
expect 0 "--help exits 0" $c --help
expect 0 "subcommand --help exits 0" $c sp add --help
expect_text "sp add SPID CERT" "subcommand help shows its grammar"
expect 1 "unknown verb is a usage error" $c sp frob
expect 1 "missing argument is a usage error" $c sp add only-one
expect 2 "commands on a missing database: not found" $c sp list
expect_text "otrp-tamctl init" "missing database says how to create it"

cp "$t/pki/tam/tam.key" "$t/loose.key"; chmod 0644 "$t/loose.key"
expect 5 "init refuses a key readable by others" $c init --key "$t/loose.key" --cert "$t/pki/tam/tam-chain.pem"
expect_text "0600" "the refusal names the required mode"
expect 2 "init with a missing key file: not found" $c init --key "$t/nope.key" --cert "$t/pki/tam/tam-chain.pem"
expect 5 "init with a key that does not match the certificate" $c init --key "$t/pki/sp/sp1.key" --cert "$t/pki/tam/tam-chain.pem"
expect 0 "init" $c init --key "$t/pki/tam/tam.key" --cert "$t/pki/tam/tam-chain.pem"
[ "$(stat -c %a "$db")" = 600 ] && echo "PASS: database is mode 0600" || echo "FAIL: database mode $(stat -c %a "$db")"

expect 0 "trust-anchor add" $c trust-anchor add root "$t/pki/root/ca.crt"
expect 3 "trust-anchor add twice: conflict" $c trust-anchor add root2 "$t/pki/root/ca.crt"
expect 5 "a leaf certificate is no trust anchor" $c trust-anchor add leaf "$t/pki/tee/tee1.crt"
expect 0 "trust-anchor list" $c trust-anchor list
expect_text "root" "trust-anchor list shows the anchor"

expect 0 "sp add" $c sp add sp1 "$t/pki/sp/sp1.crt"
expect 3 "sp add twice: conflict" $c sp add sp1 "$t/pki/sp/sp1.crt"
expect 1 "sp add with a bad id" $c sp add "bad/id" "$t/pki/sp/sp1.crt"
printf 'garbage' > "$t/garbage"
expect 5 "sp add with a file that is no certificate" $c sp add sp2 "$t/garbage"
expect 0 "sp list" $c sp list
expect_text "sp1.sd" "sp list shows the SD name"

expect 0 "ta sign" $c ta sign --key "$t/pki/sp/sp1.key" "$t/ta.bin" "$t/ta.jws"
expect 0 "ta sign (other key)" $c ta sign --key "$t/pki2/sp/sp1.key" "$t/ta.bin" "$t/ta-bad.jws"
expect 2 "ta add for an unknown SP: not found" $c ta add nosuch $taid 1.0 "$t/ta.jws"
expect 5 "ta add with a bundle the SP did not sign" $c ta add sp1 $taid 1.0 "$t/ta-bad.jws"
expect_text "does not verify" "the refusal says the signature does not verify"
expect 1 "ta add with a bad version" $c ta add sp1 $taid v1 "$t/ta.jws"
expect 0 "ta add" $c ta add sp1 $taid 1.0 "$t/ta.jws"
expect 3 "ta add of the same version: conflict" $c ta add sp1 $taid 1.0 "$t/ta.jws"
expect 3 "ta add of an older version: conflict" $c ta add sp1 $taid 0.9 "$t/ta.jws"
expect 0 "ta add of a newer version" $c ta add sp1 $taid 1.1 "$t/ta.jws"
expect 0 "ta list" $c ta list
expect_text "1.1" "ta list shows the latest version"

expect 0 "device enroll by certificate" $c device enroll --cert "$t/pki/tee/tee1.crt" --name tee1
did=$(cat "$t/out")
[ ${#did} -eq 64 ] && echo "PASS: enroll prints the device id" || echo "FAIL: enroll printed \"$did\""
expect 3 "device enroll twice: conflict" $c device enroll --cert "$t/pki/tee/tee1.crt"
openssl pkey -in "$t/pki/tee/tee2.key" -pubout -out "$t/tee2.pub" 2>/dev/null
expect 0 "device enroll by raw key" $c device enroll --key "$t/tee2.pub" --name tee2
expect 5 "device enroll with a private key" $c device enroll --key "$t/pki/tee/tee2.key"
expect 1 "device enroll needs exactly one of --cert/--key" $c device enroll
expect 0 "device list" $c device list
expect_text "tee2" "device list shows the raw-key device"
expect 2 "device show of an unknown device: not found" $c device show nosuch
expect 0 "device show by id prefix" $c device show "$(echo "$did" | cut -c1-12)"
expect_text "$did" "device show prints the full id"

expect 2 "assign to an unknown device: not found" $c assign nosuch $taid
expect 2 "assign an unknown TA: not found" $c assign tee1 nosuch
expect 2 "assign an unknown version: not found" $c assign tee1 $taid 9.9
expect 0 "assign (latest)" $c assign tee1 $taid
expect 0 "assign (pinned)" $c assign tee2 $taid 1.0
expect 0 "device show" $c device show tee1
expect_text "$taid" "device show lists the assigned TA"
expect 0 "unassign" $c unassign tee1 $taid
expect 2 "unassign twice: not found" $c unassign tee1 $taid
expect 0 "device decommission" $c device decommission tee2
expect 3 "device decommission twice: conflict" $c device decommission tee2
expect 2 "device decommission of an unknown device: not found" $c device decommission nosuch
expect 0 "device show of a decommissioned device" $c device show tee2
expect_text "decommissioned" "device show says decommissioned"
expect 3 "assign to a decommissioned device: conflict" $c assign tee2 $taid
expect 0 "audit" $c audit
expect_text "ta.add" "audit records ta.add"
expect_text "unassign" "audit records unassign"
expect_text "device.decommission" "audit records device.decommission"
expect 1 "audit with a bad limit" $c audit --limit x

expect 0 "otrp-tamd -n accepts the database" "$build/otrp-tamd" -n -d "$db"
expect_text "configuration OK" "otrp-tamd -n says configuration OK"
expect 1 "otrp-tamd -n refuses a missing database" "$build/otrp-tamd" -n -d "$t/none.db"
expect 2 "otrp-tamd refuses a bad option value" "$build/otrp-tamd" -p notaport
