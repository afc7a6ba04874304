#!/usr/bin/env python3
"""feed-server.py DIR [--port N] [--fail-first N] [--hang] [--delay SECONDS] [--corrupt]

A feed server for the install tests of vigil (issue 10): serves the files of DIR over HTTP
on 127.0.0.1 and prints "port N" on stdout once it listens. Each request is logged on
stderr. Its misbehaviours, as real servers have them:

  --fail-first N   the first N requests are answered 503 Service Unavailable
  --hang           connections are accepted and never answered
  --delay S        every answer waits S seconds first
  --corrupt        every .json file is sent cut in half (a corrupt feed)
"""
import argparse
import http.server
import os
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("dir")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--hang", action="store_true")
parser.add_argument("--delay", type=float, default=0.0)
parser.add_argument("--corrupt", action="store_true")
args = parser.parse_args()

lock = threading.Lock()
served = {"n": 0}


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=args.dir, **kw)

    def do_GET(self):
        with lock:
            served["n"] += 1
            n = served["n"]
        if args.hang:
            time.sleep(3600)
            return
        if args.delay:
            time.sleep(args.delay)
        if n <= args.fail_first:
            self.send_error(503, f"failing on purpose ({n} of {args.fail_first})")
            return
        path = self.translate_path(self.path)
        if args.corrupt and path.endswith(".json") and os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            data = data[: len(data) // 2]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % a))


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


server = Server(("127.0.0.1", args.port), Handler)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()
