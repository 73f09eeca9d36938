package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/ingest/integrity"
)

func newMirrorCmd(g *globalFlags) *cobra.Command {
	var rng rangeFlags
	c := &cobra.Command{
		Use:   "mirror s3://bucket[/prefix] DIR",
		Short: "Copy logs and digests to a local evidence folder, with S3 metadata sidecars and SHA-256 sums",
		Long: `Mirror copies a bucket range to DIR resumably, keeping each object's S3
user metadata (the digest signatures), ETag, VersionId and LastModified in
DIR/.trailscope/meta/KEY.json, and writes DIR/.trailscope/SHA256SUMS
(chain of custody). 'trailscope verify DIR --public-keys FILE' then works
offline with the same verdicts. Exit codes: 0 ok, 2 some objects failed.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(args[0], "s3://") {
				return usagef("mirror copies from s3://bucket[/prefix]")
			}
			r, err := rng.toRange(time.Now())
			if err != nil {
				return err
			}
			src, prefix, err := g.openSource(cmd.Context(), args[:1])
			if err != nil {
				return err
			}
			res, err := integrity.Mirror(cmd.Context(), src, prefix, r, args[1], 0)
			if err != nil {
				return withCode(exitFatal, err)
			}
			fmt.Fprintf(g.stdout, "copied %d objects (%s), skipped %d already copied, %d failed; sums in %s/.trailscope/SHA256SUMS\n",
				res.Copied, humanBytes(res.Bytes), res.Skipped, res.Failed, args[1])
			for _, f := range res.Failures {
				fmt.Fprintln(g.stderr, "trailscope: mirror:", f)
			}
			if res.Failed > 0 {
				return withCode(exitPartial, nil)
			}
			return nil
		},
	}
	rng.register(c.Flags())
	return c
}
