package s3test

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type s3clientWithRetry = s3.Client

// newClientVia builds a path-style client for endpoint with the server's
// credentials and the SDK's standard retryer (maxAttempts per request),
// as the CLI configures it.
func newClientVia(s *Server, endpoint string, maxAttempts int) *s3.Client {
	cfg := s.Config()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = 20 * 1e6 // 20ms: keep tests fast
			o.RateLimiter = ratelimit.None
		})
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}
