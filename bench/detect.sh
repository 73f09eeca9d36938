#!/usr/bin/env bash
# Detection over a lake (SQL backend): the built-in pack, then the built-in
# pack plus the 57 SigmaHQ CloudTrail rules, on the lake of EVENTS events
# (bench/query.sh builds it; EVENTS=10000000 for the issue's 10M lake).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
OUT=${OUT:-bench/out}
LAKE=${LAKE:-$OUT/lake-$EVENTS}
[ -d "$LAKE/events" ] || { echo "no lake at $LAKE: run EVENTS=$EVENTS bash bench/query.sh first" >&2; exit 1; }
go build -o "$OUT/trailscope" ./cmd/trailscope
for i in $(seq "${RUNS:-3}"); do
  /usr/bin/time -f "detect --lake, built-in pack: %e s wall, %M KB peak RSS" \
    "$OUT/trailscope" detect --lake "$LAKE" -q --fail-on none --format jsonl >"$OUT/findings-builtin.jsonl"
  /usr/bin/time -f "detect --lake, built-in + SigmaHQ rules: %e s wall, %M KB peak RSS" \
    "$OUT/trailscope" detect --lake "$LAKE" --rules testdata/sigma/sigmahq/rules -q --fail-on none --format jsonl >"$OUT/findings-all.jsonl"
done
echo "findings: $(wc -l <"$OUT/findings-builtin.jsonl") (built-in), $(wc -l <"$OUT/findings-all.jsonl") (with SigmaHQ)"
