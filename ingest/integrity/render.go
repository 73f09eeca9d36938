package integrity

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/trailscope/trailscope/ingest/keyname"
)

// ExitCode is the documented exit status for a result: 0 all valid,
// 1 tampering or loss found, 2 something could not be verified.
func (r *Result) ExitCode() int {
	if r.Counts[Invalid]+r.Counts[Missing]+r.Counts[Unreferenced] > 0 {
		return 1
	}
	if r.Counts[Error]+r.Counts[Unverified] > 0 || len(r.Files) == 0 {
		return 2
	}
	return 0
}

// WriteJSON writes one JSON object per file, then one summary object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, f := range r.Files {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return enc.Encode(map[string]any{"summary": true, "counts": r.Counts, "chains": r.Chains, "files": len(r.Files),
		"found_start": r.FoundStart, "found_end": r.FoundEnd, "exit_code": r.ExitCode()})
}

// WriteText writes a human summary: totals per chain, then every problem.
func (r *Result) WriteText(w io.Writer) error {
	var chains []string
	for c := range r.Chains {
		chains = append(chains, c)
	}
	sort.Strings(chains)
	per := map[string]map[Status]int{}
	for _, f := range r.Files {
		k := f.Account + "/" + f.Region
		if per[k] == nil {
			per[k] = map[Status]int{}
		}
		per[k][f.Status]++
	}
	fmt.Fprintf(w, "%-30s %6s %8s %8s %8s %12s %11s %6s\n", "chain", "valid", "invalid", "missing", "unverif.", "unreferenced", "digests", "errors")
	for _, c := range chains {
		p := per[c]
		fmt.Fprintf(w, "%-30s %6d %8d %8d %8d %12d %11d %6d\n", c, p[Valid], p[Invalid], p[Missing], p[Unverified], p[Unreferenced], r.Chains[c], p[Error])
	}
	problems := 0
	for _, f := range r.Files {
		if f.Status == Valid && f.Reason == "" {
			continue
		}
		if problems == 0 {
			fmt.Fprintln(w)
		}
		problems++
		label := strings.ToUpper(string(f.Status))
		if f.Status == Valid {
			label = "NOTE"
		}
		fmt.Fprintf(w, "%-12s %-6s %s\n             %s\n", label, f.Kind, f.Key, f.Reason)
	}
	fmt.Fprintf(w, "\n%d files: %d valid, %d invalid, %d missing, %d unverified, %d unreferenced, %d errors", len(r.Files),
		r.Counts[Valid], r.Counts[Invalid], r.Counts[Missing], r.Counts[Unverified], r.Counts[Unreferenced], r.Counts[Error])
	if n := r.Counts[Pending]; n > 0 {
		fmt.Fprintf(w, ", %d pending (the open hour)", n)
	}
	fmt.Fprintln(w)
	return nil
}

// WriteAWSCLI reproduces `aws cloudtrail validate-logs --verbose` lines
// and summary for the same files (DIGEST.md §3.2–3.3): problems on errw,
// valid lines and the summary on w. Files the CLI would not report
// (unreferenced, unverified, synthetic missing hours) are left out.
//
// Lines come in the CLI's order: per chain, digests newest first, each
// valid digest followed by its log files in the digest's order, backfill
// digests in a second pass; the blank lines follow the CLI's rule (an
// error after a valid line is preceded by one, and so is the summary).
// For the CLI's verdicts where trailscope is stricter, verify with
// Options.Compat (--compat): a digest only trailscope rejects keeps its
// CLI line, but its logs are not checked.
func (r *Result) WriteAWSCLI(w, errw io.Writer, trailARN string, start, end time.Time) error {
	const layout = "2006-01-02T15:04:05Z"
	fmt.Fprintf(w, "Validating log files for trail %s between %s and %s\n\n", trailARN, start.UTC().Format(layout), end.UTC().Format(layout))
	var std, backfill []FileResult
	logsOf := map[string][]FileResult{}
	for _, f := range r.Files {
		if f.CLI == "" || strings.HasPrefix(f.Key, "(") {
			continue
		}
		switch {
		case f.Kind == "log":
			logsOf[f.via] = append(logsOf[f.via], f)
			for _, a := range f.also { // the CLI checks it once per digest
				g := f
				g.via, g.viaIdx, g.CLI = a.via, a.idx, a.cli
				logsOf[a.via] = append(logsOf[a.via], g)
			}
		case f.Backfill:
			backfill = append(backfill, f)
		default:
			std = append(std, f)
		}
	}
	// Newest first: within a chain's folder, keys sort by time.
	for _, l := range [][]FileResult{std, backfill} {
		sort.SliceStable(l, func(i, j int) bool { return l[i].Key > l[j].Key })
	}
	var dv, dt, bv, bt, lv, lt int
	lastDouble := true // the CLI's _is_last_status_double_space
	status := func(f FileResult, kind string) {
		prefix := ""
		if f.Backfill {
			prefix = "(backfill) "
		}
		line := fmt.Sprintf("%s%s\ts3://%s/%s\t%s", prefix, kind, f.Bucket, f.Key, f.CLI)
		if f.CLI == "valid" {
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
	for _, l := range [][]FileResult{std, backfill} {
		for _, d := range l {
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
			status(d, "Digest file")
			if !valid {
				continue
			}
			logs := logsOf[d.Key]
			sort.SliceStable(logs, func(i, j int) bool { return logs[i].viaIdx < logs[j].viaIdx })
			for _, f := range logs {
				lt++
				if f.CLI == "valid" {
					lv++
				}
				status(f, "Log file")
			}
			if d.starting {
				// The chain breaks here: the CLI names the gap to the next
				// older digest in its listing, if there is one.
				if older, ok := olderListed(l, d); ok {
					prefix := ""
					if d.Backfill {
						prefix = "(backfill) "
					}
					if !lastDouble {
						fmt.Fprintln(errw)
					}
					fmt.Fprintf(errw, "%sNo log files were delivered by CloudTrail between %s and %s\n\n", prefix,
						older.UTC().Format(layout), d.Start.UTC().Format(layout))
					lastDouble = true
				}
			}
		}
	}
	dt, bt = dt+dv, bt+bv
	if !lastDouble {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Results requested for %s to %s\n", start.UTC().Format(layout), end.UTC().Format(layout))
	if dt+bt == 0 {
		fmt.Fprintln(w, "No digests found")
		return nil
	}
	if r.FoundStart.IsZero() {
		fmt.Fprintln(w, "No valid digests found in range")
	} else {
		fs, fe := r.FoundStart, r.FoundEnd
		if fs.Before(start) {
			fs = start
		}
		if !end.IsZero() && fe.After(end) {
			fe = end
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
	fmt.Fprintln(w)
	return nil
}

// olderListed is the time in the name of the newest digest of d's chain
// listed in the bucket before d (what the CLI's gap message names).
func olderListed(list []FileResult, d FileResult) (time.Time, bool) {
	dk, err := keyname.Parse(d.Key)
	if err != nil {
		return time.Time{}, false
	}
	var best time.Time
	for _, f := range list {
		if f.unlisted || f.Account != d.Account || f.Region != d.Region || f.Trail != d.Trail {
			continue
		}
		k, err := keyname.Parse(f.Key)
		if err != nil || !k.Time.Before(dk.Time) || k.Home != dk.Home || k.OrgID != dk.OrgID {
			continue
		}
		if k.Time.After(best) {
			best = k.Time
		}
	}
	return best, !best.IsZero()
}
