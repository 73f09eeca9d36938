package integrity

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// NewAWSCLIWriter reproduces `aws cloudtrail validate-logs --verbose`
// lines and summary for the same files (DIGEST.md §3.2–3.3): problems on
// errw, valid lines and the summary on w. Files the CLI would not report
// (unreferenced, unverified, synthetic missing hours) are left out.
//
// Lines come in the CLI's order: digests newest first (by key: per
// chain's folder, then time), each valid digest followed by its log files
// in the digest's order, backfill digests in a second pass; the blank
// lines follow the CLI's rule (an error after a valid line is preceded by
// one, and so is the summary). For the CLI's verdicts where trailscope is
// stricter, verify with Options.Compat (--compat): a digest only
// trailscope rejects keeps its CLI line, but its logs are not checked.
//
// Results come oldest first and the CLI prints newest first, so each
// digest's block (its line and its logs' lines) goes to a temporary file
// as soon as it is complete, indexed by day folder (a few bytes per chain
// and day, not per file), and Close prints them in the CLI's order.
func NewAWSCLIWriter(w, errw io.Writer, trailARN string, start, end time.Time) Writer {
	return &awscliWriter{w: w, errw: errw, arn: trailARN, start: start, end: end,
		logsOf: map[string][]cliLog{}, index: map[cliGroup][]segment{}}
}

type awscliWriter struct {
	w, errw    io.Writer
	arn        string
	start, end time.Time
	logsOf     map[string][]cliLog // by the digest they are listed in, until it comes
	spool      *os.File
	size       int64
	index      map[cliGroup][]segment
}

// cliBlock is one digest's lines: the digest and, if valid, its logs.
type cliBlock struct {
	Key, Bucket, CLI   string
	Backfill, Starting bool
	Start, Older       time.Time
	Logs               []cliLog
}

type cliLog struct {
	Bucket, Key, CLI string
	Idx              int
}

// cliGroup: the digests of one day folder, standard or backfill.
type cliGroup struct {
	backfill bool
	folder   string
}

type segment struct{ off, n int64 }

func (a *awscliWriter) Write(fs []FileResult) error {
	for _, f := range fs {
		if f.Kind != "log" || f.CLI == "" || strings.HasPrefix(f.Key, "(") {
			continue
		}
		a.logsOf[f.via] = append(a.logsOf[f.via], cliLog{f.Bucket, f.Key, f.CLI, f.viaIdx})
		for _, x := range f.also { // the CLI checks it once per digest
			a.logsOf[x.via] = append(a.logsOf[x.via], cliLog{f.Bucket, f.Key, x.cli, x.idx})
		}
	}
	groups := map[cliGroup][]cliBlock{}
	for _, f := range fs {
		if f.Kind != "digest" || f.CLI == "" || strings.HasPrefix(f.Key, "(") {
			continue
		}
		b := cliBlock{Key: f.Key, Bucket: f.Bucket, CLI: f.CLI, Backfill: f.Backfill, Starting: f.starting, Start: f.Start, Older: f.older}
		if f.CLI == "valid" {
			b.Logs = a.logsOf[f.Key]
			sort.SliceStable(b.Logs, func(i, j int) bool { return b.Logs[i].Idx < b.Logs[j].Idx })
		}
		delete(a.logsOf, f.Key)
		g := cliGroup{f.Backfill, f.Key[:strings.LastIndexByte(f.Key, '/')+1]}
		groups[g] = append(groups[g], b)
	}
	for g, blocks := range groups {
		if a.spool == nil {
			f, err := os.CreateTemp("", "trailscope-awscli-*")
			if err != nil {
				return fmt.Errorf("awscli output: %w", err)
			}
			a.spool = f
		}
		b, err := json.Marshal(blocks)
		if err != nil {
			return err
		}
		if _, err := a.spool.Write(b); err != nil {
			return fmt.Errorf("awscli output: %w", err)
		}
		a.index[g] = append(a.index[g], segment{a.size, int64(len(b))})
		a.size += int64(len(b))
	}
	return nil
}

func (a *awscliWriter) Close(r *Result) error {
	if a.spool != nil {
		defer os.Remove(a.spool.Name())
		defer a.spool.Close()
	}
	const layout = "2006-01-02T15:04:05Z"
	w, errw := a.w, a.errw
	fmt.Fprintf(w, "Validating log files for trail %s between %s and %s\n\n", a.arn, a.start.UTC().Format(layout), a.end.UTC().Format(layout))
	groups := make([]cliGroup, 0, len(a.index))
	for g := range a.index {
		groups = append(groups, g)
	}
	// Standard digests, then backfill; newest first: within a chain's
	// folder, keys sort by time.
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].backfill != groups[j].backfill {
			return !groups[i].backfill
		}
		return groups[i].folder > groups[j].folder
	})
	var dv, dt, bv, bt, lv, lt int
	lastDouble := true // the CLI's _is_last_status_double_space
	status := func(backfill bool, kind, bucket, key, cli string) {
		prefix := ""
		if backfill {
			prefix = "(backfill) "
		}
		line := fmt.Sprintf("%s%s\ts3://%s/%s\t%s", prefix, kind, bucket, key, cli)
		if cli == "valid" {
			fmt.Fprintln(w, line)
			lastDouble = false
			return
		}
		if !lastDouble {
			fmt.Fprintln(errw)
		}
		fmt.Fprintf(errw, "%s\n\n", line)
		lastDouble = true
	}
	for _, g := range groups {
		var blocks []cliBlock
		for _, s := range a.index[g] {
			buf := make([]byte, s.n)
			if _, err := a.spool.ReadAt(buf, s.off); err != nil {
				return fmt.Errorf("awscli output: %w", err)
			}
			var bs []cliBlock
			if err := json.Unmarshal(buf, &bs); err != nil {
				return fmt.Errorf("awscli output: %w", err)
			}
			blocks = append(blocks, bs...)
		}
		sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].Key > blocks[j].Key })
		for _, d := range blocks {
			valid := d.CLI == "valid"
			switch {
			case d.Backfill && valid:
				bv++
			case d.Backfill:
				bt++
			case valid:
				dv++
			default:
				dt++
			}
			status(d.Backfill, "Digest file", d.Bucket, d.Key, d.CLI)
			if !valid {
				continue
			}
			for _, f := range d.Logs {
				lt++
				if f.CLI == "valid" {
					lv++
				}
				status(false, "Log file", f.Bucket, f.Key, f.CLI)
			}
			if d.Starting && !d.Older.IsZero() {
				// The chain breaks here: the CLI names the gap to the next
				// older digest in its listing.
				prefix := ""
				if d.Backfill {
					prefix = "(backfill) "
				}
				if !lastDouble {
					fmt.Fprintln(errw)
				}
				fmt.Fprintf(errw, "%sNo log files were delivered by CloudTrail between %s and %s\n\n", prefix,
					d.Older.UTC().Format(layout), d.Start.UTC().Format(layout))
				lastDouble = true
			}
		}
	}
	dt, bt = dt+dv, bt+bv
	if !lastDouble {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Results requested for %s to %s\n", a.start.UTC().Format(layout), a.end.UTC().Format(layout))
	if dt+bt == 0 {
		fmt.Fprintln(w, "No digests found")
		return nil
	}
	if r.FoundStart.IsZero() {
		fmt.Fprintln(w, "No valid digests found in range")
	} else {
		fs, fe := r.FoundStart, r.FoundEnd
		if fs.Before(a.start) {
			fs = a.start
		}
		if !a.end.IsZero() && fe.After(a.end) {
			fe = a.end
		}
		fmt.Fprintf(w, "Results found for %s to %s:\n", fs.UTC().Format(layout), fe.UTC().Format(layout))
	}
	ratio := func(valid, total int, name string) {
		if total == 0 {
			return
		}
		fmt.Fprintf(w, "\n%d/%d %s files valid", valid, total, name)
		if total > valid {
			fmt.Fprintf(w, ", %d/%d %s files INVALID", total-valid, total, name)
		}
	}
	ratio(dv, dt, "digest")
	ratio(bv, bt, "backfill digest")
	ratio(lv, lt, "log")
	_, err := fmt.Fprintln(w)
	return err
}
