#!/usr/bin/env bash
# registry-serve.sh STORAGE PORT [HTPASSWD_FILE]
#
# Serves a docker-registry (distribution v2, the Debian `docker-registry` package) storage
# directory read-only on 127.0.0.1:PORT over plain HTTP, for vigil-image's registry tests.
# With HTPASSWD_FILE (from `htpasswd -Bbn USER PASS`), clients must use HTTP basic auth.
# The process replaces this shell (exec), so killing the PID stops the registry; the
# generated config is written to a temporary file that is removed at exit.
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 STORAGE PORT [HTPASSWD_FILE]" >&2; exit 2; }
storage="$(cd "$1" && pwd)"
port="$2"
cfg="$(mktemp "${TMPDIR:-/tmp}/vigil-registry.XXXXXX.yml")"
{
  echo "version: 0.1"
  echo "log: {level: error, accesslog: {disabled: true}}"
  echo "storage:"
  echo "  filesystem: {rootdirectory: \"$storage\"}"
  echo "  maintenance: {uploadpurging: {enabled: false}, readonly: {enabled: true}}"
  echo "http: {addr: \"127.0.0.1:$port\"}"
  if [ $# -eq 3 ]; then
    echo "auth: {htpasswd: {realm: vigil-test, path: \"$(cd "$(dirname "$3")" && pwd)/$(basename "$3")\"}}"
  fi
} >"$cfg"
# the registry reads its config at start; remove it shortly after, whatever happens
( sleep 5; rm -f "$cfg" ) &
exec docker-registry serve "$cfg"
