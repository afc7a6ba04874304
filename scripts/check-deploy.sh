#!/usr/bin/env bash
# scripts/check-deploy.sh [DIR]: checks the Kubernetes manifests of vigil (default
# deploy/kubernetes), offline, and prints one line per file checked.
#
# 1. Schemas: every resource is validated against the real Kubernetes JSON schemas of the
#    oldest and the newest Kubernetes version we support (K8S_VERSIONS below), in strict mode
#    (a field the schema does not know is an error), with the PyPI package kubernetes-validate
#    (pinned below; it ships the schemas, so no network is needed once installed) in a venv
#    under target/peer-tools/kubernetes-validate. A kind without a schema (a typo such as
#    `kind: Servic`) is an error here, where the tool itself only warns.
# 2. What a schema cannot see: duplicate YAML keys (the last one would silently win); the
#    kustomization lists every manifest (except *.example.yaml, which must not be applied)
#    and nothing missing; one namespace; selectors of the Deployment, Service and
#    PodDisruptionBudget match the pod labels; ports, probes, volumes, Secret and ConfigMap
#    keys refer to things that exist; the configuration file named by VIGIL_CONFIG is in a
#    mounted ConfigMap and is valid TOML; containers run non-root on a read-only root file
#    system without capabilities, with probes and resource requests and limits.
# 3. `kubectl kustomize DIR` (client side, offline) builds, and its output validates too.
#    Skipped with a message when kubectl is not installed, except under CI=true.
#
# The script also checks itself: it runs the same checks on broken copies of the manifests
# in a temporary directory (replicas: "three", an unknown field, an unknown kind, a
# duplicate key, a Service selecting no pod, a manifest missing from the kustomization) and
# fails unless each is rejected with a message naming the file and the problem. So the
# check cannot silently pass. Problems of the real files are reported first, on their own.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-deploy/kubernetes}"
VENV="${KUBERNETES_VALIDATE_VENV:-target/peer-tools/kubernetes-validate}"
KV_VERSION="1.37.0"
K8S_VERSIONS=(1.30.0 1.37.0)

[ -d "$DIR" ] || { echo "check-deploy.sh: no manifest directory $DIR" >&2; exit 2; }
if [ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" != "$KV_VERSION" ]; then
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "kubernetes-validate==$KV_VERSION"
fi
PY="$VENV/bin/python"

# check_dir DIR: all checks of DIR; one "ok" line per file on stdout, problems on stderr.
check_dir() {
  "$PY" - "$1" "${K8S_VERSIONS[@]}" <<'PY'
import os
import sys
import tomllib

import yaml
import kubernetes_validate
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

directory, versions = sys.argv[1], sys.argv[2:]
errors = []


def error(path, message):
    errors.append(f"{path}: {message}")


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects a mapping key given twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.MarkedYAMLError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def name_of(doc):
    return f"{doc.get('kind', '?').lower()}/{(doc.get('metadata') or {}).get('name', '?')}"


files = sorted(f for f in os.listdir(directory) if f.endswith((".yaml", ".yml")))
if not files:
    error(directory, "no manifests (*.yaml) found")
docs = []  # (file, doc)
checked = {}  # file -> [kind/name]
for f in files:
    path = os.path.join(directory, f)
    try:
        with open(path, encoding="utf-8") as fh:
            loaded = [d for d in yaml.load_all(fh, Loader=UniqueKeyLoader) if d is not None]
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        error(path, f"invalid YAML: {e}")
        continue
    if not loaded:
        error(path, "no resource in the file")
    checked[f] = []
    for doc in loaded:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            error(path, "a document is not a Kubernetes resource (no kind or apiVersion)")
            continue
        docs.append((f, doc))
        if doc["kind"] == "Kustomization":
            checked[f].append(f"kustomization of {len(doc.get('resources') or [])} resources")
            continue  # not a cluster resource: checked below
        checked[f].append(name_of(doc))
        for v in versions:
            try:
                kubernetes_validate.validate(doc, v, strict=True)
            except ValidationError as e:
                where = ".".join(str(p) for p in e.path) or "(top level)"
                error(path, f"{name_of(doc)} is invalid for Kubernetes {v}: {where}: {e.message}")
                break
            except SchemaNotFoundError:
                error(path, f"{name_of(doc)}: no Kubernetes {v} schema for kind {doc['kind']!r} "
                            f"of apiVersion {doc['apiVersion']!r} (unknown kind or apiVersion)")
                break

resources = [(f, d) for f, d in docs if d["kind"] != "Kustomization"]
by_kind = {}
for f, d in resources:
    by_kind.setdefault(d["kind"], []).append((f, d))

# The kustomization: lists every manifest but the examples, each of which exists.
kustomizations = [(f, d) for f, d in docs if d["kind"] == "Kustomization"]
namespace = None
if len(kustomizations) != 1:
    error(directory, f"expected one kustomization.yaml, found {len(kustomizations)}")
else:
    kf, k = kustomizations[0]
    kpath = os.path.join(directory, kf)
    namespace = k.get("namespace")
    listed = k.get("resources") or []
    for r in listed:
        if not isinstance(r, str) or not os.path.isfile(os.path.join(directory, r)):
            error(kpath, f"resources lists {r!r}, which is not a file in {directory}")
        elif r.endswith((".example.yaml", ".example.yml")):
            error(kpath, f"resources lists the example {r}: applying it would overwrite the real one")
    for f in files:
        if f in (kf,) or f.endswith((".example.yaml", ".example.yml")):
            continue
        if f not in listed:
            error(kpath, f"{f} is not listed in resources (kubectl apply -k would skip it)")

# One namespace for every namespaced resource.
namespaces = {d["metadata"]["name"] for _, d in by_kind.get("Namespace", [])}
for f, d in resources:
    if d["kind"] == "Namespace":
        continue
    ns = (d.get("metadata") or {}).get("namespace")
    want = namespace or next(iter(namespaces), None)
    if ns is None and namespace is None:
        error(os.path.join(directory, f), f"{name_of(d)} has no namespace")
    elif ns is not None and want is not None and ns != want:
        error(os.path.join(directory, f), f"{name_of(d)} is in namespace {ns!r}, expected {want!r}")
if namespace is not None and namespaces and namespace not in namespaces:
    error(directory, f"the kustomization's namespace {namespace!r} is not created by any manifest")

named = {(d["kind"], d["metadata"]["name"]): d for _, d in resources}


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


workloads = []  # (file, deployment, pod template labels, pod spec)
for f, d in by_kind.get("Deployment", []):
    path = os.path.join(directory, f)
    tmpl = (d.get("spec") or {}).get("template") or {}
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    pod = tmpl.get("spec") or {}
    sel = ((d.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not matches(sel, labels):
        error(path, f"{name_of(d)}: spec.selector {sel} does not match the pod labels {labels}")
    workloads.append((f, d, labels, pod))

# Services and PodDisruptionBudgets select pods of a workload; a Service's ports exist there.
for kind, field in (("Service", ("spec", "selector")), ("PodDisruptionBudget", ("spec", "selector", "matchLabels"))):
    for f, d in by_kind.get(kind, []):
        sel = d
        for key in field:
            sel = (sel or {}).get(key)
        selected = [w for w in workloads if matches(sel or {}, w[2])]
        if not selected:
            error(os.path.join(directory, f), f"{name_of(d)}: selector {sel} selects no pods of the Deployments here")
        if kind == "Service":
            for port in (d.get("spec") or {}).get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                for _, w, _, pod in selected:
                    ports = [p for c in pod.get("containers", []) for p in c.get("ports") or []]
                    if not any(p.get("name") == target or p.get("containerPort") == target for p in ports):
                        error(os.path.join(directory, f), f"{name_of(d)}: targetPort {target!r} is no container port of {name_of(w)}")

# Every ConfigMap's *.toml entry is valid TOML.
for f, d in by_kind.get("ConfigMap", []):
    for key, text in (d.get("data") or {}).items():
        if key.endswith(".toml"):
            try:
                tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                error(os.path.join(directory, f), f"{name_of(d)}: {key} is not valid TOML: {e}")

# Pods: references resolve, and each container is hardened and has probes and resources.
for f, w, labels, pod in workloads:
    path = os.path.join(directory, f)
    what = name_of(w)
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for v in volumes.values():
        for source, kind, ref in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName")):
            if source in v and (kind, v[source].get(ref)) not in named:
                error(path, f"{what}: volume {v['name']} uses {kind} {v[source].get(ref)!r}, which no manifest here defines")
    pod_sc = pod.get("securityContext") or {}
    for c in pod.get("containers") or []:
        cname = f"{what} container {c.get('name')}"
        ports = c.get("ports") or []
        mounts = c.get("volumeMounts") or []
        for m in mounts:
            if m.get("name") not in volumes:
                error(path, f"{cname}: volumeMount {m.get('name')!r} names no volume")
        for probe in ("readinessProbe", "livenessProbe"):
            if probe not in c:
                error(path, f"{cname}: no {probe}")
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            port = ((c.get(probe) or {}).get("httpGet") or {}).get("port")
            if port is not None and not any(p.get("name") == port or p.get("containerPort") == port for p in ports):
                error(path, f"{cname}: {probe} port {port!r} is no container port")
        argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        if "--listen" in argv[:-1]:
            addr = argv[argv.index("--listen") + 1]
            port = addr.rsplit(":", 1)[-1]
            if not any(str(p.get("containerPort")) == port for p in ports):
                error(path, f"{cname}: listens on {addr} but declares no containerPort {port}")
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                s = named.get(("Secret", ref.get("name")))
                if s is None:
                    error(path, f"{cname}: env {e['name']} uses Secret {ref.get('name')!r}, which no manifest here defines (not even an example)")
                elif ref.get("key") not in {**(s.get("data") or {}), **(s.get("stringData") or {})}:
                    error(path, f"{cname}: env {e['name']} uses key {ref.get('key')!r}, which Secret {ref.get('name')} does not have")
            if e.get("name") == "VIGIL_CONFIG":
                file = e.get("value", "")
                found = False
                for m in mounts:
                    v = volumes.get(m.get("name")) or {}
                    prefix = m.get("mountPath", "").rstrip("/") + "/"
                    if "configMap" in v and file.startswith(prefix):
                        cm = named.get(("ConfigMap", v["configMap"].get("name"))) or {}
                        found = file[len(prefix):] in (cm.get("data") or {})
                if not found:
                    error(path, f"{cname}: VIGIL_CONFIG {file!r} is not a key of a mounted ConfigMap")
        sc = c.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            error(path, f"{cname}: runAsNonRoot is not set")
        if sc.get("readOnlyRootFilesystem") is not True:
            error(path, f"{cname}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            error(path, f"{cname}: allowPrivilegeEscalation is not false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            error(path, f"{cname}: capabilities are not dropped (drop: [ALL])")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in (res.get(part) or {}):
                    error(path, f"{cname}: no {r} in resources.{part}")

for e in errors:
    print(f"error: {e}", file=sys.stderr)
if errors:
    sys.exit(1)
shown = ", ".join(v.rsplit(".0", 1)[0] for v in versions)
for f in files:
    print(f"ok {os.path.join(directory, f)}: {', '.join(checked[f])} "
          f"(Kubernetes {shown} schemas, strict; references)")
PY
}

# mutate FILE PYTHON: rewrite the single-document manifest FILE after running PYTHON on it
# (as `d`); used for the broken copies of the self-check.
mutate() {
  "$PY" - "$1" "$2" <<'PY'
import sys
import yaml
path, code = sys.argv[1], sys.argv[2]
with open(path) as fh:
    d = yaml.safe_load(fh)
try:
    exec(code)
except (KeyError, IndexError, TypeError) as e:
    sys.exit(f"check-deploy.sh: self-check: cannot break {path} with `{code}` "
             f"({type(e).__name__}: {e}): update the self-check to the manifests")
with open(path, "w") as fh:
    yaml.safe_dump(d, fh, sort_keys=False)
PY
}

TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT

# The real manifests first, so that their own problems are reported as such; their "ok"
# lines are printed once the self-check has passed too.
check_dir "$DIR" >"$TMP/real.out"

# expect_rejected CASE FILE TEXT...: the broken copy CASE must fail, naming FILE and each TEXT.
expect_rejected() {
  local case="$1" file="$2"; shift 2
  if check_dir "$TMP/$case" >"$TMP/$case.out" 2>&1; then
    echo "check-deploy.sh: self-check failed: the broken copy '$case' passed the check" >&2
    exit 1
  fi
  for want in "$TMP/$case/$file" "$@"; do
    grep -qF -- "$want" "$TMP/$case.out" || {
      echo "check-deploy.sh: self-check failed: the error for '$case' does not say '$want':" >&2
      cat "$TMP/$case.out" >&2
      exit 1
    }
  done
}
broken() { rm -rf "$TMP/$1"; cp -r "$DIR" "$TMP/$1"; }

broken replicas-string
mutate "$TMP/replicas-string/deployment.yaml" 'd["spec"]["replicas"] = "three"'
expect_rejected replicas-string deployment.yaml "spec.replicas" "'three' is not of type 'integer'"

broken unknown-field
mutate "$TMP/unknown-field/deployment.yaml" \
  'c = d["spec"]["template"]["spec"]["containers"][0]; c["resource"] = c["resources"]'
expect_rejected unknown-field deployment.yaml "Additional properties are not allowed" "'resource'"

broken unknown-kind
mutate "$TMP/unknown-kind/service.yaml" 'd["kind"] = "Servic"'
expect_rejected unknown-kind service.yaml "no Kubernetes" "'Servic'"

broken duplicate-key
sed -i 's/^  replicas: 3$/  replicas: 3\n  replicas: 1/' "$TMP/duplicate-key/deployment.yaml"
expect_rejected duplicate-key deployment.yaml "duplicate key 'replicas'"

broken selector
mutate "$TMP/selector/service.yaml" 'd["spec"]["selector"] = {"app.kubernetes.io/name": "vigill"}'
expect_rejected selector service.yaml "selects no pods"

broken unlisted
cp "$TMP/unlisted/poddisruptionbudget.yaml" "$TMP/unlisted/extra.yaml"
expect_rejected unlisted kustomization.yaml "extra.yaml is not listed"

cat "$TMP/real.out"

# What `kubectl apply -k` sends: the kustomize build, validated the same way.
if command -v kubectl >/dev/null; then
  mkdir "$TMP/built"
  kubectl kustomize "$DIR" >"$TMP/built/all.yaml"
  cp "$DIR/kustomization.yaml" "$TMP/built/"
  for f in "$DIR"/*.example.yaml; do [ -e "$f" ] && cp "$f" "$TMP/built/"; done
  # The build is one file: list it instead of the sources.
  mutate "$TMP/built/kustomization.yaml" 'd["resources"] = ["all.yaml"]'
  check_dir "$TMP/built" | grep '/all.yaml:' | sed "s|$TMP/built/all.yaml|kubectl kustomize $DIR|"
elif [ "${CI:-}" = true ]; then
  echo "check-deploy.sh: kubectl is not installed (needed under CI=true for the kustomize build)" >&2
  exit 1
else
  echo "check-deploy.sh: kubectl is not installed: the kustomize build of $DIR is not checked" >&2
fi
