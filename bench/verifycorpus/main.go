// Command verifycorpus sets up the verification benchmark (bench/verify.sh):
// it generates a signed CloudTrail archive with ingest/synth (once; reused
// when -out already holds it), starts versitygw on 127.0.0.1 with the
// archive uploaded (digest signatures as S3 user metadata), starts the
// CloudTrail stand-in (ingest/integrity/cttest) serving the archive's
// public key, writes the endpoints and the archive's shape to -env as
// shell variables, and then serves until it is sent SIGINT or SIGTERM.
// With -latency D it also serves S3 through a proxy on 127.0.0.1 that
// delays every request by D (S3_URL_SLOW), to compare the tools at a
// network round trip rather than at loopback speed.
//
//	verifycorpus -out bench/out/verify -accounts 2 -regions 2 -hours 24 -latency 20ms -env bench/out/verify.env
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/integrity/cttest"
	"github.com/trailscope/trailscope/ingest/s3test"
	"github.com/trailscope/trailscope/ingest/synth"
)

const (
	bucket = "trailscope-bench-verify"
	trail  = "bench-trail"
)

var start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("out", "bench/out/verify", "working folder (archive, server data)")
	accounts := flag.Int("accounts", 2, "standalone accounts")
	regions := flag.Int("regions", 2, "regions per account")
	hours := flag.Int("hours", 24, "hours of logs and digests")
	files := flag.Int("files", 12, "log files per hour per account and region")
	events := flag.Int("events", 600, "events per hour per account and region")
	envFile := flag.String("env", "", "write the shell variables here (default stdout)")
	latency := flag.Duration("latency", 0, "also serve S3 through a proxy adding this delay per request (S3_URL_SLOW)")
	only := flag.Bool("generate-only", false, "generate the archive, print its folder and stop (no servers)")
	flag.Parse()
	if err := run(*out, *accounts, *regions, *hours, *files, *events, *latency, *envFile, *only); err != nil {
		fmt.Fprintln(os.Stderr, "verifycorpus:", err)
		os.Exit(1)
	}
}

func run(out string, nAcct, nReg, hours, files, events int, latency time.Duration, envFile string, only bool) error {
	allRegions := []string{"us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2"}
	if nReg < 1 || nReg > len(allRegions) || nAcct < 1 || nAcct > 9 {
		return fmt.Errorf("-regions 1..%d, -accounts 1..9", len(allRegions))
	}
	var accts []string
	for i := 1; i <= nAcct; i++ {
		accts = append(accts, strings.Repeat(fmt.Sprint(i), 12))
	}
	regs := allRegions[:nReg]
	archive := filepath.Join(out, fmt.Sprintf("archive-%da-%dr-%dh-%df-%de", nAcct, nReg, hours, files, events))
	root := filepath.Join(archive, "bucket")
	res := filepath.Join(archive, "result.json")
	var gen synth.Result
	if b, err := os.ReadFile(res); err == nil {
		if err := json.Unmarshal(b, &gen); err != nil {
			return err
		}
	} else {
		os.RemoveAll(archive)
		r, err := synth.Generate(context.Background(), synth.Options{Dir: root, Bucket: bucket, Accounts: accts, Regions: regs,
			Start: start, Hours: hours, FilesPerHour: files, EventsPerHour: events, Seed: 7, SigningKey: synth.SampleKey(),
			Trail: trail, Home: regs[0], GapHour: -1, KeysDir: filepath.Join(archive, "keys")})
		if err != nil {
			return err
		}
		b, _ := json.Marshal(r)
		if err := os.WriteFile(res, b, 0o644); err != nil {
			return err
		}
		gen = *r
	}
	if only {
		fmt.Println(archive)
		return nil
	}
	var logBytes int64
	for _, l := range gen.Logs {
		logBytes += int64(l.Bytes)
	}

	// versitygw on loopback, fresh data folder.
	data, err := filepath.Abs(filepath.Join(out, "s3data"))
	if err != nil {
		return err
	}
	os.RemoveAll(data)
	gwLog, err := os.Create(filepath.Join(out, "versitygw.log"))
	if err != nil {
		return err
	}
	defer gwLog.Close()
	srv, err := s3test.Launch(data, gwLog)
	if err != nil {
		return err
	}
	defer srv.Stop()
	ctx := context.Background()
	if _, err := srv.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return err
	}
	t0 := time.Now()
	n, err := srv.Upload(ctx, bucket, root, synth.SidecarMeta(root), 16)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "verifycorpus: uploaded %d objects in %.1fs\n", n, time.Since(t0).Seconds())

	// The CloudTrail stand-in with the archive's key.
	key := integrity.NewPublicKey(&synth.SampleKey().PublicKey, start.Add(-24*time.Hour), start.Add(30*24*time.Hour))
	ct := &cttest.Server{Keys: []integrity.PublicKey{key}, Trails: []cttest.Trail{{Name: trail,
		TrailARN: fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", regs[0], accts[0], trail), HomeRegion: regs[0],
		S3BucketName: bucket, IsMultiRegionTrail: true}}}
	stop, err := ct.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stop()

	var env bytes.Buffer
	if latency > 0 {
		slow, stop, err := delayProxy(srv.Endpoint, latency)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(&env, "S3_URL_SLOW=%s\nLATENCY=%s\n", slow, latency)
	}
	fmt.Fprintf(&env, "S3_URL=%s\nCT_URL=%s\nBUCKET=%s\nTRAIL=%s\nHOME_REGION=%s\n", srv.Endpoint, ct.URL, bucket, trail, regs[0])
	fmt.Fprintf(&env, "ACCOUNT_IDS=%q\nREGION_NAMES=%q\n", strings.Join(accts, " "), strings.Join(regs, " "))
	fmt.Fprintf(&env, "START=%s\nEND=%s\n", start.Format(time.RFC3339), start.Add(time.Duration(hours)*time.Hour).Format(time.RFC3339))
	fmt.Fprintf(&env, "LOGS=%d\nDIGESTS=%d\nOBJECTS=%d\nLOG_BYTES=%d\nS3_ACCESS_KEY=%s\nS3_SECRET_KEY=%s\n",
		len(gen.Logs), len(gen.Digests), len(gen.Logs)+len(gen.Digests), logBytes, s3test.AccessKey, s3test.SecretKey)
	if envFile == "" {
		os.Stdout.Write(env.Bytes())
	} else if err := os.WriteFile(envFile+".tmp", env.Bytes(), 0o644); err != nil {
		return err
	} else if err := os.Rename(envFile+".tmp", envFile); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}

// delayProxy forwards to target after sleeping d per request. The Host
// header is kept, so the SigV4 signatures made for the proxy's address
// still verify at the server. User-metadata headers go back lower-case,
// as S3 sends them: Go canonicalizes them to X-Amz-Meta-Signature, and
// botocore keeps the case after the prefix, so the AWS CLI would not find
// Metadata['signature'] and call every digest's signature failed.
func delayProxy(target string, d time.Duration) (string, func(), error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		rp.ServeHTTP(&lowerMeta{w}, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// lowerMeta writes x-amz-meta-* response headers in lower case (the
// reverse proxy copies them with Header.Add, which canonicalizes).
type lowerMeta struct{ http.ResponseWriter }

func (l *lowerMeta) WriteHeader(code int) {
	h := l.Header()
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-meta-") && lk != k {
			delete(h, k)
			h[lk] = v
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *lowerMeta) Unwrap() http.ResponseWriter { return l.ResponseWriter }
