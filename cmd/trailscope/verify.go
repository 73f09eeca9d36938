package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/ingest/integrity"
)

func newVerifyCmd(g *globalFlags) *cobra.Command {
	var keyFiles []string
	var format, trailARN, trail string
	var compat, noVersions, onlineKeys bool
	var workers int
	var rng rangeFlags
	c := &cobra.Command{
		Use:   "verify SOURCE [--public-keys FILE]",
		Short: "Verify CloudTrail digests and log files (validate-logs verdicts, and more)",
		Long: `Verify checks every digest chain and log file of SOURCE (s3://bucket[/prefix]
or a local mirror): digest signatures over CloudTrail's signing string, the
previous-digest links, every missing hour, log hashes over the uncompressed
bytes, log files no digest lists, and the tail of each chain.

Public keys: online by default, from CloudTrail ListPublicKeys in each
digest's source region (standard credential chain, --profile; needs
cloudtrail:ListPublicKeys). Offline: --public-keys FILE with saved
'aws cloudtrail list-public-keys' output (CLI v1, CLI v2 or the
documentation's shape); REGION=FILE restricts a file's keys to digests of
that source region. A key file or response whose fingerprints are not the
MD5 of their keys is refused.

Strict by default: key validity windows, data after a digest's gzip stream
and half-null chain fields are INVALID; --compat gives the AWS CLI's
verdicts for those. In a versioned bucket, the older version of a tampered
or deleted file that still matches is named (--no-versions to skip).

--format text (default), json (one object per file, then a summary), or
awscli (the lines and summary of aws cloudtrail validate-logs --verbose).
Exit codes: 0 all valid, 1 tampering or loss found, 2 could not verify
everything, 3 usage, 4 fatal.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if format != "text" && format != "json" && format != "awscli" {
				return usagef("--format %q: want text, json or awscli", format)
			}
			r, err := rng.toRange(time.Now())
			if err != nil {
				return err
			}
			keys, err := loadKeys(keyFiles)
			if err != nil {
				return err
			}
			var online integrity.KeyProvider
			if len(keyFiles) == 0 || onlineKeys {
				if online, err = g.cloudTrailKeys(ctx); err != nil {
					return withCode(exitFatal, err)
				}
			}
			src, prefix, err := g.openSource(ctx, args)
			if err != nil {
				return err
			}
			// Results are written as each day is verified (memory does not
			// grow with the range); awscli lines are printed newest first
			// at the end, as the CLI does.
			var out integrity.Writer
			switch format {
			case "json":
				out = integrity.NewJSONWriter(g.stdout)
			case "awscli":
				out = integrity.NewAWSCLIWriter(g.stdout, g.stderr, trailARN, r.Start, r.End)
			default:
				out = integrity.NewTextWriter(g.stdout)
			}
			res, err := integrity.Stream(ctx, src, integrity.Options{Prefix: prefix, Range: r, Keys: keys,
				KeyProvider: online, Trail: trail, Compat: compat, NoVersions: noVersions, Workers: workers}, out.Write)
			if err != nil {
				return withCode(exitFatal, err)
			}
			if err := out.Close(res); err != nil {
				return withCode(exitFatal, err)
			}
			if code := res.ExitCode(); code != 0 {
				return withCode(code, nil)
			}
			return nil
		},
	}
	c.Flags().StringSliceVar(&keyFiles, "public-keys", nil, "saved `aws cloudtrail list-public-keys` output, FILE or REGION=FILE (repeatable)")
	c.Flags().BoolVar(&onlineKeys, "online-keys", false, "also fetch keys with ListPublicKeys when --public-keys is given")
	c.Flags().StringVar(&format, "format", "text", "text, json or awscli")
	c.Flags().StringVar(&trail, "trail", "", "verify only the digests of this trail name")
	c.Flags().StringVar(&trailARN, "trail-arn", "arn:aws:cloudtrail:us-east-1:000000000000:trail/trail", "trail ARN shown by --format awscli")
	c.Flags().BoolVar(&compat, "compat", false, "the AWS CLI's verdicts where trailscope is stricter")
	c.Flags().BoolVar(&noVersions, "no-versions", false, "do not search older object versions in versioned buckets")
	c.Flags().IntVar(&workers, "workers", 32, "concurrent reads")
	rng.register(c.Flags())
	return c
}

// loadKeys reads key files; a file whose fingerprints do not match its
// keys is refused.
func loadKeys(files []string) (integrity.KeySet, error) {
	var all []integrity.PublicKey
	for _, f := range files {
		region := ""
		if i := strings.Index(f, "="); i > 0 && !strings.ContainsAny(f[:i], `/\`) {
			region, f = f[:i], f[i+1:]
		}
		fh, err := os.Open(f)
		if err != nil {
			return nil, usageError{err}
		}
		ks, err := integrity.ParsePublicKeys(fh, region)
		fh.Close()
		if err != nil {
			return nil, withCode(exitFatal, fmt.Errorf("%s: %w", f, err))
		}
		all = append(all, ks...)
	}
	return integrity.NewKeySet(all...), nil
}
