#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run`: a demo TAM on 127.0.0.1 with its own PKI and database under a
# git-ignored state directory. The first run creates everything (PKI, TAM
# identity, trust anchor, a demo SP, a signed demo TA, an enrolled demo TEE
# with that TA assigned); later runs reuse it. Runs the daemon in the foreground.
#   tools/demo-run.sh BUILD_DIR STATE_DIR      (PORT=8080 by default)
set -eu
build=$1
state=$2
port=${PORT:-8080}
api_port=${API_PORT:-8081}
taid=8d82573a-926d-4754-9353-32dc29997f74
db="$state/tamd.db"
ctl() { "$build/otrp-tamctl" -d "$db" "$@"; }

mkdir -p "$state"
if [ ! -f "$state/pki/root/ca.crt" ]; then
	echo "demo: creating PKI in $state/pki"
	sh pki/otrp-pki.sh "$state/pki" >/dev/null
fi
if [ ! -f "$db" ]; then
	echo "demo: creating database $db"
	ctl init --key "$state/pki/tam/tam.key" --cert "$state/pki/tam/tam-chain.pem" >/dev/null
	# Trust the TEE CA, not the root: the root also issues the TAM and SP CAs.
	ctl trust-anchor add demo-tee-ca "$state/pki/tee/ca.crt"
	ctl sp add demo-sp "$state/pki/sp/sp1.crt"
	printf 'hello from the otrp-tamd demo TA\n' > "$state/demo-ta.bin"
	ctl ta sign --key "$state/pki/sp/sp1.key" "$state/demo-ta.bin" "$state/demo-ta.jws"
	ctl ta upload demo-sp "$taid" 1.0 "$state/demo-ta.jws" --name hello-ta >/dev/null
	ctl device enroll --cert "$state/pki/tee/tee1.crt" --name demo-tee >/dev/null
	ctl assign demo-tee "$taid"
fi
if [ ! -s "$state/admin.token" ]; then
	(umask 077 && ctl token create --role admin --description "make run" > "$state/admin.token" 2>/dev/null)
fi
url="http://127.0.0.1:$port/tam"
mock="$build/mock-tee --url $url --state $state/tee --key $state/pki/tee/tee1.key --cert $state/pki/tee/tee1.crt --cacert $state/pki/tee/ca.crt --tam-anchor $state/pki/root/ca.crt"
cat <<EOT

otrp-tamd demo: OTrP endpoint $url, management API http://127.0.0.1:$api_port/api/v1
  database $db, PKI $state/pki, TA $taid assigned to device demo-tee

Try, in another terminal:
  # play the device: its first session creates the SD and installs the TA
  $mock
  # desired against observed state
  $build/otrp-tamctl -d $db device show demo-tee
  # take the TA away again; the next session deletes it
  $build/otrp-tamctl -d $db unassign demo-tee $taid && $mock
  # the raw protocol: an empty POST opens a session
  curl -s -X POST -H 'Content-Type: application/otrp+json' --data-binary '' $url
  # the management API with the demo admin token ($state/admin.token)
  $build/otrp-tamctl -u http://127.0.0.1:$api_port --token-file $state/admin.token device list
  curl -s -H "Authorization: Bearer \$(cat $state/admin.token)" http://127.0.0.1:$api_port/api/v1/tas
  # health and Prometheus metrics on the same listener
  curl -s http://127.0.0.1:$api_port/healthz; curl -s http://127.0.0.1:$api_port/metrics

Stop with Ctrl-C.
EOT
exec "$build/otrp-tamd" -d "$db" -l 127.0.0.1 -p "$port" -o "api.port=$api_port"
