#!/usr/bin/env bash
# One interleaved run of every benchmark in this module, built three ways:
#   go      the default build (crypto/rsa everywhere)
#   boring  GOEXPERIMENT=boringcrypto (BoringCrypto for wxpay and the peers)
#   openssl -tags openssl (wxpay through OpenSSL's libcrypto; peers crypto/rsa)
# plus `openssl speed -seconds 3 rsa2048`, round after round, so load on the
# machine hits every configuration alike. Results go to $OUT (default
# ./results): raw.txt for benchstat, speed.txt, and summary.txt.
#
#   COUNT=6 BENCHTIME=1s ./run.sh        # about 10 minutes on 2 cores
#
# Needs cgo and OpenSSL 3 headers (Debian: libssl-dev) and benchstat
# (golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da).
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}
# BenchmarkInterleaveCost (a diagnosis, see README.md) is left out unless
# BENCH names it.
bench=${BENCH:-'^Benchmark(Sign|Verify|PointsSync|PointsSyncInterleaved|NotifyParse)$'}
out=${OUT:-results}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

export CGO_ENABLED=1
go test -c -o "$bin/go.test" .
GOEXPERIMENT=boringcrypto go test -c -o "$bin/boring.test" .
go test -tags openssl -c -o "$bin/openssl.test" .
# Each binary first proves it runs the crypto its name says (TestBoringCryptoIsOn,
# TestOpenSSLIsOn) and that every cell works.
for b in go boring openssl; do
  "$bin/$b.test" -test.count=1 >/dev/null
done

{
  echo "# $(date -u +%FT%TZ) $(go version | cut -d' ' -f3) $(openssl version | cut -d' ' -f1-2)"
  echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/summary.txt"
: >"$out/raw.txt"
: >"$out/speed.txt"
for round in $(seq "$count"); do
  # Rotate the order of the three builds from round to round.
  case $((round % 3)) in
    0) order="go boring openssl" ;;
    1) order="boring openssl go" ;;
    2) order="openssl go boring" ;;
  esac
  for b in $order; do
    (cd "$bin" && "./$b.test" -test.run='^$' -test.bench="$bench" -test.benchtime="$benchtime" -test.count=1) >>"$out/raw.txt"
  done
  openssl speed -seconds 3 rsa2048 2>/dev/null | grep '^rsa 2048' >>"$out/speed.txt"
  echo "round $round/$count done, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/summary.txt"

# openssl speed prints: rsa 2048 bits <sign s> <verify s> <sign/s> <verify/s>
awk '{s=s" "$4*1e9; v=v" "$5*1e9} END {print "openssl speed rsa2048 sign ns:" s; print "openssl speed rsa2048 verify ns:" v}' \
  "$out/speed.txt" | tee -a "$out/summary.txt"

if command -v benchstat >/dev/null; then
  # One table per benchmark: the implementations down, the builds across,
  # crypto/rsa first as the base column.
  for name in Sign Verify PointsSync NotifyParse; do
    echo "## $name"
    benchstat -filter ".name:$name" -row /impl -col 'crypto@(go boringcrypto openssl)' "$out/raw.txt"
  done >>"$out/summary.txt" 2>&1 || true
  # The four points syncs timed in one loop in each binary: ratios to wxpay.
  { echo "## PointsSyncInterleaved"
    benchstat -filter '.name:PointsSyncInterleaved' -col 'crypto@(go boringcrypto openssl)' "$out/raw.txt"
  } >>"$out/summary.txt" 2>&1 || true
fi
echo "results in $out/"
