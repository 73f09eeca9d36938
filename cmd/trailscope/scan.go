package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/detect/report"
	"github.com/trailscope/trailscope/detect/scan"
	"github.com/trailscope/trailscope/ingest/integrity"
	"github.com/trailscope/trailscope/ingest/lake"
)

type scanFlags struct {
	lake       string
	publicKeys []string
	onlineKeys bool
	rng        rangeFlags
	reports    []string
	format     string
	rules      []string
	noBuiltin  bool
	suppress   string
	failOn     string
	noVerify   bool
	noCompact  bool
}

func newScanCmd(g *globalFlags) *cobra.Command {
	f := &scanFlags{}
	c := &cobra.Command{
		Use:   "scan SOURCE --lake DIR",
		Short: "Verify, ingest and detect in one pass, with a coverage map and a report (the main job)",
		Long: `Scan reads each object of SOURCE once: its bytes are hashed for integrity
verification while they are decoded into the lake and matched by the
detection rules. Then it lays logs, digests and logging stops on an
account × region × hour coverage map and reports integrity, gaps and
findings. Like ingest, a re-run only reads what is new.

Exit codes: 0 clean, 1 tampering, loss or findings at or above --fail-on
(default high), 2 something could not be read or verified, 3 usage, 4 fatal.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runScan(cmd.Context(), g, f, args) },
	}
	fl := c.Flags()
	fl.StringVar(&f.lake, "lake", "", "lake folder (created if missing)")
	fl.StringSliceVar(&f.publicKeys, "public-keys", nil, "saved `aws cloudtrail list-public-keys` JSON (offline verification; repeatable)")
	fl.BoolVar(&f.onlineKeys, "online-keys", false, "fetch public keys with CloudTrail ListPublicKeys (online verification)")
	fl.BoolVar(&f.noVerify, "no-verify", false, "skip integrity verification")
	fl.BoolVar(&f.noCompact, "no-compact", false, "leave the small per-batch files (run `trailscope lake compact` later)")
	f.rng.register(fl)
	fl.StringSliceVar(&f.reports, "report", nil, "also write the report to FILE.html, FILE.md or FILE.json (repeatable)")
	fl.StringVar(&f.format, "format", "text", "summary on standard output: text or json")
	fl.StringSliceVar(&f.rules, "rules", nil, "extra Sigma rule files or folders")
	fl.BoolVar(&f.noBuiltin, "no-builtin", false, "leave the built-in rule pack out")
	fl.StringVar(&f.suppress, "suppress", "", "suppression file")
	fl.StringVar(&f.failOn, "fail-on", "high", "exit 1 if a finding at or above this severity exists (or 'none')")
	c.MarkFlagRequired("lake")
	return c
}

func runScan(ctx context.Context, g *globalFlags, f *scanFlags, args []string) error {
	now := time.Now()
	if f.format != "text" && f.format != "json" {
		return usagef("--format %q: want text or json", f.format)
	}
	for _, r := range f.reports {
		switch strings.ToLower(filepath.Ext(r)) {
		case ".html", ".htm", ".md", ".json":
		default:
			return usagef("--report %s: want a .html, .md or .json file", r)
		}
	}
	var failOn detect.Severity = -1
	if f.failOn != "none" {
		var err error
		if failOn, err = detect.ParseSeverity(f.failOn); err != nil {
			return usagef("--fail-on: %v", err)
		}
	}
	rng, err := f.rng.toRange(now)
	if err != nil {
		return err
	}
	var supp *detect.Suppressions
	if f.suppress != "" {
		b, err := os.ReadFile(f.suppress)
		if err != nil {
			return usageError{err}
		}
		if supp, err = detect.ParseSuppressions(f.suppress, b, now); err != nil {
			return usageError{err}
		}
	}
	src, prefix, err := g.openSource(ctx, args)
	if err != nil {
		return err
	}
	eng, err := detect.NewEngine(detect.Options{NoBuiltin: f.noBuiltin, RulePaths: f.rules, Group: true})
	if err != nil {
		if eng == nil {
			return withCode(exitFatal, err)
		}
		fmt.Fprintf(g.stderr, "trailscope: some rules were left out:\n%v\n", err)
	}
	var ver scan.Verifier
	if !f.noVerify {
		if ver, err = g.newVerifier(ctx, src, prefix, rng, f.publicKeys, f.onlineKeys); err != nil {
			return err
		}
	}
	p := g.newProgress("scan")
	res, err := scan.Run(ctx, src, scan.Options{Prefix: prefix, Range: rng, Lake: f.lake, Engine: eng, Verifier: ver,
		Listener: p, Suppress: supp, LakeOpts: lake.Options{Compact: !f.noCompact, CompactProgress: p.partitions},
		OpenDB: func(ctx context.Context, dir string) (scan.DB, error) { return openLake(ctx, dir) }})
	p.Done()
	if err != nil {
		return withCode(exitFatal, err)
	}
	rep := res.Report
	if res.Ingest != nil && res.Ingest.CompactionError != "" {
		fmt.Fprintf(g.stderr, "trailscope: compaction stopped (every batch is committed; `trailscope lake compact --lake %s` finishes it): %s\n", f.lake, res.Ingest.CompactionError)
	}
	if tv, ok := ver.(*teeVerifier); ok && tv.last != nil {
		if _, err := integrity.WriteLakeTable(f.lake, tv.last.Files, time.Now()); err != nil {
			return withCode(exitFatal, err)
		}
	}
	for _, path := range f.reports {
		if err := writeReportFile(path, rep); err != nil {
			return withCode(exitFatal, err)
		}
	}
	if f.format == "json" {
		rep.WriteJSON(g.stdout)
	} else {
		rep.WriteText(g.stdout)
	}
	tampered := rep.Integrity["invalid"] + rep.Integrity["missing"]
	if tampered > 0 {
		return withCode(exitFindings, nil)
	}
	if failOn >= 0 {
		for _, fd := range rep.Findings {
			if fd.Suppressed == "" && fd.Severity >= failOn {
				return withCode(exitFindings, nil)
			}
		}
	}
	if res.Ingest.FilesFailed > 0 || res.Ingest.EventsRejected > 0 || rep.Integrity["error"] > 0 {
		return withCode(exitPartial, nil)
	}
	return nil
}

// writeReportFile writes the report in the format its extension names,
// under a temporary name first.
func writeReportFile(path string, rep *report.Report) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		err = rep.WriteHTML(fh)
	case ".md":
		err = rep.WriteMarkdown(fh)
	default:
		err = rep.WriteJSON(fh)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("report %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
