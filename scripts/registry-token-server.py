#!/usr/bin/env python3
"""registry-token-server.py DIR PORT USER PASSWORD

A minimal docker-registry token server (the "bearer token" auth of the distribution spec)
for vigil-image's registry tests, on 127.0.0.1:PORT. On the first run it writes DIR/key.pem
and DIR/cert.pem (a self-signed RSA certificate: give cert.pem to the registry as its
`rootcertbundle`). GET /token?service=S&scope=repository:NAME:pull with HTTP basic auth
USER:PASSWORD answers {"token": JWT} granting pull on NAME; anything else is a 401.
The JWT carries the certificate in its `x5c` header, as docker-registry verifies it.
Needs python3-jwt and python3-cryptography (Debian packages).
"""

import base64
import datetime
import http.server
import json
import os
import secrets
import sys
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ISSUER = "vigil-test-issuer"


def ensure_cert(d):
    key_path, cert_path = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    if not os.path.exists(cert_path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigil-test-token")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return key, cert


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    d, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.makedirs(d, exist_ok=True)
    key, cert = ensure_cert(d)
    x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(url.query)
            if url.path != "/token" or self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"details":"invalid username or password"}')
                return
            access = []
            for scope in q.get("scope", []):
                parts = scope.split(":")
                if len(parts) == 3 and parts[0] == "repository":
                    access.append({"type": "repository", "name": parts[1],
                                   "actions": [a for a in parts[2].split(",") if a == "pull"]})
            now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
            claims = {"iss": ISSUER, "sub": user, "aud": q.get("service", [""])[0],
                      "iat": now, "nbf": now - 60, "exp": now + 300,
                      "jti": secrets.token_hex(8), "access": access}
            token = jwt.encode(claims, key, algorithm="RS256", headers={"x5c": [x5c]})
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
