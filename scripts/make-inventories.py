#!/usr/bin/env python3
"""Generate N varied image inventories (CycloneDX SBOMs) from real ones (issue 12, SPEC 10.5).

usage: make-inventories.py [--seed S] [--oci-layout DIR --from-layout SRC] OUT_DIR N SBOM...

Reads real CycloneDX JSON SBOMs written by `vigil sbom IMAGE --format cyclonedx` (e.g. of
the test images oci:app and oci:base) and writes N CycloneDX 1.6 SBOMs into OUT_DIR
(variant-0000.cdx.json, ...), variant i derived from input i mod len(SBOM...). They stand for
a fleet of images built from the same bases at different times, so that the benchmark
`bench/rematch.sh` has 1,000 inventories that differ and whose findings differ. For each
variant, with a random generator seeded by (S, i), so the output is the same on every run:

- a share of the Debian source packages (5-40 %, drawn per variant) gets another plausible
  version, applied to the source version and to every binary package built from it (a
  binNMU suffix `+bN` and the epoch are kept):
    older (60 %): an earlier stable update (`+deb12u5` -> `+deb12u1..4`, `+deb12u1`
      dropped), else an earlier Debian revision (`X-2` -> `X-1`, `X-1` -> `X-0`), else a
      lower upstream version;
    lower upstream (15 %): the last non-zero number of the upstream version lowered
      (`2.5.0-1` -> `2.4.0-1`);
    newer (25 %): a later stable update (`+deb12u5` -> `+deb12u6..8`, or `+deb12u1` added);
- a share of the language packages (PyPI, npm) gets a lower or higher patch version;
- 0-5 % of the binary packages are dropped;
- no two variants are the same set of packages.
Purls (version and the `upstream=` qualifier), bom-refs, dependencies, `vigil:source_version`
and a dist-info path are updated to match; the image's manifest digest and layer list are
removed (the variant is not that image); `vigil-bench:*` properties record the origin.
Everything stays readable by vigil's SBOM reader (`vigil inventory sbom:FILE`).

--oci-layout DIR --from-layout SRC additionally writes the variants as real images: one OCI
layout DIR holding N images tagged variant-0000, ..., each the layers of its origin image
(looked up in the OCI layout SRC by the input SBOM's manifest digest) plus one small layer
that rewrites var/lib/dpkg/status, the dist-info directories and node_modules package.json
(and package-lock.json) files so that the image's inventory is the variant SBOM's packages.
`vigil ci scan` can then store them like any pipeline's image. Python 3 stdlib only.
"""
import argparse
import copy
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import sys
import tarfile
import uuid
from urllib.parse import quote, unquote

SAFE = ":~.-_"  # what vigil leaves unencoded in a purl version ('+' -> %2B, '@' -> %40)
DEB_U = re.compile(r"([+~])deb(\d+)u(\d+)")


# ---- versions ---------------------------------------------------------------------------

def split_epoch(v):
    head, sep, rest = v.partition(":")
    if sep and head.isdigit():
        return head + ":", rest
    return "", v


def lower_number_run(s, rng):
    """The last non-zero number of the leading dotted run of s lowered by 1-2 (None if none)."""
    m = re.match(r"\d+(?:\.\d+)*", s)
    if not m:
        return None
    parts = m.group().split(".")
    for k in range(len(parts) - 1, -1, -1):
        n = int(parts[k])
        if n > 0:
            parts[k] = str(n - rng.randint(1, min(2, n)))
            return ".".join(parts) + s[m.end():]
    return None


def deb_lower_upstream(v, rng):
    upstream, sep, rev = v.rpartition("-")
    if not sep:
        upstream, rev = v, None
    lowered = lower_number_run(upstream, rng)
    if lowered is None:
        return None
    return lowered + ("-" + rev if rev is not None else "")


def deb_older(v, rng):
    ms = list(DEB_U.finditer(v))
    if ms:
        m = ms[-1]
        n = int(m.group(3))
        if n > 1:
            return v[: m.start(3)] + str(rng.randint(1, n - 1)) + v[m.end(3):]
        return v[: m.start()] + v[m.end():]
    upstream, sep, rev = v.rpartition("-")
    if sep:
        m = re.match(r"\d+", rev)
        if m and int(m.group()) >= 1:
            return upstream + "-" + str(int(m.group()) - 1) + rev[m.end():]
    return deb_lower_upstream(v, rng)


def deb_newer(v, rng):
    ms = list(DEB_U.finditer(v))
    if ms:
        m = ms[-1]
        return v[: m.start(3)] + str(int(m.group(3)) + rng.randint(1, 3)) + v[m.end(3):]
    return v + "+deb12u1"


DEB_KINDS = [("older", 60), ("lower-upstream", 15), ("newer", 25)]


def deb_mutate(v, kind, rng):
    """Another plausible Debian version for v (epoch kept); None when there is none."""
    epoch, rest = split_epoch(v)
    if kind == "older":
        out = deb_older(rest, rng)
    elif kind == "lower-upstream":
        out = deb_lower_upstream(rest, rng)
    else:
        out = deb_newer(rest, rng)
    if not out or out == rest or not out[0].isdigit():
        return None
    return epoch + out


def lang_mutate(v, rng):
    """A lower (60 %) or higher patch version of a language package: the last number."""
    ms = list(re.finditer(r"\d+", v))
    if not ms:
        return None
    m = ms[-1]
    n = int(m.group())
    if rng.random() < 0.6 and n > 0:
        n -= rng.randint(1, min(2, n))
    else:
        n += rng.randint(1, 3)
    return v[: m.start()] + str(n) + v[m.end():]


def pick(rng, weighted):
    x = rng.uniform(0, sum(w for _, w in weighted))
    for k, w in weighted:
        x -= w
        if x <= 0:
            return k
    return weighted[-1][0]


# ---- purls and components ---------------------------------------------------------------

def purl_with(purl, version, source_version=None):
    """purl with its version replaced (and the version in `upstream=NAME@VERSION`)."""
    rest, hsep, subpath = purl.partition("#")
    path, qsep, quals = rest.partition("?")
    at = path.rindex("@")
    path = path[:at] + "@" + quote(version, safe=SAFE)
    if qsep and source_version is not None:
        out = []
        for q in quals.split("&"):
            k, _, val = q.partition("=")
            if k == "upstream" and "@" in unquote(val):
                name = unquote(val).split("@", 1)[0]
                q = "upstream=" + quote(f"{name}@{source_version}", safe=SAFE)
            out.append(q)
        quals = "&".join(out)
    return path + (qsep + quals if qsep else "") + (hsep + subpath if hsep else "")


def props(c):
    return {p["name"]: p.get("value") for p in c.get("properties", [])}


def set_prop(c, name, value):
    for p in c.setdefault("properties", []):
        if p["name"] == name:
            p["value"] = value
            return
    c["properties"].append({"name": name, "value": value})


def purl_type(c):
    m = re.match(r"pkg:([^/]+)/", c.get("purl", ""))
    return m.group(1) if m else None


def arch_of(c):
    m = re.search(r"[?&]arch=([^&#]+)", c.get("purl", ""))
    return unquote(m.group(1)) if m else ""


def variant(doc, origin_name, i, seed):
    """Variant i of the SBOM doc; returns (new doc, changes) where changes maps the original
    component's bom-ref to its new version (None: dropped) and new source version."""
    rng = random.Random(f"{seed}:{i}")
    share = rng.uniform(0.05, 0.40)
    drop = rng.uniform(0.0, 0.05)
    out = copy.deepcopy(doc)
    comps = out.get("components", [])
    # Debian source packages: one decision per source, applied to all of its binaries.
    sources = {}
    for c in comps:
        if purl_type(c) == "deb":
            p = props(c)
            src = p.get("vigil:source_name") or c["name"]
            sources.setdefault(src, p.get("vigil:source_version") or c["version"])
    new_src = {}
    for src in sorted(sources):
        if rng.random() < share:
            kind = pick(rng, DEB_KINDS)
            nv = deb_mutate(sources[src], kind, rng)
            if nv:
                new_src[src] = (kind, nv)
    changes, refmap, kept = {}, {}, []
    for c in comps:
        t = purl_type(c)
        ref = c.get("bom-ref")
        if t is None:  # the operating system
            kept.append(c)
            continue
        if rng.random() < drop:
            changes[ref] = (None, None)
            refmap[ref] = None
            continue
        old = c["version"]
        nv, nsrc = None, None
        if t == "deb":
            p = props(c)
            src = p.get("vigil:source_name") or c["name"]
            sv = p.get("vigil:source_version") or old
            if src in new_src:
                kind, nsrc = new_src[src]
                epoch, b = split_epoch(old)
                _, s = split_epoch(sv)
                _, ns = split_epoch(nsrc)
                if b == s:
                    nv = epoch + ns
                elif b.startswith(s) and re.fullmatch(r"\+b\d+", b[len(s):]):
                    nv = epoch + ns + b[len(s):]
                else:
                    nv = deb_mutate(old, kind, rng) or old
        elif t in ("pypi", "npm") and rng.random() < share:
            nv = lang_mutate(old, rng)
        if not nv or nv == old:
            kept.append(c)
            continue
        old_purl = c["purl"]
        c["version"] = nv
        c["purl"] = purl_with(old_purl, nv, nsrc)
        if nsrc:
            set_prop(c, "vigil:source_version", nsrc)
        path = props(c).get("vigil:path", "")
        if t == "pypi" and path.endswith(".dist-info/METADATA"):
            set_prop(c, "vigil:path", dist_info_path(path, nv))
        # vigil makes a package's bom-ref its purl; other schemes are kept as they are
        new_ref = c["purl"] if ref == old_purl else ref
        c["bom-ref"] = new_ref
        refmap[ref] = new_ref
        changes[ref] = (nv, nsrc)
        kept.append(c)
    out["components"] = kept
    for d in out.get("dependencies", []):
        if d.get("ref") in refmap and refmap[d["ref"]] is None:
            d["ref"] = None
        elif d.get("ref") in refmap:
            d["ref"] = refmap[d["ref"]]
        if "dependsOn" in d:
            d["dependsOn"] = [refmap.get(r, r) for r in d["dependsOn"] if refmap.get(r, r) is not None]
    out["dependencies"] = [d for d in out.get("dependencies", []) if d.get("ref") is not None]
    out["serialNumber"] = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"vigil-bench:{seed}:{i}"))
    meta = out.setdefault("metadata", {})
    comp = meta.setdefault("component", {"type": "container"})
    comp["name"] = f"vigil-bench/variant-{i:04d}"
    comp.pop("version", None)
    p0 = props(doc.get("metadata", {}).get("component", {}))
    comp["properties"] = [
        {"name": "vigil-bench:origin", "value": origin_name},
        {"name": "vigil-bench:origin_manifest_digest", "value": p0.get("vigil:manifest_digest", "")},
        {"name": "vigil-bench:seed", "value": f"{seed}:{i}"},
    ]
    return out, changes


def dist_info_path(path, version):
    """site/NAME-OLD.dist-info/METADATA -> site/NAME-VERSION.dist-info/METADATA"""
    d, _, f = path.rpartition("/")
    site, _, base = d.rpartition("/")
    name = base[: -len(".dist-info")].rsplit("-", 1)[0]
    return (site + "/" if site else "") + f"{name}-{version}.dist-info/{f}"


def fingerprint(doc):
    return hashlib.sha256("\n".join(sorted(c.get("purl", "") for c in doc["components"])).encode()).hexdigest()


# ---- variants as OCI images -------------------------------------------------------------

def blob_path(layout, digest):
    alg, _, hexd = digest.partition(":")
    return os.path.join(layout, "blobs", alg, hexd)


def put_blob(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    p = blob_path(layout, d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return d


def norm(name):
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


class Origin:
    """An input image: its manifest, config and the files a variant layer rewrites."""

    def __init__(self, src, sbom):
        digest = props(sbom.get("metadata", {}).get("component", {})).get("vigil:manifest_digest")
        if not digest:
            sys.exit("error: the input SBOM has no vigil:manifest_digest: cannot find its image")
        with open(blob_path(src, digest), "rb") as f:
            self.manifest = json.load(f)
        with open(blob_path(src, self.manifest["config"]["digest"]), "rb") as f:
            self.config = json.load(f)
        self.src = src
        wanted = {"var/lib/dpkg/status"}
        for c in sbom.get("components", []):
            path = props(c).get("vigil:path")
            if path:
                wanted.add(path)
        self.files = {}
        for layer in self.manifest["layers"]:
            with tarfile.open(blob_path(src, layer["digest"]), "r|*") as t:
                for m in t:
                    name = norm(m.name)
                    if m.isfile() and (name in wanted or name.endswith("package-lock.json")):
                        self.files[name] = t.extractfile(m).read()


def rewrite_status(data, by_pkg):
    """The dpkg status with each changed package's Version and Source (version) rewritten."""
    out = []
    for stanza in data.decode("utf-8").split("\n\n"):
        name = re.search(r"^Package: (.+)$", stanza, re.M)
        arch = re.search(r"^Architecture: (.+)$", stanza, re.M)
        key = (name.group(1).strip(), arch.group(1).strip()) if name and arch else None
        if key in by_pkg:
            nv, nsrc = by_pkg[key]
            if nv is None:
                continue
            stanza = re.sub(r"^Version: .*$", "Version: " + nv, stanza, count=1, flags=re.M)
            if nsrc:
                stanza = re.sub(r"^(Source: \S+) \(.*\)$", r"\1 (" + nsrc + ")",
                                stanza, count=1, flags=re.M)
        out.append(stanza)
    return "\n\n".join(out).encode("utf-8")


def variant_layer(origin, sbom, changes, tag):
    """The tar of the layer that turns the origin image into the variant."""
    files = {}  # path -> bytes; whiteouts are empty files
    by_pkg = {}
    locks = {p: json.loads(b) for p, b in origin.files.items() if p.endswith("package-lock.json")}
    for c in sbom.get("components", []):
        ref = c.get("bom-ref")
        if ref not in changes:
            continue
        nv, nsrc = changes[ref]
        t = purl_type(c)
        path = props(c).get("vigil:path", "")
        if t == "deb":
            by_pkg[(c["name"], arch_of(c))] = (nv, nsrc)
        elif t == "pypi" and path.endswith(".dist-info/METADATA"):
            d = path.rpartition("/")[0]
            site, _, base = d.rpartition("/")
            files[(site + "/" if site else "") + ".wh." + base] = b""
            if nv is not None:
                meta = re.sub(rb"(?m)^Version: .*$", b"Version: " + nv.encode(), origin.files[path], count=1)
                files[dist_info_path(path, nv)] = meta
        elif t == "npm" and path.endswith("/package.json"):
            pkgdir = path[: -len("/package.json")]
            name = pkgdir.rpartition("node_modules/")[2]
            if nv is None:
                parent, _, leaf = pkgdir.rpartition("/")
                files[f"{parent}/.wh.{leaf}"] = b""
            else:
                manifest = json.loads(origin.files[path])
                manifest["version"] = nv
                files[path] = (json.dumps(manifest, indent=2) + "\n").encode()
            for lp, lock in locks.items():
                key = "node_modules/" + name
                for table in ("packages", "dependencies"):
                    entries = lock.get(table) or {}
                    k = key if table == "packages" else name
                    if k in entries:
                        if nv is None:
                            del entries[k]
                        else:
                            entries[k]["version"] = nv
                files[lp] = (json.dumps(lock, indent=2) + "\n").encode()
        else:
            raise SystemExit(f"error: cannot put a changed {t} package ({path}) into an image")
    if by_pkg:
        files["var/lib/dpkg/status"] = rewrite_status(origin.files["var/lib/dpkg/status"], by_pkg)
    files["etc/vigil-bench-variant"] = (tag + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(files):
            data = files[name]
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), (0 if "/.wh." in "/" + name else 0o644), 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def write_oci(layout, src, items):
    """items: (tag, origin SBOM, variant SBOM, changes). Writes the OCI layout."""
    if os.path.exists(layout):
        shutil.rmtree(layout)
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    origins = {}
    index = []
    for tag, osbom, vsbom, changes in items:
        key = id(osbom)
        if key not in origins:
            origins[key] = Origin(src, osbom)
            for layer in origins[key].manifest["layers"]:
                dst = blob_path(layout, layer["digest"])
                if not os.path.exists(dst):
                    try:
                        os.link(blob_path(src, layer["digest"]), dst)
                    except OSError:
                        shutil.copyfile(blob_path(src, layer["digest"]), dst)
        origin = origins[key]
        tar = variant_layer(origin, osbom, changes, tag)
        gz = gzip.compress(tar, compresslevel=6, mtime=0)
        config = copy.deepcopy(origin.config)
        config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(tar).hexdigest())
        config.setdefault("history", []).append(
            {"created": config.get("created", "1970-01-01T00:00:00Z"),
             "created_by": f"make-inventories.py: {tag}"})
        cbytes = json.dumps(config, separators=(",", ":")).encode()
        manifest = copy.deepcopy(origin.manifest)
        manifest["config"] = dict(manifest["config"], digest=put_blob(layout, cbytes), size=len(cbytes))
        manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": put_blob(layout, gz), "size": len(gz)})
        mbytes = json.dumps(manifest, separators=(",", ":")).encode()
        index.append({"mediaType": manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                      "digest": put_blob(layout, mbytes), "size": len(mbytes),
                      "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": index}, f, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("n", type=int)
    ap.add_argument("sboms", nargs="+")
    ap.add_argument("--seed", default="12")
    ap.add_argument("--oci-layout", help="also write the variants as images into this OCI layout")
    ap.add_argument("--from-layout", help="the OCI layout holding the input SBOMs' images")
    a = ap.parse_args()
    if bool(a.oci_layout) != bool(a.from_layout):
        ap.error("--oci-layout and --from-layout go together")
    inputs = []
    for path in a.sboms:
        with open(path) as f:
            doc = json.load(f)
        if doc.get("bomFormat") != "CycloneDX":
            sys.exit(f"error: {path} is not a CycloneDX JSON SBOM")
        name = doc.get("metadata", {}).get("component", {}).get("name", path)
        inputs.append((name, doc))
    os.makedirs(a.out_dir, exist_ok=True)
    seen, items = set(), []
    changed = dropped = 0
    for i in range(a.n):
        name, doc = inputs[i % len(inputs)]
        for attempt in range(100):
            v, changes = variant(doc, name, i, a.seed if attempt == 0 else f"{a.seed}.{attempt}")
            fp = fingerprint(v)
            if changes and fp not in seen:
                break
        else:
            sys.exit(f"error: could not make variant {i} differ from the others")
        seen.add(fp)
        changed += sum(1 for nv, _ in changes.values() if nv is not None)
        dropped += sum(1 for nv, _ in changes.values() if nv is None)
        with open(os.path.join(a.out_dir, f"variant-{i:04d}.cdx.json"), "w") as f:
            json.dump(v, f, indent=1)
            f.write("\n")
        items.append((f"variant-{i:04d}", doc, v, changes))
    print(f"wrote {a.n} SBOMs to {a.out_dir} from {len(inputs)} input(s): on average "
          f"{changed / max(a.n, 1):.1f} package(s) with another version and "
          f"{dropped / max(a.n, 1):.1f} dropped per variant", file=sys.stderr)
    if a.oci_layout:
        write_oci(a.oci_layout, a.from_layout, items)
        print(f"wrote {a.n} images to the OCI layout {a.oci_layout} (tags variant-0000...)", file=sys.stderr)


if __name__ == "__main__":
    main()
