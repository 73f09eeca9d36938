package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/sigma"
)

func newSigmaCmd(g *globalFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "sigma",
		Short: "Sigma rule tooling: check, convert to DuckDB SQL, test against events",
	}
	c.AddCommand(newSigmaCheckCmd(g), newSigmaConvertCmd(g), newSigmaTestCmd(g))
	return c
}

func newSigmaCheckCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "check PATH...",
		Short: "Validate rules; print every problem as file:line:col: code: message (exit 1 on any)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			docs, err := sigma.LoadFiles(args...)
			if err == nil {
				err = sigma.Check(docs, sigma.CompileOptions{})
			}
			if err != nil {
				fmt.Fprintln(g.stdout, err)
				return withCode(exitFindings, fmt.Errorf("%d rule documents checked, problems found", len(docs)))
			}
			fmt.Fprintf(g.stdout, "%d rule documents OK\n", len(docs))
			return nil
		},
	}
}

func newSigmaConvertCmd(g *globalFlags) *cobra.Command {
	var target, table string
	c := &cobra.Command{
		Use:   "convert --target duckdb PATH...",
		Short: "Print the DuckDB SQL of each rule (over the lake's events view)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target != "duckdb" {
				return usagef("--target %q: only duckdb", target)
			}
			docs, err := sigma.LoadFiles(args...)
			qs, cerr := sigma.ConvertSQL(docs, sigma.SQLOptions{Table: table})
			for _, q := range qs {
				fmt.Fprintf(g.stdout, "-- %s\n-- id: %s  level: %s  author: %s\n%s;\n\n", oneLine(q.Title), q.ID, q.Level, oneLine(q.Author), q.SQL)
			}
			if err == nil {
				err = cerr
			}
			if err != nil {
				fmt.Fprintln(g.stderr, err)
				return withCode(exitFindings, nil)
			}
			return nil
		},
	}
	c.Flags().StringVar(&target, "target", "duckdb", "SQL dialect (duckdb)")
	c.Flags().StringVar(&table, "table", "events", "table or view to query")
	return c
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func newSigmaTestCmd(g *globalFlags) *cobra.Command {
	var events []string
	var format string
	c := &cobra.Command{
		Use:   "test RULES... --events FILE...",
		Short: "Run rules over event files (arrays, {\"Records\"}, JSON lines, gzipped or not) and report matches",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(events) == 0 {
				return usagef("--events: give at least one event file")
			}
			docs, err := sigma.LoadFiles(args...)
			if err != nil {
				fmt.Fprintln(g.stderr, err)
			}
			rs, rerr := sigma.NewRuleSet(docs, sigma.CompileOptions{})
			if rerr != nil {
				fmt.Fprintln(g.stderr, rerr)
			}
			if rs == nil {
				return withCode(exitFatal, fmt.Errorf("no usable rules"))
			}
			rep, err := sigma.RunFiles(rs, events...)
			if err != nil {
				return withCode(exitFatal, err)
			}
			type hit struct {
				Rule    string `json:"rule"`
				RuleID  string `json:"rule_id"`
				EventID string `json:"event_id"`
				File    string `json:"file"`
				Record  int    `json:"record"`
			}
			var hits []hit
			for _, f := range rep.Findings {
				hits = append(hits, hit{f.Rule.Title, f.Rule.ID, f.EventID, f.File, f.Record})
			}
			if format == "json" {
				json.NewEncoder(g.stdout).Encode(map[string]any{"events": rep.Events, "matches": hits, "correlations": len(rep.Correlations), "rejected": len(rep.Rejected)})
			} else {
				for _, h := range hits {
					fmt.Fprintf(g.stdout, "%s  %s  %s:%d  %s\n", h.RuleID, h.EventID, h.File, h.Record, h.Rule)
				}
				for _, c := range rep.Correlations {
					fmt.Fprintf(g.stdout, "correlation %s: %d events %v\n", c.Correlation.Title, c.Count, c.Group)
				}
				fmt.Fprintf(g.stdout, "%d events, %d matches, %d correlation results, %d records rejected\n", rep.Events, len(hits), len(rep.Correlations), len(rep.Rejected))
			}
			for _, r := range rep.Rejected {
				fmt.Fprintln(g.stderr, "rejected:", r.Error())
			}
			if len(rep.Rejected) > 0 {
				return withCode(exitPartial, nil)
			}
			return nil
		},
	}
	c.Flags().StringSliceVar(&events, "events", nil, "event files (repeatable)")
	c.Flags().StringVar(&format, "format", "text", "text or json")
	return c
}
