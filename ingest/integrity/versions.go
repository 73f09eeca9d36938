package integrity

import (
	"context"
	"io"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/trailscope/trailscope/ingest"
)

// versionSource is a source that keeps object versions (ingest.S3Source
// over a versioned bucket).
type versionSource interface {
	ListVersions(ctx context.Context, key string) ([]ingest.ObjectVersion, error)
	OpenVersion(ctx context.Context, key, versionID string) (io.ReadCloser, ingest.Object, error)
}

// findOriginals looks, for every modified or deleted log, for an older
// version whose uncompressed hash still matches the digest, and records
// it: "current version tampered, original intact at version V".
func findOriginals(ctx context.Context, src ingest.Source, files []FileResult, want map[string]string, workers int) {
	vs, ok := src.(versionSource)
	if !ok {
		return
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	var mu sync.Mutex
	for i := range files {
		f := files[i]
		h, ok := want[f.Key]
		if !ok || (f.Status != Invalid && f.Status != Missing) {
			continue
		}
		g.Go(func() error {
			v := originalLogVersion(gctx, vs, f, h)
			if v == "" {
				return nil
			}
			mu.Lock()
			files[i].OriginalVersion = v
			files[i].Reason = originalReason(f, v)
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
}

func originalReason(f FileResult, v string) string {
	if f.Status == Missing {
		return f.Reason + "; deleted, original intact at version " + v
	}
	return f.Reason + "; current version tampered, original intact at version " + v
}

func originalLogVersion(ctx context.Context, vs versionSource, f FileResult, want string) string {
	versions, err := vs.ListVersions(ctx, f.Key)
	if err != nil {
		return ""
	}
	for _, v := range versions {
		if v.DeleteMarker || (f.VersionID != "" && v.VersionID == f.VersionID) {
			continue
		}
		rc, _, err := vs.OpenVersion(ctx, f.Key, v.VersionID)
		if err != nil {
			continue
		}
		got, err := HashLog(rc)
		rc.Close()
		if err == nil && strings.EqualFold(got, want) {
			return v.VersionID
		}
	}
	return ""
}

// findOriginalDigests does the same for deleted or invalid digests: an
// older version at the same key that passes the signature check.
func findOriginalDigests(ctx context.Context, src ingest.Source, files []FileResult, kr *keyRing) {
	vs, ok := src.(versionSource)
	if !ok {
		return
	}
	for i, f := range files {
		if f.Kind != "digest" || (f.Status != Invalid && f.Status != Missing) || strings.HasPrefix(f.Key, "(") {
			continue
		}
		versions, err := vs.ListVersions(ctx, f.Key)
		if err != nil {
			continue
		}
		for _, v := range versions {
			if v.DeleteMarker || (f.VersionID != "" && v.VersionID == f.VersionID) {
				continue
			}
			if originalDigestOK(ctx, vs, src.Bucket(), f, v.VersionID, kr) {
				files[i].OriginalVersion = v.VersionID
				files[i].Reason = originalReason(f, v.VersionID)
				break
			}
		}
	}
}

func originalDigestOK(ctx context.Context, vs versionSource, bucket string, f FileResult, version string, kr *keyRing) bool {
	rc, obj, err := vs.OpenVersion(ctx, f.Key, version)
	if err != nil {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(rc, maxDigestBytes))
	rc.Close()
	if err != nil {
		return false
	}
	inflated, err := Inflate(body, maxDigestBytes)
	if err != nil {
		return false
	}
	d, err := ParseDigest(inflated)
	if err != nil || d.DigestS3Object != f.Key || (bucket != "" && d.DigestS3Bucket != bucket) {
		return false
	}
	sig, _ := meta(obj.Metadata, "signature")
	k, ok := kr.lookup(f.Region, d.DigestPublicKeyFingerprint)
	return ok && VerifySignature(k.Key, d, inflated, sig) == nil
}
