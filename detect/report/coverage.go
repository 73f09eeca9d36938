// Package report builds what `trailscope scan` shows: the coverage map
// (for every account × region × hour, whether logs exist, were verified,
// were tampered with or lost, or logging was stopped), the summary, and
// its renderings as a terminal summary, Markdown, and one self-contained
// HTML file.
package report

import (
	"slices"
	"sort"
	"time"
)

// Cell states, from best to worst. A cell takes the worst state of what
// falls in its hour.
const (
	StateVerified   = "verified"   // logs present and every one verified against a valid digest
	StateUnverified = "unverified" // logs present, not verified (no digest, no keys, or verification off)
	StateEmpty      = "empty"      // no logs, and a valid digest says the hour was empty
	StateGap        = "gap"        // no logs and no digest: nothing says what happened
	StateStopped    = "stopped"    // logging was stopped (StopLogging seen, not yet restarted)
	StateMissing    = "missing"    // a digest lists logs that are gone, or a digest is missing
	StateTampered   = "tampered"   // a log or digest failed verification
)

var rank = map[string]int{StateEmpty: 0, StateVerified: 1, StateUnverified: 2, StateGap: 3, StateStopped: 4, StateMissing: 5, StateTampered: 6}

// LogFile is one delivered log file, as ingest and verify saw it.
type LogFile struct {
	Account, Region string
	Delivered       time.Time
	Key             string
	// Status is the integrity verdict ("valid", "invalid", "missing",
	// "unverified", "unreferenced", "error", or "" when not verified).
	Status string
}

// DigestHour is one digest's coverage of a chain.
type DigestHour struct {
	Account, Region string
	Trail           string // the trail that signed it (from the digest's key)
	OrgID           string // the organization of an organization trail's chain
	Start, End      time.Time
	Status          string // valid, invalid, missing, error
	Logs            int    // log files it lists
}

// LoggingChange is a StopLogging or StartLogging (or DeleteTrail) event.
type LoggingChange struct {
	Account, Region string
	Time            time.Time
	Stopped         bool // true for StopLogging/DeleteTrail, false for StartLogging/CreateTrail
	EventID         string
	// Trail is the trail name the call named (requestParameters.name, an
	// ARN reduced to its name); "" if unknown.
	Trail string
}

// Cell is one account × region × hour.
type Cell struct {
	Hour   time.Time `json:"hour"`
	State  string    `json:"state"`
	Logs   int       `json:"logs"`
	Detail string    `json:"detail,omitempty"`
}

// Row is the coverage of one account and region.
type Row struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Cells   []Cell `json:"cells"`
}

// Coverage is the map for a time range.
type Coverage struct {
	Start  time.Time      `json:"start"` // first hour
	Hours  int            `json:"hours"`
	Rows   []Row          `json:"rows"`
	Counts map[string]int `json:"counts"` // cells per state
	Gaps   []Gap          `json:"gaps"`   // runs of bad hours, worst first
}

// Gap is a run of consecutive hours in one state other than verified,
// unverified or empty: what an auditor asks about first.
type Gap struct {
	Account string    `json:"account"`
	Region  string    `json:"region"`
	State   string    `json:"state"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"` // exclusive
	Detail  string    `json:"detail,omitempty"`
}

// BuildCoverage lays logs, digests and logging changes on an hourly grid
// from start to end (zero: the span of the data). Accounts and regions
// are those seen in any input.
func BuildCoverage(logs []LogFile, digests []DigestHour, changes []LoggingChange, start, end time.Time) *Coverage {
	type ar struct{ a, r string }
	keys := map[ar]bool{}
	lo, hi := start, end
	see := func(a, r string, t time.Time) {
		keys[ar{a, r}] = true
		if start.IsZero() && (lo.IsZero() || t.Before(lo)) {
			lo = t
		}
		if end.IsZero() && t.After(hi) {
			hi = t
		}
	}
	for _, l := range logs {
		see(l.Account, l.Region, l.Delivered)
	}
	for _, d := range digests {
		see(d.Account, d.Region, d.End.Add(-time.Nanosecond)) // End is exclusive
	}
	for _, c := range changes {
		see(c.Account, c.Region, c.Time)
	}
	c := &Coverage{Counts: map[string]int{}, Gaps: []Gap{}}
	if len(keys) == 0 || lo.IsZero() {
		return c
	}
	lo = lo.UTC().Truncate(time.Hour)
	hi = hi.UTC().Truncate(time.Hour)
	c.Start = lo
	c.Hours = int(hi.Sub(lo)/time.Hour) + 1
	if c.Hours > 24*366*3 {
		c.Hours = 24 * 366 * 3 // cap the grid at three years
	}
	var order []ar
	for k := range keys {
		order = append(order, k)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].a != order[j].a {
			return order[i].a < order[j].a
		}
		return order[i].r < order[j].r
	})
	idx := func(t time.Time) int { return int(t.UTC().Truncate(time.Hour).Sub(lo) / time.Hour) }
	rows := map[ar]*Row{}
	for _, k := range order {
		r := &Row{Account: k.a, Region: k.r, Cells: make([]Cell, c.Hours)}
		for h := range r.Cells {
			r.Cells[h] = Cell{Hour: lo.Add(time.Duration(h) * time.Hour), State: StateGap}
		}
		rows[k] = r
	}
	set := func(r *Row, h int, state, detail string) {
		if h < 0 || h >= len(r.Cells) {
			return
		}
		cell := &r.Cells[h]
		if cell.State == StateGap || rank[state] > rank[cell.State] {
			cell.State = state
			if detail != "" {
				cell.Detail = detail
			}
		}
	}
	// Digests first: an hour a valid digest covers is at least "empty".
	for _, d := range digests {
		r := rows[ar{d.Account, d.Region}]
		for t := d.Start.UTC().Truncate(time.Hour); t.Before(d.End) || t.Equal(d.Start.UTC().Truncate(time.Hour)); t = t.Add(time.Hour) {
			switch d.Status {
			case "valid":
				set(r, idx(t), StateEmpty, "")
			case "missing":
				set(r, idx(t), StateMissing, "digest file missing")
			case "invalid":
				set(r, idx(t), StateTampered, "digest failed verification")
			}
		}
	}
	for _, l := range logs {
		r := rows[ar{l.Account, l.Region}]
		h := idx(l.Delivered)
		if h >= 0 && h < len(r.Cells) {
			r.Cells[h].Logs++
		}
		switch l.Status {
		case "valid":
			set(r, h, StateVerified, "")
		case "invalid":
			set(r, h, StateTampered, "log modified: "+l.Key)
		case "missing":
			set(r, h, StateMissing, "log deleted: "+l.Key)
		default:
			set(r, h, StateUnverified, "")
		}
	}
	// Logging stopped: every hour from a stop to the next start, on the
	// chains of the trail that was stopped. When digests name the trails
	// delivering here, a stop of another trail (one that does not deliver
	// to this bucket) maps nowhere (its finding still reports it), and a
	// stop of a delivering trail maps onto every chain of that trail. With
	// no digests, a stop maps onto its own account and region.
	type chain struct {
		ar
		org string
	}
	trails := map[string][]chain{} // trail name → chains its digests cover
	for _, d := range digests {
		if d.Trail == "" {
			continue
		}
		k := chain{ar{d.Account, d.Region}, d.OrgID}
		if !slices.Contains(trails[d.Trail], k) {
			trails[d.Trail] = append(trails[d.Trail], k)
		}
	}
	// targets are the chains a change applies to: the chains of the named
	// trail in the caller's account or, for an organization trail, in its
	// organization. Trails of the same name in other accounts are others.
	targets := func(ch LoggingChange) []ar {
		own := ar{ch.Account, ch.Region}
		if len(trails) == 0 || ch.Trail == "" {
			return []ar{own}
		}
		org := ""
		for _, k := range trails[ch.Trail] {
			if k.a == ch.Account && k.org != "" {
				org = k.org
			}
		}
		var out []ar
		for _, k := range trails[ch.Trail] {
			if k.a == ch.Account || org != "" && k.org == org {
				out = append(out, k.ar)
			}
		}
		return out
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Time.Before(changes[j].Time) })
	type stop struct {
		at      time.Time
		primary bool // the chain of the call's own account and region
	}
	stoppedAt := map[ar]stop{}
	for _, ch := range changes {
		for _, k := range targets(ch) {
			if ch.Stopped {
				if _, ok := stoppedAt[k]; !ok {
					stoppedAt[k] = stop{ch.Time, k == ar{ch.Account, ch.Region}}
				}
				continue
			}
			if st, ok := stoppedAt[k]; ok {
				markStopped(rows[k], idx(st.at), idx(ch.Time), st.at, st.primary)
				delete(stoppedAt, k)
			}
		}
	}
	for k, st := range stoppedAt {
		markStopped(rows[k], idx(st.at), c.Hours-1, st.at, st.primary)
	}
	for _, k := range order {
		r := rows[k]
		c.Rows = append(c.Rows, *r)
		for _, cell := range r.Cells {
			c.Counts[cell.State]++
		}
		c.Gaps = append(c.Gaps, gapsOf(r)...)
	}
	sort.SliceStable(c.Gaps, func(i, j int) bool { return rank[c.Gaps[i].State] > rank[c.Gaps[j].State] })
	return c
}

// markStopped marks hours from..to as stopped. On the primary chain (the
// call's own account and region) the stop's own hour is always marked: its
// logs predate the stop. Any other hour that still received log files is
// not marked: something was delivering to that chain, so it was not, or
// no longer, stopped there.
func markStopped(r *Row, from, to int, at time.Time, primary bool) {
	if r == nil {
		return
	}
	for h := max(from, 0); h <= to && h < len(r.Cells); h++ {
		cell := &r.Cells[h]
		if cell.Logs > 0 && !(primary && h == from) {
			continue
		}
		if rank[StateStopped] > rank[cell.State] {
			cell.State = StateStopped
			cell.Detail = "logging stopped at " + at.UTC().Format(time.RFC3339)
		}
	}
}

func gapsOf(r *Row) []Gap {
	var out []Gap
	for h := 0; h < len(r.Cells); {
		s := r.Cells[h].State
		if rank[s] < rank[StateGap] {
			h++
			continue
		}
		e := h
		for e < len(r.Cells) && r.Cells[e].State == s {
			e++
		}
		out = append(out, Gap{Account: r.Account, Region: r.Region, State: s, From: r.Cells[h].Hour, To: r.Cells[h].Hour.Add(time.Duration(e-h) * time.Hour), Detail: r.Cells[h].Detail})
		h = e
	}
	return out
}

// AxisLabels labels the hour grid's columns for people: every 6 hours
// over up to three days, every midnight (UTC) over up to two months, and
// the first of each month beyond; "" for an unlabelled column.
func (c *Coverage) AxisLabels() []string {
	out := make([]string, c.Hours)
	for h := range out {
		t := c.Start.Add(time.Duration(h) * time.Hour).UTC()
		switch {
		case c.Hours <= 72:
			if t.Hour()%6 == 0 {
				out[h] = t.Format("15:04")
				if t.Hour() == 0 {
					out[h] = t.Format("01-02")
				}
			}
		case c.Hours <= 24*62:
			if t.Hour() == 0 {
				out[h] = t.Format("01-02")
			}
		default:
			if t.Hour() == 0 && t.Day() == 1 {
				out[h] = t.Format("2006-01")
			}
		}
	}
	return out
}
