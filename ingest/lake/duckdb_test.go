package lake_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
)

// TestDuckDBReadsTheLakeAsIs: plain read_parquet with
// hive_partitioning = true, no views, nested fields and JSON columns work.
func TestDuckDBReadsTheLakeAsIs(t *testing.T) {
	src, _ := ingest.NewDirSource(realEventFiles(t))
	lk := t.TempDir()
	ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := filepath.Join(lk, "events", "**", "*.parquet")
	var n, buckets, arns int
	var typ string
	q := fmt.Sprintf(`SELECT count(*), count(requestParameters->>'bucketName'), count(userIdentity.arn), any_value(typeof(requestParameters))
		FROM read_parquet('%s', hive_partitioning = true)`, glob)
	if err := db.QueryRow(q).Scan(&n, &buckets, &arns, &typ); err != nil {
		t.Fatal(err)
	}
	if n != realEvents || buckets == 0 || arns == 0 || typ != "JSON" {
		t.Fatalf("rows %d, bucketName %d, arn %d, requestParameters type %s", n, buckets, arns, typ)
	}
	var acct string
	q = fmt.Sprintf(`SELECT account FROM read_parquet('%s', hive_partitioning = true) WHERE userIdentity.arn LIKE '%%:user/%%' AND account <> 'unknown' LIMIT 1`, glob)
	if err := db.QueryRow(q).Scan(&acct); err != nil || len(acct) != 12 {
		t.Fatalf("partition column account = %q, %v", acct, err)
	}
}
