#!/bin/sh
# Builds a small Go program with module dependencies, one of them replaced, for Linux
# (ELF), macOS (Mach-O) and Windows (PE), into the directory $1: app-linux, app-darwin,
# app-windows.exe. The dependencies are vendored (written here), so the build needs the
# Go toolchain only, no network. The build info the linker writes is what the Go
# detector must read; `go version -m` on the outputs is the oracle.
set -eu
out=$1
mkdir -p "$out"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
mkdir -p "$src/vendor/example.com/greet" "$src/vendor/example.com/old"
cat >"$src/go.mod" <<'GO'
module example.com/app

go 1.19

require (
	example.com/greet v1.2.3
	example.com/old v0.1.0
)

replace example.com/old v0.1.0 => example.org/fork v0.2.0
GO
cat >"$src/vendor/modules.txt" <<'TXT'
# example.com/greet v1.2.3
## explicit; go 1.19
example.com/greet
# example.com/old v0.1.0 => example.org/fork v0.2.0
## explicit; go 1.19
example.com/old
TXT
cat >"$src/vendor/example.com/greet/greet.go" <<'GO'
package greet

func Hello() string { return "hello" }
GO
cat >"$src/vendor/example.com/old/old.go" <<'GO'
package old

func Name() string { return "fork" }
GO
cat >"$src/main.go" <<'GO'
package main

import (
	"fmt"

	"example.com/greet"
	"example.com/old"
)

func main() { fmt.Println(greet.Hello(), old.Name()) }
GO
cd "$src"
for target in linux/amd64/app-linux darwin/amd64/app-darwin windows/amd64/app-windows.exe; do
	goos=${target%%/*}
	rest=${target#*/}
	goarch=${rest%%/*}
	name=${rest#*/}
	GOOS=$goos GOARCH=$goarch GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=0 \
		go build -trimpath -buildvcs=false -o "$out/$name" .
done
