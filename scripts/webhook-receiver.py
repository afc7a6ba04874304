#!/usr/bin/env python3
"""webhook-receiver.py LOG [--port N] [--secret S] [--fail-first N] [--hang-next N] [--hang-seconds S]

A webhook receiver for the notification tests of vigil (issue 12, SPEC 7.7): accepts POSTs
on 127.0.0.1, prints "port N" on stdout once it listens, and appends one JSON line per
request to LOG: {"n", "path", "event", "attempt", "kind", "signature_ok" (HMAC-SHA256 of
the body with --secret checked by Python's hmac module; null without a secret or header),
"has_signature", "status" (what it answered, or "hung"), "body"}. Its misbehaviours, as
real receivers have them:

  --fail-first N    the first N requests are answered 500 Internal Server Error
  --hang-next N     the N requests after those are held --hang-seconds before a 200
                    (the sender times out first)

Killing it and starting it again on the same --port is a receiver that restarts.
"""
import argparse
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("log")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--secret")
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--hang-next", type=int, default=0)
parser.add_argument("--hang-seconds", type=float, default=5.0)
args = parser.parse_args()

lock = threading.Lock()
seen = {"n": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            seen["n"] += 1
            n = seen["n"]
        header = self.headers.get("X-Vigil-Signature-256")
        ok = None
        if args.secret is not None and header is not None:
            want = "sha256=" + hmac.new(args.secret.encode(), body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, header)
        if n <= args.fail_first:
            status = 500
        elif n <= args.fail_first + args.hang_next:
            status = "hung"
        else:
            status = 200
        entry = {
            "n": n,
            "path": self.path,
            "event": self.headers.get("X-Vigil-Event"),
            "attempt": self.headers.get("X-Vigil-Delivery-Attempt"),
            "kind": self.headers.get("X-Vigil-Event-Kind"),
            "content_type": self.headers.get("Content-Type"),
            "has_signature": header is not None,
            "signature_ok": ok,
            "status": status,
            "body": body.decode("utf-8", "replace"),
        }
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if status == "hung":
            time.sleep(args.hang_seconds)
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *a):
        sys.stderr.write("webhook-receiver: " + (fmt % a) + "\n")


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
