# SPDX-License-Identifier: MIT
"""Check the published OTrP test vectors (docs/vectors/) with python3-jwcrypto,
an implementation independent of ours: every JWS verifies with the key of its
signer and its payload is the recorded TBS object, every JWE decrypts with the
recipient's key to the recorded plaintext, every encrypted TA opens to the
SP-signed bundle, which verifies with the SP key. Then, the other way, JWS and
JWE made by jwcrypto with each set's keys and algorithms are accepted by our
decoders (tests/tools/jose_tool.c). One PASS/FAIL line per check.
Usage: vectors_check.py VECTORS_DIR JOSE_TOOL"""
import base64
import glob
import json
import os
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import padding
from jwcrypto import jwe, jwk, jws

root, tool = sys.argv[1], sys.argv[2]
failures = 0
ALGS = ["RS256", "ES256", "RSA1_5", "RSA-OAEP", "ECDH-ES+A128KW",
        "A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"]


def check(name, ok, detail=""):
    global failures
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else ": " + str(detail)[:300]))
    if not ok:
        failures += 1


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def find(tbs, path):
    body = next(iter(tbs.values()))
    for part in path.split("."):
        body = body[part]
    return body


def check_vector(setname, keys, path):
    v = json.load(open(path))
    what = f"{setname} {os.path.basename(path)}"
    outer = json.loads(v["serialized"])
    name = next(iter(outer))
    obj = outer[name]
    if name == "GetDeviceStateResponse":
        obj = obj[0]["GetDeviceTEEStateResponse"]
    s = jws.JWS()
    s.allowed_algs = ALGS
    try:
        s.deserialize(json.dumps(obj), key=keys[v["signed_by"]])
        check(f"{what}: the JWS verifies with the {v['signed_by']} key",
              json.loads(s.payload) == v["tbs"], "payload is not the TBS object")
    except Exception as e:  # noqa: BLE001 - any failure is reported as such
        check(f"{what}: the JWS verifies with the {v['signed_by']} key", False, repr(e))
        return
    aeskey = None
    for enc in v["encrypted"]:
        if "recipient" in enc:
            e = jwe.JWE()
            e.allowed_algs = ALGS
            try:
                e.deserialize(json.dumps(find(v["tbs"], enc["path"])), key=keys[enc["recipient"]])
                want = enc["plaintext"]
                got = e.payload
                if enc.get("plaintext_encoding") == "base64url":
                    aeskey = got
                    ok = got == b64url(want)
                else:
                    ok = got == want.encode()
                check(f"{what}: {enc['path']} decrypts with the {enc['recipient']} key "
                      f"({enc['alg']}, {enc['enc']})", ok, "plaintext differs")
            except Exception as ex:  # noqa: BLE001
                check(f"{what}: {enc['path']} decrypts", False, repr(ex))
        else:
            eta = find(v["tbs"], "encrypted_ta")
            data = eta.get("ciphertadata") or eta.get("ciphernewtadata")
            dec = Cipher(algorithms.AES(aeskey), modes.CBC(bytes.fromhex(eta["iv"]))).decryptor()
            padded = dec.update(base64.b64decode(data)) + dec.finalize()
            unpad = padding.PKCS7(128).unpadder()
            bundle = unpad.update(padded) + unpad.finalize()
            check(f"{what}: the encrypted TA opens to the recorded bundle",
                  bundle == enc["plaintext"].encode())
            sp = jws.JWS()
            sp.allowed_algs = ALGS
            try:
                sp.deserialize(bundle.decode(), key=keys["sp"])
                check(f"{what}: the bundle verifies with the SP key", sp.payload.startswith(b"Hello"))
            except Exception as ex:  # noqa: BLE001
                check(f"{what}: the bundle verifies with the SP key", False, repr(ex))


def run(args, data):
    p = subprocess.run([tool] + args, input=data, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


for setdir in sorted(glob.glob(os.path.join(root, "*", "set.json"))):
    setdir = os.path.dirname(setdir)
    setname = os.path.basename(setdir)
    keys = {n: jwk.JWK.from_json(open(os.path.join(setdir, "keys", n + ".jwk")).read())
            for n in ("tam", "tee", "sp", "aik-sp1")}
    files = sorted(glob.glob(os.path.join(setdir, "[0-9][0-9]-*.json")))
    check(f"{setname}: 20 messages, every pair of the protocol",
          len(files) == 20 and {json.load(open(f))["message"] for f in files} >= {
              m + s for m in ("GetDeviceState", "CreateSD", "UpdateSD", "DeleteSD",
                              "InstallTA", "UpdateTA", "DeleteTA") for s in ("Request", "Response")})
    for f in files:
        check_vector(setname, keys, f)
    # Theirs to ours, with this set's keys and suite: what a TEE would send the TAM.
    first = json.load(open(os.path.join(setdir, "01-GetDeviceStateResponse.json")))
    edsi = next(e for e in first["encrypted"] if e["path"] == "edsi")
    plain = b'{"dsi":{"tee":{"name":"tee1"}}}'
    e = jwe.JWE(plain, protected=json.dumps({"alg": edsi["alg"], "enc": edsi["enc"]}))
    e.allowed_algs = ALGS
    e.add_recipient(keys["tam"])
    rc, out, err = run(["decrypt", os.path.join(setdir, "keys", "tam.jwk")], e.serialize().encode())
    check(f"{setname}: ours decrypts jwcrypto's {edsi['alg']} + {edsi['enc']} to the TAM key",
          rc == 0 and out == plain, err)
    s = jws.JWS(plain)
    s.add_signature(keys["tee"], alg=first["jws_alg"], protected=json.dumps({"alg": first["jws_alg"]}))
    rc, out, err = run(["verify", os.path.join(setdir, "keys", "tee.jwk")], s.serialize().encode())
    check(f"{setname}: ours verifies jwcrypto's {first['jws_alg']} by the TEE key",
          rc == 0 and out == plain, err)

sys.exit(0)
