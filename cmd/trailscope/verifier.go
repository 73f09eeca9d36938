package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"

	"github.com/trailscope/trailscope/detect/scan"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// teeVerifier verifies during scan: ingest tees each log's uncompressed
// bytes into a SHA-256 (one read serves both), and Finish verifies the
// digests against those hashes, reading only what ingest did not read.
type teeVerifier struct {
	src    ingest.Source
	opts   integrity.Options
	mu     sync.Mutex
	open   map[string]hash.Hash
	hashes map[string]string
	last   *integrity.Result
}

func (g *globalFlags) newVerifier(ctx context.Context, src ingest.Source, prefix string, rng ingest.Range, keyFiles []string, onlineKeys bool) (scan.Verifier, error) {
	if len(keyFiles) == 0 && !onlineKeys {
		return nil, nil // no keys: the report says "not verified"
	}
	keys, err := loadKeys(keyFiles)
	if err != nil {
		return nil, err
	}
	var online integrity.KeyProvider
	if onlineKeys {
		if online, err = g.cloudTrailKeys(ctx); err != nil {
			return nil, withCode(exitFatal, err)
		}
	}
	return &teeVerifier{src: src, opts: integrity.Options{Prefix: prefix, Range: rng, Keys: keys, KeyProvider: online},
		open: map[string]hash.Hash{}, hashes: map[string]string{}}, nil
}

// Tee hashes log objects only.
func (v *teeVerifier) Tee(obj ingest.Object) io.Writer {
	if k, err := keyname.Parse(obj.Key); err != nil || k.Kind != keyname.Log {
		return nil
	}
	h := sha256.New()
	v.mu.Lock()
	v.open[obj.Key] = h
	v.mu.Unlock()
	return h
}

// Complete keeps a tee's hash only if ingest read the whole object.
func (v *teeVerifier) Complete(key string, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, found := v.open[key]; found {
		if ok {
			v.hashes[key] = hex.EncodeToString(h.Sum(nil))
		}
		delete(v.open, key)
	}
}

// verify runs the verification with the hashes the tees computed.
func (v *teeVerifier) verify(ctx context.Context) (*integrity.Result, error) {
	o := v.opts
	o.LogHash = func(key string) (string, bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		h, ok := v.hashes[key]
		return h, ok
	}
	res, err := integrity.Verify(ctx, v.src, o)
	v.last = res
	return res, err
}

// completeObs tells the verifier how ingest's read of an object ended.
type completeObs struct {
	v   *teeVerifier
	key string
}

func (c completeObs) Record([]byte, *ingest.Event) {}
func (c completeObs) Done(ok bool)                 { c.v.Complete(c.key, ok) }

func (v *teeVerifier) Finish(ctx context.Context) ([]scan.Verdict, error) {
	res, err := v.verify(ctx)
	if err != nil {
		return nil, err
	}
	var out []scan.Verdict
	for _, f := range res.Files {
		out = append(out, scan.Verdict{Kind: f.Kind, Key: f.Key, Account: f.Account, Region: f.Region, Status: string(f.Status),
			Reason: f.Reason, Start: f.Start, End: f.End, Logs: f.Logs})
	}
	return out, nil
}
