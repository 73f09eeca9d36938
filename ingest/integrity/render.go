package integrity

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
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
func (r *Result) WriteAWSCLI(w, errw io.Writer, trailARN string, start, end time.Time) error {
	fmt.Fprintf(w, "Validating log files for trail %s between %s and %s\n\n", trailARN, start.UTC().Format("2006-01-02T15:04:05Z"), end.UTC().Format("2006-01-02T15:04:05Z"))
	var dv, dt, lv, lt int
	for _, f := range r.Files {
		if f.CLI == "" || strings.HasPrefix(f.Key, "(") {
			continue
		}
		kind := "Digest file"
		if f.Kind == "log" {
			kind = "Log file"
			lt++
		} else {
			dt++
		}
		prefix := ""
		if f.Backfill {
			prefix = "(backfill) "
		}
		line := fmt.Sprintf("%s%s\ts3://%s/%s\t%s", prefix, kind, f.Bucket, f.Key, f.CLI)
		if f.CLI == "valid" {
			if f.Kind == "log" {
				lv++
			} else {
				dv++
			}
			fmt.Fprintln(w, line)
		} else {
			fmt.Fprintln(errw, line)
			fmt.Fprintln(errw)
		}
	}
	fmt.Fprintf(w, "Results requested for %s to %s\n", start.UTC().Format("2006-01-02T15:04:05Z"), end.UTC().Format("2006-01-02T15:04:05Z"))
	if dt == 0 {
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
		fmt.Fprintf(w, "Results found for %s to %s:\n", fs.UTC().Format("2006-01-02T15:04:05Z"), fe.UTC().Format("2006-01-02T15:04:05Z"))
	}
	fmt.Fprintf(w, "\n%d/%d digest files valid", dv, dt)
	if dt > dv {
		fmt.Fprintf(w, ", %d/%d digest files INVALID", dt-dv, dt)
	}
	fmt.Fprintln(w)
	if lt > 0 {
		fmt.Fprintf(w, "\n%d/%d log files valid", lv, lt)
		if lt > lv {
			fmt.Fprintf(w, ", %d/%d log files INVALID", lt-lv, lt)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	return nil
}
