package integrity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
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
	"github.com/trailscope/trailscope/ingest/s3test"
	"github.com/trailscope/trailscope/ingest/synth"
)

const bucket = "trail-evidence"

// archive writes a small signed archive: an organization account and a
// standalone account, two regions, five hours.
func archive(t testing.TB) (string, *synth.Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bucket")
	o := synth.Options{Dir: dir, Bucket: bucket, OrgID: "o-abcdefghij", OrgAccounts: []string{"111122223333"}, Accounts: []string{"444455556666"},
		Regions: []string{"us-east-1", "eu-west-1"}, Start: time.Date(2026, 1, 4, 22, 0, 0, 0, time.UTC), Hours: 5, EventsPerHour: 15,
		Seed: 3, SigningKey: synth.SampleKey(), Trail: "org-trail", Home: "us-east-1", GapHour: -1}
	res, err := synth.Generate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func keys(t testing.TB) integrity.KeySet {
	t.Helper()
	var b bytes.Buffer
	synth.WritePublicKeys(&b, synth.SampleKey(), time.Time{}, time.Now())
	ks, err := integrity.ParsePublicKeys(&b, "")
	if err != nil {
		t.Fatal(err)
	}
	return integrity.NewKeySet(ks...)
}

func verifyDir(t *testing.T, root string) *integrity.Result {
	t.Helper()
	src, err := ingest.NewDirSource(root)
	if err != nil {
		t.Fatal(err)
	}
	res, err := integrity.Verify(context.Background(), src, integrity.Options{Keys: keys(t)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// uploadMirror puts a mirror folder into a bucket with the user metadata
// its sidecars recorded.
func uploadMirror(t *testing.T, srv *s3test.Server, name, root string) {
	srv.CreateBucket(t, name, false)
	srv.UploadDir(t, name, root, func(key string) map[string]string {
		b, err := os.ReadFile(ingest.SidecarPath(root, key))
		if err != nil {
			return nil
		}
		var o ingest.Object
		json.Unmarshal(b, &o)
		return o.Metadata
	})
}

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "bucket")
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(src, p)
		q := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(q, 0o755)
		}
		b, _ := os.ReadFile(p)
		return os.WriteFile(q, b, 0o644)
	})
	return dst
}

func keysOf(res *synth.Result, kind string) []string {
	var out []string
	if kind == "log" {
		for _, l := range res.Logs {
			out = append(out, l.Key)
		}
	} else {
		out = append(out, res.Digests...)
	}
	sort.Strings(out)
	return out
}

func gunzip(t *testing.T, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(zr)
	return out.Bytes()
}

func regzip(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// resignDigest rewrites a digest's content with f and signs it with key
// (nil: keep the old signature).
func resignDigest(t *testing.T, root, key string, mutate func(*integrity.Digest), signer *rsa.PrivateKey, newKey string) {
	p := filepath.Join(root, filepath.FromSlash(key))
	b, _ := os.ReadFile(p)
	d, err := integrity.ParseDigest(gunzip(t, b))
	if err != nil {
		t.Fatal(err)
	}
	mutate(d)
	body, _, meta, err := integrity.SignDigest(d, signer)
	if err != nil {
		t.Fatal(err)
	}
	if newKey == "" {
		newKey = key
	} else {
		os.Remove(p)
		os.Remove(ingest.SidecarPath(root, key))
	}
	q := filepath.Join(root, filepath.FromSlash(newKey))
	os.MkdirAll(filepath.Dir(q), 0o755)
	os.WriteFile(q, body, 0o644)
	ingest.WriteSidecar(root, ingest.Object{Key: newKey, Metadata: meta})
}

// flipSignature changes one hex digit of a digest's signature metadata
// (its mirror sidecar).
func flipSignature(root, key string) {
	p := ingest.SidecarPath(root, key)
	b, _ := os.ReadFile(p)
	var o ingest.Object
	json.Unmarshal(b, &o)
	sig := []byte(o.Metadata["signature"])
	if sig[10] == 'a' {
		sig[10] = 'b'
	} else {
		sig[10] = 'a'
	}
	o.Metadata["signature"] = string(sig)
	ingest.WriteSidecar(root, o)
}

type expect struct {
	key    string // exact key, or a prefix ending in "*"
	status integrity.Status
}

// TestScenarios runs every tampering case on a local mirror and on the
// real S3 server, and requires the right verdict on the right file,
// nothing else flagged (other than what a deleted file necessarily
// leaves unverified), and the documented exit code.
func TestScenarios(t *testing.T) {
	base, gen := archive(t)
	logs, digests := keysOf(gen, "log"), keysOf(gen, "digest")
	// Pick files in the middle of the standalone account's us-east-1 chain.
	var chainDigests []string
	for _, d := range digests {
		if strings.Contains(d, "444455556666/CloudTrail-Digest/us-east-1") {
			chainDigests = append(chainDigests, d)
		}
	}
	var chainLogs []string
	for _, l := range logs {
		if strings.Contains(l, "444455556666/CloudTrail/us-east-1") {
			chainLogs = append(chainLogs, l)
		}
	}
	if len(chainDigests) != 5 || len(chainLogs) < 20 {
		t.Fatalf("archive has %d digests and %d logs in the chain", len(chainDigests), len(chainLogs))
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	target := chainLogs[len(chainLogs)/2]
	cases := []struct {
		name   string
		mutate func(t *testing.T, root string)
		want   []expect
		code   int
	}{
		{"untampered", func(*testing.T, string) {}, nil, 0},
		{"modified log", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(target))
			b, _ := os.ReadFile(p)
			raw := gunzip(t, b)
			raw[len(raw)/2] ^= 1
			os.WriteFile(p, regzip(raw), 0o644)
		}, []expect{{target, integrity.Invalid}}, 1},
		{"deleted log", func(t *testing.T, root string) { os.Remove(filepath.Join(root, filepath.FromSlash(target))) },
			[]expect{{target, integrity.Missing}}, 1},
		{"truncated log", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(target))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, []expect{{target, integrity.Invalid}}, 1},
		{"log with trailing data", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(target))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, regzip([]byte(`{"Records":[]}`))...), 0o644)
		}, []expect{{target, integrity.Invalid}}, 1},
		{"log in no digest", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(target))
			b, _ := os.ReadFile(p)
			os.WriteFile(filepath.Join(filepath.Dir(p), "444455556666_CloudTrail_us-east-1_20260105T0212Z_InjectedLogFile1.json.gz"), b, 0o644)
		}, []expect{{"*InjectedLogFile1.json.gz", integrity.Unreferenced}}, 1},
		{"deleted digest", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, filepath.FromSlash(chainDigests[2])))
		}, []expect{{chainDigests[2], integrity.Missing}}, 1},
		{"two consecutive digests deleted", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, filepath.FromSlash(chainDigests[1])))
			os.Remove(filepath.Join(root, filepath.FromSlash(chainDigests[2])))
		}, []expect{{"(digest of 444455556666 us-east-1*", integrity.Missing}, {chainDigests[2], integrity.Missing}}, 1},
		{"newest digests deleted", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, filepath.FromSlash(chainDigests[3])))
			os.Remove(filepath.Join(root, filepath.FromSlash(chainDigests[4])))
		}, []expect{{"(digests of 444455556666 us-east-1*", integrity.Missing}}, 1},
		{"flipped signature", func(t *testing.T, root string) { flipSignature(root, chainDigests[2]) },
			[]expect{{chainDigests[2], integrity.Invalid}}, 1},
		{"digest re-signed with another key", func(t *testing.T, root string) {
			resignDigest(t, root, chainDigests[2], func(d *integrity.Digest) {
				d.LogFiles = d.LogFiles[1:] // hide a log
				d.DigestPublicKeyFingerprint = integrity.NewPublicKey(&other.PublicKey, time.Time{}, time.Time{}).Fingerprint
			}, other, "")
			// The log it hid is listed by no valid digest any more.
		}, []expect{{chainDigests[2], integrity.Invalid}, {"*444455556666/CloudTrail/us-east-1*", integrity.Unreferenced}}, 1},
		// A newer digest, validly signed, lists an older digest's log again
		// with another hash: the two listings disagree, so the log cannot
		// be trusted whichever one is right.
		{"log listed again with another hash", func(t *testing.T, root string) {
			b, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(chainDigests[1])))
			d1, err := integrity.ParseDigest(gunzip(t, b))
			if err != nil {
				t.Fatal(err)
			}
			again := d1.LogFiles[0]
			again.HashValue = strings.Repeat("0", 64)
			resignFrom(t, root, chainDigests, 3, func(d *integrity.Digest) { d.LogFiles = append(d.LogFiles, again) })
		}, []expect{{"*444455556666/CloudTrail/us-east-1*", integrity.Invalid}}, 1},
		{"digest moved to another key", func(t *testing.T, root string) {
			moved := strings.Replace(chainDigests[2], "us-east-1_org-trail", "us-east-1_org-trail2", 1)
			p := filepath.Join(root, filepath.FromSlash(chainDigests[2]))
			b, _ := os.ReadFile(p)
			sc, _ := os.ReadFile(ingest.SidecarPath(root, chainDigests[2]))
			var o ingest.Object
			json.Unmarshal(sc, &o)
			os.Remove(p)
			q := filepath.Join(root, filepath.FromSlash(moved))
			os.WriteFile(q, b, 0o644)
			o.Key = moved
			ingest.WriteSidecar(root, o)
		}, []expect{{"*org-trail2*", integrity.Invalid}, {chainDigests[2], integrity.Missing}}, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := copyTree(t, base)
			c.mutate(t, root)
			local := verifyDir(t, root)
			srv := s3test.Start(t) // the digests name their bucket: one server per case
			uploadMirror(t, srv, bucket, root)
			s3res, err := integrity.Verify(context.Background(), ingest.NewS3Source(srv.Client(), bucket, ""), integrity.Options{Keys: keys(t)})
			if err != nil {
				t.Fatal(err)
			}
			for which, res := range map[string]*integrity.Result{"mirror": local, "s3": s3res} {
				check(t, which, res, c.want, c.code)
			}
			// Same verdicts online and offline.
			if d := verdictDiff(local, s3res); d != "" {
				t.Errorf("mirror and S3 verdicts differ:\n%s", d)
			}
			src, err := ingest.NewDirSource(root)
			if err != nil {
				t.Fatal(err)
			}
			windowsAgree(t, src, integrity.Options{Keys: keys(t)}, local)
			_ = i
		})
	}
}

func match(pattern, key string) bool {
	if strings.HasPrefix(pattern, "*") && strings.HasSuffix(pattern, "*") {
		return strings.Contains(key, strings.Trim(pattern, "*"))
	}
	if strings.HasPrefix(pattern, "*") {
		return strings.HasSuffix(key, pattern[1:])
	}
	if strings.HasSuffix(pattern, "*") {
		return strings.HasPrefix(key, strings.TrimSuffix(pattern, "*"))
	}
	return key == pattern
}

func check(t *testing.T, which string, res *integrity.Result, want []expect, code int) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, f := range res.Files {
			if match(w.key, f.Key) && f.Status == w.status {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s verdict on %s", which, w.status, w.key)
		}
	}
	for _, f := range res.Files {
		if f.Status == integrity.Valid || f.Status == integrity.Unverified {
			continue
		}
		ok := false
		for _, w := range want {
			ok = ok || (match(w.key, f.Key) && f.Status == w.status)
		}
		if !ok {
			t.Errorf("%s: unexpected %s on %s: %s", which, f.Status, f.Key, f.Reason)
		}
	}
	if len(want) == 0 && res.Counts[integrity.Unverified] > 0 {
		t.Errorf("%s: %d unverified files in an untampered archive", which, res.Counts[integrity.Unverified])
	}
	if got := res.ExitCode(); got != code {
		t.Errorf("%s: exit code %d; want %d (counts %v)", which, got, code, res.Counts)
	}
}

func sameVerdicts(a, b *integrity.Result) bool {
	key := func(r *integrity.Result) []string {
		var out []string
		for _, f := range r.Files {
			out = append(out, f.Key+" "+string(f.Status))
		}
		sort.Strings(out)
		return out
	}
	x, y := key(a), key(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

func TestKeyFileWithWrongFingerprint(t *testing.T) {
	var b bytes.Buffer
	synth.WritePublicKeys(&b, synth.SampleKey(), time.Time{}, time.Now())
	bad := strings.Replace(b.String(), `"Fingerprint": "`, `"Fingerprint": "0`, 1)
	bad = strings.Replace(bad, `"Fingerprint": "0`, `"Fingerprint": "`, 1)
	var doc map[string][]map[string]string
	json.Unmarshal(b.Bytes(), &doc)
	fp := doc["PublicKeyList"][0]["Fingerprint"]
	bad = strings.Replace(b.String(), fp, "00000000000000000000000000000000", 1)
	if _, err := integrity.ParsePublicKeys(strings.NewReader(bad), ""); err == nil || !strings.Contains(err.Error(), "altered") {
		t.Fatalf("a key file with a wrong fingerprint was accepted: %v", err)
	}
}

// TestMirrorThenVerifyOffline: a mirror of the S3 bucket verifies offline
// with the same verdicts as online, and a second mirror run copies
// nothing.
func TestMirrorThenVerifyOffline(t *testing.T) {
	base, gen := archive(t)
	os.Remove(filepath.Join(base, filepath.FromSlash(keysOf(gen, "log")[3]))) // one lost log
	srv := s3test.Start(t)
	uploadMirror(t, srv, bucket, base)
	s3src := ingest.NewS3Source(srv.Client(), bucket, "")
	dir := t.TempDir()
	m, err := integrity.Mirror(context.Background(), s3src, "", ingest.Range{}, dir, 4)
	if err != nil || m.Failed != 0 || m.Copied != len(gen.Logs)-1+len(gen.Digests) {
		t.Fatalf("mirror: %+v %v", m, err)
	}
	online, _ := integrity.Verify(context.Background(), s3src, integrity.Options{Keys: keys(t)})
	offline := verifyDir(t, dir)
	if !sameVerdicts(online, offline) || online.Counts[integrity.Missing] != 1 {
		t.Fatalf("online %v, offline %v: want the same verdicts, one missing log", online.Counts, offline.Counts)
	}
	sums, err := os.ReadFile(filepath.Join(dir, ".trailscope", "SHA256SUMS"))
	if err != nil || strings.Count(string(sums), "\n") != m.Copied {
		t.Fatalf("SHA256SUMS has %d lines; want %d", strings.Count(string(sums), "\n"), m.Copied)
	}
	again, _ := integrity.Mirror(context.Background(), s3src, "", ingest.Range{}, dir, 4)
	if again.Copied != 0 || again.Skipped != m.Copied {
		t.Fatalf("second mirror %+v; want everything skipped", again)
	}
}

// TestHugeDigest: a digest with a 10 MB logFiles list (hostile or just
// big) is parsed within its cap, and one past the cap is refused.
func TestHugeDigest(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"awsAccountId":"111122223333","digestStartTime":"2026-01-01T00:00:00Z","digestEndTime":"2026-01-01T01:00:00Z","digestS3Bucket":"b","digestS3Object":"o","digestPublicKeyFingerprint":"f","previousDigestSignature":null,"logFiles":[`)
	for i := 0; b.Len() < 10<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"s3Bucket":"b","s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/x.json.gz","hashValue":"00","hashAlgorithm":"SHA-256","newestEventTime":"2026-01-01T00:00:00Z","oldestEventTime":"2026-01-01T00:00:00Z"}`)
	}
	b.WriteString(`]}`)
	gz := regzip([]byte(b.String()))
	raw, err := integrity.Inflate(gz, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	d, err := integrity.ParseDigest(raw)
	if err != nil || len(d.LogFiles) < 40000 {
		t.Fatalf("10 MB digest: %v, %d log files", err, len(d.LogFiles))
	}
	if _, err := integrity.Inflate(gz, 1<<20); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a digest past the cap: %v; want refused", err)
	}
}
