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
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, ver := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{data, ver} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var srv *Server
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		var logBuf bytes.Buffer
		cmd := exec.Command(bin, "--port", addr, "--access", AccessKey, "--secret", SecretKey,
			"posix", "--versioning-dir", ver, data)
		cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		if waitReady(addr, 10*time.Second) {
			srv = &Server{Endpoint: "http://" + addr, Dir: dir, cmd: cmd}
			break
		}
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("versitygw on %s did not start: %s", addr, logBuf.String())
	}
	if srv == nil {
		t.Fatal("versitygw did not start")
	}
	t.Cleanup(func() {
		srv.cmd.Process.Kill()
		srv.cmd.Wait()
	})
	return srv
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
	n := 0
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
		key := filepath.ToSlash(rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var m map[string]string
		if meta != nil {
			m = meta(key)
		}
		s.Put(t, bucket, key, b, m)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
