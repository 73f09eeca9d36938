package sigma

import (
	"fmt"
	"strings"
)

// RuleSQL returns the query of detection rule i (see ToSQL).
func (rs *RuleSet) RuleSQL(i int, opts SQLOptions) (string, error) {
	if i < 0 || i >= len(rs.rules) {
		return "", fmt.Errorf("sigma: rule index %d out of range", i)
	}
	where := (&sqlGen{values: opts.Values}).filter(rs.rules[i].prog.root)
	cols, err := selectColumns(opts.Columns)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SELECT %s\nFROM %s AS %s\nWHERE %s\nORDER BY %s.\"eventTime\", %s.\"eventID\"",
		cols, quoteTable(opts.Table), tableAlias, where, tableAlias, tableAlias), nil
}

// CorrelationSQL returns a DuckDB query for correlation i. It returns one
// row per group and window that satisfies the condition, with the columns
// named after the group-by fields, then window_start, count, first_time,
// last_time and event_ids (sorted), ordered by window and group. Windows
// are the Correlator's: tumbling, aligned to the Unix epoch.
func (rs *RuleSet) CorrelationSQL(i int, opts SQLOptions) (string, error) {
	if i < 0 || i >= len(rs.corrs) {
		return "", fmt.Errorf("sigma: correlation index %d out of range", i)
	}
	cc := rs.corrs[i]
	g := &sqlGen{values: opts.Values}
	var parts []string
	for pos, ri := range cc.rules {
		sel := []string{
			fmt.Sprintf("%d AS rule_pos", pos),
			fmt.Sprintf("coalesce(%s.\"eventID\", '') AS eid", tableAlias),
			fmt.Sprintf("%s.\"eventTime\" AS ts", tableAlias),
			fmt.Sprintf("CAST(floor(epoch_ms(%s.\"eventTime\") / %d) AS BIGINT) AS w", tableAlias, cc.span),
		}
		for k, fps := range cc.group {
			sel = append(sel, g.firstScalarSQL(fps[pos])+fmt.Sprintf(" AS g%d", k))
		}
		if cc.field != nil {
			sel = append(sel, g.firstScalarSQL(cc.field)+" AS val")
		}
		parts = append(parts, fmt.Sprintf("SELECT %s\n  FROM %s AS %s\n  WHERE %s.\"eventTime\" IS NOT NULL AND %s",
			strings.Join(sel, ", "), quoteTable(opts.Table), tableAlias, tableAlias, g.filter(rs.rules[ri].prog.root)))
	}
	var b strings.Builder
	b.WriteString("WITH m AS (\n  ")
	b.WriteString(strings.Join(parts, "\n  UNION ALL\n  "))
	b.WriteString("\n)")
	var gcols, gsel, gorder []string
	gcols = append(gcols, "w")
	for k, name := range cc.c.GroupBy {
		gcols = append(gcols, fmt.Sprintf("g%d", k))
		gsel = append(gsel, fmt.Sprintf("a.g%d AS %s", k, quoteIdent(name)))
		gorder = append(gorder, fmt.Sprintf("a.g%d NULLS FIRST", k))
	}
	countExpr := "count(DISTINCT eid)"
	switch cc.c.Type {
	case "value_count":
		countExpr = "count(DISTINCT val)"
	case "temporal":
		countExpr = "count(DISTINCT rule_pos)"
	}
	fmt.Fprintf(&b, ",\na AS (\n  SELECT %s, %s AS n, min(ts) AS first_time, max(ts) AS last_time, list_sort(list_distinct(list(eid))) AS event_ids\n  FROM m GROUP BY %s\n)",
		strings.Join(gcols, ", "), countExpr, strings.Join(gcols, ", "))
	from := "a"
	if cc.c.Type == "temporal_ordered" {
		// o<k>: the earliest match of rule k not before rule k-1's.
		on := func(l, r string) string {
			conds := []string{l + ".w = " + r + ".w"}
			for k := range cc.c.GroupBy {
				conds = append(conds, fmt.Sprintf("%s.g%d IS NOT DISTINCT FROM %s.g%d", l, k, r, k))
			}
			return strings.Join(conds, " AND ")
		}
		for k := range cc.rules {
			if k == 0 {
				fmt.Fprintf(&b, ",\no0 AS (SELECT %s, min(ts) AS t FROM m WHERE rule_pos = 0 GROUP BY %s)", strings.Join(gcols, ", "), strings.Join(gcols, ", "))
				continue
			}
			var pcols []string
			for _, c := range gcols {
				pcols = append(pcols, "p."+c)
			}
			fmt.Fprintf(&b, ",\no%d AS (SELECT %s, min(m.ts) AS t FROM o%d AS p JOIN m ON m.rule_pos = %d AND %s AND m.ts >= p.t GROUP BY %s)",
				k, strings.Join(pcols, ", "), k-1, k, on("m", "p"), strings.Join(pcols, ", "))
		}
		var n []string
		for k := range cc.rules {
			from += fmt.Sprintf(" LEFT JOIN o%d ON %s", k, on(fmt.Sprintf("o%d", k), "a"))
			n = append(n, fmt.Sprintf("CAST(o%d.t IS NOT NULL AS INTEGER)", k))
		}
		countExpr = "(" + strings.Join(n, " + ") + ")"
	} else {
		countExpr = "a.n"
	}
	var conds []string
	for _, c := range cc.conds {
		op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}[c.Op]
		conds = append(conds, fmt.Sprintf("%s %s %v", countExpr, op, c.Value))
	}
	if len(conds) == 0 {
		conds = []string{"true"}
	}
	sel := append(gsel, fmt.Sprintf("epoch_ms(a.w * %d) AS window_start", cc.span),
		countExpr+" AS \"count\"", "a.first_time", "a.last_time", "a.event_ids")
	order := append([]string{"a.w"}, gorder...)
	fmt.Fprintf(&b, "\nSELECT %s\nFROM %s\nWHERE %s\nORDER BY %s",
		strings.Join(sel, ", "), from, strings.Join(conds, " AND "), strings.Join(order, ", "))
	return b.String(), nil
}

// firstScalarSQL is the SQL twin of firstScalar.
func (g *sqlGen) firstScalarSQL(fp *fieldPath) string {
	f := g.scalarStrings(g.field(fp))
	if f.list {
		return "(" + f.expr + ")[1]"
	}
	return f.expr
}
