package synth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/keyname"
	"github.com/trailscope/trailscope/ingest/s3test"
	"github.com/trailscope/trailscope/ingest/synth"
)

const committed = "../../testdata/sample"

// generate writes o's archive under a temporary folder (bucket/ and keys/).
func generate(t testing.TB, o synth.Options) (synth.Options, *synth.Result) {
	t.Helper()
	dir := t.TempDir()
	o.Dir, o.KeysDir = filepath.Join(dir, "bucket"), filepath.Join(dir, "keys")
	res, err := synth.Generate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return o, res
}

// files maps every file under root to its bytes.
func files(t testing.TB, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, got, want map[string][]byte, what string) {
	t.Helper()
	for k, b := range got {
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("%s: %s is generated but not committed", what, k)
		case !bytes.Equal(b, w):
			t.Errorf("%s: %s differs", what, k)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: %s is committed but no longer generated", what, k)
		}
	}
}

// TestSampleIsCurrent regenerates the committed sample archive and
// requires it byte for byte (logs, digests, sidecars, keys, ground truth),
// so testdata/sample cannot drift from the generator. To regenerate:
//
//	rm -rf testdata/sample/bucket testdata/sample/keys
//	go run ./cmd/trailscope demo --sample --out testdata/sample/bucket
func TestSampleIsCurrent(t *testing.T) {
	o, res := generate(t, synth.SampleOptions(""))
	got := files(t, o.Dir)
	sameTree(t, got, files(t, filepath.Join(committed, "bucket")), "bucket")
	if n := len(res.Logs) - 0 + 2*len(res.Digests) + 1; len(got) != n-countDeleted(res) {
		t.Errorf("%d files; want logs, digests, their sidecars and the bucket file (%d)", len(got), n-countDeleted(res))
	}
	sameTree(t, files(t, o.KeysDir), files(t, filepath.Join(committed, "keys")), "keys")
	gt, _ := synth.GroundTruth(res)
	want, _ := os.ReadFile(filepath.Join(committed, "planted.json"))
	if !bytes.Equal(gt, want) {
		t.Error("testdata/sample/planted.json differs from the generator's ground truth")
	}
	var total int64
	for _, b := range files(t, committed) {
		total += int64(len(b))
	}
	if total > 2<<20 {
		t.Errorf("the sample is %d bytes; keep it under 2 MiB", total)
	}
}

func countDeleted(res *synth.Result) int {
	n := 0
	for _, l := range res.Logs {
		if l.Deleted {
			n++
		}
	}
	return n
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

type record struct {
	EventID      string          `json:"eventID"`
	EventTime    time.Time       `json:"eventTime"`
	EventName    string          `json:"eventName"`
	AWSRegion    string          `json:"awsRegion"`
	Recipient    string          `json:"recipientAccountId"`
	UserIdentity json.RawMessage `json:"userIdentity"`
	ErrorCode    string          `json:"errorCode"`
}

// TestArchiveShape: keys follow the grammar, files decode with the
// ingest pipeline and hold what Result says, event times sit in or just
// before the delivery window, event IDs are unique, planted events exist,
// the background is varied.
func TestArchiveShape(t *testing.T) {
	o := synth.SampleOptions("")
	o.Seed = 7
	o.DeleteLogAt = o.Start.Add(time.Hour)
	o, res := generate(t, o)
	ids := map[string]bool{}
	var orgKeys int
	names, types := map[string]bool{}, map[string]bool{}
	tampered := map[string]string{}
	for _, tp := range res.Tampered {
		if tp.Key != "" {
			tampered[tp.Key] = tp.Kind
		}
	}
	if len(tampered) != 3 || countDeleted(res) != 1 {
		t.Fatalf("tampered %v; want a modified log, a deleted log and a deleted digest", tampered)
	}
	for _, l := range res.Logs {
		k, err := keyname.Parse(l.Key)
		if err != nil || k.Kind != keyname.Log || k.Account != l.Account || k.Region != l.Region {
			t.Fatalf("key %s: %+v %v", l.Key, k, err)
		}
		if k.OrgID == o.OrgID {
			orgKeys++
		}
		b, err := os.ReadFile(filepath.Join(o.Dir, filepath.FromSlash(l.Key)))
		if l.Deleted {
			if err == nil {
				t.Errorf("%s: deleted log is there", l.Key)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		raw := gunzip(t, b)
		sum := sha256.Sum256(raw)
		if (hex.EncodeToString(sum[:]) == l.SHA256) == (tampered[l.Key] == "log-modified") || len(raw) != l.Bytes {
			t.Errorf("%s: sha256 %x, want %s (tampered: %q)", l.Key, sum, l.SHA256, tampered[l.Key])
		}
		var doc struct{ Records []record }
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", l.Key, err)
		}
		if len(doc.Records) != l.Events || l.Events == 0 {
			t.Errorf("%s: %d records; Result says %d", l.Key, len(doc.Records), l.Events)
		}
		for _, r := range doc.Records {
			if ids[r.EventID] || len(r.EventID) != 36 {
				t.Errorf("eventID %q repeated or malformed", r.EventID)
			}
			ids[r.EventID] = true
			names[r.EventName] = true
			var u struct{ Type string }
			json.Unmarshal(r.UserIdentity, &u)
			types[u.Type] = true
			// A file delivered at T holds events of the 15 minutes before.
			if lag := k.Time.Add(time.Minute).Sub(r.EventTime); lag < 0 || lag > 16*time.Minute {
				t.Errorf("%s: event at %s, %v before delivery", l.Key, r.EventTime, lag)
			}
			if r.Recipient != l.Account {
				t.Errorf("%s: recipientAccountId %s", l.Key, r.Recipient)
			}
		}
	}
	if orgKeys == 0 || orgKeys == len(res.Logs) {
		t.Fatalf("%d of %d logs in the organization layout; want some, not all", orgKeys, len(res.Logs))
	}
	if len(ids) != res.Events-eventsIn(res, true) {
		t.Errorf("%d distinct events; Result says %d (less deleted)", len(ids), res.Events)
	}
	for _, ty := range []string{"IAMUser", "AssumedRole", "Root", "AWSService", "FederatedUser", "SAMLUser", "WebIdentityUser", "IdentityCenterUser", ""} {
		if !types[ty] && ty != "" {
			t.Errorf("no userIdentity of type %s", ty)
		}
	}
	if len(names) < 60 {
		t.Errorf("%d distinct event names; want a varied background", len(names))
	}
	if len(res.Planted) < 30 {
		t.Fatalf("%d planted attacks", len(res.Planted))
	}
	for _, p := range res.Planted {
		for _, id := range p.EventIDs {
			if !ids[id] {
				t.Errorf("planted %s: event %s not in the archive", p.Technique, id)
			}
		}
	}
	// The ingest pipeline reads every file.
	src, _ := ingest.NewDirSource(o.Dir)
	sink := &ingest.CountSink{}
	if err := ingest.Run(context.Background(), src, sink, ingest.Options{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if sink.Events != int64(len(ids)) || sink.Failed != 0 || sink.Rejected != 0 {
		t.Fatalf("ingest decoded %d events (%d failed files, %d rejected); want %d", sink.Events, sink.Failed, sink.Rejected, len(ids))
	}
}

func eventsIn(res *synth.Result, deleted bool) int {
	n := 0
	for _, l := range res.Logs {
		if l.Deleted == deleted {
			n += l.Events
		}
	}
	return n
}

type digestFile struct {
	key string
	d   *integrity.Digest
	raw []byte
	sig string
	k   keyname.Key
}

// TestDigestChains checks the chain by hand: one digest an hour per
// account and region (less the deleted one and the hours logging was
// stopped), starting digests with null links, each link naming the
// previous digest, its hash and signature, signatures valid, and every
// log listed once with the SHA-256 of its uncompressed bytes.
func TestDigestChains(t *testing.T) {
	o, res := generate(t, synth.SampleOptions(""))
	pks, err := os.Open(filepath.Join(o.KeysDir, "public-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := integrity.ParsePublicKeys(pks, "")
	pks.Close()
	if err != nil || len(keys) == 0 {
		t.Fatal(keys, err)
	}
	ks := integrity.NewKeySet(keys...)
	chains := map[string][]digestFile{}
	for _, key := range res.Digests {
		b, err := os.ReadFile(filepath.Join(o.Dir, filepath.FromSlash(key)))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := integrity.Inflate(b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		d, err := integrity.ParseDigest(raw)
		if err != nil {
			t.Fatal(err)
		}
		k, err := keyname.Parse(key)
		if err != nil || k.Kind != keyname.Digest || k.Trail != o.Trail || k.Home != o.Home {
			t.Fatalf("%s: %+v %v", key, k, err)
		}
		if d.DigestS3Object != key || d.DigestS3Bucket != o.Bucket || d.AWSAccountID != k.Account {
			t.Errorf("%s: names itself %s/%s for %s", key, d.DigestS3Bucket, d.DigestS3Object, d.AWSAccountID)
		}
		sig := synth.SidecarMeta(o.Dir)(key)["signature"]
		pk, ok := ks[d.DigestPublicKeyFingerprint]
		if !ok {
			t.Fatalf("%s: no public key %s", key, d.DigestPublicKeyFingerprint)
		}
		if err := integrity.VerifySignature(pk.Key, d, raw, sig); err != nil {
			t.Errorf("%s: %v", key, err)
		}
		c := k.Account + "/" + k.Region
		chains[c] = append(chains[c], digestFile{key, d, raw, sig, k})
	}
	logs := map[string]synth.LogFile{}
	for _, l := range res.Logs {
		logs[l.Key] = l
	}
	listed := map[string]int{}
	starts := 0
	for c, ds := range chains {
		sort.Slice(ds, func(i, j int) bool { return ds[i].key < ds[j].key })
		for i, df := range ds {
			d := df.d
			if d.PreviousDigestS3Object == nil {
				starts++
				if d.PreviousDigestS3Bucket != nil || d.PreviousDigestHashValue != nil || d.PreviousDigestSignature != nil || d.PreviousDigestHashAlgorithm != nil {
					t.Errorf("%s: a starting digest with some previous fields set", df.key)
				}
			} else if i > 0 && *d.PreviousDigestS3Object == ds[i-1].key {
				prev := ds[i-1]
				sum := sha256.Sum256(prev.raw)
				if *d.PreviousDigestHashValue != hex.EncodeToString(sum[:]) || *d.PreviousDigestSignature != prev.sig || *d.PreviousDigestS3Bucket != o.Bucket || *d.PreviousDigestHashAlgorithm != "SHA-256" {
					t.Errorf("%s: link to %s does not match it", df.key, prev.key)
				}
				if d.DigestStartTime != prev.d.DigestEndTime {
					t.Errorf("%s: starts at %s; previous ended at %s", df.key, d.DigestStartTime, prev.d.DigestEndTime)
				}
			} else if !strings.Contains(*d.PreviousDigestS3Object, "CloudTrail-Digest") || !deletedDigest(res, *d.PreviousDigestS3Object) {
				t.Errorf("%s: links to %s, which is neither the previous digest nor the deleted one", df.key, *d.PreviousDigestS3Object)
			}
			if (len(d.LogFiles) == 0) != (d.NewestEventTime == nil) || (d.NewestEventTime == nil) != (d.OldestEventTime == nil) {
				t.Errorf("%s: %d logs, event times %v %v", df.key, len(d.LogFiles), d.NewestEventTime, d.OldestEventTime)
			}
			for _, lf := range d.LogFiles {
				listed[lf.S3Object]++
				l, ok := logs[lf.S3Object]
				if !ok || lf.HashValue != l.SHA256 || lf.HashAlgorithm != "SHA-256" || lf.S3Bucket != o.Bucket {
					t.Errorf("%s lists %s with hash %s; Result has %v", df.key, lf.S3Object, lf.HashValue, l)
				}
				if lf.OldestEventTime > lf.NewestEventTime || lf.OldestEventTime < *d.OldestEventTime || lf.NewestEventTime > *d.NewestEventTime {
					t.Errorf("%s: event times of %s outside the digest's", df.key, lf.S3Object)
				}
			}
		}
		if len(ds) < o.Hours-2 {
			t.Errorf("chain %s has %d digests", c, len(ds))
		}
	}
	if len(chains) != 6 {
		t.Errorf("%d chains; want 3 accounts × 2 regions", len(chains))
	}
	if starts != 6+1 {
		t.Errorf("%d starting digests; want one per chain and one after the logging stop", starts)
	}
	if len(res.Digests) != 6*o.Hours-1-1 {
		t.Errorf("%d digests; want one per chain and hour, less one deleted and one while logging was stopped", len(res.Digests))
	}
	for k, l := range logs {
		if listed[k] > 1 || (listed[k] == 0 && !inDeletedDigest(t, res, k)) {
			t.Errorf("%s (%+v) listed by %d digests", k, l, listed[k])
		}
	}
}

func deletedDigest(res *synth.Result, key string) bool {
	for _, tp := range res.Tampered {
		if tp.Kind == "digest-deleted" && tp.Key == key {
			return true
		}
	}
	return false
}

// inDeletedDigest: a log delivered in the window of the deleted digest.
func inDeletedDigest(t *testing.T, res *synth.Result, key string) bool {
	k, _ := keyname.Parse(key)
	for _, tp := range res.Tampered {
		if tp.Kind == "digest-deleted" && tp.Account == k.Account && tp.Region == k.Region && !k.Time.Before(tp.From) && k.Time.Before(tp.To) {
			return true
		}
	}
	return false
}

// small is a quick archive with per-region keys derived from the seed, a
// key prefix and no organization.
func small() synth.Options {
	return synth.Options{Bucket: "synth-small", Prefix: "trails/prod", Accounts: []string{"123456789012", "210987654321"}, Regions: []string{"eu-west-1", "ap-southeast-2"},
		Start: time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC), Hours: 3, FilesPerHour: 6, EventsPerFile: 5, Seed: 11, Attacks: true, GapHour: -1,
		StopGapHours: 1, TamperLog: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), DeleteLogAt: time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC),
		DeleteDigestAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Workers: 1}
}

// TestDeterministic: the same options give the same bytes, whatever the
// number of workers; another seed gives another archive.
func TestDeterministic(t *testing.T) {
	o1, r1 := generate(t, small())
	o := small()
	o.Workers = 2
	o2, _ := generate(t, o)
	a, b := files(t, o1.Dir), files(t, o2.Dir)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d files", len(a), len(b))
	}
	sameTree(t, a, b, "rerun")
	sameTree(t, files(t, o1.KeysDir), files(t, o2.KeysDir), "keys")
	for _, l := range r1.Logs {
		if !strings.HasPrefix(l.Key, "trails/prod/AWSLogs/") {
			t.Fatalf("%s: prefix missing", l.Key)
		}
	}
	if len(r1.Keys.Private) != 2 {
		t.Fatalf("private keys %v; want one per region", r1.Keys.Private)
	}
	k1, _ := os.ReadFile(r1.Keys.Private["eu-west-1"])
	k2, _ := os.ReadFile(r1.Keys.Private["ap-southeast-2"])
	if bytes.Equal(k1, k2) || !bytes.Contains(k1, []byte("RSA PRIVATE KEY")) {
		t.Error("regions share a key")
	}
	if strings.HasPrefix(r1.Keys.Dir, o1.Dir) {
		t.Error("keys inside the bucket tree")
	}
	o = small()
	o.Seed = 12
	o3, _ := generate(t, o)
	c := files(t, o3.Dir)
	same := 0
	for k, v := range a {
		if bytes.Equal(c[k], v) {
			same++
		}
	}
	if same > 1 { // the bucket file
		t.Errorf("%d files identical under another seed", same)
	}
}

// TestVerifierAgrees runs trailscope's verifier on a small archive: it
// must flag exactly what Generate says it tampered with.
func TestVerifierAgrees(t *testing.T) {
	o, res := generate(t, small())
	verify(t, o, res, mustSource(t, o.Dir))
}

func mustSource(t *testing.T, dir string) ingest.Source {
	src, err := ingest.NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func verify(t *testing.T, o synth.Options, res *synth.Result, src ingest.Source) {
	t.Helper()
	f, err := os.Open(res.Keys.PublicKeys)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pks, err := integrity.ParsePublicKeys(f, "")
	if err != nil {
		t.Fatal(err)
	}
	vr, err := integrity.Verify(context.Background(), src, integrity.Options{Keys: integrity.NewKeySet(pks...)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]integrity.Status{}
	for _, tp := range res.Tampered {
		switch tp.Kind {
		case "log-modified":
			want[tp.Key] = integrity.Invalid
		case "log-deleted", "digest-deleted":
			want[tp.Key] = integrity.Missing
		}
	}
	for _, fr := range vr.Files {
		w, ok := want[fr.Key]
		switch {
		case ok && fr.Status != w:
			t.Errorf("%s: %s (%s); want %s", fr.Key, fr.Status, fr.Reason, w)
		case !ok && fr.Status != integrity.Valid && !(fr.Status == integrity.Unverified && inDeletedDigest(t, res, fr.Key)):
			t.Errorf("%s: %s (%s); nothing was done to it", fr.Key, fr.Status, fr.Reason)
		}
		delete(want, fr.Key)
	}
	for k := range want {
		t.Errorf("%s: tampered, not reported", k)
	}
}

// TestUploadToS3: the tree uploaded with SidecarMeta carries the digest
// signatures, and verifies from S3.
func TestUploadToS3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an S3 server")
	}
	if _, err := s3test.Binary(); err != nil {
		t.Skipf("no S3 test server: %v", err)
	}
	o, res := generate(t, small())
	srv := s3test.Start(t)
	srv.CreateBucket(t, o.Bucket, false)
	srv.UploadDir(t, o.Bucket, o.Dir, synth.SidecarMeta(o.Dir))
	verify(t, o, res, ingest.NewS3Source(srv.Client(), o.Bucket, ""))
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []synth.Options{
		{},
		{Dir: t.TempDir()},
		{Dir: t.TempDir(), Accounts: []string{"123456789012"}, Regions: []string{"us-east-1"}},
		{Dir: t.TempDir(), OrgAccounts: []string{"123456789012"}, Regions: []string{"us-east-1"}, Hours: 1},
	} {
		if _, err := synth.Generate(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := small()
	o.Dir = t.TempDir()
	if _, err := synth.Generate(ctx, o); err == nil {
		t.Error("a cancelled context: no error")
	}
}

func TestDeriveKey(t *testing.T) {
	a, err := synth.DeriveKey(5, "us-east-1", 1024)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := synth.DeriveKey(5, "us-west-2", 1024)
	if a.N.Cmp(b.N) == 0 || a.N.BitLen() != 1024 {
		t.Fatal("keys of two regions are equal, or the wrong size")
	}
	if _, err := synth.DeriveKey(5, "us-east-1", 1000); err == nil {
		t.Error("odd key size accepted")
	}
}
