package s3test_test

import (
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/trailscope/trailscope/ingest/s3test"
)

func TestServerRoundTripAndAuth(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "trail-bucket", true)
	srv.Put(t, "trail-bucket", "AWSLogs/x.json.gz", []byte("hello"), map[string]string{"signature": "abc"})
	out, err := srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("trail-bucket"), Key: aws.String("AWSLogs/x.json.gz")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "hello" || out.Metadata["signature"] != "abc" {
		t.Fatalf("got body %q meta %v; want hello, signature=abc", b, out.Metadata)
	}
	// SigV4 is really checked: a wrong secret is refused.
	cfg := srv.Config()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(s3test.AccessKey, "wrong", "")
	bad := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.Endpoint); o.UsePathStyle = true })
	if _, err := bad.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("trail-bucket"), Key: aws.String("AWSLogs/x.json.gz")}); err == nil {
		t.Fatal("GetObject with a wrong secret succeeded; want SignatureDoesNotMatch")
	}
}
