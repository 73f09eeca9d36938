package lake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// TestIngestThroughS3Faults ingests through a fault-injecting proxy in
// front of the real S3 server (503 SlowDown bursts, 500s, connections
// reset mid-body, bodies cut short with a full Content-Length, failing
// listing pages, slow answers) and requires the same lake as a clean run.
func TestIngestThroughS3Faults(t *testing.T) {
	dir := t.TempDir()
	total := makeCorpus(t, dir, 40, 120)
	srv := s3test.Start(t)
	srv.CreateBucket(t, "faulty", false)
	srv.UploadDir(t, "faulty", dir, nil)

	clean := t.TempDir()
	ingestInto(t, ingest.NewS3Source(srv.Client(), "faulty", ""), clean, lake.Options{}, ingest.Options{})
	want := readLake(t, clean)
	if len(want) != total {
		t.Fatalf("clean run: %d rows; want %d", len(want), total)
	}
	for _, seed := range []uint64{1, 2, 3} {
		proxy := s3test.StartFaultProxy(t, srv, s3test.Faults{Seed: seed, SlowDown: 0.08, Burst: 3, ServerError: 0.05,
			ResetMidBody: 0.1, TruncateBody: 0.1, FailList: 0.3, Slow: 0.05, Delay: 50 * time.Millisecond})
		lk := t.TempDir()
		var failed []ingest.FileResult
		rep := ingestInto(t, ingest.NewS3Source(srv.ClientVia(proxy.URL, 10), "faulty", ""), lk, lake.Options{},
			ingest.Options{Retries: 8, Listener: listenerFunc(func(f ingest.FileResult) {
				if f.Status == ingest.FileFailed {
					failed = append(failed, f)
				}
			})})
		if len(failed) > 0 {
			t.Fatalf("seed %d: %d objects failed despite retries, first: %s", seed, len(failed), failed[0].Reason)
		}
		got := readLake(t, lk)
		if len(got) != len(want) || rep.EventsWritten != int64(total) {
			t.Fatalf("seed %d: %d rows (report %d); want %d", seed, len(got), rep.EventsWritten, total)
		}
		for i := range got {
			a, _ := json.Marshal(got[i])
			b, _ := json.Marshal(want[i])
			if string(a) != string(b) {
				t.Fatalf("seed %d: row %d differs from the clean run", seed, i)
			}
		}
		inj := map[string]int64{}
		for _, k := range []string{"slowdown", "500", "reset", "truncate", "list", "slow"} {
			inj[k] = proxy.Injected(k)
		}
		if inj["reset"] == 0 || inj["truncate"] == 0 || inj["slowdown"] == 0 {
			t.Fatalf("seed %d: faults not exercised: %v", seed, inj)
		}
		t.Logf("seed %d: %d requests, faults %v", seed, proxy.Requests.Load(), inj)
	}
}

// TestPersistentFaultsAreNamedAndRetriedLater: when every object read is
// cut short, each object fails with a read error naming it, nothing is
// half-ingested, nothing is recorded as done, and a later clean run
// ingests everything.
func TestPersistentFaultsAreNamedAndRetriedLater(t *testing.T) {
	dir := t.TempDir()
	total := makeCorpus(t, dir, 6, 50)
	srv := s3test.Start(t)
	srv.CreateBucket(t, "broken", false)
	srv.UploadDir(t, "broken", dir, nil)
	proxy := s3test.StartFaultProxy(t, srv, s3test.Faults{Seed: 9, TruncateBody: 1})
	lk := t.TempDir()
	var failed []ingest.FileResult
	rep := ingestInto(t, ingest.NewS3Source(srv.ClientVia(proxy.URL, 2), "broken", ""), lk, lake.Options{},
		ingest.Options{Retries: 2, Listener: listenerFunc(func(f ingest.FileResult) {
			if f.Status == ingest.FileFailed {
				failed = append(failed, f)
			}
		})})
	if len(failed) != 6 || rep.EventsWritten != 0 {
		t.Fatalf("%d failed, %d written; want all 6 failed and nothing written", len(failed), rep.EventsWritten)
	}
	for _, f := range failed {
		if !f.Transient || f.Attempts != 3 || !containsAll(f.Reason, "read", f.Object.Key, "unexpected EOF") {
			t.Fatalf("failure %+v: want a transient read error naming the key after 3 attempts", f)
		}
	}
	rep = ingestInto(t, ingest.NewS3Source(srv.Client(), "broken", ""), lk, lake.Options{}, ingest.Options{})
	if rep.EventsWritten != int64(total) {
		t.Fatalf("clean re-run wrote %d; want %d", rep.EventsWritten, total)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestCredentialsNeverInErrors: with a wrong secret, the errors that reach
// the report name the cause and never contain the secret or the access
// key's secret material.
func TestCredentialsNeverInErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "secret-check", false)
	srv.Put(t, "secret-check", "a.json", []byte(`{"Records":[]}`), nil)
	const secret = "s3cr3t-VALUE-that-must-not-leak-0123456789"
	cfg := srv.Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(s3test.AccessKey, secret, "session-TOKEN-must-not-leak")
	cli := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.Endpoint); o.UsePathStyle = true })
	w, err := lake.Open(context.Background(), t.TempDir(), lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runErr := ingest.Run(context.Background(), ingest.NewS3Source(cli, "secret-check", ""), w, ingest.Options{})
	rep := w.Abort()
	all := fmt.Sprint(runErr, rep)
	b, _ := json.Marshal(rep)
	all += string(b)
	if runErr == nil && rep.FilesFailed == 0 {
		t.Fatal("a wrong secret was accepted")
	}
	if !strings.Contains(all, "api error") {
		t.Errorf("the error does not say why: %s", all)
	}
	for _, leak := range []string{secret, "session-TOKEN-must-not-leak"} {
		if strings.Contains(all, leak) {
			t.Fatalf("credential material in errors or report: %s", all)
		}
	}
}
