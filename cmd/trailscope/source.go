package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
)

// awsConfig resolves the standard credential chain with --profile and
// --region. Nothing is contacted until a request is made.
func (g *globalFlags) awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if g.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(g.profile))
	}
	if g.region != "" {
		opts = append(opts, config.WithRegion(g.region))
	}
	opts = append(opts,
		config.WithRetryer(func() aws.Retryer {
			// Throttling (503 SlowDown) is retried with jittered exponential
			// back-off; no client-side retry quota, so a long run over a
			// throttled bucket slows down instead of failing.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 8
				o.RateLimiter = ratelimit.None
			})
		}),
		// Keep a connection per concurrent reader (verify runs 32): the
		// SDK's default keeps 10 idle per host, so the other readers open
		// a new connection for every object.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = 256
			tr.MaxIdleConnsPerHost = 128
		})),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// s3Client builds an S3 client; --endpoint-url switches to path-style
// addressing for S3-compatible servers.
func (g *globalFlags) s3Client(ctx context.Context) (*s3.Client, error) {
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if g.endpointURL != "" {
			o.BaseEndpoint = aws.String(g.endpointURL)
			o.UsePathStyle = true
		}
	}), nil
}

// cloudTrailKeys is the online key source: CloudTrail ListPublicKeys in
// each digest's source region, with the standard credential chain and
// --profile. AWS_ENDPOINT_URL_CLOUDTRAIL points it elsewhere (the SDK's
// own service-specific endpoint variable); --endpoint-url is for S3 only.
func (g *globalFlags) cloudTrailKeys(ctx context.Context) (integrity.KeyProvider, error) {
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	clients := map[string]*cloudtrail.Client{}
	client := func(region string) *cloudtrail.Client {
		mu.Lock()
		defer mu.Unlock()
		c, ok := clients[region]
		if !ok {
			c = cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
			clients[region] = c
		}
		return c
	}
	return integrity.CloudTrailKeys{List: integrity.SDKListPublicKeys(client)}, nil
}

// openSource turns SOURCE arguments into a Source and a listing prefix:
// one s3:// URL, one folder, or one or more files.
func (g *globalFlags) openSource(ctx context.Context, args []string) (ingest.Source, string, error) {
	if len(args) == 0 {
		return nil, "", usagef("need a SOURCE: s3://bucket[/prefix], a folder, or files")
	}
	if strings.HasPrefix(args[0], "s3://") {
		if len(args) > 1 {
			return nil, "", usagef("give one s3:// URL")
		}
		bucket, prefix, err := ingest.ParseS3URL(args[0])
		if err != nil {
			return nil, "", usageError{err}
		}
		cli, err := g.s3Client(ctx)
		if err != nil {
			return nil, "", err
		}
		return ingest.NewS3Source(cli, bucket, prefix), prefix, nil
	}
	if len(args) == 1 {
		st, err := os.Stat(args[0])
		if err != nil {
			return nil, "", usageError{err}
		}
		if st.IsDir() {
			src, err := ingest.NewDirSource(args[0])
			return src, "", err
		}
	}
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			return nil, "", usagef("%s: give one folder, or files", a)
		}
	}
	return ingest.NewFileSource(args...), "", nil
}

// rangeFlags are --start --end --accounts --regions.
type rangeFlags struct {
	start, end        string
	accounts, regions []string
}

func (r *rangeFlags) register(c interface {
	StringVar(*string, string, string, string)
	StringSliceVar(*[]string, string, []string, string)
}) {
	c.StringVar(&r.start, "start", "", "first delivery time to read (RFC 3339, YYYY-MM-DD, or a duration ago such as 24h)")
	c.StringVar(&r.end, "end", "", "last delivery time to read (same forms as --start)")
	c.StringSliceVar(&r.accounts, "accounts", nil, "only these 12-digit account IDs (comma-separated)")
	c.StringSliceVar(&r.regions, "regions", nil, "only these regions (comma-separated)")
}

func (r *rangeFlags) toRange(now time.Time) (ingest.Range, error) {
	var out ingest.Range
	var err error
	if out.Start, err = parseWhen(r.start, now); err != nil {
		return out, usagef("--start: %v", err)
	}
	if out.End, err = parseWhen(r.end, now); err != nil {
		return out, usagef("--end: %v", err)
	}
	out.Accounts, out.Regions = r.accounts, r.regions
	if err := out.Validate(); err != nil {
		return out, usageError{err}
	}
	return out, nil
}

// parseWhen accepts RFC 3339 (any UTC offset), a date (UTC midnight), or a
// Go duration meaning that long before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := parseDuration(s); err == nil {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DD) or a duration (24h, 7d)", s)
}

// parseDuration is time.ParseDuration plus a "d" (days) unit.
func parseDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		var n int
		if _, err := fmt.Sscanf(s, "%dd", &n); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}
