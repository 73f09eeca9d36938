package integrity

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// Status is a file's verdict.
type Status string

// Verdicts.
const (
	Valid        Status = "valid"        // checked and intact
	Invalid      Status = "invalid"      // tampered: bad signature, hash mismatch, moved, broken link
	Missing      Status = "missing"      // listed or expected, but gone
	Unverified   Status = "unverified"   // a log no valid digest covers
	Unreferenced Status = "unreferenced" // a log in a digest's window that no digest lists
	Error        Status = "error"        // could not be read (access denied, KMS, Glacier, throttling)
	// Pending: a log of the still-open hour, delivered after its chain's
	// newest digest less than two hours ago; not a failure.
	Pending Status = "pending"
)

// FileResult is the verdict on one digest or log file.
type FileResult struct {
	Kind     string    `json:"kind"` // digest or log
	Bucket   string    `json:"bucket,omitempty"`
	Key      string    `json:"key"`
	Status   Status    `json:"status"`
	Reason   string    `json:"reason,omitempty"`
	Account  string    `json:"account,omitempty"`
	Region   string    `json:"region,omitempty"`
	Trail    string    `json:"trail,omitempty"`
	Start    time.Time `json:"digest_start,omitzero"`
	End      time.Time `json:"digest_end,omitzero"`
	Logs     int       `json:"logs,omitempty"`
	Backfill bool      `json:"backfill,omitempty"`
	// VersionID of the object checked, where the source knows it.
	VersionID string `json:"version_id,omitempty"`
	// OriginalVersion: in a versioned bucket, an older version of a
	// tampered or deleted file that still matches its digest.
	OriginalVersion string `json:"original_version,omitempty"`
	// CLI is the AWS CLI's own status text for this file ("" where the CLI
	// would not report it).
	CLI string `json:"-"`
	// via is the digest whose listing of this log was checked and viaIdx
	// the log's place in its logFiles (the CLI's output order).
	via    string
	viaIdx int
	// starting: a digest whose previous-digest bucket or key is null (the
	// CLI's chain break); unlisted: a missing digest inferred from the
	// chain, not in the bucket's listing.
	starting, unlisted bool
	// hash is a log's SHA-256 as read (also of a truncated stream, which
	// the CLI compares as is); also, the log's listings by other valid
	// digests, each with the CLI's verdict for it (the CLI checks a log
	// once per digest that lists it).
	hash string
	also []cliListing
	// older: the time of the chain's digest before this one in the
	// listing (the CLI names the gap to it when the chain restarts).
	older time.Time
}

// cliListing is one more digest's listing of a log: the digest, the log's
// place in its logFiles and the CLI's status text for it.
type cliListing struct {
	via string
	idx int
	cli string
}

// Options configure Verify.
type Options struct {
	Prefix string
	Range  ingest.Range
	// Trail, if set, verifies only the digests of this trail name (other
	// trails' digests in the same folders are ignored, as by the CLI).
	Trail string
	Keys  KeySet
	// Workers bounds concurrent reads (default 32; S3 is latency-bound).
	Workers int
	// LogHash, if set, gives the SHA-256 of a log's uncompressed bytes
	// computed elsewhere (one read serving ingest and verification, see
	// LogCheck). Logs it does not know are read from the source.
	LogHash func(key string) (string, bool)
	// KeyProvider, if set, fetches each source region's public keys
	// (CloudTrail ListPublicKeys); Keys are used as well.
	KeyProvider KeyProvider
	// Compat gives the AWS CLI's verdicts where trailscope is stricter:
	// key validity windows, half-null chain fields and the previous-digest
	// hash and signature links are not checked, and data after a digest's
	// gzip member is ignored.
	Compat bool
	// NoVersions disables the search of older object versions for
	// tampered or deleted files in versioned buckets.
	NoVersions bool
	// Window is the span of delivery time verified per step (default
	// DefaultWindow, a day): memory grows with the files of a window, not
	// with the range.
	Window time.Duration
}

// Result is a verification run.
type Result struct {
	Bucket string
	Files  []FileResult
	Counts map[Status]int
	// Chains counts digests per account/region chain.
	Chains map[string]int
	// Found is the span covered by valid digests.
	FoundStart, FoundEnd time.Time
	// Total is the number of files reported (len(Files) when they are
	// kept).
	Total int
}

type digestInfo struct {
	key  string
	k    keyname.Key
	d    *Digest
	hash string // SHA-256 of the inflated digest (the next digest's previousDigestHashValue)
	sig  string
	res  FileResult
	// waiting: the logs it lists (as the digest checked against, or a
	// second listing) not settled yet; it is emitted when none are.
	waiting int
}

// chainKey is one digest chain: an account and source region of one
// trail (digests of other trails in the same folder form their own
// chains); backfill digests form a separate chain, as in the CLI.
type chainKey struct {
	org, acct, region, trail, home string
	backfill                       bool
}

// logChain is where log files go: logs do not name their trail.
type logChain struct{ org, acct, region string }

type logRef struct {
	ref    LogFileRef
	digest string
	valid  bool
	idx    int          // place in the digest's logFiles
	also   []logListing // the same log listed by other valid digests
	t      time.Time    // delivery time in its key (the digest's if unparsable)
}

// logListing is a valid digest's listing of a log already listed by an
// earlier valid digest.
type logListing struct {
	digest string
	idx    int
	hash   string
}

// inRange: logs delivered in [Start, End]; digests whose end time is in
// [Start, End+2h] (a digest ending after End lists logs delivered before
// End, as the CLI's end+1h; one more hour for late delivery).
func inRange(r ingest.Range, k keyname.Key) bool {
	if len(r.Accounts) > 0 && !slices.Contains(r.Accounts, k.Account) || len(r.Regions) > 0 && !slices.Contains(r.Regions, k.Region) {
		return false
	}
	if !r.Start.IsZero() && k.Time.Before(r.Start) {
		return false
	}
	end := r.End
	if k.Kind == keyname.Digest {
		end = end.Add(digestLookahead)
	}
	return r.End.IsZero() || !k.Time.After(end)
}

func readAll(ctx context.Context, p *pacer, src ingest.Source, key string) ([]byte, ingest.Object, error) {
	var b []byte
	var obj ingest.Object
	err := p.do(ctx, func() error {
		rc, o, err := src.Open(ctx, key)
		if err != nil {
			return err
		}
		defer rc.Close()
		obj = o
		b, err = io.ReadAll(io.LimitReader(rc, maxDigestBytes+1))
		return err
	})
	if err != nil {
		return nil, obj, fmt.Errorf("%s: %w", key, err)
	}
	return b, obj, nil
}

func notFound(err error) bool { return ingest.IsNotFound(err) || errors.Is(err, fs.ErrNotExist) }

func meta(m map[string]string, k string) (string, bool) {
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return "", false
}

// checkDigest runs the CLI's checks on one digest (DIGEST.md §3.1), in
// the CLI's order, then trailscope's stricter ones.
func checkDigest(ctx context.Context, p *pacer, src ingest.Source, di *digestInfo, kr *keyRing, compat bool) {
	r := &di.res
	*r = FileResult{Kind: "digest", Bucket: src.Bucket(), Key: di.key, Account: di.k.Account, Region: di.k.Region, Trail: di.k.Trail, Backfill: di.k.Backfill, End: di.k.Time}
	bad := func(st Status, reason, cli string) {
		r.Status, r.Reason, r.CLI = st, reason, cli
	}
	body, obj, err := readAll(ctx, p, src, di.key)
	r.VersionID = obj.VersionID
	if err != nil {
		if notFound(err) {
			bad(Missing, "digest file not found", "INVALID: not found")
		} else {
			bad(Error, "cannot read: "+err.Error(), "")
		}
		return
	}
	inflated, err := Inflate(body, maxDigestBytes)
	trailing := errors.Is(err, ErrTrailingData)
	if err != nil && !trailing { // the CLI ignores data after the first member of a digest
		bad(Invalid, "not a valid gzip digest: "+err.Error(), "INVALID: invalid format")
		return
	}
	di.hash = HashHex(inflated)
	sig, ok1 := meta(obj.Metadata, "signature")
	_, ok2 := meta(obj.Metadata, "signature-algorithm")
	d, perr := ParseDigest(inflated)
	if perr != nil {
		bad(Invalid, perr.Error(), "INVALID: invalid format")
		return
	}
	di.d, di.sig = d, sig
	r.starting = d.PreviousDigestS3Bucket == nil || d.PreviousDigestS3Object == nil
	if t, err := time.Parse(time.RFC3339, d.DigestStartTime); err == nil {
		r.Start = t
	}
	if t, err := time.Parse(time.RFC3339, d.DigestEndTime); err == nil {
		r.End = t
	}
	r.Logs = len(d.LogFiles)
	if !ok1 || !ok2 {
		bad(Invalid, "missing signature metadata (x-amz-meta-signature / signature-algorithm)", "INVALID: signature verification failed")
		return
	}
	signedAt := r.End
	if di.k.Backfill {
		ts, ok := meta(obj.Metadata, "backfill-generation-timestamp")
		if !ok {
			bad(Invalid, "backfill digest without backfill-generation-timestamp", "INVALID: invalid format")
			return
		}
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(ts)); err == nil {
			signedAt = t
		}
	}
	if b := src.Bucket(); (b != "" && d.DigestS3Bucket != b) || d.DigestS3Object != di.key {
		bad(Invalid, fmt.Sprintf("moved: it says it is s3://%s/%s", d.DigestS3Bucket, d.DigestS3Object), "INVALID: has been moved from its original location")
		return
	}
	k, ok := kr.lookup(di.k.Region, d.DigestPublicKeyFingerprint)
	if !ok {
		why := ""
		if err := kr.err(di.k.Region); err != nil {
			bad(Error, fmt.Sprintf("public keys of %s unavailable: %v", di.k.Region, err), "")
			return
		}
		bad(Invalid, fmt.Sprintf("public key not found in region %s for fingerprint %s%s", di.k.Region, d.DigestPublicKeyFingerprint, why),
			fmt.Sprintf("INVALID: public key not found in region %s for fingerprint %s", di.k.Home, d.DigestPublicKeyFingerprint))
		return
	}
	sigBytes, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		cli := "INVALID: Non-hexadecimal digit found"
		if len(strings.TrimSpace(sig))%2 == 1 {
			cli = "INVALID: Odd-length string"
		}
		bad(Invalid, "signature metadata is not hex", cli)
		return
	}
	h := sha256.Sum256([]byte(SigningString(d, inflated)))
	if err := rsa.VerifyPKCS1v15(k.Key, crypto.SHA256, h[:], sigBytes); err != nil {
		bad(Invalid, "signature verification failed: the digest or its signature was altered", "INVALID: signature verification failed")
		return
	}
	if _, err := time.Parse(time.RFC3339, d.DigestStartTime); err != nil {
		bad(Invalid, "digestStartTime is not a date: "+d.DigestStartTime, "INVALID: Unable to parse date value: "+d.DigestStartTime)
		return
	}
	if _, err := time.Parse(time.RFC3339, d.DigestEndTime); err != nil {
		bad(Invalid, "digestEndTime is not a date: "+d.DigestEndTime, "INVALID: Unable to parse date value: "+d.DigestEndTime)
		return
	}
	r.Status, r.CLI = Valid, "valid"
	if compat {
		return
	}
	// Stricter than the CLI (DIGEST.md §6 cases 17, 25, 31).
	switch {
	case trailing:
		r.Status, r.Reason = Invalid, "unexpected data after the end of the digest's gzip stream (the AWS CLI ignores it)"
	case !k.validAt(signedAt):
		r.Status, r.Reason = Invalid, fmt.Sprintf("public key %s was not valid at signing time %s (valid %s to %s)", k.Fingerprint,
			signedAt.Format(time.RFC3339), k.Start.Format(time.RFC3339), k.End.Format(time.RFC3339))
	case !chainFieldsConsistent(d):
		r.Status, r.Reason = Invalid, "inconsistent chain fields: the previous-digest fields are partly null"
	}
}

// chainFieldsConsistent: the five previous* fields are all null (a
// starting digest) or all set.
func chainFieldsConsistent(d *Digest) bool {
	n := 0
	for _, p := range []*string{d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature} {
		if p == nil {
			n++
		}
	}
	return n == 0 || n == 5
}

// alsoListed gives a log its other valid digests' listings with the
// CLI's verdict for each, and makes it invalid if one of them names
// another hash than the one it was checked against.
func alsoListed(fr *FileResult, also []logListing) {
	for _, a := range also {
		cli := fr.CLI
		if fr.hash != "" {
			cli = "INVALID: hash value doesn't match"
			if strings.EqualFold(fr.hash, a.hash) {
				cli = "valid"
			}
		}
		fr.also = append(fr.also, cliListing{a.digest, a.idx, cli})
		if fr.Status == Valid && cli != "valid" {
			fr.Status, fr.Reason = Invalid, "digest "+a.digest+" lists it with another hash: a digest or the log was altered"
		}
	}
}

// linkChecks checks a digest against its predecessor in the listing: the
// previous-digest link (key, hash, signature), deleted digests (every
// missing hour) and chain restarts. The CLI checks none of these; with
// compat the link's hash and signature are not compared either.
func linkChecks(bucket string, di, prev *digestInfo, list []*digestInfo, compat bool) (missing []FileResult) {
	if di.d == nil || di.res.Status != Valid {
		return nil
	}
	d := di.d
	if d.PreviousDigestS3Object == nil {
		if prev != nil {
			di.res.Reason = fmt.Sprintf("chain restarted (logging or validation was stopped): no digest links it to %s", prev.key)
		}
		return
	}
	want := *d.PreviousDigestS3Object
	if (prev == nil || prev.key != want) && di.k.Backfill {
		return // backfill digests are sporadic: no cadence to infer gaps from
	}
	if prev == nil || prev.key != want {
		// The predecessor this digest names is not in the listing.
		inListing := false
		for _, x := range list {
			inListing = inListing || x.key == want
		}
		if inListing {
			return // out of order; its own checks stand
		}
		from := time.Time{}
		if prev != nil {
			from = prev.res.End
		}
		if prev == nil {
			// The chain's first digest in range: its predecessor may simply
			// be before the range.
			return
		}
		// Every missing hour between the last digest seen and this one.
		n := 0
		for t := from; t.Add(time.Hour).Before(di.res.Start.Add(time.Minute)); t = t.Add(time.Hour) {
			n++
			key := fmt.Sprintf("(digest of %s %s for %s–%s)", di.k.Account, di.k.Region, t.Format("15:04"), t.Add(time.Hour).Format("15:04Z 2006-01-02"))
			if t.Add(time.Hour).Add(5 * time.Minute).After(di.res.Start) {
				key = want
			}
			missing = append(missing, FileResult{Kind: "digest", Bucket: bucket, Key: key, Account: di.k.Account, Region: di.k.Region,
				Status: Missing, Reason: "digest deleted: the chain goes from " + prev.key + " to " + di.key, Start: t, End: t.Add(time.Hour), CLI: "INVALID: not found", unlisted: true})
		}
		if n == 0 {
			missing = append(missing, FileResult{Kind: "digest", Bucket: bucket, Key: want, Account: di.k.Account, Region: di.k.Region,
				Status: Missing, Reason: "digest deleted: " + di.key + " links to it", CLI: "INVALID: not found", unlisted: true})
		}
		return
	}
	if compat || prev.res.Status != Valid || prev.hash == "" {
		return
	}
	if d.PreviousDigestHashValue == nil || !strings.EqualFold(*d.PreviousDigestHashValue, prev.hash) {
		di.res.Status, di.res.Reason = Invalid, "previousDigestHashValue does not match the previous digest's content: the chain was altered"
		return
	}
	if d.PreviousDigestSignature == nil || !strings.EqualFold(*d.PreviousDigestSignature, prev.sig) {
		di.res.Status, di.res.Reason = Invalid, "previousDigestSignature does not match the previous digest's signature: the chain was altered"
	}
	return nil
}

// checkLog hashes one log's uncompressed bytes (streaming, constant
// memory) and compares them with the digest's hashValue.
func checkLog(ctx context.Context, p *pacer, src ingest.Source, fr FileResult, want string, precomputed func(string) (string, bool)) FileResult {
	if precomputed != nil {
		if got, ok := precomputed(fr.Key); ok {
			fr.hash = got
			if strings.EqualFold(got, want) {
				fr.Status, fr.CLI = Valid, "valid"
			} else {
				fr.Status, fr.Reason, fr.CLI = Invalid, "hash value doesn't match: the log was modified", "INVALID: hash value doesn't match"
			}
			return fr
		}
	}
	var got string
	var herr error
	err := p.do(ctx, func() error {
		rc, obj, err := src.Open(ctx, fr.Key)
		if err != nil {
			return err
		}
		fr.VersionID = obj.VersionID
		got, herr = HashLog(rc)
		rc.Close()
		if herr != nil && !errors.Is(herr, ErrFormat) && !errors.Is(herr, ErrTrailingData) {
			return herr // the read failed, not the content: retry
		}
		return nil
	})
	if err != nil {
		if notFound(err) {
			fr.Status, fr.Reason, fr.CLI = Missing, "log file deleted (listed by a valid digest)", "INVALID: not found"
		} else {
			fr.Status, fr.Reason = Error, fmt.Sprintf("cannot read %s: %v", fr.Key, err)
		}
		return fr
	}
	err = herr
	match := got != "" && strings.EqualFold(got, want)
	if err == nil || errors.Is(err, ErrTruncated) {
		fr.hash = got
	}
	switch {
	case ctx.Err() != nil:
		fr.Status, fr.Reason = Error, "cannot read: "+ctx.Err().Error()
	case errors.Is(err, ErrTrailingData):
		fr.Status, fr.Reason, fr.CLI = Invalid, "unexpected data after end of compressed stream", "INVALID: unexpected data after end of compressed stream"
	case errors.Is(err, ErrTruncated):
		// The CLI's streaming inflate raises nothing on truncation: it
		// compares the partial output (valid when only the trailer is gone).
		cli := "INVALID: hash value doesn't match"
		if match {
			cli = "valid"
		}
		fr.Status, fr.Reason, fr.CLI = Invalid, "truncated gzip: the log file was cut short", cli
	case errors.Is(err, ErrFormat):
		fr.Status, fr.Reason, fr.CLI = Invalid, err.Error(), "INVALID: invalid format"
	case err != nil:
		fr.Status, fr.Reason = Error, "cannot read: "+err.Error()
	case !match:
		fr.Status, fr.Reason, fr.CLI = Invalid, "hash value doesn't match: the log was modified", "INVALID: hash value doesn't match"
	default:
		fr.Status, fr.CLI = Valid, "valid"
	}
	return fr
}
