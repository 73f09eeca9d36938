package detect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Most rules can only match a few API calls (their eventName set, which
// the Go matcher also dispatches on). Over a lake each rule is one query,
// and even a query whose eventName filter DuckDB pushes into the scan
// reads the eventName column of every row: ~0.1 s a rule at 10 million
// events. The prefilter copies, in one scan, the rows of the eventNames
// that those rules can match into a temporary table, and those rules run
// over it instead. Rules without an eventName set, and names too frequent
// to copy (the table would not stay small), keep the lake view.

// prefilterRows bounds the rows copied into the prefilter table (0: no
// prefilter). Copying costs ~8 µs a row, so the bound keeps it under a
// second; rules over more frequent names run over the lake view.
var prefilterRows int64 = 100_000

// prefilterTable is the temporary table's name.
const prefilterTable = "detect_prefilter"

// prefilter builds the prefilter table over src for the standalone rules
// it can serve and returns, per rule index, the table that rule runs over
// (src for the rest), and a cleanup to call when detection is done.
func (e *Engine) prefilter(ctx context.Context, db SQLDB, src string) (map[int]string, func(), error) {
	tables := map[int]string{}
	none := func() {}
	if prefilterRows <= 0 {
		return tables, none, nil
	}

	counts, err := nameCounts(ctx, db, src)
	if err != nil {
		return nil, none, err
	}
	type cand struct {
		rule  int
		names []string
		rows  int64
	}
	var cands []cand
	for i := 0; i < e.rs.Len(); i++ {
		if !e.rs.Standalone(i) {
			continue
		}
		exact, prefixes, ok := e.rs.EventNames(i)
		if !ok {
			continue
		}
		c := cand{rule: i}
		for name, n := range counts {
			if nameMatches(name, exact, prefixes) {
				c.names = append(c.names, name)
				c.rows += n
			}
		}
		cands = append(cands, c)
	}
	// The least frequent first, while the table stays under the bound.
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].rows != cands[b].rows {
			return cands[a].rows < cands[b].rows
		}
		return cands[a].rule < cands[b].rule
	})
	in := map[string]bool{}
	var rows int64
	var served []int
	for _, c := range cands {
		add := int64(0)
		for _, n := range c.names {
			if !in[n] {
				add += counts[n]
			}
		}
		if rows+add > prefilterRows {
			continue
		}
		for _, n := range c.names {
			in[n] = true
		}
		rows += add
		served = append(served, c.rule)
	}
	if len(served) < 2 {
		return tables, none, nil // one rule gains nothing from a copy
	}
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	where := "false"
	if len(names) > 0 {
		where = `"eventName" IN (` + quoteList(names) + ")"
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s WHERE %s`,
		prefilterTable, quoteIdentPath(src), where)); err != nil {
		return nil, none, fmt.Errorf("prefilter: %w", err)
	}
	for _, i := range served {
		tables[i] = prefilterTable
	}

	return tables, func() { db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+prefilterTable) }, nil
}

// nameCounts counts the rows of each eventName in src.
func nameCounts(ctx context.Context, db SQLDB, src string) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT "eventName", count(*) FROM %s WHERE "eventName" IS NOT NULL GROUP BY 1`, quoteIdentPath(src)))
	if err != nil {
		return nil, fmt.Errorf("prefilter: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("prefilter: %w", err)
		}
		out[name] = n
	}
	return out, rows.Err()
}

// nameMatches reports whether a rule with these required eventNames
// (lower-cased exact values and prefixes) can match an event named name:
// ASCII names compare case-insensitively, as the Go matcher dispatches;
// any other name may match.
func nameMatches(name string, exact, prefixes []string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return true
		}
	}
	lower := strings.ToLower(name)
	for _, x := range exact {
		if lower == x {
			return true
		}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}
