package sigma

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// CorrelatorOptions bounds a Correlator's memory.
type CorrelatorOptions struct {
	// MaxEventIDs caps the event IDs kept per window and group (default
	// 1000). Beyond it, counts go on but duplicates are no longer detected
	// and the result is marked Truncated.
	MaxEventIDs int
	// MaxGroups caps the open windows per correlation (default 100000).
	// Matches that would open more are dropped and counted.
	MaxGroups int
}

// GroupValue is one group-by value of a correlation result. Null is set
// when the event had no value for the field.
type GroupValue struct {
	Field string
	Value string
	Null  bool
}

// CorrelationResult is one group whose window satisfied a correlation.
type CorrelationResult struct {
	Correlation *Correlation
	// WindowStart and WindowEnd delimit the time window (see Correlator).
	WindowStart, WindowEnd time.Time
	Group                  []GroupValue
	// Count is what the condition tested: distinct events (event_count),
	// distinct values (value_count), distinct rules (temporal), or the
	// number of rules seen in order (temporal_ordered).
	Count int
	// First and Last are the times of the first and last contributing
	// events.
	First, Last time.Time
	// EventIDs are the contributing events' IDs, sorted.
	EventIDs  []string
	Truncated bool
}

// Correlator is a streaming correlation engine over the correlations of a
// RuleSet. Feed it the detection matches in event-time order with Add.
//
// Windows are tumbling windows of the correlation's timespan, aligned to
// the Unix epoch (the specification allows fixed boundaries; the SQL
// backend uses the same windows, so both agree). Events may arrive out of
// order by up to one timespan: a window is closed, evaluated and freed
// once an event at least one timespan after its end has been seen. Later
// matches for a closed window are dropped and counted (Dropped). Flush
// closes every window, e.g. at the end of input. Memory is bounded by the
// open windows (at most about two per group) and CorrelatorOptions.
//
// A Correlator is not safe for concurrent use.
type Correlator struct {
	rs      *RuleSet
	opts    CorrelatorOptions
	byRule  map[int][]corrRef
	states  []*corrState
	dropped int
}

type corrRef struct {
	corr int // index into states
	pos  int // position of the rule in the correlation's rules
}

type corrState struct {
	cc        *compiledCorr
	idx       int
	windows   map[string]*window
	watermark int64
	minOpen   int64 // windows below this index are closed
	started   bool
}

type window struct {
	w         int64
	key       string
	group     []GroupValue
	events    map[string]struct{}
	ids       []string
	count     int
	values    map[string]struct{}
	rules     []bool
	times     [][]int64 // temporal_ordered: match times per rule position
	first     int64
	last      int64
	truncated bool
}

// NewCorrelator returns a Correlator for the RuleSet's correlations.
func (rs *RuleSet) NewCorrelator(opts CorrelatorOptions) *Correlator {
	if opts.MaxEventIDs <= 0 {
		opts.MaxEventIDs = 1000
	}
	if opts.MaxGroups <= 0 {
		opts.MaxGroups = 100000
	}
	c := &Correlator{rs: rs, opts: opts, byRule: map[int][]corrRef{}}
	for i, cc := range rs.corrs {
		c.states = append(c.states, &corrState{cc: cc, idx: i, windows: map[string]*window{}})
		for pos, ri := range cc.rules {
			c.byRule[ri] = append(c.byRule[ri], corrRef{corr: i, pos: pos})
		}
	}
	return c
}

// Dropped returns how many matches were dropped: too late, without a
// valid eventTime, or over MaxGroups.
func (c *Correlator) Dropped() int { return c.dropped }

// Add records that the detection rule with the given id (or name) matched
// ev, and returns the results of the windows this closed. Unknown rules
// are ignored.
func (c *Correlator) Add(ruleID string, ev Event) []CorrelationResult {
	ri, ok := c.rs.ref[ruleID]
	if !ok {
		return nil
	}
	return c.AddIndex(ri, ev)
}

// AddIndex is Add with the rule's index in the RuleSet (as returned by
// RuleSet.Match).
func (c *Correlator) AddIndex(ri int, ev Event) []CorrelationResult {
	refs := c.byRule[ri]
	if len(refs) == 0 || !ev.Valid() {
		return nil
	}
	t := ev.EventTime()
	if t.IsZero() {
		c.dropped += len(refs)
		return nil
	}
	ms := t.UnixMilli()
	var out []CorrelationResult
	for _, ref := range refs {
		st := c.states[ref.corr]
		cc := st.cc
		w := floorDiv(ms, cc.span)
		if st.started && w < st.minOpen {
			c.dropped++
			continue
		}
		group := make([]GroupValue, len(cc.group))
		var kb strings.Builder
		kb.WriteString(itoa(w))
		for k, fps := range cc.group {
			group[k].Field = cc.c.GroupBy[k]
			if v, ok := firstScalar(ev, fps[ref.pos]); ok {
				group[k].Value = v
				kb.WriteString("\x00v")
				kb.WriteString(v)
			} else {
				group[k].Null = true
				kb.WriteString("\x00n")
			}
		}
		key := kb.String()
		win := st.windows[key]
		if win == nil {
			if len(st.windows) >= c.opts.MaxGroups {
				c.dropped++
				continue
			}
			win = &window{w: w, key: key, group: group, events: map[string]struct{}{}, rules: make([]bool, len(cc.rules)), first: ms, last: ms}
			if cc.c.Type == "value_count" {
				win.values = map[string]struct{}{}
			}
			if cc.c.Type == "temporal_ordered" {
				win.times = make([][]int64, len(cc.rules))
			}
			st.windows[key] = win
		}
		c.record(win, cc, ref.pos, ev, ms)
		switch {
		case !st.started:
			st.started, st.watermark, st.minOpen = true, ms, floorDiv(ms, cc.span)-1
		case ms > st.watermark:
			st.watermark = ms
			if minOpen := floorDiv(ms, cc.span) - 1; minOpen > st.minOpen {
				st.minOpen = minOpen
				out = append(out, c.close(st, func(w *window) bool { return w.w < minOpen })...)
			}
		}
	}
	sortResults(out)
	return out
}

func (c *Correlator) record(win *window, cc *compiledCorr, pos int, ev Event, ms int64) {
	id := ev.EventID()
	if _, dup := win.events[id]; !dup {
		if len(win.ids) < c.opts.MaxEventIDs {
			win.events[id] = struct{}{}
			win.ids = append(win.ids, id)
		} else {
			win.truncated = true
		}
		win.count++
	}
	win.rules[pos] = true
	if ms < win.first {
		win.first = ms
	}
	if ms > win.last {
		win.last = ms
	}
	if win.values != nil {
		if v, ok := firstScalar(ev, cc.field); ok {
			if len(win.values) < c.opts.MaxEventIDs {
				win.values[v] = struct{}{}
			} else {
				win.truncated = true
			}
		}
	}
	if win.times != nil && len(win.times[pos]) < c.opts.MaxEventIDs {
		win.times[pos] = append(win.times[pos], ms)
	}
}

// Flush closes every open window and returns the results.
func (c *Correlator) Flush() []CorrelationResult {
	var out []CorrelationResult
	for _, st := range c.states {
		out = append(out, c.close(st, func(*window) bool { return true })...)
	}
	sortResults(out)
	return out
}

func (c *Correlator) close(st *corrState, closing func(*window) bool) []CorrelationResult {
	var out []CorrelationResult
	for key, win := range st.windows {
		if !closing(win) {
			continue
		}
		delete(st.windows, key)
		n := windowCount(st.cc, win)
		if !st.cc.condHolds(n) {
			continue
		}
		ids := append([]string(nil), win.ids...)
		slices.Sort(ids)
		span := time.Duration(st.cc.span) * time.Millisecond
		start := time.UnixMilli(win.w * st.cc.span).UTC()
		out = append(out, CorrelationResult{
			Correlation: st.cc.c,
			WindowStart: start,
			WindowEnd:   start.Add(span),
			Group:       win.group,
			Count:       n,
			First:       time.UnixMilli(win.first).UTC(),
			Last:        time.UnixMilli(win.last).UTC(),
			EventIDs:    ids,
			Truncated:   win.truncated,
		})
	}
	return out
}

func windowCount(cc *compiledCorr, win *window) int {
	switch cc.c.Type {
	case "value_count":
		return len(win.values)
	case "temporal":
		n := 0
		for _, ok := range win.rules {
			if ok {
				n++
			}
		}
		return n
	case "temporal_ordered":
		// Greedy: the earliest match of each rule not before the previous
		// rule's match.
		t := int64(-1 << 62)
		n := 0
		for _, ts := range win.times {
			best, found := int64(0), false
			for _, x := range ts {
				if x >= t && (!found || x < best) {
					best, found = x, true
				}
			}
			if !found {
				break
			}
			t = best
			n++
		}
		return n
	}
	return win.count
}

func sortResults(rs []CorrelationResult) {
	slices.SortFunc(rs, func(a, b CorrelationResult) int {
		if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Correlation.Title, b.Correlation.Title); c != 0 {
			return c
		}
		for i := range min(len(a.Group), len(b.Group)) {
			ga, gb := a.Group[i], b.Group[i]
			if ga.Null != gb.Null {
				if ga.Null {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(ga.Value, gb.Value); c != 0 {
				return c
			}
		}
		return 0
	})
}

// firstScalar returns the string form of the first non-null scalar a
// field reaches (objects are skipped).
func firstScalar(ev Event, fp *fieldPath) (string, bool) {
	var out string
	found := ev.walkField(fp, func(v *fastjson.Value) bool {
		s, ok := ev.scalarString(v, 0)
		if ok {
			out = string(s)
		}
		return ok
	})
	return out, found
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func itoa(n int64) string {
	var b [24]byte
	i := len(b)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
