#!/usr/bin/python3
"""cosign's encrypted private key format, implemented apart from berth (python3-nacl's
secretbox, hashlib's scrypt, python3-cryptography), for the tests that check berth's key files
against it: the PEM block "ENCRYPTED SIGSTORE PRIVATE KEY" holds go-securesystemslib's JSON
{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name":
"nacl/secretbox", "nonce"}, "ciphertext"}, the PKCS#8 key sealed under scrypt(password, salt).

usage: cosign-key.py decrypt KEY             the PKCS#8 PEM on stdout
       cosign-key.py encrypt PEM OUT [N]     a cosign key file from a PEM private key
The password is $BERTH_PASSWORD (empty when unset)."""
import base64
import hashlib
import json
import os
import re
import sys

import nacl.secret
import nacl.utils
from cryptography.hazmat.primitives import serialization

LABELS = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")


def scrypt_key(password, salt, n, r, p):
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=256 * r * (n + p + 2))


def decrypt(path, password):
    text = open(path, encoding="ascii").read()
    m = re.search(r"-----BEGIN ([A-Z ]+)-----\n(.*?)\n-----END \1-----", text, re.S)
    if not m or m.group(1) not in LABELS:
        sys.exit(f"{path}: not a cosign private key")
    doc = json.loads(base64.b64decode(m.group(2)))
    kdf, cipher = doc["kdf"], doc["cipher"]
    assert kdf["name"] == "scrypt" and cipher["name"] == "nacl/secretbox", doc
    params = kdf["params"]
    key = scrypt_key(password, base64.b64decode(kdf["salt"]), params["N"], params["r"],
                     params["p"])
    der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(doc["ciphertext"]),
                                             base64.b64decode(cipher["nonce"]))
    private = serialization.load_der_private_key(der, password=None)
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def encrypt(pem_path, out, password, n):
    private = serialization.load_pem_private_key(open(pem_path, "rb").read(), password=None)
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    salt = nacl.utils.random(32)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    sealed = nacl.secret.SecretBox(scrypt_key(password, salt, n, 8, 1)).encrypt(der, nonce)
    doc = {"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1},
                   "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed.ciphertext).decode()}
    body = base64.b64encode(json.dumps(doc).encode()).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    with open(out, "w", encoding="ascii") as f:
        f.write(f"-----BEGIN {LABELS[0]}-----\n" + "\n".join(lines) +
                f"\n-----END {LABELS[0]}-----\n")


def main():
    password = os.environ.get("BERTH_PASSWORD", "").encode()
    if len(sys.argv) == 3 and sys.argv[1] == "decrypt":
        sys.stdout.write(decrypt(sys.argv[2], password).decode())
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "encrypt":
        encrypt(sys.argv[2], sys.argv[3], password, int(sys.argv[4]) if len(sys.argv) == 5 else 65536)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
