#!/usr/bin/env python3
"""serve-writers.py BASE ADMIN_TOKEN DIGEST SECONDS WRITERS DATABASE

The writers half of bench/serve.sh (issue 9): WRITERS threads, each with its own
connection, for SECONDS: add a CVE rule (POST /api/v1/policies/cve-rules, an id of its own)
and record a deployment (POST /api/v1/deployments), in turn. Every acknowledged write (a 2xx
answer) is remembered; afterwards each must be there: the CVE rules in the effective policy
of app:web (through the API), the deployments by id in the store's deployment history
(DATABASE: the SQLite file, read with python's sqlite3, or a postgres:// URL, read with
psql; the API lists only the current deployment of each environment).
Prints "writes_per_second missing_writes"; exits 1 if a write is missing or any failed.
"""
import http.client
import sqlite3
import subprocess
import json
import sys
import threading
import time
import urllib.parse

base, token, digest = sys.argv[1:4]
seconds, writers, database = float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
url = urllib.parse.urlparse(base)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
acked_rules, acked_deploys, failures = [], [], []
lock = threading.Lock()


def request(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def writer(w):
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        try:
            if n % 2:
                cve = f"CVE-2099-{w * 1000000 + n}"
                status, _ = request(conn, "POST", "/api/v1/policies/cve-rules",
                                    {"scope": "app:web", "id": cve, "action": "allow", "reason": "bench"})
                ok = 200 <= status < 300
                with lock:
                    (acked_rules.append(cve) if ok else failures.append(f"rule {cve}: {status}"))
            else:
                status, body = request(conn, "POST", "/api/v1/deployments",
                                       {"application": "web", "environment": "prod", "digest": digest})
                ok = 200 <= status < 300
                with lock:
                    (acked_deploys.append(body["id"]) if ok else failures.append(f"deployment: {status}"))
        except (OSError, http.client.HTTPException) as e:
            with lock:
                failures.append(f"writer {w}: {e}")
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)


start = time.monotonic()
threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start

conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
status, policy = request(conn, "GET", "/api/v1/policies?scope=app:web")
assert status == 200, (status, policy)
present = {r["rule"]["id"] for r in policy.get("cve_rules", [])}
missing = [c for c in acked_rules if c not in present]
if database.startswith("postgres"):
    out = subprocess.run(["psql", database, "-At", "-c", "SELECT id FROM deployments"],
                         check=True, capture_output=True, text=True).stdout
    stored = {int(x) for x in out.split()}
else:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        stored = {row[0] for row in db.execute("SELECT id FROM deployments")}
dups = len(acked_deploys) - len(set(acked_deploys))
missing += [f"deployment {i}" for i in acked_deploys if i not in stored]
missing_n = len(missing) + dups
for f in failures[:10]:
    print(f, file=sys.stderr)
for m in missing[:10]:
    print(f"acknowledged but missing: {m}", file=sys.stderr)
print(f"{(len(acked_rules) + len(acked_deploys)) / elapsed:.0f} {missing_n}")
sys.exit(1 if missing_n or failures else 0)
