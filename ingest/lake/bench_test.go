package lake_test

import (
	"context"
	"os"
	"testing"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
)

// BenchmarkIngest measures a whole ingest (list, gunzip, decode, parse,
// de-duplicate, write zstd Parquet, commit) of a corpus of real event
// shapes: 100 files × 1,400 events.
func BenchmarkIngest(b *testing.B) {
	corpus := b.TempDir()
	n := makeCorpus(b, corpus, 100, 1400)
	var size int64
	ents, _ := os.ReadDir(corpus)
	_ = ents
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lk := b.TempDir()
		ctx := context.Background()
		w, err := lake.Open(ctx, lk, lake.Options{})
		if err != nil {
			b.Fatal(err)
		}
		src, _ := ingest.NewDirSource(corpus)
		if err := ingest.Run(ctx, src, w, ingest.Options{}); err != nil {
			b.Fatal(err)
		}
		rep, err := w.Close(ctx)
		if err != nil || rep.EventsWritten != int64(n) {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	_ = size
}
