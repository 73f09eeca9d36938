package lake_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/detect/scan"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// ingestInto runs one ingest of src into the lake at dir.
func ingestInto(t *testing.T, src ingest.Source, dir string, lopts lake.Options, opts ingest.Options) *lake.Report {
	t.Helper()
	ctx := context.Background()
	w, err := lake.Open(ctx, dir, lopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := ingest.Run(ctx, src, w, opts); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rep, err := w.Close(ctx)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !rep.Balanced() {
		t.Fatalf("report does not balance: %+v", rep)
	}
	return rep
}

// readLake reads every row of the lake with parquet-go (independently of
// DuckDB).
func readLake(t *testing.T, dir string) []ingest.Event {
	t.Helper()
	var out []ingest.Event
	err := filepath.WalkDir(filepath.Join(dir, "events"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".parquet") {
			t.Errorf("stray file in the lake: %s", p)
			return nil
		}
		rows, err := parquet.ReadFile[ingest.Event](p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for i := 1; i < len(rows); i++ {
			if rows[i].EventTime.Before(rows[i-1].EventTime) {
				t.Errorf("%s: rows not sorted by eventTime at %d", p, i)
				break
			}
		}
		out = append(out, rows...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b ingest.Event) int {
		if c := strings.Compare(a.EventID, b.EventID); c != 0 {
			return c
		}
		if c := strings.Compare(a.SourceKey, b.SourceKey); c != 0 {
			return c
		}
		return int(a.RecordIndex - b.RecordIndex)
	})
	return out
}

func eventIDs(evs []ingest.Event) (ids []string, dups int) {
	seen := map[string]bool{}
	for _, e := range evs {
		if e.EventID == "" {
			continue
		}
		if seen[e.EventID] {
			dups++
		}
		seen[e.EventID] = true
		ids = append(ids, e.EventID)
	}
	return ids, dups
}

// realEventFiles copies the real event files (no licences or READMEs) into
// a fresh folder.
func realEventFiles(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := "../../testdata/events"
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".json.gz") || strings.HasSuffix(p, "inventory.json") {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		q := filepath.Join(dst, rel)
		os.MkdirAll(filepath.Dir(q), 0o755)
		return os.WriteFile(q, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

const realEvents = 3343 // testdata/events/inventory.json total_events

func TestIngestRealEventsThenRerun(t *testing.T) {
	dir := realEventFiles(t)
	src, _ := ingest.NewDirSource(dir)
	lk := t.TempDir()
	rep := ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	if rep.FilesFailed != 0 || rep.EventsIn != realEvents || rep.EventsWritten != realEvents {
		t.Fatalf("first run: %+v; want %d events written, no failures", rep, realEvents)
	}
	rows := readLake(t, lk)
	if len(rows) != realEvents {
		t.Fatalf("lake has %d rows; want %d", len(rows), realEvents)
	}
	if _, dups := eventIDs(rows); dups != 0 {
		t.Fatalf("lake has %d duplicate eventIDs", dups)
	}
	again := ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	if again.FilesIngested != 0 || again.EventsWritten != 0 || again.FilesSkipped != rep.FilesTotal {
		t.Fatalf("second run: %+v; want 0 ingested, %d skipped", again, rep.FilesTotal)
	}
	if n := len(readLake(t, lk)); n != realEvents {
		t.Fatalf("after the re-run the lake has %d rows; want %d", n, realEvents)
	}
}

func TestDuplicatesAreWrittenOnce(t *testing.T) {
	dir := realEventFiles(t)
	// The same delivered file under a second key (re-delivery, or an
	// organization trail and an account trail overlapping).
	orig := filepath.Join(dir, "cloud-snitch/aws-cloudtrail-logs/AWSLogs/o-1234abcde/222222222222/CloudTrail/us-east-1/2025/03/06/222222222222_CloudTrail_us-east-1_20250306T0230Z_QF6qcgyiaVnSueXa.json.gz")
	b, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "copy.json.gz"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, _ := ingest.NewDirSource(dir)
	lk := t.TempDir()
	rep := ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	if rep.EventsDuplicate != 20 || rep.EventsWritten != realEvents {
		t.Fatalf("report %+v; want 20 duplicates and %d written", rep, realEvents)
	}
	if _, dups := eventIDs(readLake(t, lk)); dups != 0 {
		t.Fatalf("%d duplicate eventIDs in the lake", dups)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

const goodEvent = `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"%s","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a"}}`

func ev(id string) string { return fmt.Sprintf(goodEvent, id) }

func TestBadInputs(t *testing.T) {
	records := []byte(`{"Records":[` + ev("e1") + `,` + ev("e2") + `]}`)
	full := gz(records)
	lookup, _ := json.Marshal(map[string]any{"Events": []map[string]string{{"EventId": "x", "CloudTrailEvent": ev("L1")}, {"EventId": "y", "CloudTrailEvent": ev("L2")}}, "NextToken": "abc"})
	cases := []struct {
		name        string
		body        []byte
		status      ingest.FileStatus
		written     int64
		rejected    int64
		errContains string
	}{
		{"good.json.gz", full, ingest.FileIngested, 2, 0, ""},
		{"truncated.json.gz", full[:len(full)-12], ingest.FileFailed, 0, -1, "corrupt"},
		{"badcrc.json.gz", append(append([]byte{}, full[:len(full)-8]...), 0, 0, 0, 0, 0, 0, 0, 0), ingest.FileFailed, 0, 2, "checksum"},
		{"garbage.bin", []byte("\x00\x01garbage that is not json"), ingest.FileFailed, 0, 0, "not CloudTrail"},
		{"readme.json", []byte(`{"name":"not a trail","version":1}`), ingest.FileFailed, 0, 0, "not CloudTrail"},
		{"malformed-record.json", []byte(`{"Records":[` + ev("m1") + `,{"eventTime":"yesterday","eventName":"X"},{"eventName":[1,2]}, 42,` + ev("m2") + `]}`), ingest.FileIngested, 2, 3, ""},
		{"broken-syntax.json", []byte(`{"Records":[` + ev("s1") + `,{"eventName":[1,2}]}`), ingest.FileFailed, 0, 2, "corrupt"},
		{"bad-json-inside.json", []byte(`{"Records":[` + ev("b1") + `,{"eventID":"b2","eventTime":"2024-01-02T03:04:05Z","requestParameters":{"a":tru}}]}`), ingest.FileIngested, 1, 1, ""},
		{"lookup-events.json", lookup, ingest.FileIngested, 2, 0, ""},
		{"array.json", []byte(`[` + ev("a1") + `,` + ev("a2") + `]`), ingest.FileIngested, 2, 0, ""},
		{"lines.jsonl", []byte(ev("j1") + "\n" + ev("j2") + "\n"), ingest.FileIngested, 2, 0, ""},
		{"trailing.json", []byte(`{"Records":[` + ev("t1") + `]} trailing`), ingest.FileFailed, 0, 1, "after the closing"},
		{"empty.json", nil, ingest.FileFailed, 0, 0, "empty file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, c.body, 0o644); err != nil {
				t.Fatal(err)
			}
			var got ingest.FileResult
			lk := t.TempDir()
			rep := ingestInto(t, ingest.NewFileSource(p), lk, lake.Options{},
				ingest.Options{Listener: listenerFunc(func(f ingest.FileResult) { got = f })})
			if got.Status != c.status {
				t.Fatalf("status = %s (%s); want %s", got.Status, got.Reason, c.status)
			}
			if rep.EventsWritten != c.written || (c.rejected >= 0 && rep.EventsRejected != c.rejected) {
				t.Errorf("written %d rejected %d; want %d, %d (report %+v)", rep.EventsWritten, rep.EventsRejected, c.written, c.rejected, rep)
			}
			if c.errContains != "" {
				if !strings.Contains(got.Reason, c.errContains) || !strings.Contains(got.Reason, p) {
					t.Errorf("reason %q; want it to name the file and contain %q", got.Reason, c.errContains)
				}
				if len(rep.Failures) == 0 {
					t.Errorf("report lists no failure")
				}
			}
		})
	}
}

func TestDecompressionCap(t *testing.T) {
	dir := t.TempDir()
	// 8 MiB of spaces inside a valid records file compresses to a few KiB.
	body := append([]byte(`{"Records":[`+ev("z1")), bytes.Repeat([]byte(" "), 8<<20)...)
	body = append(body, "]}"...)
	p := filepath.Join(dir, "bomb.json.gz")
	os.WriteFile(p, gz(body), 0o644)
	var got ingest.FileResult
	ingestInto(t, ingest.NewFileSource(p), t.TempDir(), lake.Options{},
		ingest.Options{MaxDecompressedBytes: 1 << 20, Listener: listenerFunc(func(f ingest.FileResult) { got = f })})
	if got.Status != ingest.FileFailed || !strings.Contains(got.Reason, "too large") {
		t.Fatalf("got %s %q; want failed: too large", got.Status, got.Reason)
	}
}

type listenerFunc func(ingest.FileResult)

func (f listenerFunc) FileDone(r ingest.FileResult) { f(r) }
func (f listenerFunc) Bytes(int64)                  {}

func TestS3AndFolderGiveTheSameLake(t *testing.T) {
	dir := realEventFiles(t)
	srv := s3test.Start(t)
	srv.CreateBucket(t, "trail-logs", false)
	srv.UploadDir(t, "trail-logs", dir, nil)

	dsrc, _ := ingest.NewDirSource(dir)
	dirLake, s3Lake := t.TempDir(), t.TempDir()
	r1 := ingestInto(t, dsrc, dirLake, lake.Options{}, ingest.Options{})
	r2 := ingestInto(t, ingest.NewS3Source(srv.Client(), "trail-logs", ""), s3Lake, lake.Options{}, ingest.Options{})
	if r1.EventsWritten != r2.EventsWritten || r1.FilesIngested != r2.FilesIngested || r1.EventsWritten != realEvents {
		t.Fatalf("folder %+v\nS3 %+v\nwant the same counts (%d events)", r1, r2, realEvents)
	}
	a, b := readLake(t, dirLake), readLake(t, s3Lake)
	for i := range a {
		a[i].SourceBucket = "" // the only intended difference
		b[i].SourceBucket = ""
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		if !bytes.Equal(ja, jb) {
			t.Fatalf("row %d differs:\nfolder %s\nS3     %s", i, ja, jb)
		}
	}
	// Incremental over S3 as well.
	again := ingestInto(t, ingest.NewS3Source(srv.Client(), "trail-logs", ""), s3Lake, lake.Options{}, ingest.Options{})
	if again.EventsWritten != 0 || again.FilesIngested != 0 {
		t.Fatalf("S3 re-run wrote %d events from %d files; want 0", again.EventsWritten, again.FilesIngested)
	}
}

func TestOpenRemovesUncommittedFiles(t *testing.T) {
	lk := t.TempDir()
	dir := realEventFiles(t)
	src, _ := ingest.NewDirSource(dir)
	ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	orphan := filepath.Join(lk, "events", "account=111122223333", "region=us-east-1", "event_date=2024-01-02", "part-20990101T000000000000Z-deadbeef.parquet")
	os.MkdirAll(filepath.Dir(orphan), 0o755)
	os.WriteFile(orphan, []byte("half written"), 0o644)
	tmp := filepath.Join(lk, "_state", "manifest", "x.json.tmp")
	os.WriteFile(tmp, []byte("{"), 0o644)
	w, err := lake.Open(context.Background(), lk, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	for _, p := range []string{orphan, tmp} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived Open; want it removed", p)
		}
	}
}

// makeCorpus writes files × per synthetic events (real event shapes with
// fresh eventIDs) as gzipped log files.
func makeCorpus(t testing.TB, dir string, files, per int) int {
	t.Helper()
	b, err := os.ReadFile("../../testdata/events/stratus-red-team-detonation-logs/aws.defense-evasion.cloudtrail-stop.json")
	if err != nil {
		t.Fatal(err)
	}
	var tmpl []map[string]any
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for f := 0; f < files; f++ {
		var recs []map[string]any
		for i := 0; i < per; i++ {
			e := map[string]any{}
			for k, v := range tmpl[r.IntN(len(tmpl))] {
				e[k] = v
			}
			e["eventID"] = fmt.Sprintf("%08x-0000-4000-8000-%012x", f, i)
			e["eventTime"] = base.Add(time.Duration(f*per+i) * 7 * time.Second).Format(time.RFC3339)
			e["recipientAccountId"] = "111122223333"
			recs = append(recs, e)
			n++
		}
		body, _ := json.Marshal(map[string]any{"Records": recs})
		// Delivered a minute after its last event, as CloudTrail does.
		day := base.Add(time.Duration(f*per+per)*7*time.Second + time.Minute)
		key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/%s/111122223333_CloudTrail_us-east-1_%s_%08d.json.gz",
			day.Format("2006/01/02"), day.Format("20060102T1504Z"), f)
		p := filepath.Join(dir, filepath.FromSlash(key))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, gz(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestMain lets the test binary act as an ingest process that the crash
// test kills with SIGKILL.
func TestMain(m *testing.M) {
	if src, lk := os.Getenv("TS_CHILD_SRC"), os.Getenv("TS_CHILD_LAKE"); src != "" && os.Getenv("TS_CHILD_MODE") == "scan" {
		ctx := context.Background()
		eng, err := detect.NewEngine(detect.Options{Group: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s, _ := ingest.NewDirSource(src)
		if _, err := scan.Run(ctx, s, scan.Options{Lake: lk, Engine: eng, LakeOpts: lake.Options{BatchEvents: 700, Compact: true, CompactRows: 6000}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if src, lk := os.Getenv("TS_CHILD_SRC"), os.Getenv("TS_CHILD_LAKE"); src != "" {
		ctx := context.Background()
		w, err := lake.Open(ctx, lk, lake.Options{BatchEvents: 700, Compact: true, CompactRows: 6000})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s, _ := ingest.NewDirSource(src)
		if err := ingest.Run(ctx, s, w, ingest.Options{Workers: 2}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := w.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillNineThenResume kills ingest processes with SIGKILL at random
// moments and checks that re-running converges to the uninterrupted lake.
func TestKillNineThenResume(t *testing.T) { killTrials(t, "ingest", 6) }

// TestKillNineScanThenResume does the same to scan (verify + ingest +
// detect in one pass).
func TestKillNineScanThenResume(t *testing.T) { killTrials(t, "scan", 3) }

func killTrials(t *testing.T, mode string, trials int) {
	corpus := t.TempDir()
	total := makeCorpus(t, corpus, 60, 250)
	r := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < trials; trial++ {
		lk := t.TempDir()
		kills := 0
		for attempt := 0; attempt < 30; attempt++ {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "TS_CHILD_SRC="+corpus, "TS_CHILD_LAKE="+lk, "TS_CHILD_MODE="+mode)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			delay := time.Duration(r.IntN(400)+20) * time.Millisecond
			if attempt >= 3 {
				delay = time.Hour // let it finish
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("child failed: %v: %s", err, stderr.String())
				}
			case <-time.After(delay):
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				continue
			}
			break
		}
		rows := readLake(t, lk)
		ids, dups := eventIDs(rows)
		if len(rows) != total || dups != 0 || len(ids) != total {
			t.Fatalf("trial %d (%d kills): %d rows, %d duplicate eventIDs; want %d rows, 0 duplicates", trial, kills, len(rows), dups, total)
		}
		// The manifest lists every object exactly once as ingested.
		keys := map[string]int{}
		ms, _ := filepath.Glob(filepath.Join(lk, "_state", "manifest", "*.json"))
		for _, p := range ms {
			m, err := lake.ReadManifest(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range m.Files {
				keys[f.Key]++
			}
		}
		if len(keys) != 60 {
			t.Fatalf("trial %d: manifest lists %d objects; want 60", trial, len(keys))
		}
		for k, n := range keys {
			if n != 1 {
				t.Fatalf("trial %d: %s committed %d times", trial, k, n)
			}
		}
		// The finishing run compacted: far fewer files than batches.
		files := parquetFiles(t, lk)
		if len(files) > 12 {
			t.Fatalf("trial %d: %d parquet files; want the ~22 batches' files compacted", trial, len(files))
		}
		t.Logf("trial %d: %d kills, %d rows, %d files", trial, kills, len(rows), len(files))
	}
}

// TestLonePartitionOneFile: a batch holding one large partition writes
// it as one file of full row groups (its columns are encoded by two
// goroutines; it used to be cut in two files); the second half an earlier
// version left from an uncommitted batch is removed like any orphan.
func TestLonePartitionOneFile(t *testing.T) {
	corpus, lk := t.TempDir(), t.TempDir()
	total := makeCorpus(t, corpus, 40, 500) // 20,000 events over ~2 days
	src, _ := ingest.NewDirSource(corpus)
	rep := ingestInto(t, src, lk, lake.Options{BatchEvents: 9000}, ingest.Options{})
	largest := int64(0)
	for _, f := range parquetFiles(t, lk) {
		if strings.HasSuffix(f, ".1.parquet") {
			t.Errorf("%s: a second half", f)
		}
		b, err := os.ReadFile(filepath.Join(lk, f))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, rg := range pf.RowGroups() {
			largest = max(largest, rg.NumRows())
		}
	}
	if largest < 8000 || rep.ParquetFiles != int64(len(parquetFiles(t, lk))) {
		t.Fatalf("largest row group %d rows, want a batch's (9,000 events); %d files (report: %d)", largest, len(parquetFiles(t, lk)), rep.ParquetFiles)
	}
	orphan := filepath.Join(lk, "events", "account=111122223333", "region=us-east-1", "event_date=2024-05-01", "part-20990101T000000000000Z-deadbeef.1.parquet")
	os.WriteFile(orphan, []byte("half written"), 0o644)
	w, err := lake.Open(context.Background(), lk, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := os.Stat(orphan); err == nil {
		t.Error("an uncommitted second half survived Open")
	}
	rows := readLake(t, lk) // also checks each file is sorted
	ids, dups := eventIDs(rows)
	if len(rows) != total || len(ids) != total || dups != 0 {
		t.Fatalf("%d rows, %d IDs, %d duplicates; want %d", len(rows), len(ids), dups, total)
	}
}

// laggedCorpus writes files delivered every 5 minutes, each holding
// events of the 15 minutes before its delivery (as CloudTrail's do), so
// consecutive files overlap in time.
func laggedCorpus(t *testing.T, dir string, files, per int) int {
	t.Helper()
	r := rand.New(rand.NewPCG(8, 9))
	base := time.Date(2024, 5, 1, 22, 0, 0, 0, time.UTC)
	for f := 0; f < files; f++ {
		delivered := base.Add(time.Duration(f) * 5 * time.Minute)
		var recs []string
		for i := 0; i < per; i++ {
			at := delivered.Add(-time.Duration(1+r.IntN(15*60)) * time.Second)
			recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject",`+
				`"awsRegion":"us-east-1","eventID":"%08x-0000-4000-8000-%012x","recipientAccountId":"111122223333"}`, at.Format(time.RFC3339), f, i))
		}
		writeLogFile(t, dir, delivered, f, recs)
	}
	return files * per
}

// writeLogFile writes records as the gzipped log file number f of account
// 111122223333 in us-east-1, delivered at the given time.
func writeLogFile(t *testing.T, dir string, delivered time.Time, f int, recs []string) {
	t.Helper()
	key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/%s/111122223333_CloudTrail_us-east-1_%s_%08d.json.gz",
		delivered.Format("2006/01/02"), delivered.Format("20060102T1504Z"), f)
	p := filepath.Join(dir, filepath.FromSlash(key))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, gz([]byte(`{"Records":[`+strings.Join(recs, ",")+`]}`)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// batchRanges returns, per partition folder, the eventTime range of each
// Parquet file, ordered by the first event.
func batchRanges(t *testing.T, lk string) map[string][][2]time.Time {
	t.Helper()
	out := map[string][][2]time.Time{}
	for _, rel := range parquetFiles(t, lk) {
		f := filepath.Join(lk, filepath.FromSlash(rel))
		rows, err := parquet.ReadFile[ingest.Event](f)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			continue
		}
		out[filepath.Dir(f)] = append(out[filepath.Dir(f)], [2]time.Time{rows[0].EventTime, rows[len(rows)-1].EventTime})
	}
	for _, r := range out {
		slices.SortFunc(r, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	}
	return out
}

// TestHeldRowsMakeDisjointBatches: rows near a batch's latest delivery
// wait for the next batch, so consecutive batch files of a partition do
// not overlap in time (compaction then merges sorted runs, not rows), and
// a run stopped between batches, with rows held, then run again, leaves
// every event once and every object in the manifest once.
func TestHeldRowsMakeDisjointBatches(t *testing.T) {
	corpus := t.TempDir()
	total := laggedCorpus(t, corpus, 120, 100) // half an hour holds ~650 events
	src, _ := ingest.NewDirSource(corpus)

	lk := t.TempDir()
	rep := ingestInto(t, src, lk, lake.Options{BatchEvents: 2000}, ingest.Options{Workers: 1})
	if rep.EventsWritten != int64(total) {
		t.Fatalf("wrote %d of %d", rep.EventsWritten, total)
	}
	files := 0
	for part, ranges := range batchRanges(t, lk) {
		files += len(ranges)
		for i := 1; i < len(ranges); i++ {
			if !ranges[i][0].After(ranges[i-1][1]) {
				t.Errorf("%s: file %d starts at %s, before the previous one ends (%s)", part, i, ranges[i][0], ranges[i-1][1])
			}
		}
	}
	if files < 6 {
		t.Fatalf("only %d files: the test needs several batches per partition", files)
	}

	// Stop after some batches, while rows are held, then run again.
	for _, stopAfter := range []int{27, 53, 101} {
		lk := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		w, err := lake.Open(ctx, lk, lake.Options{BatchEvents: 2000})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		l := listenerFunc(func(ingest.FileResult) {
			if n++; n == stopAfter {
				cancel()
			}
		})
		ingest.Run(ctx, src, w, ingest.Options{Workers: 1, Listener: l})
		first := w.Abort()
		cancel()
		second := ingestInto(t, src, lk, lake.Options{BatchEvents: 2000}, ingest.Options{})
		rows := readLake(t, lk)
		ids, dups := eventIDs(rows)
		if len(rows) != total || dups != 0 || len(ids) != total {
			t.Fatalf("stop after %d files: %d rows, %d duplicates; want %d, 0", stopAfter, len(rows), dups, total)
		}
		if first.EventsWritten+second.EventsWritten != int64(total) {
			t.Errorf("stop after %d files: written %d + %d, want %d in all", stopAfter, first.EventsWritten, second.EventsWritten, total)
		}
		keys := map[string]int{}
		ms, _ := lake.ReadManifests(lk)
		for _, m := range ms {
			for _, f := range m.Files {
				keys[f.Key]++
			}
		}
		for k, c := range keys {
			if c != 1 {
				t.Errorf("stop after %d files: %s is in %d manifests", stopAfter, k, c)
			}
		}
		if len(keys) != 120 {
			t.Errorf("stop after %d files: %d objects in the manifest, want 120", stopAfter, len(keys))
		}
	}
}
