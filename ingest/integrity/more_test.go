package integrity_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/keyname"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// TestVersionedOriginals: in a versioned bucket, an overwritten log, a
// deleted log and a deleted digest are still reported (invalid/missing),
// and the older version that matches the digest is named.
func TestVersionedOriginals(t *testing.T) {
	key, _ := caseKeys(t)
	m := buildMini(t, "versioned-trail-bucket", hooks{})
	srv := s3test.Start(t)
	m.upload(t, srv, true)
	ctx := context.Background()
	c := srv.Client()
	srv.Put(t, m.bucket, m.logs[1], gz([]byte(`{"Records":[]}`), 6), nil) // overwrite
	for _, k := range []string{m.logs[3], m.digests[2]} {
		if _, err := c.DeleteObject(ctx, deleteInput(m.bucket, k)); err != nil {
			t.Fatal(err)
		}
	}
	src := ingest.NewS3Source(c, m.bucket, "")
	ks := keyFile(t, key, t0.Add(-time.Hour), t0.Add(48*time.Hour), "")
	res, err := integrity.Verify(ctx, src, integrity.Options{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]integrity.Status{m.logs[1]: integrity.Invalid, m.logs[3]: integrity.Missing, m.digests[2]: integrity.Missing}
	for _, f := range res.Files {
		st, named := want[f.Key]
		if !named {
			// the deleted digest's log is unverified; all else is valid
			if f.Status != integrity.Valid && !(f.Status == integrity.Unverified && f.Key == m.logs[2]) {
				t.Errorf("unexpected %s on %s: %s", f.Status, f.Key, f.Reason)
			}
			continue
		}
		if f.Status != st || f.OriginalVersion == "" || !strings.Contains(f.Reason, "original intact at version "+f.OriginalVersion) {
			t.Errorf("%s: %s %q (original %q); want %s with the original version named", f.Key, f.Status, f.Reason, f.OriginalVersion, st)
		}
		delete(want, f.Key)
	}
	for k := range want {
		t.Errorf("no verdict on %s", k)
	}
	if res.ExitCode() != 1 {
		t.Errorf("exit code %d; want 1", res.ExitCode())
	}
	// NoVersions turns the search off.
	res, _ = integrity.Verify(ctx, src, integrity.Options{Keys: ks, NoVersions: true})
	for _, f := range res.Files {
		if f.OriginalVersion != "" {
			t.Errorf("NoVersions: %s still names version %s", f.Key, f.OriginalVersion)
		}
	}
}

// TestLogCheckTee: the tee hasher gives the same hash and the same
// content errors as HashLog, written in odd-sized chunks; Verify given
// those hashes reads no log (the logs are gone from the source) and
// still finds the modified one.
func TestLogCheckTee(t *testing.T) {
	m := buildMini(t, "tee-bucket", hooks{})
	m.objs[m.logs[1]].body = gz([]byte(`{"Records":[{"forged":true}]}`), 6)
	m.objs[m.logs[3]].body = append(m.objs[m.logs[3]].body, 0, 1, 2)
	hashes := map[string]string{}
	for _, k := range m.logs {
		lc := integrity.NewLogCheck()
		b := m.objs[k].body
		for i := 0; i < len(b); i += 7 {
			lc.Write(b[i:min(i+7, len(b))])
		}
		got, err := lc.Sum()
		want, werr := integrity.HashLog(bytes.NewReader(b))
		if got != want || fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("%s: tee %s %v; HashLog %s %v", k, got, err, want, werr)
		}
		if k == m.logs[3] && err == nil {
			t.Fatalf("trailing data not reported by the tee")
		}
		if err == nil {
			hashes[k] = got
		}
	}
	key, _ := caseKeys(t)
	root := m.writeDir(t)
	src, _ := ingest.NewDirSource(root)
	res, err := integrity.Verify(context.Background(), src, integrity.Options{
		Keys:    keyFile(t, key, t0.Add(-time.Hour), t0.Add(48*time.Hour), ""),
		LogHash: func(k string) (string, bool) { h, ok := hashes[k]; return h, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		switch f.Key {
		case m.logs[1], m.logs[3]:
			if f.Status != integrity.Invalid {
				t.Errorf("%s: %s; want invalid", f.Key, f.Status)
			}
		default:
			if f.Status != integrity.Valid {
				t.Errorf("%s: %s %s", f.Key, f.Status, f.Reason)
			}
		}
	}
}

// TestKeyProviderPerRegion: online keys are fetched per source region
// through the KeyProvider and a digest is checked only against its own
// region's keys; a region whose keys cannot be fetched gives per-file
// errors (exit 2), not an aborted run.
func TestKeyProviderPerRegion(t *testing.T) {
	key, other := caseKeys(t)
	m := buildMini(t, "keys-bucket", hooks{})
	root := m.writeDir(t)
	src, _ := ingest.NewDirSource(root)
	calls := map[string]int{}
	provider := func(regionKeys map[string]*rsa.PrivateKey, fail bool) integrity.KeyProvider {
		return integrity.CloudTrailKeys{List: func(ctx context.Context, region string, start, end *time.Time, next string) ([]integrity.RawPublicKey, string, error) {
			calls[region]++
			if fail {
				return nil, "", fmt.Errorf("AccessDenied: not authorized to perform cloudtrail:ListPublicKeys")
			}
			if start == nil || end == nil || start.After(t0.Add(time.Hour)) || !end.After(t0.Add(hours*time.Hour)) {
				return nil, "", fmt.Errorf("window %v %v does not cover the digests", start, end)
			}
			k := regionKeys[region]
			if k == nil {
				return nil, "", nil
			}
			pk := integrity.NewPublicKey(&k.PublicKey, t0.Add(-time.Hour), t0.Add(30*24*time.Hour))
			return []integrity.RawPublicKey{{Value: pk.DER, Fingerprint: pk.Fingerprint, ValidityStartTime: pk.Start, ValidityEndTime: pk.End}}, "", nil
		}}
	}
	for _, c := range []struct {
		name string
		p    integrity.KeyProvider
		want integrity.Status
		code int
	}{
		{"own region", provider(map[string]*rsa.PrivateKey{region: key, "eu-west-1": other}, false), integrity.Valid, 0},
		{"key only in another region", provider(map[string]*rsa.PrivateKey{region: other, "eu-west-1": key}, false), integrity.Invalid, 1},
		{"ListPublicKeys denied", provider(nil, true), integrity.Error, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := integrity.Verify(context.Background(), src, integrity.Options{KeyProvider: c.p})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Files {
				if f.Kind == "digest" && f.Status != c.want {
					t.Errorf("%s: %s %s; want %s", f.Key, f.Status, f.Reason, c.want)
				}
			}
			if res.ExitCode() != c.code {
				t.Errorf("exit %d; want %d", res.ExitCode(), c.code)
			}
		})
	}
	if calls[region] == 0 || calls["eu-west-1"] != 0 {
		t.Errorf("ListPublicKeys calls %v; want only the digests' region", calls)
	}
}

// TestHashLogReadError: a failing reader is a read error, not bad content.
func TestHashLogReadError(t *testing.T) {
	b := gz(bytes.Repeat([]byte("x"), 1<<20), 1)
	r := io.MultiReader(bytes.NewReader(b[:len(b)/2]), errReader{})
	_, err := integrity.HashLog(r)
	if err == nil || strings.Contains(err.Error(), "invalid format") || strings.Contains(err.Error(), "truncated") {
		t.Fatalf("HashLog on a broken connection: %v; want the read error", err)
	}
	_ = gzip.BestSpeed
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("connection reset by peer") }

func deleteInput(bucket, key string) *s3.DeleteObjectInput {
	return &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}

// TestThrottlingBackoff: through a proxy answering 503 SlowDown to a fifth
// of all requests (in bursts) and cutting 10% of bodies, with the SDK's own retries off,
// the adaptive back-off still verifies every file.
func TestThrottlingBackoff(t *testing.T) {
	key, _ := caseKeys(t)
	m := buildMini(t, "throttled-bucket", hooks{})
	srv := s3test.Start(t)
	m.upload(t, srv, false)
	proxy := s3test.StartFaultProxy(t, srv, s3test.Faults{Seed: 7, SlowDown: 0.2, Burst: 2, ResetMidBody: 0.1})
	src := ingest.NewS3Source(srv.ClientVia(proxy.URL, 1), m.bucket, "")
	res, err := integrity.Verify(context.Background(), src, integrity.Options{Keys: keyFile(t, key, t0.Add(-time.Hour), t0.Add(48*time.Hour), "")})
	if err != nil {
		t.Fatal(err)
	}
	if proxy.Injected("slowdown") < 3 {
		t.Fatalf("the proxy injected %d SlowDowns in %d requests; the test proves nothing", proxy.Injected("slowdown"), proxy.Requests.Load())
	}
	t.Logf("%d requests, %d SlowDown, %d resets", proxy.Requests.Load(), proxy.Injected("slowdown"), proxy.Injected("reset"))
	if res.Counts[integrity.Valid] != 2*hours || res.ExitCode() != 0 {
		t.Fatalf("counts %v exit %d; want all %d valid", res.Counts, res.ExitCode(), 2*hours)
	}
}

// TestRange: a delivery-time range keeps the logs delivered in it and the
// digests that list them (including the one ending after the range);
// nothing is left unverified. A log after the newest digest of an old
// archive is unverified.
func TestRange(t *testing.T) {
	key, _ := caseKeys(t)
	m := buildMini(t, "range-bucket", hooks{})
	late := keyname.LogKey("", "", acct, region, t0.Add(4*time.Hour+30*time.Minute), "LateLogFile00001") // 30 min after the newest digest
	m.objs[late] = m.objs[m.logs[0]]
	src, _ := ingest.NewDirSource(m.writeDir(t))
	ks := keyFile(t, key, t0.Add(-time.Hour), t0.Add(48*time.Hour), "")
	res, err := integrity.Verify(context.Background(), src, integrity.Options{Keys: ks,
		Range: ingest.Range{Start: t0.Add(time.Hour), End: t0.Add(150 * time.Minute), Accounts: []string{acct}}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range res.Files {
		seen[f.Key] = true
		if f.Status != integrity.Valid {
			t.Errorf("%s: %s %s", f.Key, f.Status, f.Reason)
		}
	}
	if !seen[m.logs[1]] || !seen[m.logs[2]] || seen[late] || !seen[m.digests[2]] || res.ExitCode() != 0 {
		t.Errorf("range kept %v (exit %d)", seen, res.ExitCode())
	}
	res, _ = integrity.Verify(context.Background(), src, integrity.Options{Keys: ks})
	for _, f := range res.Files {
		if f.Key == late && f.Status != integrity.Unverified {
			t.Errorf("log after the newest digest: %s; want unverified", f.Status)
		}
	}
	if res.ExitCode() != 2 {
		t.Errorf("exit %d; want 2", res.ExitCode())
	}
	// Another account only: nothing found, exit 2.
	res, _ = integrity.Verify(context.Background(), src, integrity.Options{Keys: ks, Range: ingest.Range{Accounts: []string{"999999999999"}}})
	if len(res.Files) != 0 || res.ExitCode() != 2 {
		t.Errorf("other account: %d files, exit %d", len(res.Files), res.ExitCode())
	}
}
