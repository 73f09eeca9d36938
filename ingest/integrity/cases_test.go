package integrity_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/keyname"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// A self-contained archive builder (no dependency on ingest/synth): one
// account, one region, hourly digests each listing one log, signed with
// a 2048-bit key generated once per test binary.

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
	otherKey    *rsa.PrivateKey
)

func caseKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	testKeyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return testKey, otherKey
}

var t0 = time.Date(2026, 1, 31, 22, 0, 0, 0, time.UTC) // the chain crosses midnight: two day folders

const (
	acct   = "123456789012"
	region = "us-east-1"
	hours  = 4
)

type object struct {
	body []byte
	meta map[string]string
}

type mini struct {
	bucket  string
	objs    map[string]*object
	digests []string
	logs    []string
	docs    []*integrity.Digest
}

// hooks change the archive as it is built: digest i's content before it
// is signed (and linked from i+1), or its inflated bytes and signer.
type hooks struct {
	digest func(i int, d *integrity.Digest)
	// raw rewrites digest i's inflated bytes before signing.
	raw    func(i int, b []byte) []byte
	signer func(i int) *rsa.PrivateKey
	// trail name (default "trail").
	trail string
}

func gz(b []byte, level int) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, level)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func signRaw(t testing.TB, d *integrity.Digest, inflated []byte, key *rsa.PrivateKey) string {
	h := sha256.Sum256([]byte(integrity.SigningString(d, inflated)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

func buildMini(t testing.TB, bucket string, h hooks) *mini {
	key, _ := caseKeys(t)
	m := &mini{bucket: bucket, objs: map[string]*object{}}
	var prevKey, prevSig, prevHash string
	for i := 0; i < hours; i++ {
		start := t0.Add(time.Duration(i) * time.Hour)
		end := start.Add(time.Hour)
		lt := start.Add(20 * time.Minute)
		lk := keyname.LogKey("", "", acct, region, lt, fmt.Sprintf("AbCdEfGhIjKlMn%02d", i))
		raw := []byte(fmt.Sprintf(`{"Records":[{"eventVersion":"1.08","eventTime":"%s","eventName":"DescribeInstances","recipientAccountId":"%s","n":%d}]}`,
			lt.Add(-time.Minute).Format(time.RFC3339), acct, i))
		m.objs[lk] = &object{body: gz(raw, gzip.DefaultCompression)}
		m.logs = append(m.logs, lk)
		trail := "trail"
		if h.trail != "" {
			trail = h.trail
		}
		dk := keyname.DigestKey("", "", acct, region, trail, region, end, false)
		ts := func(t time.Time) *string { s := t.Format(time.RFC3339); return &s }
		d := &integrity.Digest{AWSAccountID: acct, DigestStartTime: start.Format(time.RFC3339), DigestEndTime: end.Format(time.RFC3339),
			DigestS3Bucket: bucket, DigestS3Object: dk, DigestSignatureAlgorithm: "SHA256withRSA",
			NewestEventTime: ts(lt), OldestEventTime: ts(lt.Add(-time.Minute)),
			LogFiles: []integrity.LogFileRef{{S3Bucket: bucket, S3Object: lk, HashValue: integrity.HashHex(raw), HashAlgorithm: "SHA-256",
				NewestEventTime: lt.Format(time.RFC3339), OldestEventTime: lt.Add(-time.Minute).Format(time.RFC3339)}}}
		if i > 0 {
			alg := "SHA-256"
			b, k, s, hv := bucket, prevKey, prevSig, prevHash
			d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestSignature, d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm = &b, &k, &s, &hv, &alg
		}
		signer := key
		if h.signer != nil && h.signer(i) != nil {
			signer = h.signer(i)
		}
		d.DigestPublicKeyFingerprint = integrity.NewPublicKey(&signer.PublicKey, time.Time{}, time.Time{}).Fingerprint
		if h.digest != nil {
			h.digest(i, d)
		}
		inflated, err := integrity.MarshalDigest(d)
		if err != nil {
			t.Fatal(err)
		}
		if h.raw != nil {
			inflated = h.raw(i, inflated)
		}
		sig := signRaw(t, d, inflated, signer)
		m.objs[dk] = &object{body: gz(inflated, gzip.DefaultCompression), meta: map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}}
		m.digests = append(m.digests, dk)
		m.docs = append(m.docs, d)
		prevKey, prevSig, prevHash = dk, sig, integrity.HashHex(inflated)
	}
	return m
}

func (m *mini) writeDir(t testing.TB) string {
	root := filepath.Join(t.TempDir(), "m")
	os.MkdirAll(filepath.Join(root, ".trailscope"), 0o755)
	os.WriteFile(filepath.Join(root, ".trailscope", "bucket"), []byte(m.bucket), 0o644)
	for k, o := range m.objs {
		p := filepath.Join(root, filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, o.body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ingest.WriteSidecar(root, ingest.Object{Key: k, Metadata: o.meta}); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func (m *mini) upload(t testing.TB, srv *s3test.Server, versioning bool) {
	srv.CreateBucket(t, m.bucket, versioning)
	for k, o := range m.objs {
		srv.Put(t, m.bucket, k, o.body, o.meta)
	}
}

func keyFile(t testing.TB, key *rsa.PrivateKey, start, end time.Time, region string) integrity.KeySet {
	var b bytes.Buffer
	if err := integrity.WritePublicKeysJSON(&b, []integrity.PublicKey{integrity.NewPublicKey(&key.PublicKey, start, end)}); err != nil {
		t.Fatal(err)
	}
	ks, err := integrity.ParsePublicKeys(&b, region)
	if err != nil {
		t.Fatal(err)
	}
	return integrity.NewKeySet(ks...)
}

type caseWant struct {
	key    string // exact key or "*suffix"
	status integrity.Status
	reason string // substring of Reason
	cli    string // exact CLI text, if set
}

// TestDigestSpecCases runs DIGEST.md §6's file-level cases on a built
// archive, offline (mirror + key file) and online (S3 on loopback), and
// requires identical verdicts; every file not named must be valid.
func TestDigestSpecCases(t *testing.T) {
	key, other := caseKeys(t)
	good := func() integrity.KeySet { return keyFile(t, key, t0.Add(-24*time.Hour), t0.Add(30*24*time.Hour), "") }
	type tc struct {
		name   string
		hooks  hooks
		mutate func(m *mini)
		keys   func() integrity.KeySet
		compat bool
		want   []caseWant
		code   int
	}
	bad := func(i int) string { return fmt.Sprint(i) }
	_ = bad
	var cases = []tc{
		{name: "untampered", code: 0},
		{name: "case 1 log content changed", mutate: func(m *mini) {
			m.objs[m.logs[1]].body = gz([]byte(`{"Records":[]}`), 6)
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, reason: "hash value doesn't match", cli: "INVALID: hash value doesn't match"}}, code: 1},
		{name: "case 2 log re-compressed", mutate: func(m *mini) {
			m.objs[m.logs[1]].body = regzipLevel(m.objs[m.logs[1]].body, gzip.BestCompression)
		}, code: 0},
		{name: "case 5 log truncated inside deflate", mutate: func(m *mini) {
			b := m.objs[m.logs[1]].body
			m.objs[m.logs[1]].body = b[:len(b)/2]
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, reason: "truncated gzip", cli: "INVALID: hash value doesn't match"}}, code: 1},
		{name: "case 6 log without gzip trailer", mutate: func(m *mini) {
			b := m.objs[m.logs[1]].body
			m.objs[m.logs[1]].body = b[:len(b)-8]
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, reason: "truncated gzip", cli: "valid"}}, code: 1},
		{name: "case 7 log with a second gzip member", mutate: func(m *mini) {
			m.objs[m.logs[1]].body = append(m.objs[m.logs[1]].body, gz([]byte(`{"Records":[]}`), 6)...)
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, reason: "unexpected data", cli: "INVALID: unexpected data after end of compressed stream"}}, code: 1},
		{name: "case 8 log with corrupt CRC", mutate: func(m *mini) {
			b := m.objs[m.logs[1]].body
			b[len(b)-6] ^= 0xff
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, cli: "INVALID: invalid format"}}, code: 1},
		{name: "case 9 log replaced by plain JSON", mutate: func(m *mini) {
			m.objs[m.logs[1]].body = []byte(`{"Records":[]}`)
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, cli: "INVALID: invalid format"}}, code: 1},
		{name: "case 9 log emptied", mutate: func(m *mini) {
			m.objs[m.logs[1]].body = nil
		}, want: []caseWant{{key: "L1", status: integrity.Invalid, cli: "INVALID: hash value doesn't match"}}, code: 1},
		{name: "case 15 digest byte changed", hooks: hooks{}, mutate: func(m *mini) {
			raw := gunzipT(m.objs[m.digests[1]].body)
			raw = bytes.Replace(raw, []byte(`"SHA-256"`), []byte(`"SHA-257"`), 1)
			m.objs[m.digests[1]].body = gz(raw, 6)
		}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: signature verification failed"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 16 digest re-gzipped", mutate: func(m *mini) {
			m.objs[m.digests[1]].body = regzipLevel(m.objs[m.digests[1]].body, gzip.BestCompression)
		}, code: 0},
		{name: "case 17 digest with trailing data (strict)", mutate: func(m *mini) {
			m.objs[m.digests[1]].body = append(m.objs[m.digests[1]].body, "garbage"...)
		}, want: []caseWant{{key: "D1", status: integrity.Invalid, reason: "after the end of the digest", cli: "valid"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 17 digest with trailing data (compat)", compat: true, mutate: func(m *mini) {
			m.objs[m.digests[1]].body = append(m.objs[m.digests[1]].body, "garbage"...)
		}, code: 0},
		{name: "case 18 digest truncated", mutate: func(m *mini) {
			b := m.objs[m.digests[1]].body
			m.objs[m.digests[1]].body = b[:len(b)-20]
		}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: invalid format"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 19 digest copied to another key", mutate: func(m *mini) {
			moved := strings.Replace(m.digests[1], "_trail_", "_trail2_", 1)
			m.objs[moved] = m.objs[m.digests[1]]
		}, want: []caseWant{{key: "*_trail2_us-east-1_" + t0.Add(2*time.Hour).Format("20060102T150405Z") + ".json.gz", status: integrity.Invalid, cli: "INVALID: has been moved from its original location"}}, code: 1},
		{name: "case 20 signature metadata removed", mutate: func(m *mini) {
			m.objs[m.digests[1]].meta = nil
		}, want: []caseWant{{key: "D1", status: integrity.Invalid, reason: "missing signature metadata", cli: "INVALID: signature verification failed"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 21 signature swapped", mutate: func(m *mini) {
			m.objs[m.digests[1]].meta = m.objs[m.digests[2]].meta
		}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: signature verification failed"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 22 signature not hex", mutate: func(m *mini) {
			m.objs[m.digests[1]].meta = map[string]string{"signature": "abc", "signature-algorithm": "SHA256withRSA"}
		}, want: []caseWant{{key: "D1", status: integrity.Invalid, reason: "not hex", cli: "INVALID: Odd-length string"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 23 re-signed with an unknown key", hooks: hooks{signer: func(i int) *rsa.PrivateKey {
			if i == 1 {
				return other
			}
			return nil
		}}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: public key not found in region us-east-1 for fingerprint " + fpOf(other)}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 24 attacker key with a real fingerprint", hooks: hooks{signer: func(i int) *rsa.PrivateKey {
			if i == 1 {
				return other
			}
			return nil
		}, digest: func(i int, d *integrity.Digest) {
			if i == 1 {
				d.DigestPublicKeyFingerprint = fpOf(testKey)
			}
		}}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: signature verification failed"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 25 key not valid at signing time (strict)", keys: func() integrity.KeySet {
			return keyFile(t, key, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour), "")
		}, want: []caseWant{{key: "D*", status: integrity.Invalid, reason: "not valid at signing time", cli: "valid"}, {key: "L*", status: integrity.Unverified}}, code: 1},
		{name: "case 25 key not valid at signing time (compat)", compat: true, keys: func() integrity.KeySet {
			return keyFile(t, key, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour), "")
		}, code: 0},
		{name: "case 26 key of another region", keys: func() integrity.KeySet {
			return keyFile(t, key, t0.Add(-24*time.Hour), t0.Add(30*24*time.Hour), "eu-west-1")
		}, want: []caseWant{{key: "D*", status: integrity.Invalid, reason: "not found in region us-east-1"}, {key: "L*", status: integrity.Unverified}}, code: 1},
		{name: "case 28 SPKI key", keys: func() integrity.KeySet {
			der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
			k, _, err := integrity.ParsePublicKeyDER(der)
			if err != nil {
				t.Fatal(err)
			}
			// An SPKI key has its own fingerprint (MD5 of the SPKI DER): the
			// digests name the PKCS#1 one, so index it under that.
			pk := integrity.PublicKey{Fingerprint: fpOf(key), Key: k, DER: der}
			return integrity.NewKeySet(pk)
		}, code: 0},
		{name: "case 30 chain restart", hooks: hooks{digest: func(i int, d *integrity.Digest) {
			if i == 2 {
				d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestSignature, d.PreviousDigestHashValue, d.PreviousDigestHashAlgorithm = nil, nil, nil, nil, nil
			}
		}}, want: []caseWant{{key: "D2", status: integrity.Valid, reason: "chain restarted"}}, code: 0},
		{name: "case 31 previous fields partly null", hooks: hooks{digest: func(i int, d *integrity.Digest) {
			if i == 2 {
				d.PreviousDigestSignature = nil
			}
		}}, want: []caseWant{{key: "D2", status: integrity.Invalid, reason: "inconsistent chain fields", cli: "valid"}, {key: "L2", status: integrity.Unverified}}, code: 1},
		{name: "case 32 previousDigestSignature mismatch", hooks: hooks{digest: func(i int, d *integrity.Digest) {
			if i == 2 {
				s := strings.Repeat("ab", 256)
				d.PreviousDigestSignature = &s
			}
		}}, want: []caseWant{{key: "D2", status: integrity.Invalid, reason: "previousDigestSignature", cli: "valid"}, {key: "L2", status: integrity.Unverified}}, code: 1},
		{name: "case 33 previousDigestHashValue mismatch", hooks: hooks{digest: func(i int, d *integrity.Digest) {
			if i == 2 {
				s := strings.Repeat("0", 64)
				d.PreviousDigestHashValue = &s
			}
		}}, want: []caseWant{{key: "D2", status: integrity.Invalid, reason: "previousDigestHashValue", cli: "valid"}, {key: "L2", status: integrity.Unverified}}, code: 1},
		{name: "case 34 required field missing", hooks: hooks{raw: func(i int, b []byte) []byte {
			if i == 1 {
				return bytes.Replace(b, []byte(`"digestPublicKeyFingerprint"`), []byte(`"xdigestPublicKeyFingerprint"`), 1)
			}
			return b
		}}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: invalid format"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 37 differently-cased key ignored", hooks: hooks{raw: func(i int, b []byte) []byte {
			if i == 1 {
				return bytes.Replace(b, []byte(`{"awsAccountId"`), []byte(`{"DigestS3Object":"elsewhere","awsAccountId"`), 1)
			}
			return b
		}}, code: 0},
		{name: "case 37 duplicate key: the last wins", hooks: hooks{raw: func(i int, b []byte) []byte {
			if i == 1 {
				return bytes.Replace(b, []byte(`,"logFiles"`), []byte(`,"digestS3Object":"elsewhere","logFiles"`), 1)
			}
			return b
		}}, want: []caseWant{{key: "D1", status: integrity.Invalid, cli: "INVALID: has been moved from its original location"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 11 log in no digest", mutate: func(m *mini) {
			k := keyname.LogKey("", "", acct, region, t0.Add(90*time.Minute), "ForgedLogFile001")
			m.objs[k] = m.objs[m.logs[1]]
		}, want: []caseWant{{key: "*ForgedLogFile001.json.gz", status: integrity.Unreferenced}}, code: 1},
		{name: "case 36 another trail's digests in the same folder", mutate: func(m *mini) {
			o := buildMini(t, m.bucket, hooks{trail: "audit.trail_2"})
			for _, k := range o.digests {
				m.objs[k] = o.objs[k]
			}
			// and a stray key
			m.objs["AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/02/01/notes.txt"] = &object{body: []byte("x")}
		}, code: 0},
		{name: "case 12 digest deleted", mutate: func(m *mini) {
			delete(m.objs, m.digests[1])
		}, want: []caseWant{{key: "D1", status: integrity.Missing, cli: "INVALID: not found"}, {key: "L1", status: integrity.Unverified}}, code: 1},
		{name: "case 3 log deleted", mutate: func(m *mini) {
			delete(m.objs, m.logs[2])
		}, want: []caseWant{{key: "L2", status: integrity.Missing, cli: "INVALID: not found"}}, code: 1},
	}
	srv := s3test.Start(t)
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bucket := fmt.Sprintf("case-%02d-bucket", ci)
			m := buildMini(t, bucket, c.hooks)
			if c.mutate != nil {
				c.mutate(m)
			}
			ks := good()
			if c.keys != nil {
				ks = c.keys()
			}
			opts := integrity.Options{Keys: ks, Compat: c.compat}
			dirSrc, err := ingest.NewDirSource(m.writeDir(t))
			if err != nil {
				t.Fatal(err)
			}
			offline, err := integrity.Verify(context.Background(), dirSrc, opts)
			if err != nil {
				t.Fatal(err)
			}
			m.upload(t, srv, false)
			online, err := integrity.Verify(context.Background(), ingest.NewS3Source(srv.Client(), bucket, ""), opts)
			if err != nil {
				t.Fatal(err)
			}
			for which, res := range map[string]*integrity.Result{"offline": offline, "online": online} {
				checkCase(t, which, m, res, c.want, c.code)
			}
			if d := verdictDiff(offline, online); d != "" {
				t.Errorf("offline and online verdicts differ:\n%s", d)
			}
			windowsAgree(t, dirSrc, opts, offline)
		})
	}
}

// windowsAgree checks that verifying step by step (windows of an hour,
// of 7 hours, a day: the default) gives the same verdicts, CLI lines and
// reasons as one window over the whole archive: the carried state (the
// previous digest, unsettled logs, digests not valid) must lose nothing.
func windowsAgree(t *testing.T, src ingest.Source, opts integrity.Options, got *integrity.Result) {
	t.Helper()
	opts.Window = 100 * 365 * 24 * time.Hour
	whole, err := integrity.Verify(context.Background(), src, opts)
	if err != nil {
		t.Fatal(err)
	}
	full := func(r *integrity.Result) string { return strings.Join(verdictLines(r, true), "\n  ") }
	var awscli = func(r *integrity.Result) string {
		var out, errw bytes.Buffer
		r.WriteAWSCLI(&out, &errw, "arn:aws:cloudtrail:us-east-1:123456789012:trail/trail", t0, t0.Add(24*time.Hour))
		return out.String() + errw.String()
	}
	for _, w := range []time.Duration{time.Hour, 7 * time.Hour, 0} {
		res := got
		if w != 0 {
			opts.Window = w
			if res, err = integrity.Verify(context.Background(), src, opts); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := full(whole), full(res); a != b {
			t.Errorf("window %v: verdicts differ from one window over everything:\nwhole:\n  %s\nwindowed:\n  %s", w, a, b)
		}
		if a, b := awscli(whole), awscli(res); a != b {
			t.Errorf("window %v: awscli output differs:\nwhole:\n%s\nwindowed:\n%s", w, a, b)
		}
		if res.Total != len(res.Files) || fmt.Sprint(res.Counts) != fmt.Sprint(whole.Counts) {
			t.Errorf("window %v: total %d of %d files, counts %v; whole %v", w, res.Total, len(res.Files), res.Counts, whole.Counts)
		}
	}
}

func fpOf(k *rsa.PrivateKey) string {
	return integrity.NewPublicKey(&k.PublicKey, time.Time{}, time.Time{}).Fingerprint
}

func gunzipT(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	var out bytes.Buffer
	out.ReadFrom(zr)
	return out.Bytes()
}

func regzipLevel(b []byte, level int) []byte { return gz(gunzipT(b), level) }

// resolve turns "D1"/"L2" into the built key, "D*"/"L*" into any digest
// or log, "*suffix" into a suffix match.
func resolve(m *mini, pattern, key string) bool {
	switch {
	case pattern == "D*":
		return strings.Contains(key, "CloudTrail-Digest/")
	case pattern == "L*":
		return strings.Contains(key, "/CloudTrail/")
	case len(pattern) == 2 && pattern[0] == 'D':
		return key == m.digests[pattern[1]-'0']
	case len(pattern) == 2 && pattern[0] == 'L':
		return key == m.logs[pattern[1]-'0']
	case strings.HasPrefix(pattern, "*"):
		return strings.HasSuffix(key, pattern[1:])
	}
	return key == pattern
}

func checkCase(t *testing.T, which string, m *mini, res *integrity.Result, want []caseWant, code int) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, f := range res.Files {
			if resolve(m, w.key, f.Key) && f.Status == w.status && strings.Contains(f.Reason, w.reason) && (w.cli == "" || f.CLI == w.cli) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s verdict (reason ~%q, CLI %q) on %s", which, w.status, w.reason, w.cli, w.key)
		}
	}
	for _, f := range res.Files {
		named := false
		for _, w := range want {
			named = named || (resolve(m, w.key, f.Key) && f.Status == w.status)
		}
		if f.Status != integrity.Valid && !named {
			t.Errorf("%s: unexpected %s on %s: %s", which, f.Status, f.Key, f.Reason)
		}
	}
	if got := res.ExitCode(); got != code {
		t.Errorf("%s: exit code %d; want %d (counts %v)", which, got, code, res.Counts)
	}
}

// verdictLines is one sorted line per file: kind, key, status, the CLI's
// text and, with reasons, the reason.
func verdictLines(r *integrity.Result, reasons bool) []string {
	var out []string
	for _, f := range r.Files {
		l := f.Kind + " " + f.Key + " " + string(f.Status) + " " + f.CLI
		if reasons {
			l += " " + f.Reason
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func verdictDiff(a, b *integrity.Result) string {
	x, y := verdictLines(a, false), verdictLines(b, false)
	if strings.Join(x, "\n") == strings.Join(y, "\n") {
		return ""
	}
	return "offline:\n  " + strings.Join(x, "\n  ") + "\nonline:\n  " + strings.Join(y, "\n  ")
}
