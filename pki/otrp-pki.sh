#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Kickstart PKI for otrp-tamd tests and demos, with the openssl CLI only:
# an EC P-256 root, one intermediate CA per role (TAM, SP, TEE, and a broker
# CA for TLS client certificates) and leaves under them, the layout of the AIST OTrP prototype (root -> role CA -> leaf,
# plus a leaf + intermediate bundle). It never overwrites without --force and
# never leaves a half-written key: everything is made in a private staging
# directory inside DIR and renamed into place once every openssl step passed.
#
# Exit status: 0 done, 1 usage or missing CA, 2 a target file exists,
# 3 openssl or file-system failure.

set -eu

prog=${0##*/}
default_tamid=https://tam.example.test/tam
tmp=

usage() {
	cat <<EOF
usage: $prog [--ec|--rsa4096] [--ca-alg ec|rsa4096] [--tamid URI] [--force] DIR
       $prog issue [--ec|--rsa4096] [--expired] [--tamid URI] [--force] DIR ROLE NAME
       $prog revoke DIR ROLE NAME
       $prog crl DIR CA
       $prog broker-ca DIR
       $prog ocsp DIR

  DIR               create root/, tam/, sp/, tee/, broker/ CAs and the leaves
                    tam/tam, sp/sp1, tee/tee1 (.key, .crt, -chain.pem)
  issue DIR ROLE NAME
                    one more leaf ROLE/NAME under the existing ROLE CA
                    (ROLE is tam, sp or tee; the TEE CA issues TEE
                    identities only), or a TLS certificate: ROLE server
                    (under the TAM CA; serverAuth, SAN localhost/127.0.0.1/
                    ::1) or client (under the broker CA; clientAuth, for
                    brokers when otrp.tls_client_ca is broker/ca.crt)
  revoke DIR ROLE NAME
                    revoke ROLE/NAME.crt and reissue its CA's CRL (CA/ca.crl,
                    30 days; revocations kept in CA/ca-index.txt), where CA
                    is the role's (tam for server, broker for client)
  crl DIR CA        reissue CA/ca.crl (CA is tam, sp, tee or broker) from the
                    revocations so far (an empty CRL when there are none),
                    e.g. before it expires
  broker-ca DIR     add the broker CA to a PKI made before it existed
  ocsp DIR          OCSP responses (DER, good for 7 days) for each TAM
                    certificate (signed by the TAM CA; an alternate identity
                    issued with 'issue --ec DIR tam NAME' gets its own) and
                    the TAM CA (signed by the root) in tam/ocsp/, for otrp-tamd's
                    identity.ocsp_dir; a TAM certificate revoked with
                    'revoke DIR tam tam' gets a "revoked" response
  --ec              EC P-256 leaves instead of RSA-2048
  --rsa4096         RSA-4096 leaves instead of RSA-2048
  --ca-alg ALG      role CA keys: ec (P-256, default) or rsa4096
  --tamid URI       subjectAltName URI of TAM leaves
                    (default $default_tamid)
  --expired         issue a leaf whose validity ended last year
  --force           replace existing files instead of refusing
EOF
}

die() { # status message
	echo "$prog: $2" >&2
	exit "$1"
}

usage_error() {
	echo "$prog: $1" >&2
	usage >&2
	exit 1
}

cleanup() {
	if [ -n "$tmp" ]; then
		rm -rf "$tmp"
	fi
}

# Run openssl silently; on failure show what it said and stop with status 3.
ossl() {
	if ! openssl "$@" >"$tmp/openssl.log" 2>&1; then
		sed 's/^/  openssl: /' "$tmp/openssl.log" >&2
		die 3 "openssl $1 failed"
	fi
}

genkey() { # file ec|rsa2048|rsa4096
	case $2 in
	ec) ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1" ;;
	rsa2048) ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
	rsa4096) ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$1" ;;
	esac
}

# One throw-away config for req and ca. It names no paths (ca runs inside
# the staging directory), so nothing the user typed can inject config syntax
# except the tamid, which was checked against a URI character set.
write_config() { # tamid
	: >"$tmp/index.txt" || die 3 "cannot write $tmp/index.txt"
	cat >"$tmp/openssl.cnf" <<EOF || die 3 "cannot write $tmp/openssl.cnf"
[ req ]
distinguished_name = req_dn
prompt = no
utf8 = yes
string_mask = utf8only
[ req_dn ]
CN = unused
[ ca_tmp ]
database = index.txt
new_certs_dir = .
serial = serial.txt
unique_subject = no
[ pol_any ]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_role_ca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ leaf_rsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ leaf_ec ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ leaf_sign ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ leaf_tam_rsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:$1
[ leaf_server_rsa ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
[ leaf_server_ec ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
[ leaf_client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ leaf_tam_ec ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:$1
EOF
}

# Sign a CSR with openssl ca: it is the only CLI path in OpenSSL 3.0 that
# can back-date a certificate, so every CA-signed certificate takes it.
sign() { # csr issuer.crt issuer.key ext-section days|expired out
	if [ "$5" = expired ]; then
		y=$(date -u +%Y)
		ossl ca -batch -config "$tmp/openssl.cnf" -name ca_tmp -policy pol_any \
			-notext -rand_serial -md sha256 -preserveDN -extensions "$4" \
			-cert "$2" -keyfile "$3" -in "$1" -out "$6" \
			-startdate "$((y - 1))0101000000Z" -enddate "$((y - 1))1231235959Z"
	else
		ossl ca -batch -config "$tmp/openssl.cnf" -name ca_tmp -policy pol_any \
			-notext -rand_serial -md sha256 -preserveDN -extensions "$4" \
			-cert "$2" -keyfile "$3" -in "$1" -out "$6" -days "$5"
	fi
}

# An OCSP response for cert from its issuer, with the issuer's revocations
# (an openssl ca index, possibly absent) and the certificate itself as valid
# unless it is listed there.
ocsp_response() { # cert issuer.crt issuer.key index out
	serial=$(openssl x509 -in "$1" -noout -serial) || die 3 "cannot read $1"
	serial=${serial#serial=}
	: >"$tmp/ocsp-index.txt" || die 3 "cannot write the OCSP index"
	if [ -f "$4" ]; then
		cp "$4" "$tmp/ocsp-index.txt" || die 3 "cannot read $4"
	fi
	if ! cut -f4 "$tmp/ocsp-index.txt" | grep -qx "$serial"; then
		printf 'V\t491231235959Z\t\t%s\tunknown\t/CN=unused\n' "$serial" >>"$tmp/ocsp-index.txt"
	fi
	ossl ocsp -issuer "$2" -cert "$1" -no_nonce -reqout "$tmp/ocsp-req.der"
	ossl ocsp -index "$tmp/ocsp-index.txt" -rsigner "$2" -rkey "$3" -CA "$2" \
		-reqin "$tmp/ocsp-req.der" -respout "$5" -ndays 7
}

role_ou() {
	case $1 in
	tam) echo TAM ;;
	sp) echo SP ;;
	tee) echo TEE ;;
	broker) echo Broker ;;
	server) echo TLS Server ;;
	client) echo TLS Client ;;
	esac
}

# The CA a role's leaves come from: TLS servers are the TAM's, and clients
# (brokers) have their own, so that no TLS client certificate ever comes
# from the CA whose certificates identify devices.
ca_role() {
	case $1 in
	server) echo tam ;;
	client) echo broker ;;
	*) echo "$1" ;;
	esac
}

make_role_ca() { # role rootdir
	mkdir "$tmp/out/$1" || die 3 "cannot create $tmp/out/$1"
	genkey "$tmp/out/$1/ca.key" "$ca_alg"
	ossl req -new -config "$tmp/openssl.cnf" -key "$tmp/out/$1/ca.key" \
		-subj "/O=OTrP Test/OU=$(role_ou "$1")/CN=OTrP Test $(role_ou "$1") CA" \
		-out "$tmp/$1-ca.csr"
	sign "$tmp/$1-ca.csr" "$2/root/ca.crt" "$2/root/ca.key" \
		v3_role_ca 1825 "$tmp/out/$1/ca.crt"
}

# Leaf NAME under ROLE; the role CA is read from cadir (staging or DIR).
make_leaf() { # role name cadir
	if [ "$leaf_alg" = ec ]; then
		kind=ec
	else
		kind=rsa
	fi
	case $1 in
	sp) ext=leaf_sign ;;
	tam) ext=leaf_tam_$kind ;;
	tee) ext=leaf_$kind ;;
	server) ext=leaf_server_$kind ;;
	client) ext=leaf_client ;;
	esac
	ca=$(ca_role "$1")
	mkdir -p "$tmp/out/$1" || die 3 "cannot create $tmp/out/$1"
	genkey "$tmp/out/$1/$2.key" "$leaf_alg"
	ossl req -new -config "$tmp/openssl.cnf" -key "$tmp/out/$1/$2.key" \
		-subj "/O=OTrP Test/OU=$(role_ou "$1")/CN=$2" -out "$tmp/$1-$2.csr"
	sign "$tmp/$1-$2.csr" "$3/$ca/ca.crt" "$3/$ca/ca.key" "$ext" "$validity" \
		"$tmp/out/$1/$2.crt"
	cat "$tmp/out/$1/$2.crt" "$3/$ca/ca.crt" >"$tmp/out/$1/$2-chain.pem" ||
		die 3 "cannot write $2-chain.pem"
}

# Refuse (status 2) if any target exists, unless --force.
check_targets() { # relative paths
	if [ "$force" = yes ]; then
		return 0
	fi
	for f in "$@"; do
		if [ -e "$dir/$f" ] || [ -L "$dir/$f" ]; then
			die 2 "$dir/$f exists (use --force to replace it)"
		fi
	done
}

# Move staged files into DIR: certificates become world-readable, keys stay
# 0600 as genpkey wrote them under umask 077.
install_files() { # relative paths
	for f in "$@"; do
		case $f in
		*.key) ;;
		*) chmod 0644 "$tmp/out/$f" || die 3 "chmod $tmp/out/$f failed" ;;
		esac
		d=${f%/*}
		if [ ! -d "$dir/$d" ]; then
			(umask 022 && mkdir -p "$dir/$d") || die 3 "cannot create $dir/$d"
		fi
		mv -f "$tmp/out/$f" "$dir/$f" || die 3 "cannot move $f into $dir"
		echo "$dir/$f"
	done
}

# What to run when a CA is missing: a PKI made before the broker CA lacks only that one.
ca_hint() { # ca
	if [ "$1" = broker ] && [ -f "$p1/root/ca.key" ]; then
		echo "add it with '$prog broker-ca $p1'"
	else
		echo "create the PKI first with '$prog $p1'"
	fi
}

valid_tamid() {
	[ ${#1} -le 200 ] &&
		printf '%s\n' "$1" | grep -Eq '^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9:/?@!&()*+;=._~%-]+$' &&
		[ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]
}

valid_name() {
	[ ${#1} -le 64 ] && [ "$1" != ca ] &&
		printf '%s\n' "$1" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9._-]*$' &&
		[ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]
}

# ---- arguments ----

mode=init
if [ $# -gt 0 ]; then
	case $1 in
	issue | revoke | crl | ocsp | broker-ca)
		mode=$1
		shift
		;;
	esac
fi
leaf_alg=rsa2048
ca_alg=ec
tamid=
force=no
expired=no
npos=0
p1=''
p2=''
p3=''
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	--ec) leaf_alg=ec ;;
	--rsa4096) leaf_alg=rsa4096 ;;
	--force) force=yes ;;
	--expired)
		[ "$mode" = issue ] || usage_error "--expired only applies to issue"
		expired=yes
		;;
	--ca-alg)
		[ "$mode" = init ] || usage_error "--ca-alg does not apply to issue"
		[ $# -ge 2 ] || usage_error "--ca-alg needs a value"
		case $2 in
		ec | rsa4096) ca_alg=$2 ;;
		*) usage_error "--ca-alg must be ec or rsa4096" ;;
		esac
		shift
		;;
	--tamid)
		[ $# -ge 2 ] || usage_error "--tamid needs a value"
		valid_tamid "$2" || usage_error "--tamid must be a URI (scheme:rest, no spaces, quotes, '#', '\$' or ',')"
		tamid=$2
		shift
		;;
	--)
		shift
		break
		;;
	-*) usage_error "unknown option $1" ;;
	*)
		npos=$((npos + 1))
		case $npos in
		1) p1=$1 ;;
		2) p2=$1 ;;
		3) p3=$1 ;;
		*) usage_error "too many arguments" ;;
		esac
		;;
	esac
	shift
done
for a in "$@"; do
	npos=$((npos + 1))
	case $npos in
	1) p1=$a ;;
	2) p2=$a ;;
	3) p3=$a ;;
	*) usage_error "too many arguments" ;;
	esac
done

if [ "$mode" = init ]; then
	[ "$npos" -eq 1 ] || usage_error "expected one DIR"
elif [ "$mode" = ocsp ] || [ "$mode" = broker-ca ]; then
	[ "$npos" -eq 1 ] || usage_error "$mode expects DIR"
	[ "$force" = no ] && [ "$expired" = no ] && [ -z "$tamid" ] && [ "$leaf_alg" = rsa2048 ] ||
		usage_error "$mode takes no options"
elif [ "$mode" = revoke ] || [ "$mode" = crl ]; then
	if [ "$mode" = revoke ]; then
		[ "$npos" -eq 3 ] || usage_error "revoke expects DIR ROLE NAME"
		valid_name "$p3" || usage_error "NAME must be 1-64 of [A-Za-z0-9._-], not 'ca'"
		case $p2 in
		tam | sp | tee | server | client) ;;
		*) usage_error "ROLE must be tam, sp, tee, server or client" ;;
		esac
	else
		[ "$npos" -eq 2 ] || usage_error "crl expects DIR CA"
		case $p2 in
		tam | sp | tee | broker) ;;
		*) usage_error "CA must be tam, sp, tee or broker" ;;
		esac
	fi
	[ "$force" = no ] && [ "$expired" = no ] && [ -z "$tamid" ] && [ "$leaf_alg" = rsa2048 ] ||
		usage_error "$mode takes no options"
else
	[ "$npos" -eq 3 ] || usage_error "issue expects DIR ROLE NAME"
	case $p2 in
	tam | sp | tee | server | client) ;;
	*) usage_error "ROLE must be tam, sp, tee, server or client" ;;
	esac
	valid_name "$p3" || usage_error "NAME must be 1-64 of [A-Za-z0-9._-], not starting with . or -, and not 'ca'"
	if [ -n "$tamid" ] && [ "$p2" != tam ]; then
		usage_error "--tamid only applies to TAM leaves"
	fi
fi
[ -n "$p1" ] || usage_error "DIR must not be empty"
[ -n "$tamid" ] || tamid=$default_tamid
command -v openssl >/dev/null 2>&1 || die 3 "openssl not found"

# ---- work ----

umask 077
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$mode" = ocsp ]; then
	# One response per TAM leaf (an alternate identity has its own), one for the TAM CA.
	files="tam/ocsp/ca.der"
	for crt in "$p1"/tam/*.crt; do
		name=${crt##*/}
		name=${name%.crt}
		[ "$name" = ca ] || files="$files tam/ocsp/$name.der"
	done
	for f in tam/tam.crt tam/ca.crt tam/ca.key root/ca.crt root/ca.key; do
		[ -f "$p1/$f" ] || die 1 "$p1/$f missing: create the PKI first with '$prog $p1'"
	done
	# Fresh responses replace the old ones: that is what they are for.
	force=yes
elif [ "$mode" = revoke ] || [ "$mode" = crl ]; then
	# The CRL and its database are updated in place: they only ever grow.
	ca=$(ca_role "$p2")
	files="$ca/ca.crl $ca/ca-index.txt"
	for f in ca.crt ca.key; do
		[ -f "$p1/$ca/$f" ] || die 1 "$p1/$ca/$f missing: $(ca_hint "$ca")"
	done
	if [ "$mode" = revoke ]; then
		[ -f "$p1/$p2/$p3.crt" ] || die 1 "$p1/$p2/$p3.crt missing"
	fi
	force=yes
elif [ "$mode" = broker-ca ]; then
	files="broker/ca.key broker/ca.crt"
	for f in root/ca.crt root/ca.key; do
		[ -f "$p1/$f" ] || die 1 "$p1/$f missing: create the PKI first with '$prog $p1'"
	done
elif [ "$mode" = init ]; then
	files="root/ca.key root/ca.crt tam/ca.key tam/ca.crt sp/ca.key sp/ca.crt tee/ca.key tee/ca.crt
broker/ca.key broker/ca.crt
tam/tam.key tam/tam.crt tam/tam-chain.pem sp/sp1.key sp/sp1.crt sp/sp1-chain.pem
tee/tee1.key tee/tee1.crt tee/tee1-chain.pem"
else
	files="$p2/$p3.key $p2/$p3.crt $p2/$p3-chain.pem"
	ca=$(ca_role "$p2")
	for f in ca.crt ca.key; do
		[ -f "$p1/$ca/$f" ] || die 1 "$p1/$ca/$f missing: $(ca_hint "$ca")"
	done
fi

if [ ! -d "$p1" ]; then
	(umask 022 && mkdir -p "$p1") || die 3 "cannot create $p1"
fi
dir=$(cd "$p1" && pwd) || die 3 "cannot enter $p1"
# shellcheck disable=SC2086 # files is a list of plain relative paths
check_targets $files
tmp=$(mktemp -d "$dir/.otrp-pki.XXXXXX") || die 3 "cannot create a staging directory in $dir"
mkdir "$tmp/out" || die 3 "cannot create $tmp/out"
# openssl ca resolves its database and output paths against the working directory.
cd "$tmp" || die 3 "cannot enter $tmp"
write_config "$tamid"
validity=825

if [ "$mode" = init ]; then
	mkdir "$tmp/out/root" || die 3 "cannot create $tmp/out/root"
	genkey "$tmp/out/root/ca.key" ec
	ossl req -x509 -new -config "$tmp/openssl.cnf" -key "$tmp/out/root/ca.key" \
		-sha256 -days 3650 -extensions v3_root \
		-subj "/O=OTrP Test/CN=OTrP Test Root CA" -out "$tmp/out/root/ca.crt"
	for r in tam sp tee broker; do
		make_role_ca "$r" "$tmp/out"
	done
	make_leaf tam tam "$tmp/out"
	make_leaf sp sp1 "$tmp/out"
	make_leaf tee tee1 "$tmp/out"
elif [ "$mode" = ocsp ]; then
	mkdir -p "$tmp/out/tam/ocsp" || die 3 "cannot create $tmp/out/tam/ocsp"
	for f in $files; do
		name=${f##*/}
		name=${name%.der}
		[ "$name" = ca ] && continue
		ocsp_response "$dir/tam/$name.crt" "$dir/tam/ca.crt" "$dir/tam/ca.key" \
			"$dir/tam/ca-index.txt" "$tmp/out/tam/ocsp/$name.der"
	done
	ocsp_response "$dir/tam/ca.crt" "$dir/root/ca.crt" "$dir/root/ca.key" "$dir/root/ca-index.txt" \
		"$tmp/out/tam/ocsp/ca.der"
elif [ "$mode" = broker-ca ]; then
	make_role_ca broker "$dir"
elif [ "$mode" = issue ]; then
	if [ "$expired" = yes ]; then
		validity=expired
	fi
	make_leaf "$p2" "$p3" "$dir"
else
	mkdir "$tmp/out/$ca" || die 3 "cannot create $tmp/out/$ca"
	if [ -f "$dir/$ca/ca-index.txt" ]; then
		cp "$dir/$ca/ca-index.txt" "$tmp/index.txt" || die 3 "cannot read $ca/ca-index.txt"
	fi
	if [ "$mode" = revoke ]; then
		ossl ca -batch -config "$tmp/openssl.cnf" -name ca_tmp -revoke "$dir/$p2/$p3.crt" \
			-cert "$dir/$ca/ca.crt" -keyfile "$dir/$ca/ca.key" -md sha256
	fi
	ossl ca -batch -config "$tmp/openssl.cnf" -name ca_tmp -gencrl -crldays 30 -md sha256 \
		-cert "$dir/$ca/ca.crt" -keyfile "$dir/$ca/ca.key" -out "$tmp/out/$ca/ca.crl"
	cp "$tmp/index.txt" "$tmp/out/$ca/ca-index.txt" || die 3 "cannot stage ca-index.txt"
fi

# shellcheck disable=SC2086
install_files $files
