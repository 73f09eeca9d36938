#!/usr/bin/env bash
# Ingest benchmark: generate a corpus of EVENTS CloudTrail events (default
# 1,000,000) and time, on the same files and the same machine:
#   (a) trailscope ingest into a lake (with its final compaction, and with --no-compact),
#   (b) DuckDB's own read_json (Records as JSON[], unnest, same fields) into one zstd Parquet file,
#   (c) plain parallel gunzip with klauspost/compress (the floor).
# Wall time and peak RSS come from /usr/bin/time. Results: docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
TIME=/usr/bin/time
[ -x "$TIME" ] || { apt-get install -y time >/dev/null; }

go build -o "$OUT/trailscope" ./cmd/trailscope
go build -o "$OUT/duckjson" ./bench/duckjson
go build -o "$OUT/gunzip" ./bench/gunzip
go build -o "$OUT/gencorpus" ./bench/gencorpus

CORPUS="$OUT/corpus-$EVENTS"
if [ ! -d "$CORPUS" ]; then
  "$OUT/gencorpus" -out "$CORPUS" -events "$EVENTS"
fi
echo "corpus: $(du -sh "$CORPUS" | cut -f1) gzipped, $EVENTS events"

run() { # name, command...
  local name=$1; shift
  "$TIME" -f "$name: %e s wall, %M KB peak RSS" "$@" >/dev/null 2>"$OUT/$name.time" || { cat "$OUT/$name.time"; exit 1; }
  tail -1 "$OUT/$name.time"
}
for i in 1 2 3; do
  run gunzip "$OUT/gunzip" "$CORPUS"
  rm -rf "$OUT/lake"
  run trailscope-no-compact "$OUT/trailscope" ingest "$CORPUS" --lake "$OUT/lake" --no-compact -q
  rm -rf "$OUT/lake"
  run trailscope "$OUT/trailscope" ingest "$CORPUS" --lake "$OUT/lake" -q
  rm -f "$OUT/duck.parquet"
  run duckdb "$OUT/duckjson" "$CORPUS/**/*.json.gz" "$OUT/duck.parquet"
done
echo "lake: $(du -sh "$OUT/lake" | cut -f1); duckdb parquet: $(du -sh "$OUT/duck.parquet" | cut -f1)"
