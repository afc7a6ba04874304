#!/usr/bin/env python3
"""hostile-images.py OUTDIR [--test-images DIR]

Generates the hostile-image corpus of SPEC 2.4 for vigil-image's tests: small OCI image
layouts (one directory per case, tag `latest`) and archives, each broken in one way (or
legal but nasty). With --test-images DIR (the output of build-test-images.sh) it also
writes `multiarch/`, an OCI layout whose tag `multi` is a nested image index
(linux/arm64/v8 and linux/amd64) built from the real layers, hard-linked (or copied).

Deterministic: fixed mtimes, owners and gzip headers, so digests do not change between
runs (the exact bytes of gzip/zstd output depend on the zlib/zstd versions). Needs only
the Python standard library and the `zstd` command. Writes only under OUTDIR.
"""

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

MTIME = 1700000000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZST = "application/vnd.oci.image.layer.v1.tar+zstd"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(layout, data, digest=None):
    digest = digest or sha(data)
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, digest.split(":", 1)[1]), "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def put_blob_file(layout, path):
    """Moves a big generated file into the layout as a blob (streamed hash)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = "sha256:" + h.hexdigest()
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    size = os.path.getsize(path)
    os.replace(path, os.path.join(d, h.hexdigest()))
    return {"digest": digest, "size": size}


def js(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def info(name, size=0, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = kind
    ti.linkname = link
    ti.mtime = MTIME
    ti.mode = 0o644 if kind == tarfile.REGTYPE else 0o755
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def make_tar(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (name, bytes|None, kind, link)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data, kind, link in entries:
            ti = info(name, len(data or b""), kind, link)
            if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                ti.devmajor, ti.devminor = 1, 3
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def f(name, data=b"x\n"):
    return (name, data, tarfile.REGTYPE, "")


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def zst(data):
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, check=True, stdout=subprocess.PIPE).stdout


BASE_FILES = [
    f("etc/os-release", b'ID=hostile\nVERSION_ID="1"\n'),
    f("var/lib/dpkg/status", b"Package: hostile\nStatus: install ok installed\nVersion: 1.0\n\n"),
]


def config(arch="amd64", os_="linux", diff_ids=()):
    return js({
        "architecture": arch, "os": os_,
        "config": {}, "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    })


def layout(out, name, layers, *, cfg=None, manifest=None, index=None, tag="latest"):
    """layers: list of (blob bytes or descriptor dict, media type)."""
    root = os.path.join(out, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with open(os.path.join(root, "oci-layout"), "w") as fh:
        fh.write('{"imageLayoutVersion":"1.0.0"}')
    descs = []
    for data, media in layers:
        d = dict(data) if isinstance(data, dict) else put_blob(root, data)
        d["mediaType"] = media
        descs.append(d)
    if cfg is None:
        cfg = config()
    c = put_blob(root, cfg)
    c["mediaType"] = OCI_CONFIG
    if manifest is None:
        manifest = js({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": descs})
    m = put_blob(root, manifest)
    m["mediaType"] = OCI_MANIFEST
    m["annotations"] = {"org.opencontainers.image.ref.name": tag}
    if index is None:
        index = js({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [m]})
    with open(os.path.join(root, "index.json"), "wb") as fh:
        fh.write(index)
    return root, m


def tar_dir(src, dst):
    """An oci-archive of a layout directory."""
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirs, files in sorted(os.walk(src)):
            dirs.sort()
            for fn in sorted(files):
                p = os.path.join(dirpath, fn)
                rel = os.path.relpath(p, src)
                with open(p, "rb") as fh:
                    data = fh.read()
                t.addfile(info(rel, len(data)), io.BytesIO(data))


def tar_members(dst, members):
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            t.addfile(info(name, len(data)), io.BytesIO(data))


def gzip_bomb(out_dir, gib=1):
    """A gzip layer holding one file of `gib` GiB of zeros (about 1 MB per GiB)."""
    tmp = os.path.join(out_dir, "bomb.tmp")
    zeros = bytes(1 << 20)
    total = gib << 30
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as g:
            g.write(info("zeros", total).tobuf(tarfile.PAX_FORMAT))
            for _ in range(total >> 20):
                g.write(zeros)
            g.write(bytes(1024))  # end of archive
    return tmp


def many_files(out_dir, n=100_000):
    tmp = os.path.join(out_dir, "many.tmp")
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as g:
            with tarfile.open(fileobj=g, mode="w", format=tarfile.USTAR_FORMAT) as t:
                for i in range(n):
                    t.addfile(info(f"d{i // 1000:03}/f{i:06}.txt", 1), io.BytesIO(b"x"))
    return tmp


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    out = os.path.abspath(args[0])
    test_images = None
    if "--test-images" in args:
        test_images = os.path.abspath(args[args.index("--test-images") + 1])
    os.makedirs(out, exist_ok=True)
    good = make_tar(BASE_FILES)

    # --- documents
    layout(out, "malformed-index", [(gz(good), LAYER_GZ)], index=b'{"schemaVersion": 2, "manifests": [')
    layout(out, "index-without-manifests", [(gz(good), LAYER_GZ)], index=b'{"schemaVersion": 2}')
    layout(out, "malformed-manifest", [], manifest=b'{"schemaVersion": 2, "layers": {}}')
    layout(out, "malformed-config", [(gz(good), LAYER_GZ)], cfg=b"{not json")
    root, m = layout(out, "manifest-digest-mismatch", [(gz(good), LAYER_GZ)])
    with open(os.path.join(root, "blobs", "sha256", m["digest"].split(":")[1]), "r+b") as fh:
        fh.seek(10)
        fh.write(b"X")
    root, m = layout(out, "missing-manifest", [(gz(good), LAYER_GZ)])
    os.remove(os.path.join(root, "blobs", "sha256", m["digest"].split(":")[1]))
    root, m = layout(out, "oversized-manifest", [(gz(good), LAYER_GZ)])
    idx = json.loads(open(os.path.join(root, "index.json")).read())
    idx["manifests"][0]["size"] = 100 << 20
    with open(os.path.join(root, "index.json"), "wb") as fh:
        fh.write(js(idx))
    # an index listing only other platforms
    root = os.path.join(out, "no-matching-platform")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    entries = []
    for arch, variant in (("arm64", "v8"), ("s390x", None)):
        c = put_blob(root, config(arch))
        c["mediaType"] = OCI_CONFIG
        lay = put_blob(root, gz(good))
        lay["mediaType"] = LAYER_GZ
        mm = put_blob(root, js({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": [lay]}))
        mm["mediaType"] = OCI_MANIFEST
        mm["platform"] = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        entries.append(mm)
    nested = put_blob(root, js({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}))
    nested["mediaType"] = OCI_INDEX
    nested["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    with open(os.path.join(root, "index.json"), "wb") as fh:
        fh.write(js({"schemaVersion": 2, "manifests": [nested]}))

    # --- blobs
    root, _ = layout(out, "missing-layer", [({"digest": sha(b"gone"), "size": 4}, LAYER_GZ)])
    lay = gz(good)
    bad = bytearray(lay)
    bad[len(bad) // 2] ^= 0xFF
    layout(out, "layer-digest-mismatch", [({"digest": sha(lay), "size": len(lay)}, LAYER_GZ)])
    put_blob(os.path.join(out, "layer-digest-mismatch"), bytes(bad), sha(lay))
    layout(out, "layer-longer-than-descriptor", [({"digest": sha(lay), "size": len(lay) - 100}, LAYER_GZ)])
    put_blob(os.path.join(out, "layer-longer-than-descriptor"), lay, sha(lay))
    big = make_tar(BASE_FILES + [f(f"usr/share/junk/{i}", bytes(random.Random(i).randbytes(4096))) for i in range(64)])
    layout(out, "truncated-gzip", [(gz(big)[: len(gz(big)) // 2], LAYER_GZ)])
    layout(out, "truncated-zstd", [(zst(big)[: len(zst(big)) // 2], LAYER_ZST)])
    layout(out, "corrupt-gzip", [(b"\x1f\x8b\x08\x00" + bytes(random.Random(7).randbytes(2048)), LAYER_GZ)])
    layout(out, "truncated-tar", [(big[: len(big) // 3 + 17], LAYER_TAR)])
    bomb = gzip_bomb(out)
    layout(out, "gzip-bomb", [(put_blob_file(os.path.join(out, ".bomb"), bomb), LAYER_GZ)])
    # the bomb blob lives in a scratch layout; move it where the manifest points
    src_blobs = os.path.join(out, ".bomb", "blobs", "sha256")
    for name in os.listdir(src_blobs):
        os.replace(os.path.join(src_blobs, name), os.path.join(out, "gzip-bomb", "blobs", "sha256", name))
    shutil.rmtree(os.path.join(out, ".bomb"))
    huge = info("var/lib/dpkg/status", (8 << 30) - 1).tobuf(tarfile.USTAR_FORMAT) + b"Package: x\n"
    layout(out, "huge-declared-size", [(huge, LAYER_TAR)])
    huge2 = info("usr/share/big.bin", (8 << 30) - 1).tobuf(tarfile.USTAR_FORMAT) + bytes(4096)
    layout(out, "huge-declared-size-unwanted", [(gz(huge2), LAYER_GZ)])

    # a blob that is a symlink out of the layout (to a host file)
    target = sha(b"host file")
    root, _ = layout(out, "blob-is-symlink", [({"digest": target, "size": 9}, LAYER_TAR)])
    os.symlink("/etc/hostname", os.path.join(root, "blobs", "sha256", target.split(":")[1]))

    # --- legal but nasty: the walker must stay inside the image
    layout(out, "path-traversal", [(gz(make_tar([
        f("../../../../etc/traversal-dotdot"),
        f("/etc/traversal-absolute"),
        f("usr/../../../etc/traversal-inner"),
        f("./etc/./os-release", b"ID=hostile\n"),
    ])), LAYER_GZ)])
    layout(out, "link-escapes", [(gz(make_tar([
        ("etc/os-release", None, tarfile.SYMTYPE, "../../../../../etc/passwd"),
        ("loop-a", None, tarfile.SYMTYPE, "loop-b"),
        ("loop-b", None, tarfile.SYMTYPE, "loop-a"),
        ("etc", None, tarfile.SYMTYPE, "/etc"),
        ("var/lib/dpkg/status", None, tarfile.LNKTYPE, "../../../../etc/shadow"),
        f("etc/passwd-through-link", b"inside the image\n"),
    ])), LAYER_GZ)])
    layout(out, "whiteout-outside", [(gz(make_tar([
        f("../../.wh.etc", b""),
        f("/../.wh..wh..opq", b""),
    ])), LAYER_GZ)])
    layout(out, "whiteout-dotdot", [(gz(make_tar([f("usr/.wh...", b"")])), LAYER_GZ)])
    layout(out, "device-files", [(gz(make_tar(BASE_FILES + [
        ("dev/null", None, tarfile.CHRTYPE, ""),
        ("dev/sda", None, tarfile.BLKTYPE, ""),
        ("var/lib/dpkg/status.fifo", None, tarfile.FIFOTYPE, ""),
    ])), LAYER_GZ)])
    long_name = "/".join(["d" * 200] * 26) + "/var/lib/dpkg/status"
    layout(out, "path-too-long-pax", [(gz(make_tar([f(long_name)], tarfile.PAX_FORMAT)), LAYER_GZ)])
    layout(out, "path-too-long-gnu", [(gz(make_tar([f(long_name)], tarfile.GNU_FORMAT)), LAYER_GZ)])
    layout(out, "many-files", [(put_blob_file(os.path.join(out, ".many"), many_files(out)), LAYER_GZ)])
    src_blobs = os.path.join(out, ".many", "blobs", "sha256")
    for name in os.listdir(src_blobs):
        os.replace(os.path.join(src_blobs, name), os.path.join(out, "many-files", "blobs", "sha256", name))
    shutil.rmtree(os.path.join(out, ".many"))
    layout(out, "zstd-layer", [(zst(good), LAYER_ZST)])
    layout(out, "gzip-labelled-uncompressed", [(gz(good), LAYER_TAR)])

    # --- archives
    with open(os.path.join(out, "not-a-tar.tar"), "wb") as fh:
        fh.write(random.Random(1).randbytes(4096))
    with open(os.path.join(out, "empty.tar"), "wb") as fh:
        fh.write(bytes(10240))
    tar_dir(os.path.join(out, "layer-digest-mismatch"), os.path.join(out, "oci-archive-layer-mismatch.tar"))
    tar_members(os.path.join(out, "docker-malformed-manifest.tar"), [("manifest.json", b"[{")])
    cfg = config(diff_ids=[sha(good)])
    tar_members(os.path.join(out, "docker-missing-layer.tar"), [
        ("manifest.json", js([{"Config": sha(cfg).split(":")[1] + ".json", "RepoTags": ["h:1"], "Layers": ["gone/layer.tar"]}])),
        (sha(cfg).split(":")[1] + ".json", cfg),
    ])
    # a layer member that is a symlink pointing out of the archive
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in [
            ("manifest.json", js([{"Config": sha(cfg).split(":")[1] + ".json", "RepoTags": ["h:1"], "Layers": ["l/layer.tar"]}])),
            (sha(cfg).split(":")[1] + ".json", cfg),
        ]:
            t.addfile(info(name, len(data)), io.BytesIO(data))
        t.addfile(info("l/layer.tar", 0, tarfile.SYMTYPE, "../../../../etc/passwd"))
    with open(os.path.join(out, "docker-layer-symlink-outside.tar"), "wb") as fh:
        fh.write(buf.getvalue())
    tar_members(os.path.join(out, "docker-legacy-parent-loop.tar"), [
        ("repositories", js({"h": {"1": "aaaa"}})),
        ("aaaa/json", js({"id": "aaaa", "parent": "bbbb"})),
        ("bbbb/json", js({"id": "bbbb", "parent": "aaaa"})),
    ])

    rootfs_nasty(out)
    if test_images:
        multiarch(out, test_images)


def rootfs_nasty(out):
    """A root filesystem directory (dir:) with a FIFO where a detector file should be
    (opening it would block), symlinks out of the tree and in a loop, a directory symlink
    to the host's /usr, and files under proc/ (skipped)."""
    root = os.path.join(out, "rootfs-nasty")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("etc", "var/lib/dpkg", "proc/1", "lib"):
        os.makedirs(os.path.join(root, d))
    os.mkfifo(os.path.join(root, "etc", "os-release"))
    with open(os.path.join(root, "etc", "debian_version"), "w") as fh:
        fh.write("12.0\n")
    with open(os.path.join(root, "proc", "1", "status"), "w") as fh:
        fh.write("not an image file\n")
    os.symlink("/etc/passwd", os.path.join(root, "var", "lib", "dpkg", "status"))
    os.symlink("loop-b", os.path.join(root, "lib", "loop-a"))
    os.symlink("loop-a", os.path.join(root, "lib", "loop-b"))
    os.symlink("/usr", os.path.join(root, "usr"))


def multiarch(out, images):
    """A nested index from the real images: linux/amd64 = app, linux/arm64/v8 = the base
    layer with an arm64 config (the bytes are amd64; only the selection is tested)."""
    src = os.path.join(images, "oci")
    root = os.path.join(out, "multiarch")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "blobs", "sha256"))
    with open(os.path.join(root, "oci-layout"), "w") as fh:
        fh.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(src, "index.json")) as fh:
        tags = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in json.load(fh)["manifests"]}

    def read(digest):
        with open(os.path.join(src, "blobs", "sha256", digest.split(":")[1]), "rb") as fh:
            return fh.read()

    def link(digest):
        name = digest.split(":")[1]
        dst = os.path.join(root, "blobs", "sha256", name)
        try:
            os.link(os.path.join(src, "blobs", "sha256", name), dst)
        except OSError:
            shutil.copyfile(os.path.join(src, "blobs", "sha256", name), dst)

    app = tags["app"]
    app_manifest = json.loads(read(app["digest"]))
    for d in [app["digest"], app_manifest["config"]["digest"]] + [l["digest"] for l in app_manifest["layers"]]:
        link(d)
    base_manifest = json.loads(read(tags["base"]["digest"]))
    arm_cfg = json.loads(read(base_manifest["config"]["digest"]))
    arm_cfg["architecture"], arm_cfg["variant"] = "arm64", "v8"
    c = put_blob(root, js(arm_cfg))
    c["mediaType"] = OCI_CONFIG
    arm = put_blob(root, js({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c,
                             "layers": base_manifest["layers"]}))
    arm.update(mediaType=OCI_MANIFEST, platform={"os": "linux", "architecture": "arm64", "variant": "v8"})
    amd = {"mediaType": OCI_MANIFEST, "digest": app["digest"], "size": app["size"],
           "platform": {"os": "linux", "architecture": "amd64"}}
    nested = put_blob(root, js({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [arm, amd]}))
    nested.update(mediaType=OCI_INDEX, annotations={"org.opencontainers.image.ref.name": "multi"})
    with open(os.path.join(root, "index.json"), "wb") as fh:
        fh.write(js({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [nested]}))


if __name__ == "__main__":
    main()
