# SPDX-License-Identifier: MIT
"""Cross-check our JOSE module against python3-jwcrypto, an independent
implementation: every JWE we make decrypts there, every JWE it makes
decrypts here, and the same for JWS signatures. Prints one PASS/FAIL line
per check. Usage: jwcrypto_check.py JOSE_TOOL WORKDIR"""
import json
import subprocess
import sys

from jwcrypto import jwe, jwk, jws

tool, work = sys.argv[1], sys.argv[2]
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures += 1


def run(args, data):
    p = subprocess.run([tool] + args, input=data, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


keys = {}
for name in ("rsa", "ec"):
    with open(f"{work}/{name}.pem", "rb") as f:
        keys[name] = (f"{work}/{name}.pem", jwk.JWK.from_pem(f.read()))

algs = (("RSA1_5", "rsa"), ("RSA-OAEP", "rsa"), ("ECDH-ES+A128KW", "ec"))
encs = ("A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM")
plain = b'{"did":"x","dsi":{"tee":{"name":"t"}},"bytes":"\xc3\xa9"}' * 3

for alg, kname in algs:
    path, key = keys[kname]
    for enc in encs:
        for form in ("general", "flat"):
            what = f"{alg} {enc} {form}"
            rc, out, err = run(["encrypt", path, alg, enc, form], plain)
            if rc != 0:
                check(f"ours encrypts {what}", False, err)
                continue
            try:
                obj = jwe.JWE()
                obj.allowed_algs = [alg, enc]
                obj.deserialize(out.decode(), key=key)
                check(f"jwcrypto decrypts our {what}", obj.payload == plain)
            except Exception as e:  # noqa: BLE001 - report any failure as a FAIL line
                check(f"jwcrypto decrypts our {what}", False, repr(e))
        # theirs, JSON serialization with alg and enc protected
        obj = jwe.JWE(plain, protected=json.dumps({"alg": alg, "enc": enc}))
        obj.allowed_algs = [alg, enc]
        obj.add_recipient(key)
        rc, out, err = run(["decrypt", path], obj.serialize().encode())
        check(f"ours decrypts jwcrypto's {alg} {enc}", rc == 0 and out == plain, err)
        # theirs, two recipients: we accept exactly one, and say so
        if enc == "A128GCM":
            other = jwk.JWK.generate(kty="RSA", size=2048)
            two = jwe.JWE(plain, protected=json.dumps({"enc": enc}))
            two.allowed_algs = [alg, "RSA-OAEP", enc]
            two.add_recipient(key, header=json.dumps({"alg": alg}))
            two.add_recipient(other, header=json.dumps({"alg": "RSA-OAEP"}))
            rc, out, err = run(["decrypt", path], two.serialize().encode())
            check(f"ours refuses two recipients ({alg})", rc == 1 and "one recipient" in err, err)

for alg, kname in (("RS256", "rsa"), ("ES256", "ec")):
    path, key = keys[kname]
    rc, out, err = run(["sign", path, alg], plain)
    try:
        s = jws.JWS()
        s.deserialize(out.decode(), key=key)
        check(f"jwcrypto verifies our {alg}", rc == 0 and s.payload == plain)
    except Exception as e:  # noqa: BLE001
        check(f"jwcrypto verifies our {alg}", False, repr(e) + err)
    s = jws.JWS(plain)
    s.add_signature(key, alg=alg, protected=json.dumps({"alg": alg}))
    rc, out, err = run(["verify", path], s.serialize().encode())
    check(f"ours verifies jwcrypto's {alg}", rc == 0 and out == plain, err)
    # one bit flipped in their signature: refused
    flat = json.loads(s.serialize())
    sig = flat["signature"]
    flat["signature"] = ("B" if sig[0] != "B" else "C") + sig[1:]
    rc, out, err = run(["verify", path], json.dumps(flat).encode())
    check(f"ours refuses an altered jwcrypto {alg}", rc == 1, err)

sys.exit(0)
