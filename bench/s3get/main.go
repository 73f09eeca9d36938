// Command s3get is the floor of the verification benchmark: it lists a
// bucket and GETs every object with N concurrent readers, discarding the
// bytes, through the same SDK and HTTP settings as trailscope. No
// parsing, no hashing: what the S3 server and the SDK cost on this
// machine for the objects a verification must read.
//
//	s3get -endpoint http://127.0.0.1:PORT -bucket B [-workers 32] [-runs 3]
//
// Credentials come from the standard chain (AWS_ACCESS_KEY_ID, ...).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL (path-style)")
	bucket := flag.String("bucket", "", "bucket")
	workers := flag.Int("workers", 32, "concurrent GETs")
	runs := flag.Int("runs", 3, "runs (the best is printed)")
	flag.Parse()
	if err := run(context.Background(), *endpoint, *bucket, *workers, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "s3get:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, endpoint, bucket string, workers, runs int) error {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns = 256
			tr.MaxIdleConnsPerHost = 128
		})),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	if err != nil {
		return err
	}
	cl := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	best := time.Duration(0)
	var n, bytes int64
	for r := 0; r < runs; r++ {
		t0 := time.Now()
		var keys []string
		p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list %s: %w", bucket, err)
			}
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		sizes := make([]int64, len(keys))
		for i, k := range keys {
			g.Go(func() error {
				out, err := cl.GetObject(gctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
				if err != nil {
					return fmt.Errorf("get %s: %w", k, err)
				}
				defer out.Body.Close()
				sizes[i], err = io.Copy(io.Discard, out.Body)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		d := time.Since(t0)
		if best == 0 || d < best {
			best = d
		}
		n, bytes = int64(len(keys)), 0
		for _, s := range sizes {
			bytes += s
		}
	}
	fmt.Printf("s3get: %d objects (%d MB) listed and read in %.2f s (best of %d, %d readers): %.0f objects/s\n",
		n, bytes/1000000, best.Seconds(), runs, workers, float64(n)/best.Seconds())
	return nil
}
