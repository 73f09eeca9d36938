package query_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trailscope/trailscope/query"
)

// hiveOf translates a DuckDB type (as DESCRIBE prints it) to the Hive type
// Athena and Spark use for the same Parquet column.
func hiveOf(t *testing.T, s string) string {
	t.Helper()
	h, rest := parseDuck(t, s)
	if rest != "" {
		t.Fatalf("type %q: %q left over", s, rest)
	}
	return h
}

func parseDuck(t *testing.T, s string) (string, string) {
	var h string
	switch {
	case strings.HasPrefix(s, "STRUCT("):
		s = s[len("STRUCT("):]
		var fields []string
		for {
			var name string
			if strings.HasPrefix(s, `"`) {
				end := strings.Index(s[1:], `"`)
				name, s = s[1:end+1], s[end+2:]
			} else {
				sp := strings.IndexByte(s, ' ')
				name, s = s[:sp], s[sp:]
			}
			var ft string
			ft, s = parseDuck(t, strings.TrimPrefix(s, " "))
			fields = append(fields, "`"+name+"`:"+ft)
			if strings.HasPrefix(s, ", ") {
				s = s[2:]
				continue
			}
			if !strings.HasPrefix(s, ")") {
				t.Fatalf("struct: unexpected %q", s)
			}
			s = s[1:]
			break
		}
		h = "struct<" + strings.Join(fields, ",") + ">"
	default:
		scalars := []struct{ duck, hive string }{
			{"TIMESTAMP WITH TIME ZONE", "timestamp"}, {"VARCHAR", "string"}, {"JSON", "string"},
			{"BOOLEAN", "boolean"}, {"BIGINT", "bigint"},
		}
		found := false
		for _, sc := range scalars {
			if strings.HasPrefix(s, sc.duck) {
				h, s, found = sc.hive, s[len(sc.duck):], true
				break
			}
		}
		if !found {
			t.Fatalf("no Hive type for DuckDB %q", s)
		}
	}
	for strings.HasPrefix(s, "[]") {
		h, s = "array<"+h+">", s[2:]
	}
	return h, s
}

// TestDDL: the Athena DDL has every Parquet column of a real lake file
// (read by DuckDB's parquet_schema and DESCRIBE) with the Hive type of
// what the file holds, nested fields included, and is well formed HiveQL.
func TestDDL(t *testing.T) {
	ddl, err := query.DDL("athena", "ct", "s3://bucket/lake/events/")
	if err != nil {
		t.Fatal(err)
	}
	dir := sampleLake(t)
	var file string
	filepath.WalkDir(filepath.Join(dir, "events"), func(p string, d fs.DirEntry, err error) error {
		if file == "" && strings.HasSuffix(p, ".parquet") {
			file = p
		}
		return nil
	})
	db := open(t, dir)
	// Every field of the file's Parquet schema is named in the DDL.
	for i, r := range run(t, db, fmt.Sprintf("SELECT name, num_children FROM parquet_schema('%s')", file)).Rows {
		name := r[0].(string)
		if i == 0 {
			continue // the root
		}
		switch name {
		case "list", "element":
			continue // Parquet's own list wrappers
		}
		if !strings.Contains(ddl, "`"+name+"`") {
			t.Errorf("Parquet field %s is not in the DDL", name)
		}
	}
	// Every column has the Hive type of its DuckDB type.
	for _, r := range run(t, db, fmt.Sprintf("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('%s', hive_partitioning = false))", file)).Rows {
		want := fmt.Sprintf("  `%s` %s", r[0], hiveOf(t, r[1].(string)))
		if !strings.Contains(ddl, want+",\n") && !strings.Contains(ddl, want+"\n") {
			t.Errorf("DDL lacks %q", want)
		}
	}
	checkWellFormed(t, "athena", ddl)
	for _, want := range []string{"CREATE EXTERNAL TABLE IF NOT EXISTS ct (", "STORED AS PARQUET",
		"PARTITIONED BY (`account` string, `region` string, `event_date` string)", "LOCATION 's3://bucket/lake/events/'",
		"'projection.enabled' = 'true'", "MSCK REPAIR TABLE ct"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q", want)
		}
	}
	for _, e := range []string{"trino", "spark"} {
		s, err := query.DDL(e, "ct", "s3://b/events")
		if err != nil {
			t.Fatal(err)
		}
		checkWellFormed(t, e, s)
		if !strings.Contains(s, "s3://b/events/") || !strings.Contains(s, "event_date") {
			t.Errorf("%s DDL:\n%s", e, s)
		}
	}
	if _, err := query.DDL("bigquery", "ct", "s3://b/"); err == nil {
		t.Error("an unknown engine was accepted")
	}
}

var columnLine = regexp.MustCompile("^  (`[A-Za-z_][A-Za-z0-9_]*`|\"[A-Za-z_][A-Za-z0-9_]*\") ")

// checkWellFormed: brackets balance outside string literals, and every
// column line starts with a quoted identifier.
func checkWellFormed(t *testing.T, engine, ddl string) {
	t.Helper()
	depth := map[rune]int{}
	inStr := false
	for _, c := range ddl {
		switch {
		case c == '\'':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '<':
			depth[c]++
		case c == ')':
			depth['(']--
		case c == '>':
			depth['<']--
		}
		if depth['('] < 0 || depth['<'] < 0 {
			t.Fatalf("%s DDL: a closing bracket without its opening one:\n%s", engine, ddl)
		}
	}
	if depth['('] != 0 || depth['<'] != 0 || inStr {
		t.Errorf("%s DDL: unbalanced brackets or quotes (%v, in string %v)", engine, depth, inStr)
	}
	body := ddl[strings.Index(ddl, "(\n")+2 : strings.Index(ddl, "\n)")]
	for _, l := range strings.Split(body, "\n") {
		if !columnLine.MatchString(l) {
			t.Errorf("%s DDL: column line %q does not start with a quoted identifier", engine, l)
		}
	}
}
