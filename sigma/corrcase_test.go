package sigma

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corrRow is a correlation result reduced to what cases compare.
type corrRow struct {
	Group  string // "field=value,field=<null>"
	Count  int
	Events []string
}

func groupString(g []GroupValue) string {
	var parts []string
	for _, v := range g {
		if v.Null {
			parts = append(parts, v.Field+"=<null>")
		} else {
			parts = append(parts, v.Field+"="+v.Value)
		}
	}
	return strings.Join(parts, ",")
}

func findCorrelation(t *testing.T, rs *RuleSet, name string) int {
	t.Helper()
	for i, c := range rs.Correlations() {
		if c.Title == name || c.ID == name || c.Name == name {
			return i
		}
	}
	t.Fatalf("no correlation %q", name)
	return -1
}

// goCorrelate feeds the events, in the given order, through RuleSet.Match
// and a Correlator.
func goCorrelate(t *testing.T, rs *RuleSet, ci int, events []rawEvent) []corrRow {
	t.Helper()
	c := rs.NewCorrelator(CorrelatorOptions{})
	var p EventParser
	var results []CorrelationResult
	var idx []int
	for _, e := range events {
		ev, err := p.Parse(e.Raw)
		if err != nil {
			t.Fatal(err)
		}
		idx = rs.Match(ev, idx[:0])
		for _, i := range idx {
			results = append(results, c.AddIndex(i, ev)...)
		}
	}
	results = append(results, c.Flush()...)
	want := rs.Correlations()[ci]
	var rows []corrRow
	for _, r := range results {
		if r.Correlation != want {
			continue
		}
		if !r.First.Before(r.WindowEnd) || r.First.Before(r.WindowStart) || r.Last.Before(r.First) {
			t.Errorf("result %s: first %v last %v outside window %v..%v", groupString(r.Group), r.First, r.Last, r.WindowStart, r.WindowEnd)
		}
		rows = append(rows, corrRow{Group: groupString(r.Group), Count: r.Count, Events: r.EventIDs})
	}
	sortRows(rows)
	return rows
}

func sqlCorrelate(t *testing.T, rs *RuleSet, ci int, events []rawEvent) ([]corrRow, string) {
	t.Helper()
	q, err := rs.CorrelationSQL(ci, SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db := openDuck(t, events)
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("DuckDB: %v\n%s", err, q)
	}
	defer rows.Close()
	groupBy := rs.Correlations()[ci].GroupBy
	var out []corrRow
	for rows.Next() {
		gv := make([]any, len(groupBy))
		dest := make([]any, 0, len(groupBy)+5)
		for i := range gv {
			dest = append(dest, &gv[i])
		}
		var start, first, last any
		var count int
		var ids []any
		dest = append(dest, &start, &count, &first, &last, &ids)
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		var g []GroupValue
		for i, f := range groupBy {
			if gv[i] == nil {
				g = append(g, GroupValue{Field: f, Null: true})
			} else {
				g = append(g, GroupValue{Field: f, Value: fmt.Sprint(gv[i])})
			}
		}
		var sids []string
		for _, id := range ids {
			sids = append(sids, fmt.Sprint(id))
		}
		out = append(out, corrRow{Group: groupString(g), Count: count, Events: sids})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortRows(out)
	return out, q
}

func sortRows(rows []corrRow) {
	for _, r := range rows {
		slices.Sort(r.Events)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Group != rows[j].Group {
			return rows[i].Group < rows[j].Group
		}
		return strings.Join(rows[i].Events, ",") < strings.Join(rows[j].Events, ",")
	})
}

func runCorrelationCase(t *testing.T, tc testCase, docs []*Document, events []rawEvent) {
	rs, err := NewRuleSet(docs, CompileOptions{Placeholders: tc.Placeholders})
	if err != nil {
		t.Fatalf("NewRuleSet: %v", err)
	}
	ci := findCorrelation(t, rs, tc.Correlation)
	var want []corrRow
	for _, g := range tc.Groups {
		var gv []GroupValue
		for _, f := range rs.Correlations()[ci].GroupBy {
			v, ok := g.Group[f]
			if !ok {
				gv = append(gv, GroupValue{Field: f, Null: true})
			} else {
				gv = append(gv, GroupValue{Field: f, Value: v})
			}
		}
		want = append(want, corrRow{Group: groupString(gv), Count: g.Count, Events: g.Events})
	}
	sortRows(want)
	got := goCorrelate(t, rs, ci, events)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Correlator: results differ (-want +got):\n%s", diff)
	}
	gotSQL, q := sqlCorrelate(t, rs, ci, events)
	if diff := cmp.Diff(want, gotSQL); diff != "" {
		t.Errorf("DuckDB: results differ (-want +got):\n%s\nquery:\n%s", diff, q)
	}
}
