package sigma

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNumberTextMatchesDuckDB checks that the Go matcher prints JSON
// numbers exactly as DuckDB's json_extract_string does.
func TestNumberTextMatchesDuckDB(t *testing.T) {
	nums := []string{"0", "1", "-1", "1.5", "1.50", "1E3", "1e20", "1e21", "1e22", "1e-6", "1e-7", "0.1", "0.000123",
		"12345678901234567890123", "123456.789e3", "1e16", "1e15", "123456789012345.6", "3.0e2", "-2.5e-3",
		"99.99", "1.7976931348623157e308", "5e-324", "0.30000000000000004", "100", "2.0", "-0.5", "7e1"}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, n := range nums {
		var want string
		if err := db.QueryRow("SELECT json_extract_string(CAST(? AS JSON), '$.n')", `{"n":`+n+`}`).Scan(&want); err != nil {
			t.Fatalf("DuckDB %s: %v", n, err)
		}
		ev, err := ParseEvent([]byte(`{"n":` + n + `}`))
		if err != nil {
			t.Fatal(err)
		}
		got := ev.Lookup("n")
		if len(got) != 1 || got[0] != want {
			t.Errorf("Go text of %s = %q; DuckDB prints %q", n, got, want)
		}
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "'plain'"},
		{"it's", "'it''s'"},
		{"", "''"},
		{"a\x00b", "('a' || chr(0) || 'b')"},
		{"\n", "(chr(10))"},
		{`back\slash`, `'back\slash'`},
	}
	for _, tt := range tests {
		if got := quoteString(tt.in); got != tt.want {
			t.Errorf("quoteString(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
	if got, want := quoteIdent(`we"ird`), `"we""ird"`; got != want {
		t.Errorf("quoteIdent = %s; want %s", got, want)
	}
	if got, want := quoteTable(`lake.ev"ents`), `"lake"."ev""ents"`; got != want {
		t.Errorf("quoteTable = %s; want %s", got, want)
	}
}

// TestSQLOptions runs a query with a schema-qualified, oddly named table
// and extra columns against DuckDB.
func TestSQLOptions(t *testing.T) {
	r, err := ParseRule("r.yml", []byte("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: ListBuckets\n  condition: s\n"))
	if err != nil {
		t.Fatal(err)
	}
	events := allRealEvents(t)[:400]
	db := openDuck(t, events)
	if _, err := db.Exec(`CREATE SCHEMA lake; CREATE VIEW lake."ev""ents" AS SELECT * FROM events`); err != nil {
		t.Fatal(err)
	}
	q, err := ToSQL(r, SQLOptions{Table: `lake.ev"ents`, Columns: []string{"eventName", "userIdentity", "source_key"}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if diff := cmp.Diff([]string{"eventID", "eventTime", "eventName", "userIdentity", "source_key"}, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	n := 0
	for rows.Next() {
		n++
	}
	m, _ := Compile(r, CompileOptions{})
	if want := len(goIDs(t, m, events)); n != want || n == 0 {
		t.Errorf("query returned %d rows; Go matcher %d (want equal and > 0)", n, want)
	}
	if _, err := ToSQL(r, SQLOptions{Columns: []string{"nope; DROP TABLE x"}}); err == nil {
		t.Error("ToSQL accepted an unknown column")
	}
}

func TestParseWildcards(t *testing.T) {
	tests := []struct {
		in   string
		want string // rendered: * ? and [literal]
	}{
		{`abc`, `[abc]`},
		{`a*b?c`, `[a]*[b]?[c]`},
		{`a\*b`, `[a*b]`},
		{`a\\*`, `[a\]*`},
		{`C:\Windows\*`, `[C:\Windows*]`},
		{`**x`, `*[x]`},
		{`\`, `[\]`},
	}
	for _, tt := range tests {
		var b strings.Builder
		for _, tok := range parseWildcards(tt.in) {
			switch {
			case tok.star:
				b.WriteString("*")
			case tok.one:
				b.WriteString("?")
			default:
				b.WriteString("[" + tok.lit + "]")
			}
		}
		if got := b.String(); got != tt.want {
			t.Errorf("parseWildcards(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestGlobMatchIsLinear(t *testing.T) {
	toks := parseWildcards(strings.Repeat("*a", 30) + "*b")
	p := makePattern(toks, "", false)
	s := strings.Repeat("a", 5000)
	if globMatch(p.runes, s, false) {
		t.Error("matched a string without b")
	}
	if !globMatch(p.runes, s+"b", false) {
		t.Error("did not match")
	}
}

func TestRequiredLiteral(t *testing.T) {
	for in, want := range map[string]string{
		".+:assumed-role/aws:.+": ":assumed-role/aws:",
		"(?i)root":               "",
		"^Get":                   "Get",
		"a|b":                    "",
	} {
		if got := requiredLiteral(in); got != want {
			t.Errorf("requiredLiteral(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestEventParser(t *testing.T) {
	var p EventParser
	if _, err := p.Parse([]byte(`[1,2]`)); err != ErrNotObject {
		t.Errorf("Parse(array) error = %v; want ErrNotObject", err)
	}
	if _, err := p.Parse([]byte(`{"a":`)); err == nil {
		t.Error("Parse(truncated) = nil error")
	}
	ev, err := p.Parse([]byte(`{"eventID":"x","eventTime":"2024-08-02T08:53:24Z","requestParameters":{"a":[{"b":1},{"b":"two"},[{"b":3}]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.EventTime().Format("2006-01-02T15:04:05Z07:00"); got != "2024-08-02T08:53:24Z" {
		t.Errorf("EventTime() = %s", got)
	}
	if diff := cmp.Diff([]string{"1", "two"}, ev.Lookup("requestParameters.a.b")); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}
	var zero Event
	if zero.Valid() || !zero.EventTime().IsZero() || zero.EventID() != "" {
		t.Error("zero Event is not empty")
	}
	m, err := Compile(&Rule{Meta: Meta{Title: "x"}, Logsource: Logsource{Product: "aws", Set: true}, Detection: Detection{
		Searches: map[string]*Search{"s": {Name: "s", Maps: [][]*FieldMatch{{{Field: "eventID", Values: []Value{{Kind: ValueString, Str: "x"}}}}}}},
		Order:    []string{"s"}, Conditions: []*Condition{{Expr: &IdentExpr{Name: "s"}}}}}, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Match(zero) || !m.Match(ev) {
		t.Error("Match on zero/real event wrong")
	}
}
