// Command duckjson is the comparison point for trailscope ingest: DuckDB's
// own read_json over the same .json.gz files, into one zstd Parquet file,
// with the robust recipe (Records read as JSON[], unnested, the same fields
// extracted). Usage: duckjson 'CORPUS/**/*.json.gz' OUT.parquet
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

const query = `COPY (
  SELECT
    r->>'eventVersion' AS eventVersion,
    (r->>'eventTime')::TIMESTAMPTZ AS eventTime,
    r->>'eventSource' AS eventSource,
    r->>'eventName' AS eventName,
    r->>'awsRegion' AS awsRegion,
    r->>'sourceIPAddress' AS sourceIPAddress,
    r->>'userAgent' AS userAgent,
    r->>'errorCode' AS errorCode,
    r->>'errorMessage' AS errorMessage,
    r->>'requestID' AS requestID,
    r->>'eventID' AS eventID,
    (r->>'readOnly')::BOOLEAN AS readOnly,
    r->>'eventType' AS eventType,
    (r->>'managementEvent')::BOOLEAN AS managementEvent,
    r->>'recipientAccountId' AS recipientAccountId,
    r->>'eventCategory' AS eventCategory,
    r->'userIdentity' AS userIdentity,
    r->'tlsDetails' AS tlsDetails,
    r->'resources' AS resources,
    r->'requestParameters' AS requestParameters,
    r->'responseElements' AS responseElements,
    r->'additionalEventData' AS additionalEventData
  FROM (SELECT unnest(Records) AS r
        FROM read_json(?, columns = {Records: 'JSON[]'}, maximum_object_size = 1073741824))
) TO '%s' (FORMAT parquet, COMPRESSION zstd)`

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: duckjson GLOB OUT.parquet")
		os.Exit(3)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	out := strings.ReplaceAll(os.Args[2], "'", "''")
	if _, err := db.Exec(fmt.Sprintf(query, out), os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var n int64
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, out)).Scan(&n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("duckdb read_json: %d events in %.2fs\n", n, time.Since(start).Seconds())
}
