package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/ingest"
)

type detectFlags struct {
	lake           string
	rules          []string
	noBuiltin      bool
	only, exclude  []string
	since, until   string
	format         string
	output         string
	suppress       string
	showSuppressed bool
	state          string
	failOn         string
	notify         string
	writeLake      bool
	noGroup        bool
	rng            rangeFlags
}

func newDetectCmd(g *globalFlags) *cobra.Command {
	f := &detectFlags{}
	c := &cobra.Command{
		Use:   "detect [SOURCE...] [--lake DIR]",
		Short: "Run Sigma rules (built-in pack plus --rules) over a lake or straight over a source",
		Long: `With --lake DIR and no SOURCE, rules run as DuckDB SQL over the lake.
With a SOURCE (s3://bucket[/prefix], a folder, or files), rules run as the
Go matcher while the source is streamed; no lake is needed. Both give the
same findings for the same events.

Exit codes: 0 no finding at or above --fail-on (or no --fail-on), 1 findings
at or above --fail-on, 2 some input could not be read, 3 usage, 4 fatal.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDetect(cmd.Context(), g, f, args) },
	}
	fl := c.Flags()
	fl.StringVar(&f.lake, "lake", "", "run over this lake (DuckDB SQL)")
	fl.StringSliceVar(&f.rules, "rules", nil, "extra Sigma rule files or folders (repeatable)")
	fl.BoolVar(&f.noBuiltin, "no-builtin", false, "leave the built-in rule pack out")
	fl.StringSliceVar(&f.only, "only", nil, "only rules with these ids, names or tags (e.g. attack.defense-evasion)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "leave out rules with these ids, names or tags")
	fl.StringVar(&f.since, "since", "", "only events at or after this time (RFC 3339, date, or duration ago: 24h, 7d)")
	fl.StringVar(&f.until, "until", "", "only events before this time")
	fl.StringVar(&f.format, "format", "table", "table, jsonl, json, asff, ocsf or sarif")
	fl.StringVarP(&f.output, "output", "o", "", "write findings to this file instead of standard output")
	fl.StringVar(&f.suppress, "suppress", "", "suppression file (YAML; every entry needs a reason)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "show suppressed findings too")
	fl.StringVar(&f.state, "state", "", "scheduled mode: state file; examine only lake batches since the last run (needs --lake)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 if a finding at or above this severity exists (informational, low, medium, high, critical; default or 'none': never)")
	fl.StringVar(&f.notify, "notify", "", "post each new finding to this Slack-compatible webhook URL")
	fl.BoolVar(&f.writeLake, "write-lake", false, "also store the findings in the lake (findings table)")
	fl.BoolVar(&f.noGroup, "no-group", false, "one finding per matching event (default: repeats are grouped)")
	f.rng.register(fl)
	return c
}

func runDetect(ctx context.Context, g *globalFlags, f *detectFlags, args []string) error {
	now := time.Now()
	since, err := parseWhen(f.since, now)
	if err != nil {
		return usagef("--since: %v", err)
	}
	until, err := parseWhen(f.until, now)
	if err != nil {
		return usagef("--until: %v", err)
	}
	if (f.lake == "") == (len(args) == 0) {
		return usagef("give either --lake DIR or a SOURCE (not both)")
	}
	if f.state != "" && f.lake == "" {
		return usagef("--state needs --lake")
	}
	var failOn detect.Severity = -1
	if f.failOn != "" && f.failOn != "none" {
		if failOn, err = detect.ParseSeverity(f.failOn); err != nil {
			return usagef("--fail-on: %v", err)
		}
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
	eng, err := detect.NewEngine(detect.Options{NoBuiltin: f.noBuiltin, RulePaths: f.rules, Only: f.only, Exclude: f.exclude,
		Group: !f.noGroup, Since: since, Until: until})
	if err != nil {
		if eng == nil {
			return withCode(exitFatal, err)
		}
		fmt.Fprintf(g.stderr, "trailscope: some rules were left out:\n%v\n", err)
	}
	partial := false
	var findings []detect.Finding
	var newOnly bool
	if f.lake != "" {
		db, err := openLake(ctx, f.lake)
		if err != nil {
			return withCode(exitFatal, err)
		}
		defer db.Close()
		if f.state != "" {
			st, err := detect.LoadState(f.state)
			if err != nil {
				return withCode(exitFatal, err)
			}
			res, err := eng.RunScheduled(ctx, db, f.lake, "events", st)
			if err != nil {
				return withCode(exitFatal, err)
			}
			findings, newOnly = res.Findings, true
			defer func() {
				if err := st.Save(f.state); err != nil {
					fmt.Fprintln(g.stderr, "trailscope: save state:", err)
				}
			}()
			if !g.quiet {
				fmt.Fprintf(g.stderr, "examined %d new batches (%d files)\n", res.Batches, res.Files)
			}
		} else if findings, err = eng.RunSQL(ctx, db, "events"); err != nil {
			return withCode(exitFatal, err)
		}
		if f.writeLake {
			if _, err := detect.WriteLake(ctx, db, f.lake, findings); err != nil {
				return withCode(exitFatal, err)
			}
		}
	} else {
		src, prefix, err := g.openSource(ctx, args)
		if err != nil {
			return err
		}
		rng, err := f.rng.toRange(now)
		if err != nil {
			return err
		}
		stream := eng.NewStream()
		sink := &ingest.CountSink{}
		p := g.newProgress("detect")
		err = ingest.Run(ctx, src, sink, ingest.Options{Prefix: prefix, Range: rng, Observe: stream.Observe, Listener: p})
		p.Done()
		if err != nil {
			return withCode(exitFatal, err)
		}
		for _, fr := range sink.Failures {
			fmt.Fprintf(g.stderr, "trailscope: skipped: %s\n", fr.Reason)
		}
		partial = sink.Failed > 0 || sink.Rejected > 0
		if findings, err = stream.Findings(); err != nil {
			return withCode(exitFatal, err)
		}
	}
	_ = newOnly
	nsupp := supp.Apply(findings)
	var notifier *detect.Notifier
	if f.notify != "" {
		notifier = detect.NewNotifier(f.notify, detect.NotifierOptions{})
		for _, fd := range findings {
			if fd.Suppressed == "" {
				notifier.Send(fd)
			}
		}
	}
	var out io.Writer = g.stdout
	if f.output != "" {
		fh, err := os.Create(f.output)
		if err != nil {
			return usageError{err}
		}
		defer fh.Close()
		out = fh
	}
	if err := detect.Write(out, f.format, findings, detect.WriteOptions{ShowSuppressed: f.showSuppressed, Width: termWidth(g.stdout), Region: g.region}); err != nil {
		return usageError{err}
	}
	if notifier != nil {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := notifier.Close(wctx); err != nil {
			fmt.Fprintln(g.stderr, "trailscope:", err)
			partial = true
		}
		cancel()
	}
	if nsupp > 0 && !g.quiet && f.format != "table" {
		fmt.Fprintf(g.stderr, "%d findings suppressed (--show-suppressed to see them)\n", nsupp)
	}
	if failOn >= 0 {
		for _, fd := range findings {
			if fd.Suppressed == "" && fd.Severity >= failOn {
				return withCode(exitFindings, nil)
			}
		}
	}
	if partial {
		return withCode(exitPartial, nil)
	}
	return nil
}
