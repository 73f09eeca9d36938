package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/query"
)

func newQueryCmd(g *globalFlags) *cobra.Command {
	var lake, format, output, preset string
	var args []string
	var allowWrites bool
	c := &cobra.Command{
		Use:   `query --lake DIR ("SQL" | --preset NAME [--arg k=v ...])`,
		Short: "Run one SQL query (or an investigation preset) over the lake",
		Long: `Views: events (the lake; Hive partitions account, region, event_date as
VARCHAR), findings, integrity, events_verified and files (the ingest
manifest) when present. The lake is read-only unless --allow-writes.
Presets: ` + strings.Join(query.PresetNames(), ", ") + ` (docs/query.md).
Formats: table (fits the terminal), csv, json, jsonl, markdown, parquet
(parquet needs --output). Exit codes: 0 ok, 3 usage, 4 query error.`,
		Example: `  trailscope query --lake lake "SELECT eventName, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"
  trailscope query --lake lake --preset timeline --arg who=AKIAIOSFODNN7EXAMPLE --format csv -o key.csv`,
		RunE: func(cmd *cobra.Command, pos []string) error {
			ctx := cmd.Context()
			if lake == "" {
				return usagef("--lake is required")
			}
			if !validFormat(format) {
				return usagef("--format %q: want one of %s", format, strings.Join(query.Formats, ", "))
			}
			var stmt string
			var vals []any
			switch {
			case preset != "" && len(pos) == 0:
				var err error
				if stmt, vals, err = query.BindPreset(preset, args); err != nil {
					return usageError{err}
				}
			case preset == "" && len(pos) == 1:
				if len(args) > 0 {
					return usagef("--arg goes with --preset")
				}
				stmt = pos[0]
			default:
				return usagef("give one SQL statement or --preset NAME")
			}
			opts := query.Options{AllowWrites: allowWrites, Sandbox: true}
			if format == "parquet" {
				if output == "" {
					return usagef("--format parquet needs --output FILE")
				}
				opts.WritableFiles = []string{output}
			}
			db, err := query.Open(ctx, lake, opts)
			if err != nil {
				return withCode(exitFatal, err)
			}
			defer db.Close()
			warnUncommitted(g, db)
			if format == "parquet" {
				if len(vals) > 0 {
					return usagef("--format parquet does not take presets with parameters; use --format jsonl or csv")
				}
				if err := db.CopyParquet(ctx, stmt, output); err != nil {
					return withCode(exitFatal, err)
				}
				return nil
			}
			res, err := db.Run(ctx, stmt, vals...)
			if err != nil {
				return withCode(exitFatal, err)
			}
			var w io.Writer = g.stdout
			width := termWidth(g.stdout)
			if !isTerminal(g.stdout) {
				width = 0
			}
			if output != "" {
				fh, err := os.Create(output)
				if err != nil {
					return withCode(exitFatal, err)
				}
				defer fh.Close()
				w, width = fh, 0
			}
			if err := res.Write(w, format, width); err != nil {
				return withCode(exitFatal, err)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&lake, "lake", "", "lake folder")
	fl.StringVar(&format, "format", "table", "table, csv, json, jsonl, markdown or parquet")
	fl.StringVarP(&output, "output", "o", "", "write results to this file")
	fl.StringVar(&preset, "preset", "", "run an investigation preset ("+strings.Join(query.PresetNames(), ", ")+")")
	fl.StringArrayVar(&args, "arg", nil, "preset parameter key=value (repeatable)")
	fl.BoolVar(&allowWrites, "allow-writes", false, "allow statements that write files (COPY ... TO, ATTACH, ...)")
	return c
}

func validFormat(f string) bool {
	for _, x := range query.Formats {
		if x == f {
			return true
		}
	}
	return false
}

// warnUncommitted says when the lake has batches not committed yet: the
// views leave them out.
func warnUncommitted(g *globalFlags, db *query.DB) {
	if db.Uncommitted && !g.quiet {
		fmt.Fprintln(g.stderr, "trailscope: note: the lake has Parquet files of uncommitted batches (an ingest is running, or was killed); they are left out")
	}
}
