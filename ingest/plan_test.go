package ingest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trailscope/trailscope/ingest/keyname"
)

// TestRegionFoldersAndDaySpan: region folders of both kinds are found in
// standalone and organization layouts, filtered by account and region;
// the day span skips folders that are not dates (and impossible dates).
func TestRegionFoldersAndDaySpan(t *testing.T) {
	root := t.TempDir()
	files := []string{
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2025/12/31/a.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/a.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/02/30/bad-date.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/13/01/bad-month.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/notes/x.txt",
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2027/x.txt", // a year with no day folders
		"p/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/01/d.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/a.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/not-a-region/2026/01/01/a.json.gz",
		"p/AWSLogs/o-abcdefghij/444455556666/CloudTrail/us-east-1/2026/01/01/a.json.gz",
		"p/AWSLogs/555566667777/CloudTrail/us-east-1/2026/01/01/a.json.gz",
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := NewDirSource(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		r    Range
		want []string
	}{
		{"logs of one account", Range{Accounts: []string{"111122223333"}}, []string{
			"p/AWSLogs/111122223333/CloudTrail/eu-west-1/", "p/AWSLogs/111122223333/CloudTrail/us-east-1/"}},
		{"both kinds, one region", Range{Regions: []string{"us-east-1"}, Kinds: []keyname.Kind{keyname.Digest, keyname.Log}}, []string{
			"p/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/", "p/AWSLogs/111122223333/CloudTrail/us-east-1/",
			"p/AWSLogs/555566667777/CloudTrail/us-east-1/", "p/AWSLogs/o-abcdefghij/444455556666/CloudTrail/us-east-1/"}},
	} {
		got, err := RegionFolders(ctx, src, "p/", c.r)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q; want %q", c.name, got, c.want)
		}
	}
	if got, err := RegionFolders(ctx, src, "elsewhere/", Range{}); err != nil || got != nil {
		t.Errorf("no CloudTrail tree: %q, %v; want nil", got, err)
	}
	first, last, ok, err := DaySpan(ctx, src, "p/AWSLogs/111122223333/CloudTrail/us-east-1/")
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	if err != nil || !ok || !first.Equal(day(2025, 12, 31)) || !last.Equal(day(2026, 1, 2)) {
		t.Errorf("span %v..%v ok=%v err=%v; want 2025-12-31..2026-01-02", first, last, ok, err)
	}
	if _, _, ok, err := DaySpan(ctx, src, "p/AWSLogs/111122223333/CloudTrail/not-a-region/2026/01/01/"); ok || err != nil {
		t.Errorf("a folder without dates: ok=%v err=%v", ok, err)
	}
	if got := DayFolder("r/", day(2026, 3, 4)); got != "r/2026/03/04/" {
		t.Errorf("DayFolder: %q", got)
	}
}
