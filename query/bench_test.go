package query_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest/synth"
	"github.com/trailscope/trailscope/query"
)

// The benchmarks compare the lake (Parquet, through the views) with
// DuckDB's read_json straight over the raw .json.gz archive, for the same
// three questions. The corpus (synth, about TRAILSCOPE_BENCH_EVENTS
// events, default 1,000,000, with the planted attacks) is generated and
// ingested once and kept in $TMPDIR/trailscope-query-bench-N for later
// runs:
//
//	go test ./query -run '^$' -bench . -benchtime 5x

type benchCorpus struct {
	bucket, lake string
	events       int
	eventID      string // a planted event, for the point lookup
}

var (
	benchOnce sync.Once
	bench     benchCorpus
	benchErr  error
)

const stolenKey = "AKIASTOLEN0000000001"

func corpus(b *testing.B) benchCorpus {
	b.Helper()
	benchOnce.Do(func() { bench, benchErr = makeCorpus(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

func makeCorpus(b *testing.B) (benchCorpus, error) {
	events := 1_000_000
	if s := os.Getenv("TRAILSCOPE_BENCH_EVENTS"); s != "" {
		events, _ = strconv.Atoi(s)
	}
	root := filepath.Join(os.TempDir(), fmt.Sprintf("trailscope-query-bench-%d", events))
	c := benchCorpus{bucket: filepath.Join(root, "bucket"), lake: filepath.Join(root, "lake")}
	if _, err := os.Stat(filepath.Join(root, "ready")); err != nil {
		os.RemoveAll(root)
		// Two accounts in two regions, twelve files of 400 events an hour.
		const chains, perFile = 4, 400
		hours := max(1, events/(chains*12*perFile))
		t0 := time.Now()
		_, err := synth.Generate(context.Background(), synth.Options{Dir: c.bucket, Bucket: "bench", OrgID: "o-bench00001",
			OrgAccounts: []string{"111111111111"}, Accounts: []string{"222222222222"}, Regions: []string{"us-east-1", "eu-central-1"},
			Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Hours: hours, FilesPerHour: 12, EventsPerFile: perFile,
			Seed: 1, Attacks: true, GapHour: -1, NoDigests: true, GzipLevel: gzip.BestSpeed, KeysDir: "-"})
		if err != nil {
			return c, err
		}
		b.Logf("generated in %v", time.Since(t0))
		t0 = time.Now()
		ingestDir(b, c.bucket, c.lake)
		b.Logf("ingested in %v", time.Since(t0))
		os.WriteFile(filepath.Join(root, "ready"), nil, 0o644)
	}
	db, err := query.Open(context.Background(), c.lake, query.Options{Sandbox: true})
	if err != nil {
		return c, err
	}
	defer db.Close()
	res, err := db.Run(context.Background(), "SELECT count(*), any_value(eventID) FILTER (WHERE eventName = 'ScheduleKeyDeletion') FROM events")
	if err != nil {
		return c, err
	}
	c.events = int(res.Rows[0][0].(int64))
	c.eventID = fmt.Sprint(res.Rows[0][1])
	b.Logf("corpus: %d events in %s", c.events, root)
	return c, nil
}

// lakeBench times sql over the lake's views.
func lakeBench(b *testing.B, sql string, args ...any) {
	c := corpus(b)
	db, err := query.Open(context.Background(), c.lake, query.Options{Sandbox: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var rows int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := db.Run(context.Background(), sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(res.Rows)
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(c.events)/(b.Elapsed().Seconds()/float64(b.N))/1e6, "Mevents/s")
}

// rawBench times the same question asked of the raw archive with
// read_json (each file is {"Records": [...]}).
func rawBench(b *testing.B, where, order string, args ...any) {
	c := corpus(b)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`SELECT r FROM (SELECT unnest(Records) AS r FROM read_json('%s/**/*.json.gz', columns = {Records: 'JSON[]'}, maximum_object_size = 134217728))
WHERE %s %s`, c.bucket, where, order)
	var rows int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs, err := db.QueryContext(context.Background(), q, args...)
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for rs.Next() {
			rows++
		}
		if err := rs.Err(); err != nil {
			b.Fatal(err)
		}
		rs.Close()
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(c.events)/(b.Elapsed().Seconds()/float64(b.N))/1e6, "Mevents/s")
}

func BenchmarkLookupEventID(b *testing.B) {
	b.Run("lake", func(b *testing.B) { lakeBench(b, "SELECT * FROM events WHERE eventID = $1", corpus(b).eventID) })
	b.Run("read_json", func(b *testing.B) { rawBench(b, "(r->>'eventID') = $1", "", corpus(b).eventID) })
}

func BenchmarkAccessKeyTimeline(b *testing.B) {
	b.Run("lake", func(b *testing.B) {
		q, vals, err := query.BindPreset("timeline", []string{"who=" + stolenKey})
		if err != nil {
			b.Fatal(err)
		}
		lakeBench(b, q, vals...)
	})
	b.Run("read_json", func(b *testing.B) {
		rawBench(b, "(r->'userIdentity'->>'accessKeyId') = $1", "ORDER BY (r->>'eventTime')", stolenKey)
	})
}

func BenchmarkTamperingPreset(b *testing.B) {
	b.Run("lake", func(b *testing.B) {
		q, vals, err := query.BindPreset("tampering", nil)
		if err != nil {
			b.Fatal(err)
		}
		lakeBench(b, q, vals...)
	})
	b.Run("read_json", func(b *testing.B) {
		names := make([]string, len(query.TamperingEvents))
		for i, n := range query.TamperingEvents {
			names[i] = "'" + n + "'"
		}
		rawBench(b, "((r->>'eventName') IN ("+strings.Join(names, ", ")+") OR (r->>'eventName') LIKE 'Disable%')", "ORDER BY (r->>'eventTime')")
	})
}
