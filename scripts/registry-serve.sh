#!/usr/bin/env bash
# registry-serve.sh STORAGE PORT [htpasswd FILE | token REALM CERT]
#
# Serves a docker-registry (distribution v2, the Debian `docker-registry` package) storage
# directory read-only on 127.0.0.1:PORT over plain HTTP, for vigil-image's registry tests.
# `htpasswd FILE` (from `htpasswd -Bbn USER PASS`): clients must use HTTP basic auth.
# `token REALM CERT`: bearer tokens from the token server at REALM (for example
# registry-token-server.py), signed by the key of certificate CERT; service `vigil-test`.
# The process replaces this shell (exec), so killing the PID stops the registry; the
# generated config is written to a temporary file that is removed at exit.
set -euo pipefail
usage() { echo "usage: $0 STORAGE PORT [htpasswd FILE | token REALM CERT]" >&2; exit 2; }
[ $# -eq 2 ] || { [ $# -eq 4 ] && [ "$3" = htpasswd ]; } || { [ $# -eq 5 ] && [ "$3" = token ]; } || usage
abspath() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
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
  if [ "${3:-}" = htpasswd ]; then
    echo "auth: {htpasswd: {realm: vigil-test, path: \"$(abspath "$4")\"}}"
  elif [ "${3:-}" = token ]; then
    echo "auth: {token: {realm: \"$4\", service: vigil-test, issuer: vigil-test-issuer, rootcertbundle: \"$(abspath "$5")\"}}"
  fi
} >"$cfg"
# the registry reads its config at start; remove it shortly after, whatever happens
( sleep 5; rm -f "$cfg" ) &
exec docker-registry serve "$cfg"
