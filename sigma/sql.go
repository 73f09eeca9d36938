package sigma

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SQLOptions configures the DuckDB SQL backend.
type SQLOptions struct {
	// Table is the table or view to query; default "events". A dotted name
	// is quoted part by part.
	Table string
	// Columns are returned in addition to eventID and eventTime.
	Columns []string
	// Values, if set, maps a VARCHAR column or struct member ("eventName",
	// "userIdentity.type") to every distinct non-null value it holds in
	// Table. A string predicate on such a column then compiles to an IN
	// list of the values that satisfy it, decided by the Go matcher's own
	// comparison: the same result as lower()/pattern SQL on every row,
	// but evaluated once per distinct value, and an IN filter DuckDB pushes
	// down into the Parquet scan. The list must be complete for Table.
	Values map[string][]string
	CompileOptions
}

const tableAlias = "t"

// ToSQL compiles a detection rule to a DuckDB query over the lake view.
// The query returns eventID, eventTime and the requested columns of every
// matching event, ordered by eventTime and eventID.
func ToSQL(r *Rule, opts SQLOptions) (string, error) {
	prog, err := compileRule(r, opts.CompileOptions)
	if err != nil {
		return "", err
	}
	where := (&sqlGen{values: opts.Values}).filter(prog.root)
	cols, err := selectColumns(opts.Columns)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SELECT %s\nFROM %s AS %s\nWHERE %s\nORDER BY %s.\"eventTime\", %s.\"eventID\"",
		cols, quoteTable(opts.Table), tableAlias, where, tableAlias, tableAlias), nil
}

func selectColumns(extra []string) (string, error) {
	cols := []string{"eventID", "eventTime"}
	for _, c := range extra {
		if c != "eventID" && c != "eventTime" {
			cols = append(cols, c)
		}
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		if lakeSchema.child(c) == nil && !otherColumns[c] {
			return "", fmt.Errorf("sigma: column %q is not a lake column", c)
		}
		parts[i] = tableAlias + "." + quoteIdent(c)
	}
	return strings.Join(parts, ", "), nil
}

// otherColumns are lake columns that are not CloudTrail fields.
var otherColumns = map[string]bool{extraFieldsColumn: true, "source_bucket": true, "source_key": true,
	"record_index": true, "account": true, "region": true, "event_date": true}

func quoteTable(name string) string {
	if name == "" {
		name = "events"
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// quoteIdent quotes a DuckDB identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), ""), `"`, `""`) + `"`
}

// quoteString renders a SQL string literal. Control characters (and NUL)
// are emitted as chr(n) so the query text stays printable.
func quoteString(s string) string {
	var b strings.Builder
	open := false
	parts := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			if open {
				b.WriteString("'")
				open = false
			}
			if parts > 0 || b.Len() > 0 {
				b.WriteString(" || ")
			}
			fmt.Fprintf(&b, "chr(%d)", r)
			parts++
			continue
		}
		if !open {
			if b.Len() > 0 {
				b.WriteString(" || ")
			}
			b.WriteString("'")
			open = true
		}
		if r == '\'' {
			b.WriteString("''")
		} else {
			b.WriteRune(r)
		}
	}
	if open {
		b.WriteString("'")
	}
	if b.Len() == 0 {
		return "''"
	}
	if parts > 0 {
		return "(" + b.String() + ")"
	}
	return b.String()
}

// quoteRegexpLiteral escapes text for RE2 (and Go) so it matches itself.
func quoteRegexpLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case strings.ContainsRune(`\.+*?()|[]{}^$`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x{%x}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type sqlGen struct {
	depth  int                 // lambda nesting, for unique parameter names
	values map[string][]string // SQLOptions.Values
}

func (g *sqlGen) node(n node) string {
	switch n := n.(type) {
	case *constNode:
		if n.val {
			return "true"
		}
		return "false"
	case *andNode:
		return g.join(n.kids, " AND ")
	case *orNode:
		return g.join(n.kids, " OR ")
	case *notNode:
		return "(NOT " + g.node(n.kid) + ")"
	case *atLeastNode:
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = "CAST(" + g.node(k) + " AS INTEGER)"
		}
		return fmt.Sprintf("((%s) >= %d)", strings.Join(parts, " + "), n.n)
	case *leafNode:
		return "coalesce(" + g.leaf(n) + ", false)"
	}
	return "false"
}

// filter compiles n for a WHERE clause. Under AND and OR alone (no NOT,
// no counting) a leaf that is NULL acts as false — WHERE drops the row
// either way — so positive leaves go without coalesce(…, false), which
// leaves plain comparisons DuckDB can push down into the Parquet scan.
func (g *sqlGen) filter(n node) string {
	switch n := n.(type) {
	case *andNode:
		return g.joinWith(n.kids, " AND ", g.filter)
	case *orNode:
		return g.joinWith(n.kids, " OR ", g.filter)
	case *leafNode:
		return "(" + g.leaf(n) + ")"
	}
	return g.node(n)
}

func (g *sqlGen) joinWith(kids []node, op string, f func(node) string) string {
	parts := make([]string, len(kids))
	for i, k := range kids {
		parts[i] = f(k)
	}
	return "(" + strings.Join(parts, op) + ")"
}

func (g *sqlGen) join(kids []node, op string) string { return g.joinWith(kids, op, g.node) }

// fieldSQL is how a field reads in SQL: either a scalar VARCHAR expression
// (NULL when absent) or a list of the VARCHAR string forms of its non-null
// values.
type fieldSQL struct {
	expr string
	list bool
	// json marks a list of JSON values (non-null, not arrays); objects in
	// it match through every scalar inside them.
	json bool
}

const timeFormat = "'%Y-%m-%dT%H:%M:%SZ'"

func (g *sqlGen) field(fp *fieldPath) fieldSQL {
	base := tableAlias
	for _, s := range fp.structPath {
		base += "." + quoteIdent(s)
	}
	switch fp.leafKind {
	case colString:
		return fieldSQL{expr: base}
	case colBool:
		return fieldSQL{expr: "CAST(" + base + " AS VARCHAR)"}
	case colTime:
		return fieldSQL{expr: "strftime(timezone('UTC', " + base + "), " + timeFormat + ")"}
	case colStructList:
		v := g.lambdaVar()
		return fieldSQL{list: true, expr: fmt.Sprintf("list_filter(list_transform(%s, lambda %s: %s.%s), lambda %s: %s IS NOT NULL)",
			base, v, v, quoteIdent(fp.listChild), v, v)}
	case colJSON:
		return fieldSQL{list: true, json: true, expr: jsonValues(base, fp.jsonPath, g.lambdaVar())}
	}
	return fieldSQL{expr: "NULL"}
}

func (g *sqlGen) lambdaVar() string {
	g.depth++
	return "v" + strconv.Itoa(g.depth)
}

// jsonValues lists the string forms of the non-null values a path reaches
// below a JSON expression, fanning out one level of arrays after the
// column and after every segment, as the Go matcher does. It enumerates
// every array/non-array combination; combinations that do not fit the
// data yield nothing.
func jsonValues(base string, segs []string, v string) string {
	positions := len(segs) + 1
	var combos []string
	for mask := 0; mask < 1<<positions; mask++ {
		var p strings.Builder
		p.WriteString("$")
		wild := false
		if mask&1 != 0 {
			p.WriteString("[*]")
			wild = true
		}
		for i, s := range segs {
			p.WriteString(`."`)
			p.WriteString(s) // field names are restricted to safe characters
			p.WriteString(`"`)
			if mask&(1<<(i+1)) != 0 {
				p.WriteString("[*]")
				wild = true
			}
		}
		call := "json_extract(" + base + ", " + quoteString(p.String()) + ")"
		if !wild {
			call = "[" + call + "]"
		}
		combos = append(combos, call)
	}
	return fmt.Sprintf("list_filter(flatten([%s]), lambda %s: json_type(%s) NOT IN ('ARRAY', 'NULL'))",
		strings.Join(combos, ", "), v, v)
}

// anyOf applies pred to a field: directly for scalars, or "some element"
// for lists.
func (g *sqlGen) anyOf(f fieldSQL, pred func(x string) string) string {
	if !f.list {
		return pred(f.expr)
	}
	v := g.lambdaVar()
	if !f.json {
		return fmt.Sprintf("(len(list_filter(%s, lambda %s: %s)) > 0)", f.expr, v, pred(v))
	}
	u, d := g.lambdaVar(), g.lambdaVar()
	scalars := fmt.Sprintf("(len(list_filter(%s, lambda %s: json_type(%s) <> 'OBJECT' AND %s)) > 0)",
		f.expr, v, v, pred("json_extract_string("+v+", '$')"))
	// An object matches through every scalar below it: its descendants
	// ('$..*', JSONPath recursive descent) that are not objects, arrays
	// or null. A scalar expression, not a correlated json_tree subquery,
	// so DuckDB evaluates it only on rows the other filters leave.
	objects := fmt.Sprintf("(len(list_filter(flatten(list_transform(list_filter(%s, lambda %s: json_type(%s) = 'OBJECT'), lambda %s: CAST(json_extract(%s, '$..*') AS JSON[]))), lambda %s: json_type(%s) NOT IN ('OBJECT', 'ARRAY', 'NULL') AND coalesce(%s, false))) > 0)",
		f.expr, u, u, u, u, d, d, pred("json_extract_string("+d+", '$')"))
	return "(coalesce(" + scalars + ", false) OR coalesce(" + objects + ", false))"
}

// scalarStrings turns a JSON list into the string forms of its scalars
// (objects dropped), for fieldref.
func (g *sqlGen) scalarStrings(f fieldSQL) fieldSQL {
	if !f.json {
		return f
	}
	v := g.lambdaVar()
	return fieldSQL{list: true, expr: fmt.Sprintf("list_transform(list_filter(%s, lambda %s: json_type(%s) <> 'OBJECT'), lambda %s: json_extract_string(%s, '$'))", f.expr, v, v, v, v)}
}

func (g *sqlGen) leaf(l *leafNode) string {
	switch l.kind {
	case leafNull:
		if l.field.isStructLeaf() {
			base := tableAlias
			for _, s := range l.field.structPath {
				base += "." + quoteIdent(s)
			}
			if l.field.leafKind == colStructList {
				return "(coalesce(len(" + base + "), 0) = 0)"
			}
			return "(" + base + " IS NULL)"
		}
		f := g.field(l.field)
		if f.list {
			return "(coalesce(len(" + f.expr + "), 0) = 0)"
		}
		return "(" + f.expr + " IS NULL)"
	case leafKeyword:
		v := g.lambdaVar()
		return fmt.Sprintf("EXISTS (SELECT 1 FROM json_tree(%s) AS %s WHERE %s.\"type\" = 'VARCHAR' AND coalesce(%s, false))",
			rowJSON(), v, v, g.strPreds(l, "json_extract_string("+v+".\"value\", '$')"))
	case leafFieldRef:
		a := g.scalarStrings(g.field(l.field))
		b := g.scalarStrings(g.field(l.ref))
		return g.anyOf(a, func(x string) string {
			return g.anyOf(b, func(y string) string {
				if !l.cased {
					x, y = "lower("+x+")", "lower("+y+")"
				}
				switch l.refMode {
				case patPrefix:
					return "starts_with(" + x + ", " + y + ")"
				case patSuffix:
					return "ends_with(" + x + ", " + y + ")"
				case patContains:
					return "contains(" + x + ", " + y + ")"
				}
				return "(" + x + " = " + y + ")"
			})
		})
	}
	f := g.field(l.field)
	if in, ok := g.inList(l, f); ok {
		return in
	}
	return g.anyOf(f, func(x string) string { return g.strPreds(l, x) })
}

// inList compiles a string leaf on a column with known values to an IN
// list (see SQLOptions.Values).
func (g *sqlGen) inList(l *leafNode, f fieldSQL) (string, bool) {
	if l.kind != leafStr || f.list || l.field.leafKind != colString || len(l.field.structPath) == 0 {
		return "", false
	}
	vals, ok := g.values[strings.Join(l.field.structPath, ".")]
	if !ok {
		return "", false
	}
	for i := range l.pats {
		if l.pats[i].kind == patAny {
			return "", false
		}
	}
	var in []string
	for _, v := range vals {
		for i := range l.pats {
			if patMatch(&l.pats[i], v, l.cased) {
				in = append(in, quoteString(v))
				break
			}
		}
	}
	if len(in) == 0 {
		// No value matches; NULL where the column is NULL, as the
		// pattern form gives.
		return "(CASE WHEN " + f.expr + " IS NULL THEN NULL ELSE false END)", true
	}
	return "(" + f.expr + " IN (" + strings.Join(in, ", ") + "))", true
}

// strPreds is the predicate of a value leaf on one VARCHAR expression.
func (g *sqlGen) strPreds(l *leafNode, x string) string {
	switch l.kind {
	case leafRe:
		return "regexp_matches(" + x + ", " + quoteString(l.reSrc) + ")"
	case leafCIDR:
		var parts []string
		for _, p := range l.prefixes {
			parts = append(parts, cidrSQL(x, p))
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case leafNum:
		op := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[l.numOp]
		return fmt.Sprintf("(regexp_full_match(%s, %s) AND TRY_CAST(%s AS DOUBLE) %s CAST(%s AS DOUBLE))",
			x, quoteString(decimalRe), x, op, quoteString(strconv.FormatFloat(l.num, 'g', -1, 64)))
	}
	lx := x
	if !l.cased {
		lx = "lower(" + x + ")"
	}
	var parts []string
	for _, p := range l.pats {
		switch p.kind {
		case patAny:
			parts = append(parts, "("+x+" IS NOT NULL)")
		case patEq:
			parts = append(parts, "("+lx+" = "+quoteString(p.lit)+")")
		case patPrefix:
			parts = append(parts, "starts_with("+lx+", "+quoteString(p.lit)+")")
		case patSuffix:
			parts = append(parts, "ends_with("+lx+", "+quoteString(p.lit)+")")
		case patContains:
			parts = append(parts, "contains("+lx+", "+quoteString(p.lit)+")")
		case patGlob:
			parts = append(parts, "regexp_full_match("+lx+", "+quoteString(globRegexp(p.toks))+")")
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// decimalRe is the SQL twin of isDecimal.
const decimalRe = `-?[0-9]{1,300}(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?`

func globRegexp(toks []globTok) string {
	var b strings.Builder
	b.WriteString("(?s)")
	for _, t := range toks {
		switch {
		case t.star:
			b.WriteString(".*")
		case t.one:
			b.WriteString(".")
		default:
			b.WriteString(quoteRegexpLiteral(t.lit))
		}
	}
	return b.String()
}

const octetRe = `(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])`

// cidrSQL tests an IPv4 dotted quad against a prefix with integer
// arithmetic (DuckDB's inet extension is not available offline).
func cidrSQL(x string, p netip.Prefix) string {
	a := p.Addr().As4()
	lo := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
	hi := lo | (1<<(32-p.Bits()) - 1)
	num := fmt.Sprintf("(TRY_CAST(split_part(%[1]s, '.', 1) AS BIGINT) * 16777216 + TRY_CAST(split_part(%[1]s, '.', 2) AS BIGINT) * 65536 + TRY_CAST(split_part(%[1]s, '.', 3) AS BIGINT) * 256 + TRY_CAST(split_part(%[1]s, '.', 4) AS BIGINT))", x)
	return fmt.Sprintf("(regexp_full_match(%s, %s) AND %s BETWEEN %d AND %d)", x, quoteString(octetRe+`(\.`+octetRe+`){3}`), num, lo, hi)
}

// rowJSON is the event as a JSON object, for keyword search over every
// string value.
func rowJSON() string {
	var parts []string
	for _, c := range lakeSchema.children {
		val := tableAlias + "." + quoteIdent(c.name)
		if c.kind == colTime {
			val = "strftime(timezone('UTC', " + val + "), " + timeFormat + ")"
		}
		parts = append(parts, quoteString(c.name), val)
	}
	parts = append(parts, quoteString(extraFieldsColumn), tableAlias+"."+quoteIdent(extraFieldsColumn))
	return "json_object(" + strings.Join(parts, ", ") + ")"
}
