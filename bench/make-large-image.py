#!/usr/bin/env python3
"""Generate a large OCI image layout for the memory benchmark (SPEC 10.3).

usage: make-large-image.py OUTDIR [--layers N] [--layer-mb M] [--status FILE]

Writes OUTDIR as an OCI layout with tag "large": N layers (default 48) of about M MB each
(default 48, so >= 2 GB in all), every layer holding a big incompressible file and many small
files; every 8th layer is gzip-compressed (level 1), the rest are plain tar. When --status
names a real dpkg status file (e.g. the test image's rootfs/var/lib/dpkg/status) it is put in
the first layer and rewritten in the last, so the inventory has real work to do.
Blobs are written streaming and hashed on the fly: the script itself needs little memory.
"""
import argparse, gzip, hashlib, io, json, os, tarfile, time

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--layers", type=int, default=48)
p.add_argument("--layer-mb", type=int, default=48)
p.add_argument("--status")
a = p.parse_args()
blobs = os.path.join(a.out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


class HashingFile(io.RawIOBase):
    def __init__(self, f):
        self.f, self.h, self.n = f, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        return self.f.write(b)


def put_blob(data: bytes):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


class RandomReader(io.RawIOBase):
    """Incompressible bytes, cheaply: a fresh 1 MiB random block repeated with a counter."""

    def __init__(self, size):
        self.left, self.block, self.i = size, os.urandom(1 << 20), 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.left, len(self.block))
        if n <= 0:
            return 0
        self.i += 1
        buf[:n] = self.block[:n]
        buf[:8] = self.i.to_bytes(8, "little")[: min(8, n)]
        self.left -= n
        return n


def add_bytes(tf, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime = len(data), 0
    tf.addfile(ti, io.BytesIO(data))


status = open(a.status, "rb").read() if a.status else None
layers, diff_ids = [], []
for i in range(a.layers):
    tmp = os.path.join(blobs, "tmp")
    compressed = i % 8 == 7
    with open(tmp, "wb") as raw:
        outer = HashingFile(raw)
        inner_raw = gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=1, mtime=0) if compressed else outer
        diff = HashingFile(inner_raw)
        with tarfile.open(fileobj=diff, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            big = tarfile.TarInfo(f"data/layer{i}/blob.bin")
            big.size, big.mtime = a.layer_mb << 20, 0
            tf.addfile(big, RandomReader(big.size))
            for j in range(500):
                add_bytes(tf, f"data/layer{i}/small/{j}.txt", b"x" * (j % 97))
            if status and i in (0, a.layers - 1):
                add_bytes(tf, "var/lib/dpkg/status", status if i == 0 else status[: len(status) // 2].rsplit(b"\n\n", 1)[0] + b"\n")
        if compressed:
            inner_raw.close()
    digest = "sha256:" + outer.h.hexdigest()
    os.rename(tmp, os.path.join(blobs, outer.h.hexdigest()))
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compressed else "")
    layers.append({"mediaType": media, "digest": digest, "size": outer.n})
    diff_ids.append("sha256:" + diff.h.hexdigest())

config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "config": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0))}).encode()
cd, cs = put_blob(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                       "layers": layers}).encode()
md, ms = put_blob(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
           "annotations": {"org.opencontainers.image.ref.name": "large"}}]}, open(os.path.join(a.out, "index.json"), "w"))
open(os.path.join(a.out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
print(f"{a.out}: {len(layers)} layers, {sum(l['size'] for l in layers) >> 20} MB")
