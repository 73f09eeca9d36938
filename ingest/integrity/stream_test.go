package integrity_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/synth"
)

// TestStreamHoldsOneWindow: verifying six days a day at a time emits
// results every day and never holds more than about a day's files (plus
// the settling lag), while the results are those of one pass over
// everything. A run that kept every file until the end would hold all
// 1,008 files.
func TestStreamHoldsOneWindow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bucket")
	const days, perHour = 6, 6
	if _, err := synth.Generate(context.Background(), synth.Options{Dir: dir, Bucket: bucket, Accounts: []string{"444455556666"},
		Regions: []string{"us-east-1"}, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Hours: days * 24, FilesPerHour: perHour,
		EventsPerHour: 12, Seed: 5, SigningKey: synth.SampleKey(), Trail: "org-trail", Home: "us-east-1", GapHour: -1}); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	integrity.SetStepHook(func(n int) { held = max(held, n) })
	defer integrity.SetStepHook(nil)
	calls, emitted := 0, 0
	res, err := integrity.Stream(context.Background(), src, integrity.Options{Keys: keys(t)}, func(fs []integrity.FileResult) error {
		calls++
		emitted += len(fs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := days * 24 * (perHour + 1)
	if res.Total != total || emitted != total || res.Counts[integrity.Valid] != total {
		t.Fatalf("total %d, emitted %d, counts %v; want %d valid", res.Total, emitted, res.Counts, total)
	}
	if calls < days {
		t.Errorf("results came in %d calls; want one a day at least (%d)", calls, days)
	}
	perDay := 24 * (perHour + 1)
	if limit := perDay * 3 / 2; held > limit {
		t.Errorf("held %d files after a step; want at most %d (a day is %d, the range %d)", held, limit, perDay, total)
	}
	if held == 0 {
		t.Error("the step hook saw nothing held: the test does not measure anything")
	}
	t.Logf("held at most %d of %d files", held, total)
}

// TestChainsWithDifferentSpans: with an open range, each chain's folders
// are listed over that chain's own days; two chains three days apart in
// one bucket are both verified in full, each day once.
func TestChainsWithDifferentSpans(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bucket")
	total := 0
	for i, c := range []struct {
		acct  string
		start time.Time
	}{
		{"444455556666", time.Date(2026, 1, 5, 21, 0, 0, 0, time.UTC)},
		{"777788889999", time.Date(2026, 1, 8, 22, 0, 0, 0, time.UTC)},
	} {
		res, err := synth.Generate(context.Background(), synth.Options{Dir: dir, Bucket: bucket, Accounts: []string{c.acct},
			Regions: []string{"us-east-1"}, Start: c.start, Hours: 5, FilesPerHour: 3, EventsPerHour: 9, Seed: uint64(10 + i),
			SigningKey: synth.SampleKey(), Trail: "org-trail", Home: "us-east-1", GapHour: -1})
		if err != nil {
			t.Fatal(err)
		}
		total += len(res.Logs) + len(res.Digests)
	}
	res := verifyDir(t, dir)
	seen := map[string]bool{}
	for _, f := range res.Files {
		if seen[f.Key] {
			t.Errorf("%s reported twice", f.Key)
		}
		seen[f.Key] = true
	}
	if res.Total != total || res.Counts[integrity.Valid] != total || res.ExitCode() != 0 {
		t.Fatalf("%d files, counts %v, exit %d; want %d valid", res.Total, res.Counts, res.ExitCode(), total)
	}
}
