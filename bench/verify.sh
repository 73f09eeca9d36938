#!/usr/bin/env bash
# Verification benchmark: generate one signed CloudTrail archive (default
# 2 accounts x 2 regions x 24 h, 12 log files an hour per chain), load it
# into a versitygw on 127.0.0.1 with a loopback CloudTrail stand-in
# (bench/verifycorpus), and time on the same archive and the same server:
#   (a) aws cloudtrail validate-logs, one run per account and region (the
#       CLI validates one chain per run), sequential as the CLI is;
#   (b) trailscope verify s3://... (every chain in one run), RUNS times;
#   (c) bench/s3get: list and GET every object, bytes discarded (the floor);
# objects (digests + logs) verified per second for each and the ratio;
# then the same again through a proxy adding LATENCY to every S3 request
# (default 20ms, about an S3 GET's first byte in region; 0 skips it).
# Then go test -bench InflateHash: inflate + SHA-256, MB/s on one core.
# Results: docs/BENCHMARKS.md, "Integrity (issue 3)".
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}
ACCOUNTS=${ACCOUNTS:-2}
REGIONS=${REGIONS:-2}
HOURS=${HOURS:-24}
FILES=${FILES:-12}
RUNS=${RUNS:-3}
LATENCY=${LATENCY:-20ms} # a second comparison through a proxy adding this per request (0: skip)
mkdir -p "$OUT/verify"
command -v aws >/dev/null || { echo "the AWS CLI (aws) is not on PATH" >&2; exit 1; }

go build -o "$OUT/trailscope" ./cmd/trailscope
go build -o "$OUT/verifycorpus" ./bench/verifycorpus
go build -o "$OUT/s3get" ./bench/s3get

ENV="$OUT/verify/servers.env"
rm -f "$ENV"
"$OUT/verifycorpus" -out "$OUT/verify" -accounts "$ACCOUNTS" -regions "$REGIONS" -hours "$HOURS" -files "$FILES" -latency "$LATENCY" -env "$ENV" &
SERVERS=$!
trap 'kill "$SERVERS" 2>/dev/null; wait "$SERVERS" 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$ENV" ] && break; kill -0 "$SERVERS" || exit 1; sleep 0.5; done
[ -s "$ENV" ] || { echo "verifycorpus did not start" >&2; exit 1; }
# shellcheck disable=SC1090
source "$ENV"
CHAINS=$(($(wc -w <<<"$ACCOUNT_IDS") * $(wc -w <<<"$REGION_NAMES")))
echo "archive: $ACCOUNTS accounts x $REGIONS regions x $HOURS h ($CHAINS chains): $DIGESTS digests + $LOGS logs = $OBJECTS objects, $((LOG_BYTES / 1000000)) MB uncompressed"

# Both tools get the same isolated AWS configuration: the S3 server's
# credentials, path-style S3 at $S3_URL, CloudTrail at $CT_URL.
CFG="$OUT/verify/aws"
mkdir -p "$CFG"
printf '[default]\nregion = %s\ns3 =\n  addressing_style = path\n' "$HOME_REGION" >"$CFG/config"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$CFG/credentials"
for v in $(env | grep -o '^AWS_[A-Z_]*' || true); do unset "$v"; done
export AWS_CONFIG_FILE="$CFG/config" AWS_SHARED_CREDENTIALS_FILE="$CFG/credentials" AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_CLOUDTRAIL="$CT_URL"

now() { date +%s.%N; }
# valid <file>: the sum of the "N/M ... files valid" counts of a summary.
valid() { grep -Eo '^[0-9]+/[0-9]+ (digest|backfill digest|log) files valid' "$1" | awk -F/ '{s += $1} END {print s + 0}'; }

# compare LABEL S3URL: (a) then (b) against the S3 server at S3URL.
compare() {
  local label=$1 s3=$2 cli_valid=0 t0 t1 cli_s cli_rate best= s ts_valid ts_rate
  echo "== $label ($s3)"
  # (a) the AWS CLI, one chain per run.
  t0=$(now)
  for acct in $ACCOUNT_IDS; do
    for region in $REGION_NAMES; do
      AWS_ENDPOINT_URL_S3=$s3 aws cloudtrail validate-logs --region "$region" --endpoint-url "$CT_URL" \
        --trail-arn "arn:aws:cloudtrail:$HOME_REGION:$acct:trail/$TRAIL" --account-id "$acct" --s3-bucket "$BUCKET" \
        --start-time "$START" --end-time "$END" --verbose >"$OUT/verify/cli.out" 2>"$OUT/verify/cli.err" || {
        echo "aws validate-logs failed for $acct $region:" >&2; cat "$OUT/verify/cli.err" >&2; exit 1; }
      cli_valid=$((cli_valid + $(valid "$OUT/verify/cli.out")))
    done
  done
  t1=$(now)
  cli_s=$(echo "$t1 - $t0" | bc -l)
  cli_rate=$(echo "$cli_valid / $cli_s" | bc -l)
  printf 'aws cloudtrail validate-logs: %d objects valid in %.2f s (%d runs, one per chain): %.0f objects/s\n' "$cli_valid" "$cli_s" "$CHAINS" "$cli_rate"
  [ "$cli_valid" -eq "$OBJECTS" ] || { echo "the CLI verified $cli_valid of $OBJECTS objects" >&2; exit 1; }
  # (b) trailscope, every chain in one run; best of RUNS.
  for i in $(seq "$RUNS"); do
    t0=$(now)
    "$OUT/trailscope" verify "s3://$BUCKET" --endpoint-url "$s3" --start "$START" --end "$END" --trail "$TRAIL" \
      --format awscli >"$OUT/verify/trailscope.out" 2>"$OUT/verify/trailscope.err" || {
      echo "trailscope verify failed:" >&2; cat "$OUT/verify/trailscope.err" >&2; exit 1; }
    t1=$(now)
    s=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$s < $best" | bc -l)" = 1 ]; then best=$s; fi
  done
  ts_valid=$(valid "$OUT/verify/trailscope.out")
  [ "$ts_valid" -eq "$OBJECTS" ] || { echo "trailscope verified $ts_valid of $OBJECTS objects" >&2; exit 1; }
  ts_rate=$(echo "$ts_valid / $best" | bc -l)
  printf 'trailscope verify: %d objects valid in %.2f s (best of %d): %.0f objects/s\n' "$ts_valid" "$best" "$RUNS" "$ts_rate"
  printf 'ratio: %.1fx the AWS CLI objects/s (goal >= 20x)\n' "$(echo "$ts_rate / $cli_rate" | bc -l)"
  # (c) the floor: list and GET every object, bytes discarded, same SDK
  # settings and readers; the ceiling of any tool on this server.
  AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY "$OUT/s3get" -endpoint "$s3" -bucket "$BUCKET" -runs "$RUNS"
}
compare "loopback" "$S3_URL"
if [ -n "${S3_URL_SLOW:-}" ]; then compare "loopback + $LATENCY per request" "$S3_URL_SLOW"; fi

# Inflate + SHA-256 on one core.
go test ./ingest/integrity -run x -bench InflateHash -cpu 1 -count 3 | grep -E '^Benchmark'
