#!/usr/bin/env bash
# Scan vs ingest on the benchmark corpus (run bench/ingest.sh first, same OUT):
# scan = ingest + streaming detection (built-in pack + SigmaHQ rules);
# the corpus has no digests, so no verification work.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
OUT=${OUT:-bench/out}
CORPUS="$OUT/corpus-$EVENTS"
go build -o "$OUT/trailscope" ./cmd/trailscope
for i in 1 2 3; do
  rm -rf "$OUT/lake" "$OUT/scanlake"
  /usr/bin/time -f "ingest: %e s wall, %M KB peak RSS" "$OUT/trailscope" ingest "$CORPUS" --lake "$OUT/lake" -q >/dev/null
  /usr/bin/time -f "scan (built-in + SigmaHQ rules): %e s wall, %M KB peak RSS" "$OUT/trailscope" scan "$CORPUS" --lake "$OUT/scanlake" \
    --rules testdata/sigma/sigmahq/rules --no-verify --fail-on none -q >/dev/null
done
/usr/bin/time -f "detect --lake (SQL over the lake): %e s wall, %M KB peak RSS" "$OUT/trailscope" detect --lake "$OUT/lake" --rules testdata/sigma/sigmahq/rules -q --format jsonl >/dev/null
