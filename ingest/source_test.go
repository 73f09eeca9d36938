package ingest_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// sourceMaker builds a Source holding objs (key → body, with metadata).
type sourceMaker func(t *testing.T, objs map[string][]byte, meta map[string]map[string]string) ingest.Source

// testSource is the conformance suite every Source must pass.
func testSource(t *testing.T, mk sourceMaker) {
	ctx := context.Background()
	objs := map[string][]byte{
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/a.json.gz":        []byte("a"),
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/03/b.json.gz":        []byte("bb"),
		"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/d.json.gz": []byte("ddd"),
		"AWSLogs/o-abc1234567/222222222222/CloudTrail/eu-west-1/2024/01/02/c":   []byte("cccc"),
		"other/x.json": []byte("x"),
	}
	meta := map[string]map[string]string{
		"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/d.json.gz": {"signature": "abcd", "signature-algorithm": "SHA256withRSA"},
	}
	src := mk(t, objs, meta)

	list := func(prefix, after string) []string {
		var keys []string
		for o, err := range src.List(ctx, prefix, after) {
			if err != nil {
				t.Fatalf("List(%q, %q): %v", prefix, after, err)
			}
			if int64(len(objs[o.Key])) != o.Size {
				t.Errorf("List: %s size = %d; want %d", o.Key, o.Size, len(objs[o.Key]))
			}
			keys = append(keys, o.Key)
		}
		return keys
	}
	var all []string
	for k := range objs {
		all = append(all, k)
	}
	slices.Sort(all)
	if got := list("", ""); !slices.Equal(got, all) {
		t.Errorf("List all = %v; want %v", got, all)
	}
	if got, want := list("AWSLogs/111111111111/CloudTrail/", ""), all[1:3]; !slices.Equal(got, want) {
		t.Errorf("List prefix = %v; want %v", got, want)
	}
	if got, want := list("AWSLogs/111111111111/CloudTrail/", all[1]), all[2:3]; !slices.Equal(got, want) {
		t.Errorf("List startAfter = %v; want %v", got, want)
	}
	dirs, err := src.Dirs(ctx, "AWSLogs/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"AWSLogs/111111111111/", "AWSLogs/o-abc1234567/"}; !slices.Equal(dirs, want) {
		t.Errorf("Dirs = %v; want %v", dirs, want)
	}
	dk := "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/d.json.gz"
	rc, o, err := src.Open(ctx, dk)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "ddd" || o.Metadata["signature"] != "abcd" || o.Size != 3 {
		t.Errorf("Open = %q, %+v; want ddd with signature metadata", b, o)
	}
	if _, _, err := src.Open(ctx, "AWSLogs/nope"); err == nil {
		t.Error("Open of a missing key succeeded")
	}
}

func TestDirSource(t *testing.T) {
	testSource(t, func(t *testing.T, objs map[string][]byte, meta map[string]map[string]string) ingest.Source {
		root := t.TempDir()
		for k, b := range objs {
			p := filepath.Join(root, filepath.FromSlash(k))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if m := meta[k]; m != nil {
				if err := ingest.WriteSidecar(root, ingest.Object{Key: k, Metadata: m}); err != nil {
					t.Fatal(err)
				}
			}
		}
		src, err := ingest.NewDirSource(root)
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

func TestS3Source(t *testing.T) {
	srv := s3test.Start(t)
	testSource(t, func(t *testing.T, objs map[string][]byte, meta map[string]map[string]string) ingest.Source {
		srv.CreateBucket(t, "conformance", false)
		for k, b := range objs {
			srv.Put(t, "conformance", k, b, meta[k])
		}
		return ingest.NewS3Source(srv.Client(), "conformance", "")
	})
}

func TestDirSourceRefusesEscapes(t *testing.T) {
	src, err := ingest.NewDirSource(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../etc/passwd", "a/../../b", "/etc/passwd", `a\b`} {
		if _, _, err := src.Open(context.Background(), k); err == nil {
			t.Errorf("Open(%q) succeeded; want a refusal", k)
		}
	}
}
