package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/ingest/lake"
	"github.com/trailscope/trailscope/query"
)

func newLakeCmd(g *globalFlags) *cobra.Command {
	c := &cobra.Command{Use: "lake", Short: "Lake tools: compaction, and DDL for Athena, Trino and Spark"}
	var engine, location, table string
	ddl := &cobra.Command{
		Use:   "ddl --engine athena|trino|spark --location s3://bucket/prefix/events/",
		Short: "Print the DDL that makes the lake's events queryable by another engine",
		Long: `Prints CREATE EXTERNAL TABLE with the lake's full nested schema (from the
same Go type ingest writes), partitioned by account, region and event_date,
stored as Parquet at --location (the lake's events/ folder copied or synced
to S3). Athena gets partition projection; Spark and Trino a partition
repair. See docs/athena.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if location == "" {
				return usagef("--location is required (where the lake's events/ folder is, e.g. s3://bucket/lake/events/)")
			}
			if !strings.Contains(location, "://") {
				return usagef("--location %q: want a URL such as s3://bucket/lake/events/", location)
			}
			s, err := query.DDL(engine, table, location)
			if err != nil {
				return usageError{err}
			}
			_, err = io.WriteString(g.stdout, s)
			return err
		},
	}
	ddl.Flags().StringVar(&engine, "engine", "athena", strings.Join(query.Engines, ", "))
	ddl.Flags().StringVar(&location, "location", "", "s3://bucket/prefix/events/")
	ddl.Flags().StringVar(&table, "table", "cloudtrail_lake", "table name")
	c.AddCommand(ddl, newCompactCmd(g))
	return c
}

func newCompactCmd(g *globalFlags) *cobra.Command {
	var dir, format string
	var rows int64
	c := &cobra.Command{
		Use:   "compact --lake DIR",
		Short: "Merge each partition's small files into large ones sorted by eventTime",
		Long: `Ingest writes one file per partition per batch and compacts the partitions
it wrote when it finishes (unless --no-compact). compact does the same for
the whole lake: in each account/region/event_date partition, files under
half of --target-rows rows are merged into files of up to --target-rows
rows. Each merge is committed in the manifest before the files it replaces
are deleted, so a killed compaction loses nothing and trailscope query
never sees a row twice. Exit codes: 0 done, 3 usage, 4 fatal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usagef("--format %q: want text or json", format)
			}
			p := g.newProgress("compact")
			rep, err := lake.Compact(cmd.Context(), dir, lake.CompactOptions{TargetRows: rows, Progress: p.partitions})
			p.Done()
			if err != nil {
				return withCode(exitFatal, err)
			}
			if format == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printCompactReport(g.stdout, rep)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "lake", "", "lake folder")
	c.Flags().Int64Var(&rows, "target-rows", lake.DefaultCompactRows, "most rows in a compacted file")
	c.Flags().StringVar(&format, "format", "text", "report format: text or json")
	c.MarkFlagRequired("lake")
	return c
}

func printCompactReport(w io.Writer, r *lake.CompactReport) {
	fmt.Fprintf(w, "compacted: %d partitions examined, %d files merged into %d (%d by copying sorted runs), %d rows, %.1fs\n",
		r.Partitions, r.FilesMerged, r.FilesWritten, r.Concatenated, r.Rows, r.Seconds)
	if len(r.Foreign) > 0 {
		fmt.Fprintf(w, "left alone: %d files written by another version (different schema)\n", len(r.Foreign))
	}
}
