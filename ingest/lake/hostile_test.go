package lake_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// TestHostileRecords: each hostile input gets a bounded, named outcome.
func TestHostileRecords(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000)
	cases := []struct {
		name     string
		body     []byte
		maxRec   int
		status   ingest.FileStatus
		written  int64
		rejected int64
		reason   string
	}{
		{"huge-record", []byte(`{"Records":[` + ev("h1") + `,{"eventID":"h2","requestParameters":{"blob":"` + strings.Repeat("x", 2<<20) + `"}}]}`), 1 << 20, ingest.FileFailed, 0, -1, "too large"},
		{"deep-nesting", []byte(`{"Records":[` + ev("d1") + `,{"eventID":"d2","requestParameters":` + deep + `}]}`), 0, ingest.FileIngested, 1, 1, ""},
		{"invalid-utf8", []byte("{\"Records\":[{\"eventID\":\"u1\",\"eventName\":\"Get\xff\xfeObject\",\"eventTime\":\"2024-01-02T03:04:05Z\",\"requestParameters\":{\"k\":\"\xc3\x28\"}}]}"), 0, ingest.FileIngested, 1, 0, ""},
		{"bad-escape", []byte(`{"Records":[{"eventID":"u2","eventName":"Get\xffObject"}]}`), 0, ingest.FileIngested, 0, 1, ""},
		{"nul-bytes", []byte("{\"Records\":[" + ev("n1") + ",{\"eventID\":\"n2\",\"eventName\":\"a\x00b\"}]}"), 0, ingest.FileIngested, 1, 1, ""},
		{"escaped-nul", []byte(`{"Records":[{"eventID":"n3","eventTime":"2024-01-02T03:04:05Z","eventName":"a\u0000b"}]}`), 0, ingest.FileIngested, 1, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), c.name+".json")
			os.WriteFile(p, c.body, 0o644)
			var got ingest.FileResult
			lk := t.TempDir()
			rep := ingestInto(t, ingest.NewFileSource(p), lk, lake.Options{},
				ingest.Options{MaxRecordBytes: c.maxRec, Listener: listenerFunc(func(f ingest.FileResult) { got = f })})
			if got.Status != c.status || rep.EventsWritten != c.written || (c.rejected >= 0 && rep.EventsRejected != c.rejected) {
				t.Fatalf("status %s (%s), written %d, rejected %d; want %s, %d, %d", got.Status, got.Reason, rep.EventsWritten, rep.EventsRejected, c.status, c.written, c.rejected)
			}
			if c.reason != "" && !strings.Contains(got.Reason, c.reason) {
				t.Fatalf("reason %q; want %q", got.Reason, c.reason)
			}
			// Whatever was written is readable.
			readLake(t, lk)
		})
	}
}

// TestOddKeysStayInsideTheLake: object keys with "../", spaces, unicode
// and control characters are read, and nothing is written outside the
// lake (partition folders come from validated values only).
func TestOddKeysStayInsideTheLake(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "odd-keys", false)
	// (The S3 server itself refuses keys with ".." elements; DirSource
	// refuses them too: TestDirSourceRefusesEscapes.)
	keys := []string{"with space/é ü.json", "x/%2e%2e/y.json", "AWSLogs/111122223333/CloudTrail/..%2f..%2fetc/passwd", "tab\there/q?x=1&y=*.json", "AWSLogs/1/CloudTrail/us-east-1/2024/01/02/weird'quote\".json"}
	for i, k := range keys {
		body := fmt.Sprintf(`{"Records":[{"eventID":"odd%d","eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"../../../tmp","awsRegion":"us-east-1/../../x"}]}`, i)
		srv.Put(t, "odd-keys", k, []byte(body), nil)
	}
	root := t.TempDir()
	lk := filepath.Join(root, "lake")
	rep := ingestInto(t, ingest.NewS3Source(srv.Client(), "odd-keys", ""), lk, lake.Options{}, ingest.Options{})
	if rep.EventsWritten != int64(len(keys)) {
		t.Fatalf("wrote %d; want %d (failures %v)", rep.EventsWritten, len(keys), rep.Failures)
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !strings.HasPrefix(p, lk) && p != root {
			t.Errorf("written outside the lake: %s", p)
		}
		return nil
	})
	rows := readLake(t, lk)
	for _, r := range rows {
		if !strings.Contains(strings.Join(keys, "\n"), r.SourceKey) {
			t.Errorf("source_key %q is not the object's key", r.SourceKey)
		}
	}
	ms, _ := filepath.Glob(filepath.Join(lk, "events", "*", "*", "*"))
	for _, m := range ms {
		if !strings.Contains(m, "account=unknown") || !strings.Contains(m, "region=unknown") {
			t.Errorf("hostile partition value reached a folder name: %s", m)
		}
	}
}

// TestManyTinyFiles ingests 5,000 one-event files into few Parquet files.
func TestManyTinyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 5,000 files")
	}
	dir := t.TempDir()
	for i := 0; i < 5000; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%50))
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.json", i)), []byte(`{"Records":[`+ev(fmt.Sprintf("tiny-%d", i))+`]}`), 0o644)
	}
	src, _ := ingest.NewDirSource(dir)
	lk := t.TempDir()
	rep := ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	if rep.EventsWritten != 5000 || rep.FilesIngested != 5000 {
		t.Fatalf("%+v", rep)
	}
	if rep.ParquetFiles > 2 {
		t.Fatalf("%d Parquet files for 5,000 one-event deliveries in one partition; want them compacted into 1–2", rep.ParquetFiles)
	}
	_ = bytes.MinRead
	_ = context.Background
}
