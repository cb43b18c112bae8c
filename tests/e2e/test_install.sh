#!/bin/sh
# SPDX-License-Identifier: MIT
# make install honours DESTDIR and PREFIX and puts every piece where packagers
# expect it; a second install keeps the operator's configuration; make
# uninstall removes what install added and nothing else.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
t=$(mktemp -d "${TMPDIR:-/tmp}/otrp-inst.XXXXXX")
trap 'rm -rf "$t"' EXIT
mk() { make -s -C "$top" BUILD="$(basename "$build")" DESTDIR="$t/root" PREFIX=/opt/tam "$@" >"$t/out" 2>&1; }

if mk install; then echo "PASS: make install"; else echo "FAIL: make install: $(tail -3 "$t/out")"; fi
for f in opt/tam/sbin/otrp-tamd opt/tam/bin/otrp-tamctl opt/tam/share/otrp-tamd/otrp-pki.sh \
    opt/tam/share/otrp-tamd/otrp-tamd.conf.example opt/tam/lib/systemd/system/otrp-tamd.service \
    opt/tam/lib/sysusers.d/otrp-tamd.conf opt/tam/lib/tmpfiles.d/otrp-tamd.conf \
    opt/tam/share/man/man8/otrp-tamd.8 opt/tam/share/man/man8/otrp-tamctl.8 \
    opt/tam/share/man/man5/otrp-tamd.conf.5 etc/otrp-tamd/otrp-tamd.conf; do
	if [ -f "$t/root/$f" ]; then echo "PASS: installs /$f"; else echo "FAIL: no /$f"; fi
done
[ -x "$t/root/opt/tam/sbin/otrp-tamd" ] && echo "PASS: the daemon is executable" || echo "FAIL: daemon mode"
if grep -q '^ExecStart=/opt/tam/sbin/otrp-tamd -c /etc/otrp-tamd/otrp-tamd.conf$' \
    "$t/root/opt/tam/lib/systemd/system/otrp-tamd.service"; then
	echo "PASS: the unit runs the installed daemon"
else
	echo "FAIL: the unit does not point at the installed daemon"
fi
echo "# operator's edit" >> "$t/root/etc/otrp-tamd/otrp-tamd.conf"
mk install
if grep -q "operator's edit" "$t/root/etc/otrp-tamd/otrp-tamd.conf"; then
	echo "PASS: a second install keeps the configuration"
else
	echo "FAIL: a second install replaced the configuration"
fi
if mk uninstall; then echo "PASS: make uninstall"; else echo "FAIL: make uninstall"; fi
left=$(cd "$t/root" && find . -type f | sort | tr '\n' ' ')
if [ "$left" = "./etc/otrp-tamd/otrp-tamd.conf " ]; then
	echo "PASS: uninstall leaves only the operator's configuration"
else
	echo "FAIL: uninstall left: $left"
fi
