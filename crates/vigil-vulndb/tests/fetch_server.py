#!/usr/bin/env python3
"""A small HTTP file server for the fetch tests (standard library only).

Serves one file at every path, with:
- ETag (sha256 of the content) and Last-Modified;
- conditional GET: If-None-Match / If-Modified-Since answer 304;
- Range: bytes=N- answers 206 with Content-Range, guarded by If-Range (a validator that
  does not match gives the whole file with 200);
- --drop-after N --drop-times K: the first K responses that send body bytes stop after N
  bytes and close the connection, although Content-Length announced the whole body;
- --no-validators: no ETag and no Last-Modified (a server that cannot be resumed).

Prints the port it listens on (127.0.0.1, port chosen by the system) as the first line of
stdout, then one JSON line per request to the --log file: method, path and the request
headers that matter, plus the status answered.

Usage: fetch_server.py --file PATH [--drop-after N] [--drop-times K] [--log FILE]
"""

import argparse
import email.utils
import hashlib
import http.server
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--drop-after", type=int, default=-1)
    ap.add_argument("--drop-times", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--no-validators", action="store_true")
    args = ap.parse_args()
    state = {"drops": args.drop_times}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def record(self, status):
            if args.log:
                keys = ["Range", "If-Range", "If-None-Match", "If-Modified-Since"]
                entry = {"method": self.command, "path": self.path, "status": status}
                for k in keys:
                    if self.headers.get(k) is not None:
                        entry[k] = self.headers.get(k)
                with open(args.log, "a") as f:
                    f.write(json.dumps(entry) + "\n")

        def do_GET(self):
            # Read the file on every request, so a test can change it between requests.
            with open(args.file, "rb") as f:
                data = f.read()
            etag = '"%s"' % hashlib.sha256(data).hexdigest()[:32]
            mtime = os.stat(args.file).st_mtime
            last_modified = email.utils.formatdate(mtime, usegmt=True)
            validators = {} if args.no_validators else {
                "ETag": etag,
                "Last-Modified": last_modified,
            }

            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if not args.no_validators and (
                (inm is not None and inm == etag)
                or (inm is None and ims is not None and ims == last_modified)
            ):
                self.record(304)
                self.send_response(304)
                for k, v in validators.items():
                    self.send_header(k, v)
                self.end_headers()
                return

            start = 0
            status = 200
            rng = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                if if_range is None or if_range in (etag, last_modified):
                    start = int(rng[len("bytes="):-1])
                    status = 206
                    if start >= len(data):
                        self.record(416)
                        self.send_response(416)
                        self.send_header("Content-Range", "bytes */%d" % len(data))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
            body = data[start:]
            self.record(status)
            self.send_response(status)
            for k, v in validators.items():
                self.send_header(k, v)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header(
                    "Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
                )
            self.end_headers()
            if state["drops"] > 0 and args.drop_after >= 0:
                state["drops"] -= 1
                self.wfile.write(body[: args.drop_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
