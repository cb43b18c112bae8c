#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Black-box test of pki/otrp-pki.sh: run it into a temporary directory and
# check the result with the openssl CLI only. Prints one "PASS: x" or
# "FAIL: x" line per check (tests/run.sh counts them); exit status 1 if any
# check failed. Run as `sh tests/e2e/test_pki_script.sh` from anywhere.
set -u

here=$(cd "$(dirname "$0")" && pwd)
script="$here/../../pki/otrp-pki.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/test_pki_script.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log="$work/log"
nfail=0

pass() { echo "PASS: $1"; }
fail() {
	echo "FAIL: $1"
	nfail=$((nfail + 1))
	if [ -s "$log" ]; then
		tail -n 5 "$log" | sed 's/^/    | /'
	fi
}
# check WHAT CMD...: PASS if CMD succeeds (its output goes to the log)
check() {
	what=$1
	shift
	: >"$log"
	if "$@" >>"$log" 2>&1; then pass "$what"; else fail "$what"; fi
}
pki() { sh "$script" "$@"; }
# pki_status WANT ARGS...: run the script and succeed if it exits with WANT
pki_status() {
	want=$1
	shift
	pki "$@" >"$work/out" 2>"$work/err"
	st=$?
	cat "$work/out" "$work/err"
	[ "$st" -eq "$want" ]
}
all_modes() { # DIR PATTERN MODE: some files match PATTERN and all have exactly MODE
	[ -n "$(find "$1" -type f -name "$2")" ] &&
		[ -z "$(find "$1" -type f -name "$2" ! -perm "$3")" ]
}
verify() { # DIR ROLE NAME
	openssl verify -CAfile "$1/root/ca.crt" -untrusted "$1/$2/ca.crt" "$1/$2/$3.crt" &&
		openssl verify -x509_strict -CAfile "$1/root/ca.crt" -untrusted "$1/$2/$3-chain.pem" \
			"$1/$2/$3.crt"
}
sums() { find "$1" -type f | sort | xargs cksum; }
is_ec_key() { openssl pkey -in "$1" -noout -text | grep -q 'ASN1 OID: prime256v1'; }
is_rsa_key() { # FILE BITS
	openssl pkey -in "$1" -noout -text | grep -q "Private-Key: ($2 bit"
}
ext_has() { # CERT EXT TEXT
	openssl x509 -in "$1" -noout -ext "$2" | grep -q "$3"
}
no_staging() { [ -z "$(find "$1" -name '.otrp-pki.*')" ]; }

files="root/ca.key root/ca.crt tam/ca.key tam/ca.crt sp/ca.key sp/ca.crt tee/ca.key tee/ca.crt
broker/ca.key broker/ca.crt
tam/tam.key tam/tam.crt tam/tam-chain.pem sp/sp1.key sp/sp1.crt sp/sp1-chain.pem
tee/tee1.key tee/tee1.crt tee/tee1-chain.pem"
layout() {
	for f in $files; do
		[ -f "$1/$f" ] || { echo "missing $1/$f"; return 1; }
	done
}
one_line_per_file() { [ "$(wc -l <"$work/out")" -eq 19 ]; }

command -v openssl >/dev/null 2>&1 || { fail "openssl CLI available"; exit 1; }
[ -f "$script" ] || { fail "script found at $script"; exit 1; }

# ---- default PKI ----
d="$work/pki"
tamid="https://tam.e2e.example/otrp"
check "create PKI (exit 0)" pki_status 0 --tamid "$tamid" "$d"
check "one output line per file created" one_line_per_file
check "layout created" layout "$d"
check "private keys are mode 0600" all_modes "$d" '*.key' 600
check "certificates are mode 0644" all_modes "$d" '*.crt' 644
check "chain bundles are mode 0644" all_modes "$d" '*.pem' 644
check "no staging directory left" no_staging "$d"
check "TAM chain verifies" verify "$d" tam tam
check "SP chain verifies" verify "$d" sp sp1
check "TEE chain verifies" verify "$d" tee tee1
check "root is self-signed and trusted alone" openssl verify -CAfile "$d/root/ca.crt" "$d/root/ca.crt"
check "root key is EC P-256" is_ec_key "$d/root/ca.key"
check "role CA key is EC P-256 by default" is_ec_key "$d/tee/ca.key"
check "leaf keys are RSA-2048 by default" is_rsa_key "$d/tee/tee1.key" 2048
check "role CA has pathlen:0" ext_has "$d/tee/ca.crt" basicConstraints 'pathlen:0'
check "root basicConstraints is critical CA:TRUE" ext_has "$d/root/ca.crt" basicConstraints 'critical'
check "leaf is CA:FALSE" ext_has "$d/tee/tee1.crt" basicConstraints 'CA:FALSE'
check "TAM SAN carries the tamid" ext_has "$d/tam/tam.crt" subjectAltName "URI:$tamid"
check "TEE leaf key usage has keyEncipherment" ext_has "$d/tee/tee1.crt" keyUsage 'Digital Signature, Key Encipherment'
check "SP leaf key usage is digitalSignature only" sh -c \
	"openssl x509 -in '$d/sp/sp1.crt' -noout -ext keyUsage | tail -n 1 | grep -qx ' *Digital Signature'"
check "leaf has authority key identifier" ext_has "$d/tee/tee1.crt" authorityKeyIdentifier ':'

# ---- idempotence ----
sums "$d" >"$work/before"
check "second run refuses (exit 2)" pki_status 2 "$d"
check "refusal names the file" grep -q 'root/ca.key exists' "$work/err"
sums "$d" >"$work/after"
check "refusal left files byte-identical" cmp "$work/before" "$work/after"
cp "$d/tam/tam.key" "$work/tam.key.old"
check "--force regenerates (exit 0)" pki_status 0 --force "$d"
check "--force made a new key" sh -c "! cmp -s '$work/tam.key.old' '$d/tam/tam.key'"
check "chain verifies after --force" verify "$d" tee tee1
check "keys still 0600 after --force" all_modes "$d" '*.key' 600
check "default tamid after --force" ext_has "$d/tam/tam.crt" subjectAltName 'URI:https://tam.example.test/tam'

# ---- issue ----
check "issue adds a leaf (exit 0)" pki_status 0 issue "$d" tee tee2
check "issued leaf verifies" verify "$d" tee tee2
check "issued key is mode 0600" all_modes "$d/tee" tee2.key 600
check "issue refuses an existing leaf (exit 2)" pki_status 2 issue "$d" tee tee2
check "issue --ec gives an EC leaf" pki_status 0 issue --ec "$d" sp sp-ec
check "EC SP leaf is P-256 and verifies" sh -c \
	"openssl pkey -in '$d/sp/sp-ec.key' -noout -text | grep -q prime256v1 && openssl verify -CAfile '$d/root/ca.crt' -untrusted '$d/sp/ca.crt' '$d/sp/sp-ec.crt'"
check "issue --expired (exit 0)" pki_status 0 issue --expired "$d" tee old
check "expired leaf fails openssl verify with 'expired'" sh -c \
	"! openssl verify -CAfile '$d/root/ca.crt' -untrusted '$d/tee/ca.crt' '$d/tee/old.crt' >'$work/v' 2>&1 && grep -q expired '$work/v'"
check "issue --tamid sets the SAN of a new TAM leaf" pki_status 0 issue --tamid urn:tam:renewed "$d" tam tam2
check "renewed TAM leaf carries the new tamid" ext_has "$d/tam/tam2.crt" subjectAltName 'URI:urn:tam:renewed'

# ---- brokers: their own CA, never the TEE CA ----
check "issue client (exit 0)" pki_status 0 issue "$d" client b1
check "a client certificate chains to the broker CA" sh -c \
	"openssl verify -x509_strict -CAfile '$d/root/ca.crt' -untrusted '$d/client/b1-chain.pem' '$d/client/b1.crt' >/dev/null &&
	openssl verify -partial_chain -CAfile '$d/broker/ca.crt' '$d/client/b1.crt' >/dev/null"
check "and not to the TEE CA" sh -c \
	"! openssl verify -partial_chain -CAfile '$d/tee/ca.crt' '$d/client/b1.crt' >/dev/null 2>&1"
check "the broker CA is not the TEE CA" sh -c \
	"[ \"\$(openssl x509 -in '$d/broker/ca.crt' -noout -subject)\" != \"\$(openssl x509 -in '$d/tee/ca.crt' -noout -subject)\" ] &&
	! cmp -s '$d/broker/ca.key' '$d/tee/ca.key'"
check "broker CA subject names the role" sh -c "openssl x509 -in '$d/broker/ca.crt' -noout -subject | grep -q 'OU *= *Broker'"
check "the broker CA has pathlen:0" ext_has "$d/broker/ca.crt" basicConstraints 'pathlen:0'
check "a client certificate is for TLS clients" ext_has "$d/client/b1.crt" extendedKeyUsage 'TLS Web Client Authentication'
check "a TEE leaf names no TLS purpose" sh -c \
	"! openssl x509 -in '$d/tee/tee1.crt' -noout -ext extendedKeyUsage 2>/dev/null | grep -q 'TLS'"
check "revoke client lists it in the broker CA's CRL" sh -c \
	"sh '$script' revoke '$d' client b1 >/dev/null &&
	openssl crl -in '$d/broker/ca.crl' -CAfile '$d/broker/ca.crt' -noout 2>/dev/null &&
	openssl crl -in '$d/broker/ca.crl' -noout -text | grep -q \"Serial Number: \$(openssl x509 -in '$d/client/b1.crt' -noout -serial | cut -d= -f2)\""
check "the TEE CA's CRL does not list it" sh -c \
	"! openssl crl -in '$d/tee/ca.crl' -noout -text 2>/dev/null | grep -q \"Serial Number: \$(openssl x509 -in '$d/client/b1.crt' -noout -serial | cut -d= -f2)\""
check "crl reissues the broker CA's CRL" pki crl "$d" broker
o="$work/old"
check "a PKI without a broker CA (made before it existed)" sh -c \
	"sh '$script' '$o' >/dev/null && rm -r '$o/broker'"
check "issue client there exits 1" pki_status 1 issue "$o" client b1
check "and says how to add the broker CA" grep -q "broker-ca" "$work/err"
check "broker-ca adds it (exit 0)" pki_status 0 broker-ca "$o"
check "broker-ca made two files" sh -c "[ \$(wc -l <'$work/out') -eq 2 ] && [ -f '$o/broker/ca.crt' ] && [ -f '$o/broker/ca.key' ]"
check "the added broker CA chains to the root" openssl verify -CAfile "$o/root/ca.crt" "$o/broker/ca.crt"
check "broker-ca refuses to replace it (exit 2)" pki_status 2 broker-ca "$o"
check "issue client works then" pki_status 0 issue "$o" client b2

# ---- --ec and --ca-alg rsa4096 ----
e="$work/ec"
check "create PKI with --ec --ca-alg rsa4096" pki_status 0 --ec --ca-alg rsa4096 "$e"
check "--ec gives EC leaves" sh -c "openssl pkey -in '$e/tee/tee1.key' -noout -text | grep -q prime256v1 && openssl pkey -in '$e/tam/tam.key' -noout -text | grep -q prime256v1"
check "EC TEE leaf key usage has keyAgreement" ext_has "$e/tee/tee1.crt" keyUsage 'Key Agreement'
check "--ca-alg rsa4096 gives RSA-4096 role CAs" is_rsa_key "$e/tam/ca.key" 4096
check "EC leaf chain verifies" verify "$e" tee tee1

# ---- revocation ----
check "crl issues an empty CRL" pki crl "$d" tee
check "the CRL verifies against the TEE CA" openssl crl -in "$d/tee/ca.crl" -CAfile "$d/tee/ca.crt" -noout
check "the empty CRL lists nothing" sh -c "! openssl crl -in '$d/tee/ca.crl' -noout -text | grep -q 'Serial Number'"
serial=$(openssl x509 -in "$d/tee/tee1.crt" -noout -serial | cut -d= -f2)
check "revoke lists the certificate" sh -c "sh '$script' revoke '$d' tee tee1 >/dev/null && openssl crl -in '$d/tee/ca.crl' -noout -text | grep -q 'Serial Number: $serial'"
check "openssl verify -crl_check refuses the revoked leaf" sh -c "cat '$d/tee/ca.crt' '$d/tee/ca.crl' > '$work/crlbundle.pem'; ! openssl verify -partial_chain -crl_check -CAfile '$work/crlbundle.pem' '$d/tee/tee1.crt' >/dev/null 2>&1"
check "revocations accumulate" sh -c "sh '$script' issue '$d' tee tee-r2 >/dev/null && sh '$script' revoke '$d' tee tee-r2 >/dev/null && [ \$(openssl crl -in '$d/tee/ca.crl' -noout -text | grep -c 'Serial Number') -eq 2 ]"
check "revoke of a missing leaf exits 1" pki_status 1 revoke "$d" tee nobody
check "revoke with options exits 1" pki_status 1 revoke --force "$d" tee tee1
check "crl of a bad role exits 1" pki_status 1 crl "$d" server
check "revoke of a bad role exits 1" pki_status 1 revoke "$d" broker ca

# ---- usage and failures ----
check "no argument exits 1" pki_status 1
check "unknown option exits 1" pki_status 1 --bogus "$work/x"
check "usage text printed" grep -q '^usage:' "$work/err"
check "bad --ca-alg exits 1" pki_status 1 --ca-alg dsa "$work/x"
check "bad --tamid exits 1" pki_status 1 --tamid 'not a uri' "$work/x"
check "bad role exits 1" pki_status 1 issue "$d" ree r1
check "bad name exits 1" pki_status 1 issue "$d" tee ../evil
check "--expired without issue exits 1" pki_status 1 --expired "$work/x"
check "issue without a CA exits 1" pki_status 1 issue "$work/none" tee t
check "usage errors created nothing" sh -c "[ ! -e '$work/x' ] && [ ! -e '$work/none' ]"

# An openssl that works a few times and then fails: nothing half-made may stay.
mkdir "$work/bin"
real=$(command -v openssl)
cat >"$work/bin/openssl" <<EOF
#!/bin/sh
n=\$(cat "$work/bin/count" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n >"$work/bin/count"
[ \$n -lt 6 ] || { echo "injected failure" >&2; exit 1; }
exec "$real" "\$@"
EOF
chmod +x "$work/bin/openssl"
f="$work/failing"
check "openssl failure exits 3" sh -c "PATH='$work/bin':\$PATH sh '$script' '$f' >'$work/out' 2>'$work/err'; [ \$? -eq 3 ]"
check "openssl failure leaves no key or staging directory" sh -c "[ -z \"\$(find '$f' -type f)\" ] && [ -z \"\$(find '$f' -name '.otrp-pki.*')\" ]"

[ "$nfail" -eq 0 ]
