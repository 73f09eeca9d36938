package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/lake"
)

type ingestFlags struct {
	lake        string
	format      string
	rng         rangeFlags
	workers     int
	batch       int
	shard       string
	retryFailed bool
	maxInflate  int64
	verify      bool
	publicKeys  []string
	onlineKeys  bool
	noCompact   bool
}

func newIngestCmd(g *globalFlags) *cobra.Command {
	f := &ingestFlags{}
	c := &cobra.Command{
		Use:   "ingest SOURCE... --lake DIR",
		Short: "Build or extend the Parquet lake from s3://bucket[/prefix], a folder, or files",
		Long: `Ingest reads CloudTrail log files (and JSON arrays, JSON lines and
lookup-events output) and writes them to a Hive-partitioned zstd Parquet
lake. A re-run ingests only new objects; a killed run can simply be run
again. Exit codes: 0 all read, 2 some objects or records could not be used,
3 usage, 4 fatal.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd, g, f, args)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.lake, "lake", "", "lake folder (created if missing)")
	fl.StringVar(&f.format, "format", "text", "report format: text or json")
	f.rng.register(fl)
	fl.IntVar(&f.workers, "workers", 0, "objects fetched and decoded at once (default 2 × CPUs)")
	fl.IntVar(&f.batch, "batch-events", 20_000, "events per committed batch (memory vs file size)")
	fl.StringVar(&f.shard, "shard", "", "take only shard i of n objects (i/n), for parallel ingest on several machines")
	fl.BoolVar(&f.retryFailed, "retry-failed", false, "retry objects an earlier run recorded as corrupt")
	fl.Int64Var(&f.maxInflate, "max-decompressed-bytes", ingest.DefaultMaxDecompressedBytes, "cap on one object's decompressed size (gzip bomb guard)")
	fl.BoolVar(&f.verify, "verify", false, "verify integrity while ingesting (one read of each object); needs --public-keys")
	fl.StringSliceVar(&f.publicKeys, "public-keys", nil, "saved `aws cloudtrail list-public-keys` JSON (with --verify)")
	fl.BoolVar(&f.onlineKeys, "online-keys", false, "with --verify, fetch public keys with CloudTrail ListPublicKeys")
	fl.BoolVar(&f.noCompact, "no-compact", false, "leave the small per-batch files (run `trailscope lake compact` later)")
	c.MarkFlagRequired("lake")
	return c
}

func parseShard(s string) (int, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, usagef("--shard %q: want i/n with 0 <= i < n", s)
	}
	return i, n, nil
}

func runIngest(cmd *cobra.Command, g *globalFlags, f *ingestFlags, args []string) error {
	ctx := cmd.Context()
	if f.format != "text" && f.format != "json" {
		return usagef("--format %q: want text or json", f.format)
	}
	rng, err := f.rng.toRange(time.Now())
	if err != nil {
		return err
	}
	shard, shards, err := parseShard(f.shard)
	if err != nil {
		return err
	}
	src, prefix, err := g.openSource(ctx, args)
	if err != nil {
		return err
	}
	p := g.newProgress("ingest")
	defer p.Done()
	lopts := lake.Options{BatchEvents: f.batch, RetryFailed: f.retryFailed, Compact: !f.noCompact, CompactProgress: p.partitions}
	if shards > 1 {
		lopts.Shard = fmt.Sprintf("%dof%d", shard, shards)
	}
	w, err := lake.Open(ctx, f.lake, lopts)
	if err != nil {
		return withCode(exitFatal, err)
	}
	iopts := ingest.Options{
		Prefix: prefix, Range: rng, Workers: f.workers, Shard: shard, Shards: shards,
		MaxDecompressedBytes: f.maxInflate,
	}
	var ver *teeVerifier
	if f.verify {
		if len(f.publicKeys) == 0 && !f.onlineKeys {
			return usagef("--verify needs --public-keys FILE or --online-keys")
		}
		v, err := g.newVerifier(ctx, src, prefix, rng, f.publicKeys, f.onlineKeys)
		if err != nil {
			return err
		}
		ver = v.(*teeVerifier)
		iopts.Tee = ver.Tee
		iopts.Observe = func(obj ingest.Object) ingest.FileObserver { return completeObs{ver, obj.Key} }
	}
	iopts.Listener = p
	err = ingest.Run(ctx, src, w, iopts)
	var rep *lake.Report
	if err != nil {
		rep = w.Abort()
	} else {
		rep, err = w.Close(ctx)
	}
	p.Done()
	if perr := printIngestReport(g.stdout, f.format, rep); perr != nil && err == nil {
		err = perr
	}
	if rep.CompactionError != "" {
		fmt.Fprintf(g.stderr, "trailscope: compaction stopped (every batch is committed; `trailscope lake compact --lake %s` finishes it): %s\n", f.lake, rep.CompactionError)
	}
	if err != nil {
		return withCode(exitFatal, fmt.Errorf("ingest: %w", err))
	}
	if ver != nil {
		res, err := ver.verify(ctx)
		if err != nil {
			return withCode(exitFatal, err)
		}
		if _, err := integrity.WriteLakeTable(f.lake, res.Files, time.Now()); err != nil {
			return withCode(exitFatal, err)
		}
		if f.format == "text" {
			fmt.Fprintln(g.stdout)
			res.WriteText(g.stdout)
		}
		if code := res.ExitCode(); code == exitFindings {
			return withCode(exitFindings, nil)
		}
	}
	if rep.FilesFailed > 0 || rep.EventsRejected > 0 {
		return withCode(exitPartial, nil)
	}
	return nil
}

func printIngestReport(w io.Writer, format string, r *lake.Report) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "lake %s\n", r.Lake)
	fmt.Fprintf(w, "files:  %d total, %d ingested, %d skipped, %d failed\n", r.FilesTotal, r.FilesIngested, r.FilesSkipped, r.FilesFailed)
	fmt.Fprintf(w, "events: %d in = %d written + %d duplicate + %d rejected\n", r.EventsIn, r.EventsWritten, r.EventsDuplicate, r.EventsRejected)
	fmt.Fprintf(w, "output: %d parquet files in %d batches, %.1fs\n", r.ParquetFiles, r.Batches, r.Seconds)
	if r.Compaction != nil && r.Compaction.FilesMerged > 0 {
		printCompactReport(w, r.Compaction)
	}

	for reason, n := range r.SkipReasons {
		fmt.Fprintf(w, "skipped %d: %s\n", n, reason)
	}
	for _, f := range r.Failures {
		if f.Kind == "record" {
			fmt.Fprintf(w, "REJECTED in %s: %s\n", f.Key, f.Error)
		} else {
			fmt.Fprintf(w, "FAILED: %s\n", f.Error)
		}
	}
	if r.FailuresOmitted > 0 {
		fmt.Fprintf(w, "(%d more failures not listed)\n", r.FailuresOmitted)
	}
	return nil
}
