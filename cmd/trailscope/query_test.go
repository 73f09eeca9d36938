package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

var updateQueryGolden = flag.Bool("update", false, "rewrite testdata/query goldens")

// queryLake ingests the committed sample into a new lake.
func queryLake(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lake")
	if _, stderr, code := trailscope(t, "ingest", "../../testdata/sample/bucket", "--lake", dir, "-q"); code != exitOK {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	return dir
}

const cliGoldenQuery = `SELECT eventName, count(*) AS n, min(eventTime) AS first, any_value(errorCode) AS error
FROM events WHERE userIdentity.accessKeyId = 'AKIASTOLEN0000000001' AND account = '777788889999'
GROUP BY 1 ORDER BY 1;`

// TestQueryCLIFormats runs one query through the CLI in every format,
// to stdout and to --output, against goldens in testdata/query
// (go test ./cmd/trailscope -run QueryCLI -update rewrites them).
func TestQueryCLIFormats(t *testing.T) {
	lake := queryLake(t)
	for _, f := range []string{"table", "csv", "json", "jsonl", "markdown"} {
		out, stderr, code := trailscope(t, "query", "--lake", lake, "--format", f, cliGoldenQuery)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", f, code, stderr)
		}
		golden := filepath.Join("../../testdata/query", "cli-stolen-key."+f+".golden")
		if *updateQueryGolden {
			os.WriteFile(golden, []byte(out), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if out != string(want) {
			t.Errorf("%s output differs from %s:\n%s", f, golden, out)
		}
		file := filepath.Join(t.TempDir(), "out."+f)
		if _, stderr, code := trailscope(t, "query", "--lake", lake, "--format", f, "-o", file, cliGoldenQuery); code != exitOK {
			t.Fatalf("%s -o: exit %d: %s", f, code, stderr)
		}
		if b, _ := os.ReadFile(file); !bytes.Equal(b, want) {
			t.Errorf("%s --output differs from stdout:\n%s", f, b)
		}
	}
	// Parquet, read back with parquet-go.
	file := filepath.Join(t.TempDir(), "out.parquet")
	if _, stderr, code := trailscope(t, "query", "--lake", lake, "--format", "parquet", "-o", file, cliGoldenQuery); code != exitOK {
		t.Fatalf("parquet: exit %d: %s", code, stderr)
	}
	type row struct {
		EventName string `parquet:"eventName"`
		N         int64  `parquet:"n"`
	}
	rows, err := parquet.ReadFile[row](file)
	if err != nil {
		t.Fatal(err)
	}
	csv, _, _ := trailscope(t, "query", "--lake", lake, "--format", "csv", cliGoldenQuery)
	if len(rows) == 0 || len(rows) != strings.Count(csv, "\n")-1 || !strings.Contains(csv, rows[0].EventName) {
		t.Errorf("parquet rows %v; csv:\n%s", rows, csv)
	}
}

// TestQueryCLIPresetsAndErrors: presets with --arg, usage errors (exit 3),
// query errors with a suggestion and read-only refusals (exit 4).
func TestQueryCLIPresetsAndErrors(t *testing.T) {
	lake := queryLake(t)
	out, stderr, code := trailscope(t, "query", "--lake", lake, "--preset", "whois", "--arg", "key=AKIASTOLEN0000000001", "--format", "jsonl")
	if code != exitOK || !strings.Contains(out, "dev-mallory") {
		t.Errorf("whois: exit %d, %s %s", code, out, stderr)
	}
	out, _, code = trailscope(t, "query", "--lake", lake, "--preset", "timeline", "--arg", "who=x' OR 1=1 --", "--format", "csv")
	if code != exitOK || strings.Count(out, "\n") != 1 {
		t.Errorf("timeline with an injection: exit %d, %q; want the header only", code, out)
	}
	for _, args := range [][]string{
		{"query", "SELECT 1"},
		{"query", "--lake", lake},
		{"query", "--lake", lake, "--preset", "nosuch"},
		{"query", "--lake", lake, "--preset", "timeline"},
		{"query", "--lake", lake, "--preset", "timeline", "--arg", "nope"},
		{"query", "--lake", lake, "--format", "xml", "SELECT 1"},
		{"query", "--lake", lake, "--format", "parquet", "SELECT 1"},
		{"query", "--lake", lake, "SELECT 1", "--arg", "a=b"},
		{"lake", "ddl"},
		{"lake", "ddl", "--engine", "oracle", "--location", "s3://b/"},
		{"shell"},
	} {
		if _, stderr, code := trailscope(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d; want %d (%s)", args, code, exitUsage, stderr)
		}
	}
	_, stderr, code = trailscope(t, "query", "--lake", lake, "SELECT evntName FROM events")
	if code != exitFatal || !strings.Contains(stderr, "did you mean eventName?") || !strings.Contains(stderr, "Candidate bindings") {
		t.Errorf("unknown column: exit %d, %s", code, stderr)
	}
	target := filepath.Join(lake, "events", "x.csv")
	_, stderr, code = trailscope(t, "query", "--lake", lake, "COPY (SELECT 1) TO '"+target+"'")
	if code != exitFatal || !strings.Contains(stderr, "read-only") {
		t.Errorf("COPY into the lake: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(target); err == nil {
		t.Error("COPY wrote into the lake")
	}
	_, stderr, code = trailscope(t, "query", "--lake", lake, "--format", "parquet", "-o", filepath.Join(lake, "events", "o.parquet"), "SELECT 1")
	if code != exitFatal || !strings.Contains(stderr, "inside the lake") {
		t.Errorf("--output inside the lake: exit %d, %s", code, stderr)
	}
	outside := filepath.Join(t.TempDir(), "w.csv")
	if _, stderr, code := trailscope(t, "query", "--lake", lake, "--allow-writes", "COPY (SELECT 1 AS a) TO '"+outside+"'"); code != exitOK {
		t.Errorf("--allow-writes COPY: exit %d, %s", code, stderr)
	}
	if _, stderr, code := trailscope(t, "query", "--lake", t.TempDir(), "SELECT 1"); code != exitFatal || !strings.Contains(stderr, "not a trailscope lake") {
		t.Errorf("not a lake: exit %d, %s", code, stderr)
	}
}

// TestLakeDDLCLI prints the DDL for each engine.
func TestLakeDDLCLI(t *testing.T) {
	for _, e := range []string{"athena", "trino", "spark"} {
		out, stderr, code := trailscope(t, "lake", "ddl", "--engine", e, "--location", "s3://bucket/lake/events/", "--table", "ct")
		if code != exitOK || !strings.Contains(out, "s3://bucket/lake/events/") || !strings.Contains(out, "userIdentity") {
			t.Errorf("%s: exit %d, %s\n%s", e, code, stderr, out)
		}
	}
}

// TestShellPiped: with piped input the shell runs a script, without prompts.
func TestShellPiped(t *testing.T) {
	lake := queryLake(t)
	want, _, _ := trailscope(t, "query", "--lake", lake, "--format", "csv", "SELECT count(*) AS n FROM events WHERE eventName = 'StopLogging'")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"shell", "--lake", lake, "--history", "-"},
		strings.NewReader(".mode csv\nSELECT count(*) AS n\nFROM events\nWHERE eventName = 'StopLogging';\n"), &out, &errb)
	if code != exitOK || out.String() != want || want == "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
