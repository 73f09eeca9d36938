// Package s3test starts a real S3-compatible server (versitygw, posix
// backend) on 127.0.0.1 for tests, and gives them an aws-sdk-go-v2 client
// that talks to it over HTTP with SigV4.
//
// The server binary is found in $TRAILSCOPE_VERSITYGW, on PATH, in
// $GOPATH/bin, or else built once with `go install` (about a minute) into
// the user cache folder, so `go test ./...` is the only command a fresh
// machine needs.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Version is the versitygw release the tests run against.
const Version = "v1.8.0"

// Credentials of the test server.
const (
	AccessKey = "trailscopetest"
	SecretKey = "trailscopesecret"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string
	cmd      *exec.Cmd
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of a versitygw binary, building it if needed.
func Binary() (string, error) {
	binOnce.Do(func() {
		if p := os.Getenv("TRAILSCOPE_VERSITYGW"); p != "" {
			binPath = p
			return
		}
		if p, err := exec.LookPath("versitygw"); err == nil {
			binPath = p
			return
		}
		gopath := strings.TrimSpace(run("go", "env", "GOPATH"))
		for _, dir := range filepath.SplitList(gopath) {
			p := filepath.Join(dir, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				binPath = p
				return
			}
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		bin := filepath.Join(cache, "trailscope", "versitygw-"+Version)
		p := filepath.Join(bin, "versitygw")
		if _, err := os.Stat(p); err == nil {
			binPath = p
			return
		}
		cmd := exec.Command("go", "install", "github.com/versity/versitygw/cmd/versitygw@"+Version)
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build versitygw %s: %v\n%s", Version, err, out)
			return
		}
		binPath = p
	})
	return binPath, binErr
}

func run(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// Start starts a fresh server with versioning support and stops it when
// the test ends. It fails the test if the server cannot start.
func Start(t testing.TB) *Server {
	t.Helper()
	srv, err := Launch(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// Launch starts versitygw on a free port of 127.0.0.1 with its data in
// dir, for programs that are not tests (bench/verifycorpus). Its output
// goes to logw (nil: kept only to explain a failed start). Call Stop.
func Launch(dir string, logw io.Writer) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	data, ver := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{data, ver} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var failures []string
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var logBuf bytes.Buffer
		cmd := exec.Command(bin, "--port", addr, "--access", AccessKey, "--secret", SecretKey,
			"posix", "--versioning-dir", ver, data)
		cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
		if logw != nil {
			cmd.Stdout, cmd.Stderr = io.MultiWriter(&logBuf, logw), io.MultiWriter(&logBuf, logw)
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start versitygw: %w", err)
		}
		if waitReady(addr, 10*time.Second) {
			return &Server{Endpoint: "http://" + addr, Dir: dir, cmd: cmd}, nil
		}
		cmd.Process.Kill()
		cmd.Wait()
		failures = append(failures, fmt.Sprintf("on %s: %s", addr, logBuf.String()))
	}
	return nil, fmt.Errorf("versitygw did not start: %s", strings.Join(failures, "; "))
}

// Stop stops the server.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(addr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Config is an aws.Config with the server's static credentials.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
}

// Client returns a path-style S3 client for the server.
func (s *Server) Client() *s3.Client {
	return s3.NewFromConfig(s.Config(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
}

// CreateBucket makes a bucket, optionally with versioning on.
func (s *Server) CreateBucket(t testing.TB, bucket string, versioning bool) {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if versioning {
		_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
		if err != nil {
			t.Fatalf("versioning on %s: %v", bucket, err)
		}
	}
}

// Put stores one object with user metadata.
func (s *Server) Put(t testing.TB, bucket, key string, body []byte, meta map[string]string) {
	t.Helper()
	_, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
		Key: aws.String(key), Body: bytes.NewReader(body), Metadata: meta})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// UploadDir copies every file under root (skipping sidecar folders named
// ".trailscope") into bucket, keeping relative paths as keys. meta, if not
// nil, gives the user metadata for a key.
func (s *Server) UploadDir(t testing.TB, bucket, root string, meta func(key string) map[string]string) int {
	t.Helper()
	n, err := s.Upload(context.Background(), bucket, root, meta, 1)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Upload is UploadDir for programs that are not tests, with workers
// uploads at a time; it returns how many objects it stored.
func (s *Server) Upload(ctx context.Context, bucket, root string, meta func(key string) map[string]string, workers int) (int, error) {
	var keys []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".trailscope" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return 0, err
	}
	cli := s.Client()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for _, k := range keys {
		g.Go(func() error {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(k)))
			if err != nil {
				return err
			}
			var m map[string]string
			if meta != nil {
				m = meta(k)
			}
			if _, err := cli.PutObject(gctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k),
				Body: bytes.NewReader(b), Metadata: m}); err != nil {
				return fmt.Errorf("put s3://%s/%s: %w", bucket, k, err)
			}
			return nil
		})
	}
	return len(keys), g.Wait()
}
