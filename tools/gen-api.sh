#!/usr/bin/env bash
# Regenerates the Go code for the protobuf definitions under api/.
#
# The generated files are committed, so building Shingle never needs this;
# run it after editing a .proto file, then commit the .proto and the
# generated code together. It builds buf and the two protoc plugins at the
# pinned versions from the Go module proxy into a temporary directory, so
# nothing is installed globally and every machine generates the same code.
set -euo pipefail

BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12        # keep equal to google.golang.org/protobuf in go.mod
CONNECT_VERSION=v1.21.1               # keep equal to connectrpc.com/connect in go.mod

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

GOBIN=$bin go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
GOBIN=$bin go install "connectrpc.com/connect/cmd/protoc-gen-connect-go@$CONNECT_VERSION"
GOBIN=$bin go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"

cd "$root/api"
PATH=$bin:$PATH buf lint
PATH=$bin:$PATH buf generate
gofmt -l . | (! grep .) || { echo "gen-api: generated code is not gofmt-clean" >&2; exit 1; }
echo "gen-api: regenerated $(find . -name '*.pb.go' -o -name '*.connect.go' | wc -l) files under api/"
