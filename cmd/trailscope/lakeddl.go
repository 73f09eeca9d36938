package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/query"
)

func newLakeCmd(g *globalFlags) *cobra.Command {
	c := &cobra.Command{Use: "lake", Short: "Lake tools: DDL for Athena, Trino and Spark"}
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
	c.AddCommand(ddl)
	return c
}
