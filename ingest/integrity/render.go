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
	if r.Counts[Error]+r.Counts[Unverified] > 0 || r.Total == 0 {
		return 2
	}
	return 0
}

// WriteJSON writes one JSON object per file, then one summary object.
func (r *Result) WriteJSON(w io.Writer) error { return r.write(NewJSONWriter(w)) }

// WriteText writes a human summary: every problem, then totals per chain.
func (r *Result) WriteText(w io.Writer) error { return r.write(NewTextWriter(w)) }

// WriteAWSCLI reproduces `aws cloudtrail validate-logs --verbose` lines
// and summary for the same files (see NewAWSCLIWriter).
func (r *Result) WriteAWSCLI(w, errw io.Writer, trailARN string, start, end time.Time) error {
	return r.write(NewAWSCLIWriter(w, errw, trailARN, start, end))
}

func (r *Result) write(wr Writer) error {
	if err := wr.Write(r.Files); err != nil {
		return err
	}
	return wr.Close(r)
}

// A Writer renders results as Stream hands them over (pass its Write as
// Stream's emit); Close writes the summary of the run.
type Writer interface {
	Write([]FileResult) error
	Close(*Result) error
}

// NewJSONWriter writes one JSON object per file as results come, then
// one summary object.
func NewJSONWriter(w io.Writer) Writer { return &jsonWriter{enc: json.NewEncoder(w)} }

type jsonWriter struct{ enc *json.Encoder }

func (j *jsonWriter) Write(fs []FileResult) error {
	for _, f := range fs {
		if err := j.enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonWriter) Close(r *Result) error {
	return j.enc.Encode(map[string]any{"summary": true, "counts": r.Counts, "chains": r.Chains, "files": r.Total,
		"found_start": r.FoundStart, "found_end": r.FoundEnd, "exit_code": r.ExitCode()})
}

// NewTextWriter writes every problem as it is found, then a table of
// totals per chain and the overall counts.
func NewTextWriter(w io.Writer) Writer { return &textWriter{w: w, per: map[string]map[Status]int{}} }

type textWriter struct {
	w        io.Writer
	per      map[string]map[Status]int
	problems int
}

func (t *textWriter) Write(fs []FileResult) error {
	for _, f := range fs {
		k := f.Account + "/" + f.Region
		if t.per[k] == nil {
			t.per[k] = map[Status]int{}
		}
		t.per[k][f.Status]++
		if f.Status == Valid && f.Reason == "" {
			continue
		}
		t.problems++
		label := strings.ToUpper(string(f.Status))
		if f.Status == Valid {
			label = "NOTE"
		}
		if _, err := fmt.Fprintf(t.w, "%-12s %-6s %s\n             %s\n", label, f.Kind, f.Key, f.Reason); err != nil {
			return err
		}
	}
	return nil
}

func (t *textWriter) Close(r *Result) error {
	w := t.w
	if t.problems > 0 {
		fmt.Fprintln(w)
	}
	var chains []string
	for c := range r.Chains {
		chains = append(chains, c)
	}
	sort.Strings(chains)
	fmt.Fprintf(w, "%-30s %6s %8s %8s %8s %12s %11s %6s\n", "chain", "valid", "invalid", "missing", "unverif.", "unreferenced", "digests", "errors")
	for _, c := range chains {
		p := t.per[c]
		fmt.Fprintf(w, "%-30s %6d %8d %8d %8d %12d %11d %6d\n", c, p[Valid], p[Invalid], p[Missing], p[Unverified], p[Unreferenced], r.Chains[c], p[Error])
	}
	fmt.Fprintf(w, "\n%d files: %d valid, %d invalid, %d missing, %d unverified, %d unreferenced, %d errors", r.Total,
		r.Counts[Valid], r.Counts[Invalid], r.Counts[Missing], r.Counts[Unverified], r.Counts[Unreferenced], r.Counts[Error])
	if n := r.Counts[Pending]; n > 0 {
		fmt.Fprintf(w, ", %d pending (the open hour)", n)
	}
	_, err := fmt.Fprintln(w)
	return err
}
