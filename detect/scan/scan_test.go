package scan_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/detect/scan"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/keyname"
	"github.com/trailscope/trailscope/ingest/lake"
	"github.com/trailscope/trailscope/ingest/synth"
)

// countingSource counts Open calls per key.
type countingSource struct {
	ingest.Source
	mu    sync.Mutex
	opens map[string]int
}

func (c *countingSource) Open(ctx context.Context, key string) (io.ReadCloser, ingest.Object, error) {
	c.mu.Lock()
	c.opens[key]++
	c.mu.Unlock()
	return c.Source.Open(ctx, key)
}

// verifier is the tee verifier as cmd wires it, written against the
// packages' public APIs.
type verifier struct {
	src    ingest.Source
	keys   integrity.KeySet
	mu     sync.Mutex
	open   map[string]hash.Hash
	hashes map[string]string
}

func (v *verifier) Tee(obj ingest.Object) io.Writer {
	if k, err := keyname.Parse(obj.Key); err != nil || k.Kind != keyname.Log {
		return nil
	}
	h := sha256.New()
	v.mu.Lock()
	v.open[obj.Key] = h
	v.mu.Unlock()
	return h
}

func (v *verifier) Complete(key string, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, f := v.open[key]; f && ok {
		v.hashes[key] = hex.EncodeToString(h.Sum(nil))
	}
}

func (v *verifier) Finish(ctx context.Context) ([]scan.Verdict, error) {
	res, err := integrity.Verify(ctx, v.src, integrity.Options{Keys: v.keys, LogHash: func(k string) (string, bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		h, ok := v.hashes[k]
		return h, ok
	}})
	if err != nil {
		return nil, err
	}
	var out []scan.Verdict
	for _, f := range res.Files {
		out = append(out, scan.Verdict{Kind: f.Kind, Key: f.Key, Account: f.Account, Region: f.Region, Status: string(f.Status), Reason: f.Reason, Start: f.Start, End: f.End})
	}
	return out, nil
}

// TestScanIsVerifyIngestDetectInOnePass: on a generated archive with
// planted attacks, a modified log and a deleted digest, scan gives the
// integrity verdicts of verify, the findings of detect and the lake of
// ingest, and reads every log object exactly once.
func TestScanIsVerifyIngestDetectInOnePass(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/bucket"
	if _, err := synth.Generate(ctx, synth.SampleOptions(dir)); err != nil {
		t.Fatal(err)
	}
	var kb bytes.Buffer
	synth.WritePublicKeys(&kb, synth.SampleKey(), time.Time{}, time.Now())
	pks, _ := integrity.ParsePublicKeys(&kb, "")
	keys := integrity.NewKeySet(pks...)
	base, _ := ingest.NewDirSource(dir)
	src := &countingSource{Source: base, opens: map[string]int{}}
	eng, err := detect.NewEngine(detect.Options{Group: true})
	if err != nil {
		t.Fatal(err)
	}
	lk := t.TempDir()
	res, err := scan.Run(ctx, src, scan.Options{Lake: lk, Engine: eng, Verifier: &verifier{src: src, keys: keys, open: map[string]hash.Hash{}, hashes: map[string]string{}}})
	if err != nil {
		t.Fatal(err)
	}
	for key, n := range src.opens {
		if n != 1 {
			t.Errorf("%s read %d times; want once", key, n)
		}
	}
	// The same verdicts as verify on its own.
	alone, err := integrity.Verify(ctx, base, integrity.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range alone.Files {
		want[f.Key] = string(f.Status)
	}
	got := 0
	for _, p := range res.Report.Problems {
		if want[p.Key] != p.Status {
			t.Errorf("scan says %s is %s; verify says %s", p.Key, p.Status, want[p.Key])
		}
		got++
	}
	if res.Report.Integrity["invalid"] != 1 || res.Report.Integrity["missing"] != 1 || res.Report.Integrity["valid"] != alone.Counts[integrity.Valid] {
		t.Errorf("scan integrity %v; verify %v", res.Report.Integrity, alone.Counts)
	}
	// The same findings as detect over the source.
	s := eng.NewStream()
	if err := ingest.Run(ctx, base, &ingest.CountSink{}, ingest.Options{Observe: s.Observe}); err != nil {
		t.Fatal(err)
	}
	fs, _ := s.Findings()
	a, _ := json.Marshal(fs)
	b, _ := json.Marshal(res.Report.Findings)
	if !bytes.Equal(a, b) {
		t.Errorf("scan findings differ from detect's")
	}
	// The same lake as ingest.
	lk2 := t.TempDir()
	w, _ := lake.Open(ctx, lk2, lake.Options{})
	ingest.Run(ctx, base, w, ingest.Options{})
	rep, _ := w.Close(ctx)
	if rep.EventsWritten != res.Ingest.EventsWritten || rep.FilesIngested != res.Ingest.FilesIngested {
		t.Errorf("ingest wrote %d events from %d files; scan %d from %d", rep.EventsWritten, rep.FilesIngested, res.Ingest.EventsWritten, res.Ingest.FilesIngested)
	}
	// The coverage map shows the tampered hour, the lost digest and the stop.
	states := map[string]bool{}
	for _, g := range res.Report.Coverage.Gaps {
		states[g.State] = true
	}
	for _, s := range []string{"tampered", "missing", "stopped"} {
		if !states[s] {
			t.Errorf("coverage has no %s gap: %+v", s, res.Report.Coverage.Gaps)
		}
	}
	keysSorted := make([]string, 0)
	for k := range src.opens {
		keysSorted = append(keysSorted, k)
	}
	sort.Strings(keysSorted)
	t.Logf("%d objects read once each; %d integrity problems; %d findings", len(keysSorted), got, len(res.Report.Findings))
}
