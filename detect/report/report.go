package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/trailscope/trailscope/detect"
)

// IntegrityFile is one verified object, as the report lists it.
type IntegrityFile struct {
	Kind   string `json:"kind"` // digest or log
	Key    string `json:"key"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Report is everything `trailscope scan` found.
type Report struct {
	Source    string         `json:"source"`
	Lake      string         `json:"lake,omitempty"`
	Generated time.Time      `json:"generated"`
	Verified  bool           `json:"verified"`  // integrity was checked
	Integrity map[string]int `json:"integrity"` // files per status
	// Problems are the integrity results other than valid.
	Problems []IntegrityFile  `json:"integrity_problems"`
	Coverage *Coverage        `json:"coverage"`
	Findings []detect.Finding `json:"findings"`
	// BySeverity counts unsuppressed findings.
	BySeverity map[string]int `json:"findings_by_severity"`
	Active     int            `json:"findings_active"` // unsuppressed
	Suppressed int            `json:"findings_suppressed"`
	// TopPrincipals are the principals in most findings.
	TopPrincipals []PrincipalCount `json:"top_principals"`
	// Ingest holds the ingest counts (events in, written, duplicate, rejected, files ...).
	Ingest map[string]any `json:"ingest,omitempty"`
	// ObjectsRead counts GETs per object key class, to show one read per object.
	ObjectsRead int64 `json:"objects_read"`
}

// PrincipalCount is a principal and its finding count.
type PrincipalCount struct {
	Principal string `json:"principal"`
	Findings  int    `json:"findings"`
	Worst     string `json:"worst_severity"`
}

// Finish fills the derived fields.
func (r *Report) Finish() {
	r.BySeverity = map[string]int{}
	r.Suppressed, r.Active = 0, 0
	per := map[string]*PrincipalCount{}
	for _, f := range r.Findings {
		if f.Suppressed != "" {
			r.Suppressed++
			continue
		}
		r.BySeverity[f.Severity.String()]++
		r.Active++
		who := f.Principal.Label()
		if who == "" {
			who = f.SourceIP
		}
		if who == "" {
			continue
		}
		pc := per[who]
		if pc == nil {
			pc = &PrincipalCount{Principal: who, Worst: f.Severity.String()}
			per[who] = pc
		}
		pc.Findings++
		if s, _ := detect.ParseSeverity(pc.Worst); f.Severity > s {
			pc.Worst = f.Severity.String()
		}
	}
	r.TopPrincipals = []PrincipalCount{}
	for _, pc := range per {
		r.TopPrincipals = append(r.TopPrincipals, *pc)
	}
	sort.Slice(r.TopPrincipals, func(i, j int) bool {
		a, b := r.TopPrincipals[i], r.TopPrincipals[j]
		sa, _ := detect.ParseSeverity(a.Worst)
		sb, _ := detect.ParseSeverity(b.Worst)
		if sa != sb {
			return sa > sb
		}
		if a.Findings != b.Findings {
			return a.Findings > b.Findings
		}
		return a.Principal < b.Principal
	})
	if len(r.TopPrincipals) > 10 {
		r.TopPrincipals = r.TopPrincipals[:10]
	}
	if r.Findings == nil {
		r.Findings = []detect.Finding{}
	}
	if r.Problems == nil {
		r.Problems = []IntegrityFile{}
	}
	if r.Integrity == nil {
		r.Integrity = map[string]int{}
	}
	if r.Coverage == nil {
		r.Coverage = &Coverage{Counts: map[string]int{}, Gaps: []Gap{}}
	}
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var severityOrder = []string{"critical", "high", "medium", "low", "informational"}

// WriteText writes the terminal summary.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "scan of %s\n\n", r.Source)
	fmt.Fprintln(w, "INTEGRITY")
	if !r.Verified {
		fmt.Fprintln(w, "  not verified (no digests or public keys available; see --public-keys)")
	} else {
		fmt.Fprintf(w, "  %s\n", countsLine(r.Integrity, []string{"valid", "invalid", "missing", "unreferenced", "unverified", "error"}))
		for i, p := range r.Problems {
			if i == 15 {
				fmt.Fprintf(w, "  ... %d more (see the HTML or JSON report)\n", len(r.Problems)-15)
				break
			}
			fmt.Fprintf(w, "  %-12s %-6s %s", strings.ToUpper(p.Status), p.Kind, p.Key)
			if p.Reason != "" {
				fmt.Fprintf(w, ": %s", p.Reason)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w, "\nCOVERAGE")
	cv := r.Coverage
	fmt.Fprintf(w, "  %d account/region chains over %d hours: %s\n", len(cv.Rows), cv.Hours,
		countsLine(cv.Counts, []string{StateVerified, StateUnverified, StateEmpty, StateGap, StateStopped, StateMissing, StateTampered}))
	for i, g := range cv.Gaps {
		if i == 10 {
			fmt.Fprintf(w, "  ... %d more gaps\n", len(cv.Gaps)-10)
			break
		}
		fmt.Fprintf(w, "  %-9s %s %-14s %s → %s (%s)", strings.ToUpper(g.State), g.Account, g.Region,
			g.From.Format("2006-01-02 15:04"), g.To.Format("2006-01-02 15:04"), g.To.Sub(g.From))
		if g.Detail != "" {
			fmt.Fprintf(w, " %s", g.Detail)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nFINDINGS")
	fmt.Fprintf(w, "  %s", countsLine(r.BySeverity, severityOrder))
	if r.Suppressed > 0 {
		fmt.Fprintf(w, "; %d suppressed", r.Suppressed)
	}
	fmt.Fprintln(w)
	shown := 0
	for _, f := range r.Findings {
		if f.Suppressed != "" || f.Severity < detect.Medium {
			continue
		}
		if shown == 20 {
			fmt.Fprintln(w, "  ... more in the report")
			break
		}
		shown++
		att := ""
		if f.Attempt {
			att = " (denied attempt)"
		}
		who := f.Principal.Label()
		if who == "" {
			who = f.SourceIP
		}
		fmt.Fprintf(w, "  %-8s %s %s%s — %s\n", strings.ToUpper(f.Severity.String()), f.First.UTC().Format("2006-01-02 15:04:05"), f.Title, att, orDash(who))
	}
	if len(r.TopPrincipals) > 0 {
		fmt.Fprintln(w, "\nTOP PRINCIPALS")
		for _, p := range r.TopPrincipals {
			fmt.Fprintf(w, "  %3d findings (worst %s) %s\n", p.Findings, p.Worst, p.Principal)
		}
	}
	if len(r.Ingest) > 0 {
		fmt.Fprintf(w, "\nLAKE %s: %v events in = %v written + %v duplicate + %v rejected\n", r.Lake,
			r.Ingest["events_in"], r.Ingest["events_written"], r.Ingest["events_duplicate"], r.Ingest["events_rejected"])
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func countsLine(m map[string]int, order []string) string {
	var parts []string
	for _, k := range order {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	for k, v := range m {
		found := false
		for _, o := range order {
			found = found || o == k
		}
		if !found && v > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", v, k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// WriteMarkdown writes the report for a ticket.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# trailscope scan: %s\n\n_Generated %s_\n\n", r.Source, r.Generated.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "## Integrity\n\n")
	if !r.Verified {
		fmt.Fprintf(w, "Not verified.\n\n")
	} else {
		fmt.Fprintf(w, "%s\n\n", countsLine(r.Integrity, []string{"valid", "invalid", "missing", "unreferenced", "unverified", "error"}))
		if len(r.Problems) > 0 {
			fmt.Fprintf(w, "| status | kind | key | reason |\n|---|---|---|---|\n")
			for _, p := range r.Problems {
				fmt.Fprintf(w, "| %s | %s | `%s` | %s |\n", p.Status, p.Kind, p.Key, mdEscape(p.Reason))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "## Coverage\n\n%d chains over %d hours: %s\n\n", len(r.Coverage.Rows), r.Coverage.Hours,
		countsLine(r.Coverage.Counts, []string{StateVerified, StateUnverified, StateEmpty, StateGap, StateStopped, StateMissing, StateTampered}))
	if len(r.Coverage.Gaps) > 0 {
		fmt.Fprintf(w, "| state | account | region | from | to | detail |\n|---|---|---|---|---|---|\n")
		for _, g := range r.Coverage.Gaps {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", g.State, g.Account, g.Region, g.From.Format(time.RFC3339), g.To.Format(time.RFC3339), mdEscape(g.Detail))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "## Findings\n\n%s\n\n", countsLine(r.BySeverity, severityOrder))
	if len(r.Findings) > 0 {
		fmt.Fprintf(w, "| severity | first | title | principal | source IP | account | region | events |\n|---|---|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			if f.Suppressed != "" {
				continue
			}
			t := f.Title
			if f.Attempt {
				t += " (attempt)"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Severity, f.First.UTC().Format(time.RFC3339), mdEscape(t),
				mdEscape(f.Principal.ARN), f.SourceIP, f.Account, f.Region, mdEscape(strings.Join(f.EventIDs, ", ")))
		}
	}
	return nil
}

func mdEscape(s string) string { return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s) }
