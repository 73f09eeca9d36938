package synth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest/synth"
)

// corpus is a benchmark corpus of about events events: two accounts in
// two regions, twelve files an hour.
func corpus(dir string, events int) synth.Options {
	const chains, perFile = 4, 400
	hours := events / (chains * 12 * perFile)
	if hours < 1 {
		hours = 1
	}
	return synth.Options{Dir: filepath.Join(dir, "bucket"), Bucket: "bench", OrgID: "o-bench00001", OrgAccounts: []string{"111111111111"}, Accounts: []string{"222222222222"},
		Regions: []string{"us-east-1", "eu-central-1"}, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Hours: hours, FilesPerHour: 12, EventsPerFile: perFile,
		Seed: 1, Attacks: true, GapHour: -1, GzipLevel: gzip.BestSpeed, KeysDir: filepath.Join(dir, "keys")}
}

func benchGenerate(b *testing.B, events int) {
	var n, raw int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		o := corpus(b.TempDir(), events)
		synth.DeriveKey(o.Seed, "us-east-1", 2048) // key derivation is not what is measured
		synth.DeriveKey(o.Seed, "eu-central-1", 2048)
		t0 := time.Now()
		res, err := synth.Generate(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		n += int64(res.Events)
		raw += res.Bytes
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(raw)/float64(n), "B/event")
	b.ReportMetric(float64(raw)/1e6/elapsed.Seconds(), "MB/s")
}

// BenchmarkGenerate writes a corpus of about 100,000 events per iteration.
func BenchmarkGenerate(b *testing.B) { benchGenerate(b, 100_000) }

// BenchmarkGenerate1M writes about a million events (run with
// -bench Generate1M -benchtime 1x).
func BenchmarkGenerate1M(b *testing.B) { benchGenerate(b, 1_000_000) }
