// Command trailscope is a CloudTrail forensics engine over S3 archives:
// ingest into a Parquet lake, verify integrity, detect with Sigma rules,
// and query with DuckDB. See README.md and docs/.
//
// The command only wires flags to the packages; it holds no logic of its
// own. Exit codes are documented in docs/cli.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes shared by every verb (docs/cli.md).
const (
	exitOK       = 0 // success, nothing to report
	exitFindings = 1 // the job ran and found something: tampering, loss, findings at --fail-on
	exitPartial  = 2 // the job ran but could not read or verify everything
	exitUsage    = 3 // bad flags or arguments
	exitFatal    = 4 // the job could not run (bad lake, no credentials, internal error)
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that run exits with code. A nil err with a non-zero
// code means "exit quietly with code".
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is
// set: it keeps ingest's resident memory under 300 MB (about 280 MB)
// whatever the archive size, for ~5% more garbage-collection time than
// 300 MiB (which gives ~340 MB). GOMEMLIMIT=off lifts it.
const defaultMemoryLimit = 240 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "trailscope:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "trailscope:", err)
	if isUsageError(err) {
		return exitUsage
	}
	return exitFatal
}

// usageError marks errors in flags or arguments.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func isUsageError(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// cobra's own argument and command errors.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag", "requires at least", "accepts at most", "accepts ", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// globalFlags are the flags every verb shares.
type globalFlags struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	profile     string
	region      string
	endpointURL string
	quiet       bool
	cpuProfile  string
	heapProfile string
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globalFlags{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "trailscope",
		Short:         "CloudTrail forensics over S3 archives: ingest, verify, detect, query",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.profile, "profile", "", "AWS shared-config profile")
	pf.StringVar(&g.region, "region", "", "AWS region for S3 and CloudTrail API calls")
	pf.StringVar(&g.endpointURL, "endpoint-url", "", "S3 endpoint URL (S3-compatible servers; path-style addressing)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "no progress output")
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (performance debugging)")
	pf.MarkHidden("cpuprofile")
	pf.StringVar(&g.heapProfile, "heapprofile", "", "write a heap profile taken when the heap in use peaks (performance debugging)")
	pf.MarkHidden("heapprofile")
	root.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if g.heapProfile != "" {
			stop := peakHeapProfile(g.heapProfile)
			cobra.OnFinalize(stop)
		}
		if g.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		cobra.OnFinalize(func() { pprof.StopCPUProfile(); f.Close() })
		return nil
	}
	for _, c := range commands(g) {
		root.AddCommand(c)
	}
	return root
}

// peakHeapProfile samples the heap twice a second and keeps, in path, the
// profile of the moment the most heap was in use; stop ends it.
func peakHeapProfile(path string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		for {
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse <= peak {
				continue
			}
			peak = ms.HeapInuse
			if f, err := os.Create(path); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}()
	return func() { close(done); <-finished }
}
