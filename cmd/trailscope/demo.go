package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/ingest/synth"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	var out string
	var hours, perHour int
	var seed uint64
	var sample bool
	c := &cobra.Command{
		Use:   "demo --out DIR",
		Short: "Write a realistic sample CloudTrail archive (organization, regions, planted attacks, a logging gap)",
		Long: `Demo writes a bucket tree of gzipped CloudTrail log files, as a trail
delivers them, under DIR, plus DIR/../planted.json with the planted attacks
(ground truth). Use it to try trailscope without an AWS account:

  trailscope demo --out /tmp/demo/bucket
  trailscope scan /tmp/demo/bucket --lake /tmp/demo/lake --report /tmp/demo/report.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			o := synth.SampleOptions(out)
			if !sample {
				o.Hours, o.EventsPerHour, o.Seed = hours, perHour, seed
				o.Start = time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(hours) * time.Hour)
				o.TamperLog = o.Start.Add(2 * time.Hour)
				o.DeleteDigestAt = o.Start.Add(3 * time.Hour)
			}
			res, err := synth.Generate(cmd.Context(), o)
			if err != nil {
				return withCode(exitFatal, err)
			}
			parent := filepath.Dir(filepath.Clean(out))
			gt := filepath.Join(parent, "planted.json")
			b, _ := json.MarshalIndent(map[string]any{"planted": res.Planted, "tampered": res.Tampered}, "", "  ")
			if err := os.WriteFile(gt, b, 0o644); err != nil {
				return withCode(exitFatal, err)
			}
			keys := filepath.Join(parent, "public-keys.json")
			kf, err := os.Create(keys)
			if err != nil {
				return withCode(exitFatal, err)
			}
			err = synth.WritePublicKeys(kf, o.SigningKey, o.Start.Add(-24*time.Hour), o.Start.Add(60*24*time.Hour))
			kf.Close()
			if err != nil {
				return withCode(exitFatal, err)
			}
			fmt.Fprintf(g.stdout, "wrote %d events in %d log files and %d signed digests under %s\n%d planted attacks and %d tampered files in %s; public key in %s\n",
				res.Events, len(res.Logs), len(res.Digests), out, len(res.Planted), len(res.Tampered), gt, keys)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "folder for the bucket tree")
	c.Flags().IntVar(&hours, "hours", 24, "hours of logs, ending now")
	c.Flags().IntVar(&perHour, "events-per-hour", 200, "events per hour per account and region")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed (same seed, same archive)")
	c.Flags().BoolVar(&sample, "sample", false, "write exactly the committed sample archive (testdata/sample)")
	return c
}
