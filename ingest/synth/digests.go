package synth

import (
	"crypto/rsa"
	"os"
	"path/filepath"
	"time"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// writeDigests writes one chain's hourly signed digests (DIGEST.md §1.2,
// §2): one per hour even when no log was delivered, each naming the
// previous one, its hash and signature; the first is a starting digest.
// While logging is stopped no digest is delivered; the first one after
// StartLogging starts a new chain. logs are the chain's files in delivery
// order.
func writeDigests(o *Options, c chain, start, end time.Time, logs []*file, key *rsa.PrivateKey, stop *stopGap, res *Result) error {
	pub := integrity.NewPublicKey(&key.PublicKey, time.Time{}, time.Time{})
	var prevKey, prevHash, prevSig string
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		hEnd := h.Add(time.Hour)
		if stop != nil && stop.chain == c.idx && hEnd.After(stop.stopAt.Truncate(time.Hour).Add(time.Hour)) && h.Before(stop.restartAt.Truncate(time.Hour)) {
			prevKey = "" // logging off: no digests, and the chain restarts
			continue
		}
		d := &integrity.Digest{AWSAccountID: c.acct, DigestStartTime: h.Format(time.RFC3339), DigestEndTime: hEnd.Format(time.RFC3339),
			DigestS3Bucket: o.Bucket, DigestS3Object: keyname.DigestKey(o.Prefix, c.org, c.acct, c.region, o.Trail, o.Home, hEnd, false),
			DigestPublicKeyFingerprint: pub.Fingerprint, DigestSignatureAlgorithm: "SHA256withRSA", LogFiles: []integrity.LogFileRef{}}
		var newest, oldest string
		for _, l := range logs {
			if l.at.Before(h) || !l.at.Before(hEnd) {
				continue
			}
			d.LogFiles = append(d.LogFiles, integrity.LogFileRef{S3Bucket: o.Bucket, S3Object: l.res.Key, HashValue: l.res.SHA256,
				HashAlgorithm: "SHA-256", NewestEventTime: l.newest, OldestEventTime: l.oldest})
			if oldest == "" || l.oldest < oldest {
				oldest = l.oldest
			}
			if l.newest > newest {
				newest = l.newest
			}
		}
		if newest != "" {
			d.NewestEventTime, d.OldestEventTime = &newest, &oldest
		}
		if prevKey != "" {
			bucket, pk, hash, alg, sig := o.Bucket, prevKey, prevHash, "SHA-256", prevSig
			d.PreviousDigestS3Bucket, d.PreviousDigestS3Object = &bucket, &pk
			d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = &hash, &alg, &sig
		}
		body, inflated, meta, err := integrity.SignDigest(d, key)
		if err != nil {
			return err
		}
		deleted := !o.DeleteDigestAt.IsZero() && c.idx == 2%o.nChains() &&
			(hEnd.Equal(o.DeleteDigestAt) || (h.Before(o.DeleteDigestAt) && hEnd.After(o.DeleteDigestAt)))
		if deleted {
			res.Tampered = append(res.Tampered, Tampered{Kind: "digest-deleted", Key: d.DigestS3Object, What: "digest deleted", Account: c.acct, Region: c.region, From: h, To: hEnd})
		} else {
			path := filepath.Join(o.Dir, filepath.FromSlash(d.DigestS3Object))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, body, 0o644); err != nil {
				return err
			}
			if err := ingest.WriteSidecar(o.Dir, ingest.Object{Bucket: o.Bucket, Key: d.DigestS3Object, Metadata: meta}); err != nil {
				return err
			}
			res.Digests = append(res.Digests, d.DigestS3Object)
		}
		prevKey, prevHash, prevSig = d.DigestS3Object, integrity.HashHex(inflated), meta["signature"]
	}
	return nil
}

func (o *Options) nChains() int { return (len(o.OrgAccounts) + len(o.Accounts)) * len(o.Regions) }
