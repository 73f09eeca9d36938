#!/usr/bin/env bash
# Peak memory of `trailscope verify` against the length of the range:
# one chain, offline (a local archive and its key file), archives from
# bench/verifycorpus (generated once, kept under bench/out/verify).
#   bash bench/verifymem.sh                 # 24 h, 20 days, 4 busy days, 90 days, a year
#   SPECS="24:12 480:12" bash bench/verifymem.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SPECS=${SPECS:-"24:12 480:12 96:200 2160:12 8760:12"}
BIN=${BIN:-bench/out/trailscope}
go build -o "$BIN" ./cmd/trailscope
go build -o bench/out/verifycorpus ./bench/verifycorpus
printf '| hours | logs an hour | files | peak RSS | time |\n|---|---|---|---|---|\n'
for spec in $SPECS; do
  hours=${spec%%:*} files=${spec##*:}
  dir=$(bench/out/verifycorpus -generate-only -accounts 1 -regions 1 -hours "$hours" -files "$files" -events 120)
  out=$(mktemp)
  /usr/bin/time -f '%M %e' -o "$out.time" "$BIN" verify "$dir/bucket" --public-keys "$dir/keys/public-keys.json" --format json >"$out" || true
  read -r kb secs <"$out.time"
  n=$(tail -1 "$out" | sed 's/.*"files":\([0-9]*\).*/\1/')
  valid=$(tail -1 "$out" | sed 's/.*"valid":\([0-9]*\).*/\1/')
  [ "$n" = "$valid" ] || { echo "not all valid: $(tail -1 "$out")" >&2; exit 1; }
  printf '| %s | %s | %s | %d MB | %s s |\n' "$hours" "$files" "$n" $((kb / 1000)) "$secs"
  rm -f "$out" "$out.time"
done
