#!/usr/bin/env bash
# The whole test suite: the SDK, the sandbox and the command line; the mall
# points service (mallpoints/, on SQLite and, when one is reachable, on
# PostgreSQL: MALLPOINTS_TEST_POSTGRES or 127.0.0.1:5432 as user postgres);
# the bench module's checks that every benchmarked client works; then the
# interop module, where three independent WeChat Pay clients (two Go, one
# Node.js) run against the sandbox. Needs Go and Node.js with npm.
set -euo pipefail
cd "$(dirname "$0")"

go test -race ./...

(cd mallpoints && go test -race ./...)

(cd bench && go test -race ./...)

cd interop
npm ci --no-audit --no-fund --loglevel=error
go test -race ./...
