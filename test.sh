#!/usr/bin/env bash
# The whole test suite: the SDK, the sandbox and the command line; the bench
# module's checks that every benchmarked client works; then the interop
# module, where three independent WeChat Pay clients (two Go, one Node.js)
# run against the sandbox. Needs Go and Node.js with npm.
set -euo pipefail
cd "$(dirname "$0")"

go test -race ./...

(cd bench && go test -race ./...)

cd interop
npm ci --no-audit --no-fund --loglevel=error
go test -race ./...
