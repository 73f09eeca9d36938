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

// TestBloomFiltersPruneLookups: the lookup columns carry Bloom filters
// that DuckDB reads: a row group is never excluded for an eventID it
// holds, and is excluded for almost every eventID it does not.
func TestBloomFiltersPruneLookups(t *testing.T) {
	t.Run("batch file", func(t *testing.T) {
		src, _ := ingest.NewDirSource(realEventFiles(t))
		lk := t.TempDir()
		ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
		files, _ := filepath.Glob(filepath.Join(lk, "events", "*", "*", "*", "*.parquet"))
		if len(files) == 0 {
			t.Fatal("no parquet files")
		}
		checkBlooms(t, files[0])
	})
	// A compacted file keeps a filter in every row group, merged rows and
	// copied ones alike.
	t.Run("compacted file", func(t *testing.T) {
		_, lk, _ := overlappingLake(t, 40, 1000, lake.Options{BatchEvents: 5000, Compact: true})
		files, _ := filepath.Glob(filepath.Join(lk, "events", "*", "*", "*", "*-sc.parquet"))
		if len(files) == 0 {
			t.Fatal("no compacted file")
		}
		checkBlooms(t, files[0])
	})
}

func checkBlooms(t *testing.T, f string) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var withBloom, rowGroups int
	q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE bloom_filter_length > 0 AND path_in_schema IN ('eventID', 'requestID', 'sourceIPAddress', 'userIdentity, accessKeyId', 'userIdentity, arn')),
		count(DISTINCT row_group_id) FROM parquet_metadata('%s')`, f)
	if err := db.QueryRow(q).Scan(&withBloom, &rowGroups); err != nil {
		t.Fatal(err)
	}
	if withBloom != 5*rowGroups {
		t.Fatalf("%s: %d lookup column chunks with a Bloom filter in %d row groups; want all 5 in each", f, withBloom, rowGroups)
	}
	var id string
	if err := db.QueryRow(fmt.Sprintf(`SELECT eventID FROM read_parquet('%s') WHERE eventID IS NOT NULL LIMIT 1`, f)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	probe := func(v string) bool {
		var excluded bool
		q := fmt.Sprintf(`SELECT bool_and(bloom_filter_excludes) FROM parquet_bloom_probe('%s', 'eventID', '%s')`, f, v)
		if err := db.QueryRow(q).Scan(&excluded); err != nil {
			t.Fatal(err)
		}
		return excluded
	}
	if probe(id) {
		t.Fatalf("the filter excludes eventID %s, which the file holds", id)
	}
	excluded := 0
	for i := range 200 { // IDs no corpus here uses
		if probe(fmt.Sprintf("ffffffff-ffff-4fff-8fff-%012d", i)) {
			excluded++
		}
	}
	if excluded < 190 {
		t.Fatalf("only %d of 200 absent eventIDs excluded by the Bloom filter", excluded)
	}
}
