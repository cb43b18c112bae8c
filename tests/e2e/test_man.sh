#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages: clean under mandoc -Tlint, and complete: every configuration
# key, every otrp-tamctl command and every otrp-tamd option is documented.
# The lists come from the programs and the shipped configuration, so a new
# key, command or option without documentation fails here.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TAM_BUILD_DIR:-$top/build}
man=$top/docs/man
ok() { echo "PASS: $1"; }
no() { echo "FAIL: $1"; }

for p in otrp-tamd.8 otrp-tamctl.8 otrp-tamd.conf.5; do
	# from their own directory, so the pages find each other's cross-references
	out=$(cd "$man" && mandoc -Tlint "$p" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then ok "mandoc -Tlint $p"; else no "mandoc -Tlint $p: $out"; fi
done

# every key of conf/otrp-tamd.conf, as section.key, in otrp-tamd.conf(5)
keys=$(awk '/^\[/ { gsub(/[][]/, ""); s = $0 } /^[a-z_]+ =/ { print s "." $1 }' "$top/conf/otrp-tamd.conf")
[ -n "$keys" ] && ok "the shipped configuration lists keys" || no "no keys found"
for k in $keys; do
	if grep -q "^\.It Ic $k No" "$man/otrp-tamd.conf.5"; then ok "otrp-tamd.conf(5) documents $k"; else
		no "otrp-tamd.conf(5) lacks $k"; fi
done

# every otrp-tamctl command and verb in otrp-tamctl(8)
cmds=$("$build/otrp-tamctl" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
for c in $cmds; do
	verbs=$("$build/otrp-tamctl" "$c" --help 2>/dev/null | awk -v c="$c" '$1 == "otrp-tamctl" && $2 == c { print $3 }')
	if [ -z "$verbs" ]; then
		if grep -q "^\.It Cm $c\( \|$\)" "$man/otrp-tamctl.8"; then ok "otrp-tamctl(8) documents $c"; else
			no "otrp-tamctl(8) lacks $c"; fi
		continue
	fi
	for v in $verbs; do
		if grep -q "^\.It Cm $c $v\( \|$\)" "$man/otrp-tamctl.8"; then ok "otrp-tamctl(8) documents $c $v"; else
			no "otrp-tamctl(8) lacks $c $v"; fi
	done
done

# every long option of otrp-tamd in otrp-tamd(8)
opts=$("$build/otrp-tamd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
for o in $opts; do
	if grep -q "Fl Fl ${o#--}\( \|$\)" "$man/otrp-tamd.8"; then ok "otrp-tamd(8) documents $o"; else
		no "otrp-tamd(8) lacks $o"; fi
done

# the checks above can fail
if grep -q "^\.It Ic otrp.no_such_key No" "$man/otrp-tamd.conf.5"; then no "grep finds what is not there"; else
	ok "a key that does not exist is not found"; fi
