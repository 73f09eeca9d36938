package integrity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// MirrorResult counts what Mirror did.
type MirrorResult struct {
	Copied, Skipped, Failed int
	Bytes                   int64
	Failures                []string
}

// Mirror copies the CloudTrail logs and digests of src in range into dir
// as an evidence copy: each object's bytes, a sidecar with its S3
// metadata (the digest signatures), ETag, VersionId and LastModified
// (ingest.WriteSidecar), the bucket name, and dir/.trailscope/SHA256SUMS
// listing every copied file (chain of custody). It is resumable: objects
// already copied with the same ETag and size are skipped. `trailscope
// verify DIR` then works offline with the same verdicts.
func Mirror(ctx context.Context, src ingest.Source, prefix string, rng ingest.Range, dir string, workers int) (*MirrorResult, error) {
	if workers <= 0 {
		workers = 8
	}
	rng.Kinds = []keyname.Kind{keyname.Log, keyname.Digest}
	if err := os.MkdirAll(filepath.Join(dir, ingest.SidecarDir), 0o755); err != nil {
		return nil, err
	}
	if b := src.Bucket(); b != "" {
		os.WriteFile(filepath.Join(dir, ingest.SidecarDir, "bucket"), []byte(b+"\n"), 0o644)
	}
	res := &MirrorResult{}
	sums := map[string]string{}
	// Earlier runs' sums stay valid for skipped files.
	if b, err := os.ReadFile(filepath.Join(dir, ingest.SidecarDir, "SHA256SUMS")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if h, k, ok := strings.Cut(line, "  "); ok {
				sums[k] = h
			}
		}
	}
	var mu = make(chan struct{}, 1)
	lock := func() { mu <- struct{}{} }
	unlock := func() { <-mu }
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for p, err := range ingest.Prefixes(ctx, src, prefix, rng) {
		if err != nil {
			return nil, err
		}
		for obj, err := range src.List(ctx, p, "") {
			if err != nil {
				return nil, err
			}
			k, err := keyname.Parse(obj.Key)
			if err != nil || (k.Kind != keyname.Log && k.Kind != keyname.Digest) || !rng.Contains(k) {
				continue
			}
			g.Go(func() error {
				path := filepath.Join(dir, filepath.FromSlash(obj.Key))
				if old, err := os.ReadFile(ingest.SidecarPath(dir, obj.Key)); err == nil && obj.ETag != "" && strings.Contains(string(old), `"etag": "`+obj.ETag+`"`) {
					if st, err := os.Stat(path); err == nil && st.Size() == obj.Size {
						lock()
						res.Skipped++
						unlock()
						return nil
					}
				}
				sum, n, meta, err := copyObject(gctx, src, obj.Key, path)
				lock()
				defer unlock()
				if err != nil {
					res.Failed++
					res.Failures = append(res.Failures, fmt.Sprintf("%s: %v", obj.Key, err))
					return nil
				}
				meta.Key = obj.Key
				if err := ingest.WriteSidecar(dir, meta); err != nil {
					return err
				}
				sums[obj.Key] = sum
				res.Copied++
				res.Bytes += n
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s  %s\n", sums[k], k)
	}
	return res, os.WriteFile(filepath.Join(dir, ingest.SidecarDir, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func copyObject(ctx context.Context, src ingest.Source, key, path string) (string, int64, ingest.Object, error) {
	rc, obj, err := src.Open(ctx, key)
	if err != nil {
		return "", 0, obj, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", 0, obj, err
	}
	tmp := path + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return "", 0, obj, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && obj.Size > 0 && n != obj.Size {
		err = fmt.Errorf("got %d of %d bytes", n, obj.Size)
	}
	if err != nil {
		os.Remove(tmp)
		return "", 0, obj, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, obj, os.Rename(tmp, path)
}
