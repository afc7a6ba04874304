#!/usr/bin/python3
"""Builds Java archives around real jars, into the directory argv[2], from the jars in
the directory argv[1] (Debian's /usr/share/maven/lib):

  app.war    WEB-INF/lib/ holding three real jars, WEB-INF/classes, a manifest
  app.ear    app.war and one more jar (nesting depth 3)
  deep.jar   a real jar wrapped in five more jars (depth 6: deeper than vigil reads)
  deep4.jar  the same real jar wrapped in three (depth 4: the deepest vigil reads)
  bomb.jar   a 600 MiB entry of zeros named lib/inner.jar, compressed to under 1 MiB

and prints, for each real jar used, its coordinates as the oracle reads them:
`jar<TAB>groupId:artifactId<TAB>version` from every META-INF/maven/**/pom.properties,
else from the manifest's main section (Implementation-Title or Bundle-SymbolicName,
Implementation-Version or Bundle-Version, Implementation-Vendor-Id as group).
With argv[2] `-`, only prints the coordinates of every jar in argv[1].
"""
import io
import os
import sys
import zipfile


def properties(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        for i, c in enumerate(line):
            if c in "=:":
                out[line[:i].strip()] = line[i + 1:].strip()
                break
    return out


def manifest(text):
    headers = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            break
        if line.startswith(" ") and last:
            headers[last] += line[1:]
        elif ":" in line:
            last, value = line.split(":", 1)
            headers.setdefault(last.strip(), value.strip())
            last = last.strip()
    return headers


def coordinates(data):
    z = zipfile.ZipFile(io.BytesIO(data))
    found = set()
    for name in z.namelist():
        if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
            p = properties(z.read(name).decode("utf-8", "replace"))
            g, a, v = p.get("groupId"), p.get("artifactId"), p.get("version")
            if g and a and v and "${" not in g + a + v:
                found.add((f"{g}:{a}", v))
    if not found and "META-INF/MANIFEST.MF" in z.namelist():
        h = manifest(z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace"))
        title = h.get("Implementation-Title") or h.get("Bundle-SymbolicName", "").split(";")[0]
        version = h.get("Implementation-Version") or h.get("Bundle-Version")
        if title and version:
            group = h.get("Implementation-Vendor-Id")
            found.add((f"{group}:{title}" if group else title, version))
    return found


def jar(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def main():
    src, out = sys.argv[1], sys.argv[2]
    names = sorted(n for n in os.listdir(src) if n.endswith(".jar"))
    real = {n: open(os.path.join(src, n), "rb").read() for n in names}
    if out == "-":
        for n in names:
            for name, version in sorted(coordinates(real[n])):
                print(f"{n}\t{name}\t{version}")
        return
    os.makedirs(out, exist_ok=True)
    lib = ["commons-io.jar", "slf4j-api.jar", "wagon-http-shaded.jar"]
    war = jar(
        [("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")]
        + [("WEB-INF/classes/app/Main.class", b"\xca\xfe\xba\xbe")]
        + [(f"WEB-INF/lib/{n}", real[n]) for n in lib]
    )
    ear = jar([("app.war", war), ("lib/javax.inject.jar", real["javax.inject.jar"])])
    deep = real["commons-cli.jar"]
    for level in range(5):
        deep = jar([(f"lib/level{level}.jar", deep)])
        if level == 2:
            deep4 = deep
    with zipfile.ZipFile(os.path.join(out, "bomb.jar"), "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("lib/inner.jar", "w", force_zip64=True) as f:
            zeros = bytes(1 << 20)
            for _ in range(600):
                f.write(zeros)
    for name, data in [("app.war", war), ("app.ear", ear), ("deep.jar", deep), ("deep4.jar", deep4)]:
        open(os.path.join(out, name), "wb").write(data)
    for n in lib + ["javax.inject.jar", "commons-cli.jar"]:
        for name, version in sorted(coordinates(real[n])):
            print(f"{n}\t{name}\t{version}")


main()
