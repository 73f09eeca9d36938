package integrity_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/s3test"
)

// BenchmarkInflateHash is the per-core cost of checking a log: inflate
// and SHA-256 of the uncompressed bytes (MB/s of uncompressed data).
func BenchmarkInflateHash(b *testing.B) {
	raw, err := os.ReadFile("../../testdata/events/invictus-ir-sigma-aws/CloudTrail/218007301253_CloudTrail_us-east-1_20230710T1145Z_s7dpHbl38neqZbm2.json")
	if err != nil {
		b.Fatal(err)
	}
	var big bytes.Buffer
	for big.Len() < 8<<20 {
		big.Write(raw)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(big.Bytes())
	zw.Close()
	b.SetBytes(int64(big.Len()))
	buf := make([]byte, 256<<10)
	for i := 0; i < b.N; i++ {
		zr, _ := gzip.NewReader(bytes.NewReader(gz.Bytes()))
		zr.Multistream(false)
		h := sha256.New()
		if _, err := io.CopyBuffer(h, zr, buf); err != nil {
			b.Fatal(err)
		}
		h.Sum(nil)
	}
}

// BenchmarkVerifyArchive verifies a generated archive (5 hours, 4 chains)
// from a local mirror: objects per second.
func BenchmarkVerifyArchive(b *testing.B) {
	dir, gen := archive(b)
	src, _ := ingest.NewDirSource(dir)
	ks := keys(b)
	objects := len(gen.Logs) + len(gen.Digests)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := integrity.Verify(context.Background(), src, integrity.Options{Keys: ks})
		if err != nil || res.Counts[integrity.Valid] != objects {
			b.Fatalf("%v %v", err, res.Counts)
		}
	}
	b.ReportMetric(float64(objects*b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkHashLog is the verification path itself (HashLog: streaming
// inflate + SHA-256, one member, trailer and trailing data checked).
func BenchmarkHashLog(b *testing.B) {
	raw, err := os.ReadFile("../../testdata/events/invictus-ir-sigma-aws/CloudTrail/218007301253_CloudTrail_us-east-1_20230710T1145Z_s7dpHbl38neqZbm2.json")
	if err != nil {
		b.Fatal(err)
	}
	var big bytes.Buffer
	for big.Len() < 8<<20 {
		big.Write(raw)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(big.Bytes())
	zw.Close()
	b.SetBytes(int64(big.Len()))
	for i := 0; i < b.N; i++ {
		if _, err := integrity.HashLog(bytes.NewReader(gz.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyS3 verifies the same archive on the S3 server on
// loopback (real HTTP, SigV4, XML listings): objects per second.
func BenchmarkVerifyS3(b *testing.B) {
	dir, gen := archive(b)
	srv := s3test.Start(b)
	srv.CreateBucket(b, bucket, false)
	srv.UploadDir(b, bucket, dir, func(key string) map[string]string {
		raw, err := os.ReadFile(ingest.SidecarPath(dir, key))
		if err != nil {
			return nil
		}
		var o ingest.Object
		json.Unmarshal(raw, &o)
		return o.Metadata
	})
	src := ingest.NewS3Source(srv.Client(), bucket, "")
	ks := keys(b)
	objects := len(gen.Logs) + len(gen.Digests)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := integrity.Verify(context.Background(), src, integrity.Options{Keys: ks, Workers: 32})
		if err != nil || res.Counts[integrity.Valid] != objects {
			b.Fatalf("%v %v", err, res.Counts)
		}
	}
	b.ReportMetric(float64(objects*b.N)/b.Elapsed().Seconds(), "objects/s")
}
