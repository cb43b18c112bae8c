#!/bin/sh
# SPDX-License-Identifier: MIT
# The systemd unit as installed: systemd-analyze verify must pass without a
# single warning, and the unit must keep its readiness, reload and hardening
# settings. Prints one PASS/FAIL line per check.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-sd.XXXXXX")
trap 'rm -rf "$t"' EXIT

render() { # unit-in output
	sed -e "s|@SBINDIR@|$build|g" -e "s|@SYSCONFDIR@|/etc|g" "$1" > "$2"
}
verify() { # unit: rc 0 and no diagnostics at all
	out=$(systemd-analyze verify "$1" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ]
}

if ! command -v systemd-analyze >/dev/null; then
	echo "FAIL: systemd-analyze is not installed (make deps installs it)"
	exit 1
fi
unit=$t/otrp-tamd.service
render "$top/systemd/otrp-tamd.service.in" "$unit"
if verify "$unit"; then echo "PASS: systemd-analyze verify is clean"; else
	echo "FAIL: systemd-analyze verify: $(systemd-analyze verify "$unit" 2>&1 | head -5)"; fi

# the check must be able to fail: a typo in a directive is caught
sed 's/^Type=notify/Type=notifyy/' "$unit" > "$t/broken.service"
if verify "$t/broken.service"; then echo "FAIL: a broken unit passed verify"; else
	echo "PASS: a broken unit fails verify"; fi

for want in "Type=notify" "NotifyAccess=main" "ExecReload=/bin/kill -HUP \$MAINPID" \
    "ExecStartPre=$build/otrp-tamd -c /etc/otrp-tamd/otrp-tamd.conf --check-config" \
    "StateDirectory=otrp-tamd" "ConfigurationDirectory=otrp-tamd" "User=otrp-tamd" \
    "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "NoNewPrivileges=yes" \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "SystemCallFilter=@system-service" \
    "CapabilityBoundingSet=" "UMask=0077"; do
	if grep -qxF "$want" "$unit"; then echo "PASS: unit has $want"; else echo "FAIL: unit lacks $want"; fi
done
# every connection is a file: the unit must allow both listeners' connections and some more
conn=$(sed -n 's/^connection_limit = //p' "$top/conf/otrp-tamd.conf")
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
if [ -n "$conn" ] && [ -n "$nofile" ] && [ "$nofile" -ge $((2 * conn + 64)) ]; then
	echo "PASS: LimitNOFILE=$nofile covers two listeners of connection_limit $conn"
else
	echo "FAIL: LimitNOFILE=${nofile:-unset} is below 2 x connection_limit ${conn:-?} + 64"
fi
for f in otrp-tamd.sysusers otrp-tamd.tmpfiles; do
	if grep -q "otrp-tamd" "$top/systemd/$f"; then echo "PASS: $f names the otrp-tamd user"; else
		echo "FAIL: $f"; fi
done
