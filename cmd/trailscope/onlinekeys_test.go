package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/integrity/cttest"
)

// onlineKeysEnv starts the CloudTrail stand-in (ingest/integrity/cttest)
// with the sample's key, its first ListPublicKeys page empty, and points
// the SDK at it. There is no local CloudTrail server to run, so the
// stand-in speaks the wire protocol the real service documents;
// everything on the client side (SDK signing, retries, pagination,
// fingerprint checks) is the production code path.
func onlineKeysEnv(t *testing.T, badFP bool) *cttest.Server {
	t.Helper()
	fh, err := os.Open("../../testdata/sample/public-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	keys, err := integrity.ParsePublicKeys(fh, "")
	if err != nil {
		t.Fatal(err)
	}
	s := cttest.Start(t, &cttest.Server{Keys: keys, BadFingerprint: badFP, EmptyFirstPage: true})
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", s.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	return s
}

// TestVerifyOnlineKeys: without --public-keys, verify asks ListPublicKeys
// in every digest's own source region (not the client's region), follows
// NextToken, and reaches the same verdict as with the saved key file.
func TestVerifyOnlineKeys(t *testing.T) {
	s := onlineKeysEnv(t, false)
	const bucket = "../../testdata/sample/bucket"
	offOut, _, offCode := trailscope(t, "verify", bucket, "--public-keys", "../../testdata/sample/public-keys.json", "--format", "json")
	onOut, stderr, onCode := trailscope(t, "verify", bucket, "--format", "json")
	if onCode != offCode {
		t.Fatalf("online exit %d, offline exit %d; stderr: %s", onCode, offCode, stderr)
	}
	if onOut != offOut {
		t.Errorf("online and offline verdicts differ:\nonline:  %.600s\noffline: %.600s", onOut, offOut)
	}
	if !strings.Contains(onOut, `"status":"valid"`) {
		t.Errorf("no valid file in the online run: %.600s", onOut)
	}
	pages := s.Pages()
	if len(pages) == 0 || pages["eu-west-3"] > 0 {
		t.Errorf("ListPublicKeys asked in %v; want the digests' source regions, not the client's eu-west-3", pages)
	}
	for region, n := range pages {
		if n < 2 {
			t.Errorf("region %s: %d pages asked; NextToken not followed", region, n)
		}
	}
}

// TestVerifyOnlineKeysBadFingerprint: a ListPublicKeys answer whose
// fingerprint is not the MD5 of its key is refused; nothing verifies
// against it, every digest is an error that says why, and the run does
// not exit 0. (The sample's planted deleted digest still shows up as
// unreferenced logs, which need no key: exit 1.)
func TestVerifyOnlineKeysBadFingerprint(t *testing.T) {
	onlineKeysEnv(t, true)
	out, stderr, code := trailscope(t, "verify", "../../testdata/sample/bucket", "--format", "json")
	if code != exitFindings && code != exitPartial {
		t.Fatalf("exit %d, want 1 or 2; stdout: %.800s stderr: %s", code, out, stderr)
	}
	digests := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var fr struct{ Kind, Status, Reason string }
		if err := json.Unmarshal([]byte(line), &fr); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		if fr.Kind == "digest" {
			digests++
			if fr.Status != "error" {
				t.Errorf("digest verdict %q (%s) with a refused key; want error", fr.Status, fr.Reason)
			}
		}
	}
	if digests == 0 {
		t.Fatalf("no digest results: %.800s", out)
	}
	if !strings.Contains(out+stderr, "not the MD5 of its key") {
		t.Errorf("the refusal is not explained: %.1200s %s", out, stderr)
	}
}
