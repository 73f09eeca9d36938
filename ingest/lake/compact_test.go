package lake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
)

// parquetFiles lists the lake's events files, relative and slash-separated.
func parquetFiles(t *testing.T, lk string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(lk, "events"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(lk, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// overlappingCorpus writes files whose events overlap in time (each file
// spans an hour, a new file starts every 10 minutes), as late deliveries
// do, so a merge must interleave rows of several files.
func overlappingCorpus(t *testing.T, dir string, files, per int) int {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC)
	for f := 0; f < files; f++ {
		var recs []string
		start := base.Add(time.Duration(f) * 10 * time.Minute)
		for i := 0; i < per; i++ {
			at := start.Add(time.Duration(r.IntN(3600)) * time.Second)
			recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject",
				"awsRegion":"us-east-1","sourceIPAddress":"10.0.%d.%d","eventID":"%08x-0000-4000-8000-%012x","recipientAccountId":"111122223333",
				"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u%d","accessKeyId":"AKIA%016d"},
				"requestParameters":{"bucketName":"b%d","key":"k/%d"},"resources":[{"ARN":"arn:aws:s3:::b%d","type":"AWS::S3::Bucket"}]}`,
				at.Format(time.RFC3339), f, i%250, f, i, i%7, i%7, i%13, i, i%13))
		}
		writeLogFile(t, dir, start, f, recs)
	}
	return files * per
}

// TestCompactKeepsEveryRowAndField ingests real events in tiny batches,
// compacts, and checks that the lake holds exactly the same rows (every
// field of every row) in far fewer files, each sorted by eventTime.
func TestCompactKeepsEveryRowAndField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		corpus func(t *testing.T, dir string) int
		batch  int
	}{
		{"real events", func(t *testing.T, dir string) int {
			b := realEventFiles(t)
			os.RemoveAll(dir)
			os.Rename(b, dir)
			return -1
		}, 150},
		{"overlapping deliveries", func(t *testing.T, dir string) int { return overlappingCorpus(t, dir, 40, 120) }, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			corpus := t.TempDir()
			tc.corpus(t, corpus)
			lk := t.TempDir()
			src, _ := ingest.NewDirSource(corpus)
			rep := ingestInto(t, src, lk, lake.Options{BatchEvents: tc.batch}, ingest.Options{})
			before := readLake(t, lk)
			nBefore := len(parquetFiles(t, lk))
			crep, err := lake.Compact(context.Background(), lk, lake.CompactOptions{})
			if err != nil {
				t.Fatal(err)
			}
			after := readLake(t, lk) // also checks each file is sorted by eventTime
			files := parquetFiles(t, lk)
			if int64(len(before)) != rep.EventsWritten || len(after) != len(before) {
				t.Fatalf("rows: %d written, %d before compaction, %d after", rep.EventsWritten, len(before), len(after))
			}
			for i := range before {
				if !reflect.DeepEqual(before[i], after[i]) {
					a, _ := json.Marshal(before[i])
					b, _ := json.Marshal(after[i])
					t.Fatalf("row %d changed by compaction:\nbefore %s\nafter  %s", i, a, b)
				}
			}
			if crep.FilesMerged == 0 || len(files) >= nBefore || crep.FilesMerged-crep.FilesWritten != nBefore-len(files) {
				t.Fatalf("files: %d before, %d after; report %+v", nBefore, len(files), crep)
			}
			if crep.Rows == 0 || crep.Rows > int64(len(before)) {
				t.Errorf("report rows %d; want 1..%d", crep.Rows, len(before))
			}
			// Queries through the manifest see each row once; a second
			// compaction finds nothing to do.
			again, err := lake.Compact(context.Background(), lk, lake.CompactOptions{})
			if err != nil || again.FilesMerged != 0 {
				t.Fatalf("second compaction: %+v, %v", again, err)
			}
			t.Logf("%d files → %d (%d merged into %d), %d rows", nBefore, len(files), crep.FilesMerged, crep.FilesWritten, len(after))
		})
	}
}

// TestCompactThenIngestAgain: after compaction the manifest still knows
// every object (a re-run writes nothing) and every eventID (the same
// events under new keys are duplicates).
func TestCompactThenIngestAgain(t *testing.T) {
	corpus, lk, total := overlappingLake(t, 30, 100, lake.Options{BatchEvents: 400, Compact: true})
	src, _ := ingest.NewDirSource(corpus)
	rep := ingestInto(t, src, lk, lake.Options{BatchEvents: 400, Compact: true}, ingest.Options{})
	if rep.EventsWritten != 0 || rep.FilesSkipped != 0 && rep.FilesIngested != 0 {
		t.Fatalf("re-run after compaction: %+v", rep)
	}
	// The same files under another prefix: new objects, old events.
	moved := t.TempDir()
	os.CopyFS(filepath.Join(moved, "copy"), os.DirFS(corpus))
	src2, _ := ingest.NewDirSource(moved)
	rep = ingestInto(t, src2, lk, lake.Options{BatchEvents: 400, Compact: true}, ingest.Options{})
	if rep.EventsWritten != 0 || rep.EventsDuplicate != int64(total) {
		t.Fatalf("copied objects: written %d, duplicate %d; want 0, %d", rep.EventsWritten, rep.EventsDuplicate, total)
	}
	rows := readLake(t, lk)
	if _, dups := eventIDs(rows); len(rows) != total || dups != 0 {
		t.Fatalf("%d rows, %d duplicates; want %d, 0", len(rows), dups, total)
	}
}

// TestCompactCrashLeftovers plays the two moments a compaction can die:
// before its commit (its merged file is uncommitted: Open deletes it) and
// after it (the replaced files are still there: Open deletes them). The
// rows stay exactly those of the uncompacted lake.
func TestCompactCrashLeftovers(t *testing.T) {
	_, lk, total := overlappingLake(t, 20, 100, lake.Options{BatchEvents: 300})
	small := parquetFiles(t, lk)
	saved := map[string][]byte{}
	for _, f := range small {
		b, err := os.ReadFile(filepath.Join(lk, f))
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	if _, err := lake.Compact(context.Background(), lk, lake.CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	compacted := parquetFiles(t, lk)
	// Died after the commit, before the deletes: the replaced files are back.
	for f, b := range saved {
		os.WriteFile(filepath.Join(lk, f), b, 0o644)
	}
	// Died before the commit: a merged file without a manifest entry.
	orphan := filepath.Join(lk, filepath.FromSlash(compacted[0]))
	orphan = filepath.Join(filepath.Dir(orphan), "part-20990101T000000000000Z-0badcafe-sc.parquet")
	os.WriteFile(orphan, saved[small[0]], 0o644)
	w, err := lake.Open(context.Background(), lk, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if got := parquetFiles(t, lk); !reflect.DeepEqual(got, compacted) {
		t.Fatalf("after recovery the lake holds %v; want %v", got, compacted)
	}
	if rows := readLake(t, lk); len(rows) != total {
		t.Fatalf("%d rows; want %d", len(rows), total)
	}
}

// TestLakeLock: a second writer (or a compaction) of a lake in use fails
// at once, naming the holder, instead of deleting the first one's files.
func TestLakeLock(t *testing.T) {
	lk := t.TempDir()
	ctx := context.Background()
	w, err := lake.Open(ctx, lk, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Open(ctx, lk, lake.Options{}); !errors.Is(err, lake.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second Open: %v; want ErrLocked naming pid %d", err, os.Getpid())
	}
	if _, err := lake.Compact(ctx, lk, lake.CompactOptions{}); !errors.Is(err, lake.ErrLocked) {
		t.Fatalf("Compact during ingest: %v; want ErrLocked", err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	w2, err := lake.Open(ctx, lk, lake.Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	w2.Abort()
	if _, err := lake.Compact(ctx, lk, lake.CompactOptions{}); err != nil {
		t.Fatalf("Compact after Abort: %v", err)
	}
}

// TestCompactLeavesBigAndForeignFiles: files at half the target or more,
// and files another version wrote (another schema), are left as they are;
// a partition with fewer than four small files is left too.
func TestCompactLeavesBigAndForeignFiles(t *testing.T) {
	_, lk, _ := overlappingLake(t, 12, 100, lake.Options{BatchEvents: 300})
	n := len(parquetFiles(t, lk))
	// Target 400 rows: every 300-row file is "big".
	rep, err := lake.Compact(context.Background(), lk, lake.CompactOptions{TargetRows: 400})
	if err != nil || rep.FilesMerged != 0 || len(parquetFiles(t, lk)) != n {
		t.Fatalf("target 400: %+v, %v; want nothing merged", rep, err)
	}
	// Replace one file by a valid Parquet file of another schema.
	files := parquetFiles(t, lk)
	foreign := filepath.Join(lk, filepath.FromSlash(files[0]))
	writeForeign(t, foreign)
	rep, err = lake.Compact(context.Background(), lk, lake.CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Foreign) != 1 || rep.Foreign[0] != files[0] {
		t.Fatalf("foreign files %v; want [%s]", rep.Foreign, files[0])
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("the foreign file was removed: %v", err)
	}
}

// writeForeign writes a valid Parquet file whose schema is not the lake's.
func writeForeign(t *testing.T, path string) {
	t.Helper()
	type other struct {
		EventID string `parquet:"eventID"`
		Extra   int64  `parquet:"extra"`
	}
	if err := parquet.WriteFile(path, []other{{"a", 1}, {"b", 2}}); err != nil {
		t.Fatal(err)
	}
}

// TestCompactionFailureIsNotFatal: when compaction cannot finish (here a
// committed file was damaged on disk), the run's batches are still
// committed, Close succeeds, and the report names the problem.
func TestCompactionFailureIsNotFatal(t *testing.T) {
	_, lk, _ := overlappingLake(t, 20, 100, lake.Options{BatchEvents: 300})
	files := parquetFiles(t, lk)
	damaged := filepath.Join(lk, filepath.FromSlash(files[0]))
	if err := os.WriteFile(damaged, []byte("PAR1 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	more := t.TempDir()
	overlappingCorpus(t, filepath.Join(more, "again"), 1, 50)
	src2, _ := ingest.NewDirSource(more)
	rep := ingestInto(t, src2, lk, lake.Options{Compact: true}, ingest.Options{})
	if rep.FilesIngested != 1 || !strings.Contains(rep.CompactionError, files[0]) {
		t.Fatalf("ingested %d, compaction error %q; want 1 and an error naming %s", rep.FilesIngested, rep.CompactionError, files[0])
	}
}

// overlappingLake ingests a fresh overlappingCorpus of files × per events
// into a fresh lake with lopts, and returns the corpus, the lake and the
// number of events.
func overlappingLake(t *testing.T, files, per int, lopts lake.Options) (corpus, lk string, total int) {
	t.Helper()
	corpus, lk = t.TempDir(), t.TempDir()
	total = overlappingCorpus(t, corpus, files, per)
	src, _ := ingest.NewDirSource(corpus)
	ingestInto(t, src, lk, lopts, ingest.Options{})
	return corpus, lk, total
}

// TestCompactionDuringIngest: partitions the run has moved past are
// compacted in the background while ingest goes on (committed before
// Close is called); at the end every partition is one sorted file and
// every row is there once.
func TestCompactionDuringIngest(t *testing.T) {
	corpus, lk := t.TempDir(), t.TempDir()
	total := makeCorpus(t, corpus, 800, 50) // 3.2 days of events: 4 partitions
	src, _ := ingest.NewDirSource(corpus)
	ctx := context.Background()
	w, err := lake.Open(ctx, lk, lake.Options{BatchEvents: 1000, Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ingest.Run(ctx, src, w, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	// Before Close: a compaction of an early partition has committed (or
	// does shortly: it was started during the run).
	early := false
	for deadline := time.Now().Add(60 * time.Second); !early && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ms, err := lake.ReadManifests(lk)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			early = early || m.Kind == "compact"
		}
	}
	if !early {
		t.Error("no partition was compacted during the run")
	}
	rep, err := w.Close(ctx)
	if err != nil || !rep.Balanced() || rep.EventsWritten != int64(total) {
		t.Fatalf("close: %v; report %+v", err, rep)
	}
	if rep.Compaction == nil || rep.Compaction.FilesMerged == 0 || rep.CompactionError != "" {
		t.Fatalf("compaction report %+v, error %q", rep.Compaction, rep.CompactionError)
	}
	rows := readLake(t, lk) // also checks each file is sorted by eventTime
	ids, dups := eventIDs(rows)
	if len(rows) != total || len(ids) != total || dups != 0 {
		t.Fatalf("%d rows, %d distinct IDs, %d duplicates; want %d", len(rows), len(ids), dups, total)
	}
	// Every partition is one file, except one that got fewer than four
	// small files (left until more arrive, as by any run).
	perPart := map[string]int{}
	for _, f := range parquetFiles(t, lk) {
		perPart[f[:strings.LastIndexByte(f, '/')]]++
	}
	single := 0
	for p, n := range perPart {
		if n == 1 {
			single++
		} else if n >= 4 {
			t.Errorf("%s: %d files left uncompacted", p, n)
		}
	}
	if len(perPart) < 4 || single < len(perPart)-1 {
		t.Fatalf("files per partition %v; want one file in all partitions but at most one", perPart)
	}
	parts := perPart
	t.Logf("%d batches, %d partitions, compaction %+v", rep.Batches, len(parts), *rep.Compaction)
}
