package cttest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/integrity/cttest"
)

func client(url, region string) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{Region: region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
}

func key(t *testing.T, start, end time.Time, region string) integrity.PublicKey {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pk := integrity.NewPublicKey(&k.PublicKey, start, end)
	pk.Region = region
	return pk
}

// TestStandIn: the SDK's own client pages through ListPublicKeys, gets
// only the keys of its region whose validity overlaps the window, with
// fingerprints the online key provider accepts; DescribeTrails answers;
// anything else is refused.
func TestStandIn(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	keys := []integrity.PublicKey{
		key(t, t0, t0.Add(30*day), ""),
		key(t, t0.Add(30*day), t0.Add(60*day), ""),
		key(t, t0, t0.Add(30*day), "eu-west-1"),
	}
	s := cttest.Start(t, &cttest.Server{Keys: keys, PageSize: 1, EmptyFirstPage: true,
		Trails: []cttest.Trail{{Name: "t", TrailARN: "arn:aws:cloudtrail:us-east-1:111122223333:trail/t", HomeRegion: "us-east-1", S3BucketName: "b"}}})
	ctx := context.Background()
	kp := integrity.CloudTrailKeys{List: integrity.SDKListPublicKeys(func(region string) *cloudtrail.Client { return client(s.URL, region) })}

	got, err := kp.PublicKeys(ctx, "us-east-1", t0.Add(day), t0.Add(40*day))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Fingerprint != keys[0].Fingerprint || got[1].Fingerprint != keys[1].Fingerprint {
		t.Errorf("us-east-1 over 40 days: %d keys; want the two unscoped ones", len(got))
	}
	if p := s.Pages()["us-east-1"]; p != 3 {
		t.Errorf("%d pages asked in us-east-1; want 3 (empty first page, then one key a page)", p)
	}
	got, err = kp.PublicKeys(ctx, "eu-west-1", t0.Add(day), t0.Add(2*day))
	if err != nil || len(got) != 2 {
		t.Errorf("eu-west-1 over a day: %d keys, %v; want the first key and eu-west-1's", len(got), err)
	}

	out, err := client(s.URL, "us-east-1").DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil || len(out.TrailList) != 1 || aws.ToString(out.TrailList[0].S3BucketName) != "b" {
		t.Errorf("DescribeTrails: %+v, %v", out, err)
	}
	_, err = client(s.URL, "us-east-1").GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("t")})
	if err == nil || !strings.Contains(err.Error(), "UnknownOperation") {
		t.Errorf("an operation the stand-in does not implement: %v", err)
	}
	if c := s.Calls(); c["ListPublicKeys"] != 6 || c["DescribeTrails"] != 1 {
		t.Errorf("calls %v", c)
	}
}
