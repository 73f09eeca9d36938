package integrity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/integrity/cttest"
	"github.com/trailscope/trailscope/ingest/s3test"
	"github.com/trailscope/trailscope/ingest/synth"
)

// The oracle's archive: one chain (the CLI validates one account and
// source region per run), four hours, a few logs an hour.
const (
	oracleBucket  = "oracle-trail-bucket"
	oracleAccount = "444455556666"
	oracleRegion  = "us-east-1"
	oracleTrail   = "oracle-trail"
	oracleHours   = 4
)

var oracleStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// TestAWSCLIOracle is a differential test against the real AWS CLI: for
// each scenario it uploads a synth archive to the S3 server on loopback,
// runs `aws cloudtrail validate-logs --verbose` against it (CloudTrail
// calls answered by the cttest stand-in), and requires trailscope's
// --format awscli rendering of the same bucket (Verify with online keys
// from the same stand-in, then WriteAWSCLI, as `trailscope verify
// --format awscli` does) to print the same stdout and stderr lines and
// to exit with the same code.
//
// Both outputs are compared byte for byte: the CLI's order (digests
// newest first, each valid one followed by its logs in the digest's
// order), its blank-line rule and its summary.
//
// Skipped when `aws` is not on PATH, unless TRAILSCOPE_REQUIRE_AWSCLI=1.
func TestAWSCLIOracle(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("TRAILSCOPE_REQUIRE_AWSCLI") == "1" {
			t.Fatalf("TRAILSCOPE_REQUIRE_AWSCLI=1 but the AWS CLI is not on PATH: %v", err)
		}
		t.Skip("the AWS CLI (`aws`) is not on PATH: differential test against validate-logs skipped (TRAILSCOPE_REQUIRE_AWSCLI=1 makes this a failure)")
	}
	if testing.Short() {
		t.Skip("-short: runs the AWS CLI once per scenario")
	}
	base := filepath.Join(t.TempDir(), "bucket")
	gen, err := synth.Generate(context.Background(), synth.Options{Dir: base, Bucket: oracleBucket, Accounts: []string{oracleAccount},
		Regions: []string{oracleRegion}, Start: oracleStart, Hours: oracleHours, FilesPerHour: 3, EventsPerHour: 12, Seed: 11,
		SigningKey: synth.SampleKey(), Trail: oracleTrail, Home: oracleRegion, GapHour: -1, KeysDir: filepath.Join(t.TempDir(), "keys")})
	if err != nil {
		t.Fatal(err)
	}
	logs, digests := keysOf(gen, "log"), keysOf(gen, "digest")
	if len(digests) != oracleHours || len(logs) < 2*oracleHours {
		t.Fatalf("archive has %d digests and %d logs", len(digests), len(logs))
	}
	target := logs[len(logs)/2]
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	editLog := func(f func([]byte) []byte) func(*testing.T, string) {
		return func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(target))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, f(b), 0o644)
		}
	}
	cases := []struct {
		name   string
		mutate func(t *testing.T, root string)
		compat bool // compare with trailscope's --compat verdicts
		code   int  // the exit code both must give
	}{
		{"untampered", func(*testing.T, string) {}, false, 0},
		{"modified log", editLog(func(b []byte) []byte {
			raw := gunzipT(b)
			raw[len(raw)/2] ^= 1
			return regzip(raw)
		}), false, 1},
		{"re-compressed log", editLog(func(b []byte) []byte { return regzipLevel(b, 1) }), false, 0},
		{"deleted log", func(t *testing.T, root string) { os.Remove(filepath.Join(root, filepath.FromSlash(target))) }, false, 1},
		{"truncated log", editLog(func(b []byte) []byte { return b[:len(b)/2] }), false, 1},
		{"log replaced by plain JSON", editLog(func(b []byte) []byte { return gunzipT(b) }), false, 1},
		{"deleted digest", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, filepath.FromSlash(digests[1])))
		}, false, 1},
		// aws/aws-cli#7054: the CLI reports only the newer of two deleted
		// digests; trailscope names the older one with a synthetic key that
		// its awscli rendering leaves out, so the lines still agree.
		{"two consecutive digests deleted", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, filepath.FromSlash(digests[1])))
			os.Remove(filepath.Join(root, filepath.FromSlash(digests[2])))
		}, false, 1},
		{"flipped digest signature", func(t *testing.T, root string) { flipSignature(root, digests[2]) }, false, 1},
		{"digest content changed", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(digests[1]))
			b, _ := os.ReadFile(p)
			raw := gunzipT(b)
			i := bytes.Index(raw, []byte(`"hashValue":"`)) + len(`"hashValue":"`)
			raw[i] = map[bool]byte{true: '1', false: '0'}[raw[i] == '0']
			os.WriteFile(p, regzip(raw), 0o644)
		}, false, 1},
		{"digest re-signed with another key", func(t *testing.T, root string) {
			resignDigest(t, root, digests[2], func(d *integrity.Digest) {
				d.LogFiles = d.LogFiles[1:]
				d.DigestPublicKeyFingerprint = integrity.NewPublicKey(&other.PublicKey, time.Time{}, time.Time{}).Fingerprint
			}, other, "")
		}, false, 1},
		{"digest not gzip", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(digests[1]))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, gunzipT(b), 0o644)
		}, false, 1},
		// A logging stop and restart: digests[2] is a starting digest (all
		// previous* fields null), the newer ones re-signed to link to it.
		// The CLI writes its "No log files were delivered" gap line.
		{"chain restart", func(t *testing.T, root string) {
			resignFrom(t, root, digests, 2, func(d *integrity.Digest) {
				d.PreviousDigestS3Bucket, d.PreviousDigestS3Object, d.PreviousDigestHashValue = nil, nil, nil
				d.PreviousDigestHashAlgorithm, d.PreviousDigestSignature = nil, nil
			})
		}, false, 0},
		// A log listed by two digests (validly signed): the CLI checks and
		// prints it once under each.
		{"log listed by two digests", func(t *testing.T, root string) {
			b, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(digests[1])))
			d1, err := integrity.ParseDigest(gunzipT(b))
			if err != nil {
				t.Fatal(err)
			}
			resignFrom(t, root, digests, 2, func(d *integrity.Digest) { d.LogFiles = append(d.LogFiles, d1.LogFiles[0]) })
		}, false, 0},
		// The chain links the CLI never checks (DIGEST.md cases 32, 33):
		// with --compat trailscope gives its verdicts too.
		{"previousDigestHashValue altered (compat)", func(t *testing.T, root string) {
			resignDigest(t, root, digests[2], func(d *integrity.Digest) {
				h := strings.Repeat("0", 64)
				d.PreviousDigestHashValue = &h
			}, synth.SampleKey(), "")
		}, true, 0},
		{"previousDigestSignature altered (compat)", func(t *testing.T, root string) {
			resignDigest(t, root, digests[2], func(d *integrity.Digest) {
				sig := strings.Repeat("ab", 256)
				d.PreviousDigestSignature = &sig
			}, synth.SampleKey(), "")
		}, true, 0},
		{"digest with data after its gzip member", func(t *testing.T, root string) {
			p := filepath.Join(root, filepath.FromSlash(digests[1]))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, "garbage"...), 0o644)
		}, true, 0}, // strict: INVALID, and its logs unchecked; the CLI ignores the tail
		{"digest moved to another trail's key", func(t *testing.T, root string) {
			moved := strings.Replace(digests[1], "_"+oracleTrail+"_", "_"+oracleTrail+"2_", 1)
			os.Rename(filepath.Join(root, filepath.FromSlash(digests[1])), filepath.Join(root, filepath.FromSlash(moved)))
			os.Rename(ingest.SidecarPath(root, digests[1]), ingest.SidecarPath(root, moved))
		}, false, 1},
		// Tail truncation: the CLI is silent and exits 0 (DIGEST.md §3.6);
		// the lines agree, the exit codes deliberately do not (see below).
		{"newest digest deleted", func(t *testing.T, root string) {
			os.Remove(filepath.Join(root, filepath.FromSlash(digests[len(digests)-1])))
		}, false, -1},
	}
	keyset := []integrity.PublicKey{integrity.NewPublicKey(&synth.SampleKey().PublicKey, oracleStart.Add(-24*time.Hour), oracleStart.Add(30*24*time.Hour))}
	arn := fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", oracleRegion, oracleAccount, oracleTrail)
	start, end := oracleStart, oracleStart.Add(oracleHours*time.Hour)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := copyTree(t, base)
			c.mutate(t, root)
			srv := s3test.Start(t)
			uploadMirror(t, srv, oracleBucket, root)
			ct := cttest.Start(t, &cttest.Server{Keys: keyset, Trails: []cttest.Trail{{Name: oracleTrail, TrailARN: arn,
				HomeRegion: oracleRegion, S3BucketName: oracleBucket, IsMultiRegionTrail: true}}})

			cliOut, cliErr, cliCode := runValidateLogs(t, awsBin, srv.Endpoint, ct.URL, arn, start, end)
			t.Logf("aws validate-logs: exit %d, stderr:\n%s", cliCode, cliErr)
			if calls := ct.Calls(); calls["ListPublicKeys"] == 0 && strings.Contains(cliOut, "valid") {
				t.Errorf("the CLI did not ask the stand-in for keys: %v", calls)
			}

			res, err := integrity.Verify(context.Background(), ingest.NewS3Source(srv.Client(), oracleBucket, ""), integrity.Options{
				Range: ingest.Range{Start: start, End: end}, Trail: oracleTrail, Compat: c.compat,
				KeyProvider: integrity.CloudTrailKeys{List: integrity.SDKListPublicKeys(standInClient(ct.URL))}})
			if err != nil {
				t.Fatal(err)
			}
			var tsOut, tsErr bytes.Buffer
			if err := res.WriteAWSCLI(&tsOut, &tsErr, arn, start, end); err != nil {
				t.Fatal(err)
			}
			if d := lineDiff(cliOut, tsOut.String()); d != "" {
				t.Errorf("stdout differs (- aws validate-logs, + trailscope --format awscli):\n%s", d)
			}
			if d := lineDiff(cliErr, tsErr.String()); d != "" {
				t.Errorf("stderr differs (- aws validate-logs, + trailscope --format awscli):\n%s", d)
			}
			if cliCode != c.code && c.code >= 0 {
				t.Errorf("aws validate-logs exit %d; want %d\nstderr: %s", cliCode, c.code, cliErr)
			}
			switch tsCode := res.ExitCode(); {
			case c.code == -1:
				// Tail truncation: the CLI exits 0. The deleted digest's
				// logs are unverified for trailscope (exit 2); the tail is
				// only called truncated once logs are 90 minutes late.
				if cliCode != 0 || tsCode != 2 {
					t.Errorf("tail truncation: CLI exit %d (want 0), trailscope %d (want 2)", cliCode, tsCode)
				}
			case tsCode != cliCode:
				t.Errorf("trailscope exit %d, aws validate-logs exit %d (counts %v)", tsCode, cliCode, res.Counts)
			}
		})
	}
}

// runValidateLogs runs the real `aws cloudtrail validate-logs --verbose`
// in an isolated environment: fake credentials (the S3 server's), S3 at
// s3URL with path-style addressing, CloudTrail at ctURL. It finds the
// bucket with DescribeTrails, as it does when not given --s3-bucket.
func runValidateLogs(t *testing.T, awsBin, s3URL, ctURL, arn string, start, end time.Time) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(cfg, []byte("[default]\nregion = "+oracleRegion+"\ns3 =\n  addressing_style = path\n"), 0o600)
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = "+s3test.AccessKey+"\naws_secret_access_key = "+s3test.SecretKey+"\n"), 0o600)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_ENDPOINT_URL_S3="+s3URL,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=2")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsBin, "cloudtrail", "validate-logs", "--endpoint-url", ctURL, "--region", oracleRegion,
		"--trail-arn", arn, "--start-time", start.Format(time.RFC3339), "--end-time", end.Format(time.RFC3339), "--verbose")
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("aws validate-logs: %v", err)
	}
	if code > 1 {
		t.Fatalf("aws validate-logs aborted (exit %d):\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

// standInClient gives trailscope's online key provider CloudTrail clients
// aimed at the stand-in.
func standInClient(url string) func(region string) *cloudtrail.Client {
	return func(region string) *cloudtrail.Client {
		return cloudtrail.New(cloudtrail.Options{Region: region, BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	}
}

// lineDiff shows the lines of a and b that differ ("" if equal), with
// tabs and blank lines made visible.
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	show := func(s string) string { return strings.ReplaceAll(s, "\t", "→") + "⏎" }
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x == y && i < len(al) && i < len(bl) {
			fmt.Fprintf(&out, "  %s\n", show(x))
			continue
		}
		if i < len(al) {
			fmt.Fprintf(&out, "- %s\n", show(x))
		}
		if i < len(bl) {
			fmt.Fprintf(&out, "+ %s\n", show(y))
		}
	}
	return out.String()
}

// resignFrom re-signs digests[from] after mutate, then every newer digest
// with its previous-digest hash and signature updated, so the chain's
// links stay intact.
func resignFrom(t *testing.T, root string, digests []string, from int, mutate func(*integrity.Digest)) {
	t.Helper()
	for j := from; j < len(digests); j++ {
		resignDigest(t, root, digests[j], func(d *integrity.Digest) {
			if j == from {
				mutate(d)
				if d.PreviousDigestS3Object == nil {
					return
				}
			}
			b, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(digests[j-1])))
			hash := integrity.HashHex(gunzipT(b))
			sig := synth.SidecarMeta(root)(digests[j-1])["signature"]
			d.PreviousDigestHashValue, d.PreviousDigestSignature = &hash, &sig
		}, synth.SampleKey(), "")
	}
}
