#!/bin/sh
# SPDX-License-Identifier: MIT
# Black-box tests of otrp-tamctl (and otrp-tamd -n): every subcommand's happy
# path and each documented exit code (0 ok, 1 usage, 2 not found, 3 conflict,
# 4 auth, 5 other), over both transports: directly on the database, and over
# the REST API of a daemon on 127.0.0.1 with a bearer token. Prints one
# PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-ctl.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
unset OTRP_TAMCTL_TOKEN OTRP_TAMCTL_URL OTRP_TAMD_DB
taid=8d82573a-926d-4754-9353-32dc29997f74
taid2=0f0e0d0c-0b0a-4908-8706-050403020100
tamctl="$build/otrp-tamctl"

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
sh "$top/pki/otrp-pki.sh" issue "$t/pki" tee tee3 >/dev/null || { echo "FAIL: pki setup"; exit 1; }
printf 'ta one\n' > "$t/ta.bin"
printf 'ta one, rebuilt\n' > "$t/ta-other.bin"
openssl pkey -in "$t/pki/tee/tee2.key" -pubout -out "$t/tee2.pub" 2>/dev/null
printf 'garbage' > "$t/garbage"

# ---- what only works on the database: init, and the tool's own errors ----
db=$t/tamd.db
c="$tamctl -d $db"
expect 1 "no command is a usage error" "$tamctl"
expect 1 "unknown command is a usage error" $c frobnicate
expect 1 "unknown global option is a usage error" "$tamctl" --frob sp list
expect 0 "--help exits 0" $c --help
expect 0 "subcommand --help exits 0" $c sp add --help
expect_text "sp add SPID CERT" "subcommand help shows its grammar"
expect 1 "unknown verb is a usage error" $c sp frob
expect 1 "missing argument is a usage error" $c sp add only-one
expect 2 "commands on a missing database: not found" $c sp list
expect_text "otrp-tamctl init" "missing database says how to create it"
expect 0 "version" $c version
expect_text "schema" "version names the schema"

cp "$t/pki/tam/tam.key" "$t/loose.key"; chmod 0644 "$t/loose.key"
expect 5 "init refuses a key readable by others" $c init --key "$t/loose.key" --cert "$t/pki/tam/tam-chain.pem"
expect_text "0600" "the refusal names the required mode"
expect 2 "init with a missing key file: not found" $c init --key "$t/nope.key" --cert "$t/pki/tam/tam-chain.pem"
expect 5 "init with a key that does not match the certificate" $c init --key "$t/pki/sp/sp1.key" --cert "$t/pki/tam/tam-chain.pem"
expect 0 "init" $c init --key "$t/pki/tam/tam.key" --cert "$t/pki/tam/tam-chain.pem"
[ "$(stat -c %a "$db")" = 600 ] && echo "PASS: database is mode 0600" || echo "FAIL: database mode $(stat -c %a "$db")"
expect 1 "init over the API is refused" "$tamctl" -u http://127.0.0.1:1 init --key "$t/pki/tam/tam.key" --cert "$t/pki/tam/tam-chain.pem"

expect 0 "ta sign (compact)" $c ta sign --key "$t/pki/sp/sp1.key" "$t/ta.bin" "$t/ta.jws"
[ "$(tr -cd . < "$t/ta.jws" | wc -c)" -eq 2 ] && echo "PASS: ta sign writes a compact JWS" || echo "FAIL: ta.jws is not compact"
expect 0 "ta sign (flattened JSON)" $c ta sign --flattened --key "$t/pki/sp/sp1.key" "$t/ta.bin" "$t/ta-json.jws"
grep -q '"signature"' "$t/ta-json.jws" && echo "PASS: --flattened writes JSON" || echo "FAIL: --flattened"
expect 0 "ta sign (other key)" $c ta sign --key "$t/pki2/sp/sp1.key" "$t/ta.bin" "$t/ta-bad.jws"
expect 0 "ta sign (other bytes)" $c ta sign --key "$t/pki/sp/sp1.key" "$t/ta-other.bin" "$t/ta-other.jws"
expect 5 "ta sign with a public key" $c ta sign --key "$t/tee2.pub" "$t/ta.bin" "$t/x.jws"

# ---- the same commands over either transport ----
# suite LABEL: $c is the command prefix, the database is initialized and empty
suite() {
	l=$1
	expect 0 "$l: trust-anchor add" $c trust-anchor add root "$t/pki/root/ca.crt"
	expect 3 "$l: trust-anchor add twice: conflict" $c trust-anchor add root2 "$t/pki/root/ca.crt"
	expect 5 "$l: a leaf certificate is no trust anchor" $c trust-anchor add leaf "$t/pki/tee/tee1.crt"
	expect 1 "$l: trust-anchor add with a bad name" $c trust-anchor add "a b" "$t/pki/tee/ca.crt"
	openssl x509 -in "$t/pki/tee/ca.crt" -outform DER -out "$t/tee-ca.der" 2>/dev/null
	expect 0 "$l: trust-anchor add (DER)" $c trust-anchor add tee-ca "$t/tee-ca.der"
	expect 0 "$l: trust-anchor list" $c trust-anchor list
	expect_text "root" "$l: trust-anchor list shows the anchor"
	expect 0 "$l: trust-anchor show" $c trust-anchor show tee-ca
	expect_text "BEGIN CERTIFICATE" "$l: trust-anchor show prints the certificate"
	expect 2 "$l: trust-anchor show unknown: not found" $c trust-anchor show nosuch
	expect 0 "$l: trust-anchor remove" $c trust-anchor remove root
	expect 2 "$l: trust-anchor remove twice: not found" $c trust-anchor remove root

	expect 0 "$l: sp add" $c sp add sp1 "$t/pki/sp/sp1.crt"
	expect 3 "$l: sp add twice: conflict" $c sp add sp1 "$t/pki/sp/sp1.crt"
	expect 1 "$l: sp add with a bad id" $c sp add "bad/id" "$t/pki/sp/sp1.crt"
	expect 5 "$l: sp add with a file that is no certificate" $c sp add sp2 "$t/garbage"
	expect 2 "$l: sp add with a missing file" $c sp add sp2 "$t/nope.crt"
	expect 0 "$l: sp add (second SP)" $c sp add sp2 "$t/pki2/sp/sp1.crt" --sdname sd-two
	expect 0 "$l: sp list" $c sp list
	expect_text "sp1.sd" "$l: sp list shows the SD name"
	expect 0 "$l: sp show" $c sp show sp2
	expect_text "sd-two" "$l: sp show shows the SD name"
	expect 0 "$l: sp list --json" $c --json sp list
	expect_text '"spid": "sp2"' "$l: --json prints the records"

	expect 2 "$l: ta upload for an unknown SP: not found" $c ta upload nosuch $taid 1.0 "$t/ta.jws"
	expect 5 "$l: ta upload of a bundle the SP did not sign" $c ta upload sp1 $taid 1.0 "$t/ta-bad.jws"
	expect_text "does not verify" "$l: the refusal says the signature does not verify"
	expect 1 "$l: ta upload with a bad version" $c ta upload sp1 $taid v1 "$t/ta.jws"
	expect 1 "$l: ta upload of garbage" $c ta upload sp1 $taid 1.0 "$t/garbage"
	expect 2 "$l: ta upload of a missing file" $c ta upload sp1 $taid 1.0 "$t/nope.jws"
	expect 0 "$l: ta upload" $c ta upload sp1 $taid 1.0 "$t/ta.jws" --name hello
	expect_text "uploaded" "$l: ta upload says uploaded"
	expect 0 "$l: ta upload of the same bytes again" $c ta upload sp1 $taid 1.0 "$t/ta.jws"
	expect_text "already have" "$l: the same bytes again are no error"
	expect 3 "$l: ta upload of other bytes as the same version: conflict" $c ta upload sp1 $taid 1.0 "$t/ta-other.jws"
	expect 3 "$l: ta upload of an older version: conflict" $c ta upload sp1 $taid 0.9 "$t/ta.jws"
	expect 3 "$l: ta upload of sp1's TA by sp2: conflict" $c ta upload sp2 $taid 2.0 "$t/ta-bad.jws"
	expect 0 "$l: ta upload of a newer version (JSON form)" $c ta upload sp1 $taid 1.1 "$t/ta-json.jws"
	expect 0 "$l: ta upload of a second TA" $c ta upload sp1 $taid2 3.0 "$t/ta-other.jws"
	expect 0 "$l: ta upload with --requires" $c ta upload sp1 $taid2 3.1 "$t/ta-other.jws" --requires "$taid@1.0"
	expect_text "requires $taid@1.0" "$l: ta upload names what the version requires"
	expect 0 "$l: ta upload with the same --requires again" $c ta upload sp1 $taid2 3.1 "$t/ta-other.jws" --requires "$taid@1.0"
	expect_text "already have" "$l: the same version and requirements again are no error"
	expect 3 "$l: ta upload of the same version requiring otherwise: conflict" $c ta upload sp1 $taid2 3.1 "$t/ta-other.jws"
	expect 1 "$l: ta upload with a malformed --requires" $c ta upload sp1 $taid2 3.2 "$t/ta-other.jws" --requires "$taid@1.x"
	expect_text "MAJOR" "$l: the refusal says what a version looks like"
	expect 5 "$l: ta upload requiring an unknown TA" $c ta upload sp1 $taid2 3.2 "$t/ta-other.jws" --requires nosuch
	expect_text "has no TA nosuch to require" "$l: the refusal names the unknown TA"
	expect 5 "$l: ta upload requiring itself" $c ta upload sp1 $taid2 3.2 "$t/ta-other.jws" --requires $taid2
	expect 1 "$l: --requires without a value" $c ta upload sp1 $taid2 3.2 "$t/ta-other.jws" --requires
	expect 0 "$l: ta versions (requirements)" $c ta versions $taid2
	expect_text "^3.1 .* $taid@1.0" "$l: ta versions shows what a version requires"
	expect 0 "$l: ta list" $c ta list
	expect_text "1.1" "$l: ta list shows the latest version"
	expect 0 "$l: ta list --sp" $c ta list --sp sp2
	if grep -q "$taid" "$t/out"; then echo "FAIL: $l: ta list --sp shows another SP's TA"; else echo "PASS: $l: ta list --sp filters by SP"; fi
	expect 0 "$l: ta versions" $c ta versions $taid
	expect_text "1.0 " "$l: ta versions lists 1.0"
	expect 2 "$l: ta versions of an unknown TA: not found" $c ta versions nosuch
	expect 0 "$l: ta download" $c ta download $taid 1.0 "$t/dl-$l.jws"
	cmp -s "$t/dl-$l.jws" "$t/ta.jws" && echo "PASS: $l: the download is the uploaded bundle" || echo "FAIL: $l: download differs"
	expect 2 "$l: ta download of an unknown version: not found" $c ta download $taid 7.7 "$t/none.jws"
	[ -e "$t/none.jws" ] && echo "FAIL: $l: a failed download left a file" || echo "PASS: $l: a failed download leaves no file"

	expect 0 "$l: device enroll by certificate" $c device enroll --cert "$t/pki/tee/tee1.crt" --name tee1
	did=$(cat "$t/out")
	[ ${#did} -eq 64 ] && echo "PASS: $l: enroll prints the device id" || echo "FAIL: $l: enroll printed \"$did\""
	expect 3 "$l: device enroll twice: conflict" $c device enroll --cert "$t/pki/tee/tee1.crt"
	expect 0 "$l: device enroll by raw key" $c device enroll --key "$t/tee2.pub" --name tee2
	expect 0 "$l: device enroll (third)" $c device enroll --cert "$t/pki/tee/tee3.crt" --name tee3
	expect 5 "$l: device enroll with a private key" $c device enroll --key "$t/pki/tee/tee2.key"
	expect 1 "$l: device enroll with an unknown profile" $c device enroll --cert "$t/pki/tee/tee1.crt" --profile nosuch
	expect 1 "$l: device enroll needs exactly one of --cert/--key" $c device enroll
	expect 0 "$l: device list" $c device list
	expect_text "tee2" "$l: device list shows the raw-key device"
	expect 2 "$l: device show of an unknown device: not found" $c device show nosuch
	expect 0 "$l: device show by id prefix" $c device show "$(echo "$did" | cut -c1-12)"
	expect_text "$did" "$l: device show prints the full id"

	expect 2 "$l: assign to an unknown device: not found" $c assign nosuch $taid
	expect 2 "$l: assign an unknown TA: not found" $c assign tee1 nosuch
	expect 2 "$l: assign an unknown version: not found" $c assign tee1 $taid 9.9
	expect 0 "$l: assign (latest)" $c assign tee1 $taid
	expect 0 "$l: assign (pinned)" $c assign tee2 $taid 1.0
	expect 0 "$l: device show" $c device show tee1
	expect_text "$taid" "$l: device show lists the assigned TA"
	expect 3 "$l: ta withdraw of a pinned version: conflict" $c ta withdraw $taid 1.0
	expect 0 "$l: ta withdraw" $c ta withdraw $taid 1.1
	expect 3 "$l: ta withdraw twice: conflict" $c ta withdraw $taid 1.1
	expect 0 "$l: ta versions after withdraw" $c --json ta versions $taid
	expect_text '"withdrawn_by"' "$l: ta versions shows who withdrew"
	expect 3 "$l: assign a withdrawn version: conflict" $c assign tee1 $taid 1.1
	expect 0 "$l: assign in bulk by device list" $c assign --devices tee1,tee3 $taid2
	expect_text "2 devices" "$l: bulk assign counts the devices"
	expect 0 "$l: assign in bulk by SP" $c assign --sp sp1 $taid2 3.0
	expect_text "3 devices" "$l: bulk assign by SP reaches every device with sp1's TAs"
	expect 2 "$l: bulk assign to an unknown device: not found" $c assign --devices tee1,nosuch $taid2
	expect 1 "$l: bulk assign with both selectors" $c assign --sp sp1 --devices tee1 $taid2
	expect 0 "$l: unassign" $c unassign tee1 $taid
	expect 2 "$l: unassign twice: not found" $c unassign tee1 $taid
	expect 0 "$l: device decommission" $c device decommission tee2
	expect 3 "$l: device decommission twice: conflict" $c device decommission tee2
	expect 2 "$l: device decommission of an unknown device: not found" $c device decommission nosuch
	expect 0 "$l: device show of a decommissioned device" $c device show tee2
	expect_text "decommissioned" "$l: device show says decommissioned"
	expect 3 "$l: assign to a decommissioned device: conflict" $c assign tee2 $taid
	expect 3 "$l: sp remove of an SP with TAs: conflict" $c sp remove sp1
	expect 2 "$l: sp remove of an unknown SP: not found" $c sp remove nosuch

	expect 0 "$l: token create (sp)" $c token create --role sp:sp2 --description "for sp2"
	expect_text "^tam_" "$l: token create prints the token"
	expect 1 "$l: token create with a bad role" $c token create --role king
	expect 1 "$l: token create without a role" $c token create
	expect 5 "$l: token create for an unknown SP" $c token create --role sp:nosuch
	expect 0 "$l: token list" $c token list
	expect_text "for sp2" "$l: token list shows the description"
	tid=$(grep "for sp2" "$t/out" | awk '{ print $1 }')
	expect 0 "$l: token revoke" $c token revoke "$tid"
	expect 3 "$l: token revoke twice: conflict" $c token revoke "$tid"
	expect 2 "$l: token revoke unknown: not found" $c token revoke 000000000000
	expect 0 "$l: sp remove" $c sp remove sp2
	expect 0 "$l: audit" $c audit
	expect_text "ta.upload" "$l: audit records ta.upload"
	expect_text "unassign" "$l: audit records unassign"
	expect_text "device.decommission" "$l: audit records device.decommission"
	expect_text "token.revoke" "$l: audit records token.revoke"
	expect 0 "$l: audit --actor filter" $c --json audit --object sp2
	if grep -q '"action": "sp.add"' "$t/out" && ! grep -q '"object": "sp1"' "$t/out"; then
		echo "PASS: $l: audit --object filters"; else echo "FAIL: $l: audit --object"; fi
	expect 0 "$l: audit --limit" $c --json audit --limit 2
	[ "$(grep -c '"action"' "$t/out")" -eq 2 ] && echo "PASS: $l: audit --limit 2 shows 2" || echo "FAIL: $l: audit --limit"
	expect 1 "$l: audit with a bad limit" $c audit --limit x
	expect 1 "$l: audit with a bad time" $c audit --since yesterday
}

suite direct

# ---- the daemon, and the same suite over its REST API ----
db2=$t/api.db
"$tamctl" -d "$db2" init --key "$t/pki/tam/tam.key" --cert "$t/pki/tam/tam-chain.pem" >/dev/null
admin=$("$tamctl" -d "$db2" token create --role admin --description bootstrap 2>/dev/null)
"$build/otrp-tamd" -d "$db2" -l 127.0.0.1 -p 0 -o api.port=0 --port-file "$t/ports" 2>"$t/tamd.log" &
pid=$!
for _ in $(seq 50); do [ -s "$t/ports" ] && [ "$(wc -l < "$t/ports")" -ge 2 ] && break; sleep 0.1; done
api=$(sed -n 2p "$t/ports")
url="http://127.0.0.1:$api"
[ -n "$api" ] && echo "PASS: daemon started (API port $api)" || echo "FAIL: daemon did not start: $(cat "$t/tamd.log")"
echo "$admin" > "$t/admin.token"
chmod 600 "$t/admin.token"
c="$tamctl -u $url --token-file $t/admin.token"
suite rest

# how the token is given, and the auth exit code 4
expect 4 "rest: no token: auth" "$tamctl" -u "$url" sp list
expect 4 "rest: a malformed token: auth" "$tamctl" -u "$url" --token nonsense sp list
expect 4 "rest: an unknown token: auth" "$tamctl" -u "$url" --token "tam_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" sp list
expect 0 "rest: token from the environment" env OTRP_TAMCTL_TOKEN="$admin" "$tamctl" -u "$url" sp list
expect 0 "rest: URL from the environment" env OTRP_TAMCTL_TOKEN="$admin" OTRP_TAMCTL_URL="$url" "$tamctl" sp list
expect 0 "rest: token flag" "$tamctl" -u "$url" --token "$admin" sp list
expect 2 "rest: missing token file: not found" "$tamctl" -u "$url" --token-file "$t/none" sp list
"$tamctl" -u "$url" --token "$admin" sp add sp3 "$t/pki2/sp/sp1.crt" >/dev/null 2>&1
sptok=$("$tamctl" -u "$url" --token "$admin" token create --role sp:sp1 2>/dev/null)
sp3tok=$("$tamctl" -u "$url" --token "$admin" token create --role sp:sp3 2>/dev/null)
expect 4 "rest: an SP token on an admin command: auth" "$tamctl" -u "$url" --token "$sptok" trust-anchor list
expect 4 "rest: an SP token cannot create tokens" "$tamctl" -u "$url" --token "$sptok" token create --role admin
expect 0 "rest: an SP token lists its TAs" "$tamctl" -u "$url" --token "$sptok" ta list
expect_text "$taid" "rest: the SP sees its own TA"
expect 2 "rest: another SP's TA is not found" "$tamctl" -u "$url" --token "$sp3tok" ta versions $taid
expect 0 "rest: an SP token uploads its TA" "$tamctl" -u "$url" --token "$sptok" ta upload sp1 $taid 1.2 "$t/ta.jws"
expect 2 "rest: an SP cannot upload for another SP" "$tamctl" -u "$url" --token "$sp3tok" ta upload sp1 $taid 1.3 "$t/ta.jws"
expect 0 "rest: sp list for an SP token" "$tamctl" -u "$url" --token "$sp3tok" sp list
if grep -q "^sp1 " "$t/out"; then echo "FAIL: rest: an SP token sees another SP"; else echo "PASS: rest: an SP token sees only its SP"; fi
expect 0 "rest: audit names the token" $c --json audit --actor "token:$(echo "$sptok" | cut -c5-16)"
expect_text "ta.upload" "rest: the SP's upload is audited under its token id"
tid=$(echo "$sptok" | cut -c5-16)
expect 0 "rest: revoke the SP token" $c token revoke "$tid"
expect 4 "rest: a revoked token: auth" "$tamctl" -u "$url" --token "$sptok" ta list
expect 5 "rest: an unreachable server: other" "$tamctl" -u http://127.0.0.1:1 --token "$admin" sp list
expect 1 "rest: a URL that is not http(s): usage" "$tamctl" -u ftp://127.0.0.1/ --token "$admin" sp list

kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
expect 0 "otrp-tamd -n accepts the database" "$build/otrp-tamd" -n -d "$db"
expect_text "configuration OK" "otrp-tamd -n says configuration OK"
expect 1 "otrp-tamd -n refuses a missing database" "$build/otrp-tamd" -n -d "$t/none.db"
expect 2 "otrp-tamd refuses a bad option value" "$build/otrp-tamd" -p notaport
