package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trailscope/trailscope/ingest"
)

// disjointRuns writes rows (sorted) as n files of consecutive time ranges
// under part, the way the writer leaves a partition, and returns them.
func disjointRuns(t *testing.T, dir, part string, rows []*ingest.Event, n int) []smallFile {
	t.Helper()
	var group []smallFile
	from := 0
	for i := 1; i <= n; i++ {
		to := len(rows)
		if i < n {
			to = timeBoundary(rows, i*len(rows)/n)
		}
		rel := fmt.Sprintf("%s/part-b%02d.parquet", part, i)
		if err := writeParquet(filepath.Join(dir, rel), rows[from:to]); err != nil {
			t.Fatal(err)
		}
		group = append(group, smallFile{rel, int64(to - from)})
		from = to
	}
	return group
}

// timeBoundary returns the index nearest i where sorted rows'
// eventTime changes, so runs cut there never share a time (compaction
// concatenates runs whose times do not overlap). With none, it returns i.
func timeBoundary(rows []*ingest.Event, i int) int {
	for d := 0; d < len(rows)/2; d++ {
		for _, j := range []int{i + d, i - d} {
			if j > 0 && j < len(rows) && !rows[j].EventTime.Equal(rows[j-1].EventTime) {
				return j
			}
		}
	}
	return i
}

// TestConcatenateDisjointRuns: files whose times do not overlap are
// compacted by copying their row groups: the result holds every row, in
// order, field for field; its page index, statistics and Bloom filters
// still describe its pages (DuckDB's probes never rule out a value it
// holds); the inputs are listed in eventTime order whatever their names.
func TestConcatenateDisjointRuns(t *testing.T) {
	rows := randomEvents(3*rowGroupRows, 31)
	for _, e := range rows {
		if e.EventTime.IsZero() { // a null eventTime is merged row by row
			e.EventTime = time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC)
		}
	}
	sortEvents(rows)
	dir := t.TempDir()
	os.MkdirAll(manifestDir(dir), 0o755)
	part := "events/account=1/region=r/event_date=d"
	group := disjointRuns(t, dir, part, rows, 7)
	// What the inputs hold, in time order (files are listed in name order).
	var want []ingest.Event
	for _, g := range group {
		r, err := parquet.ReadFile[ingest.Event](filepath.Join(dir, g.rel))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r...)
	}
	group[0], group[6] = group[6], group[0] // names out of time order
	rep := &CompactReport{}
	if err := mergeGroup(context.Background(), dir, group, time.Now, rep); err != nil {
		t.Fatal(err)
	}
	if rep.FilesWritten != 1 || rep.Concatenated != 1 || rep.Rows != int64(len(rows)) {
		t.Fatalf("report %+v: want one file, written by concatenation, of %d rows", rep, len(rows))
	}
	out, _ := filepath.Glob(filepath.Join(dir, part, "*-sc.parquet"))
	if len(out) != 1 {
		t.Fatalf("compacted files: %v", out)
	}
	got, err := parquet.ReadFile[ingest.Event](out[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			a, _ := json.Marshal(got[i])
			b, _ := json.Marshal(want[i])
			t.Fatalf("row %d:\ngot  %s\nwant %s", i, a, b)
		}
	}
	pf := openFile(t, out[0])
	if !parquet.EqualNodes(pf.Schema(), eventSchema) {
		t.Fatal("schema changed")
	}
	checkPageIndex(t, out[0], true)
	checkStats(t, pf, rows)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkBloomsHold(t, db, out[0], rows)
	var n int
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, out[0])).Scan(&n); err != nil || n != len(rows) {
		t.Fatalf("DuckDB counts %d rows (%v), want %d", n, err, len(rows))
	}
}

// TestOverlappingRunsAreMerged: one pair of files overlapping in time (or
// touching at one instant) sends the group down the row-by-row merge.
func TestOverlappingRunsAreMerged(t *testing.T) {
	rows := randomEvents(5000, 41)
	for i, e := range rows {
		e.EventTime = time.Date(2026, 9, 30, 0, 0, i/3, 0, time.UTC) // three rows a second
	}
	for name, split := range map[string]func([]*ingest.Event) int{
		"overlap": func(r []*ingest.Event) int { return len(r) / 2 },
		"touching": func(r []*ingest.Event) int {
			i := timeBoundary(r, len(r)/2) + 1 // inside a second
			return i
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(manifestDir(dir), 0o755)
			part := "events/account=1/region=r/event_date=d"
			a, b := rows[:split(rows)], rows[split(rows):]
			if name == "overlap" {
				a, b = append([]*ingest.Event{}, rows[len(rows)/4:3*len(rows)/4]...), append(append([]*ingest.Event{}, rows[:len(rows)/4]...), rows[3*len(rows)/4:]...)
			}
			var group []smallFile
			for i, part2 := range [][]*ingest.Event{a, b} {
				rel := fmt.Sprintf("%s/part-b%d.parquet", part, i)
				if err := writeParquet(filepath.Join(dir, rel), part2); err != nil {
					t.Fatal(err)
				}
				group = append(group, smallFile{rel, int64(len(part2))})
			}
			rep := &CompactReport{}
			if err := mergeGroup(context.Background(), dir, group, time.Now, rep); err != nil {
				t.Fatal(err)
			}
			if rep.Concatenated != 0 || rep.Rows != int64(len(rows)) {
				t.Fatalf("report %+v: want a merge of %d rows", rep, len(rows))
			}
		})
	}
}

// TestConcatenateRowGroupsSharingATime: a file's row groups may share an
// eventTime where the writer cut them (the file is sorted); that does not
// stop concatenation. Two files sharing one does.
func TestConcatenateRowGroupsSharingATime(t *testing.T) {
	rows := randomEvents(3*rowGroupRows, 51)
	for i, e := range rows {
		e.EventTime = time.Date(2026, 9, 30, 0, 0, i/5, 0, time.UTC) // five rows a second
	}
	sortEvents(rows)
	dir := t.TempDir()
	os.MkdirAll(manifestDir(dir), 0o755)
	part := "events/account=1/region=r/event_date=d"
	group := disjointRuns(t, dir, part, rows, 2) // two files of two row groups
	if rows[rowGroupRows].EventTime != rows[rowGroupRows-1].EventTime {
		t.Fatal("the first file's row groups do not share a time: the test checks nothing")
	}
	rep := &CompactReport{}
	if err := mergeGroup(context.Background(), dir, group, time.Now, rep); err != nil {
		t.Fatal(err)
	}
	if rep.Concatenated != 1 || rep.Rows != int64(len(rows)) {
		t.Fatalf("report %+v: want one concatenation of %d rows", rep, len(rows))
	}
}
