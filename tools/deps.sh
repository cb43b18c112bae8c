#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages the build and the tests need, only if missing.
set -eu
pkgs="gcc libc6-dev make pkg-config openssl ca-certificates curl
libmicrohttpd-dev libjansson-dev libssl-dev libsqlite3-dev libcjose-dev
libcmocka-dev libcurl4-openssl-dev libinih-dev libsystemd-dev systemd libgnutls28-dev mandoc
procps golang-go golang-github-getkin-kin-openapi-dev python3 python3-jwcrypto"
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; run as root: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
