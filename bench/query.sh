#!/usr/bin/env bash
# Query speed on a lake of the benchmark corpus (bench/ingest.sh first, same
# OUT) against DuckDB over the raw .json.gz files: a point lookup by eventID,
# an access-key timeline, a logging-tampering filter (the same SQL on both
# sides), and the tampering preset (lake only: it needs the typed columns).
# EVENTS=10000000 for the issue's 10M-event lake (~20 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
OUT=${OUT:-bench/out}
CORPUS="$OUT/corpus-$EVENTS"
LAKE=${LAKE:-$OUT/lake-$EVENTS}
go build -o "$OUT/trailscope" ./cmd/trailscope
go build -o "$OUT/duckraw" ./bench/duckraw
[ -d "$CORPUS" ] || { go build -o "$OUT/gencorpus" ./bench/gencorpus && "$OUT/gencorpus" -out "$CORPUS" -events "$EVENTS"; }
[ -d "$LAKE/events" ] || /usr/bin/time -f "ingest $EVENTS events: %e s wall, %M KB peak RSS" "$OUT/trailscope" ingest "$CORPUS" --lake "$LAKE" -q >/dev/null
TAMPER="eventName IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'DeleteFlowLogs', 'DeleteDetector', 'DeleteLogGroup', 'ScheduleKeyDeletion', 'PutBucketLogging') OR eventName LIKE 'Disable%'"
ID=$("$OUT/trailscope" query --lake "$LAKE" --format csv "SELECT eventID FROM events ORDER BY eventTime DESC LIMIT 1 OFFSET 12345" | tail -1)
KEY=$("$OUT/trailscope" query --lake "$LAKE" --format csv "SELECT userIdentity.accessKeyId FROM events WHERE userIdentity.type = 'IAMUser' LIMIT 1" | tail -1)
t() { local name=$1; shift; /usr/bin/time -f "$name: %e s" "$@" >/dev/null; }
for i in 1 2 3; do
  t "lake: eventID lookup" "$OUT/trailscope" query --lake "$LAKE" "SELECT * FROM events WHERE eventID = '$ID'"
  t "lake: access key timeline" "$OUT/trailscope" query --lake "$LAKE" --preset timeline --arg who="$KEY"
  t "lake: tampering filter" "$OUT/trailscope" query --lake "$LAKE" "SELECT eventTime, eventName, userIdentity.arn FROM events WHERE $TAMPER"
  t "lake: tampering preset" "$OUT/trailscope" query --lake "$LAKE" --preset tampering
done
t "raw json.gz: eventID lookup" "$OUT/duckraw" "$CORPUS" "SELECT * FROM r WHERE r.eventID = '$ID'"
t "raw json.gz: access key timeline" "$OUT/duckraw" "$CORPUS" "SELECT * FROM r WHERE r.userIdentity.accessKeyId = '$KEY' ORDER BY r.eventTime"
t "raw json.gz: tampering filter" "$OUT/duckraw" "$CORPUS" "SELECT eventTime, eventName, userIdentity.arn FROM r WHERE $TAMPER"
