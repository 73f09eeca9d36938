package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
	"github.com/trailscope/trailscope/query"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/query")

var tmpRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if tmpRoot, err = os.MkdirTemp("", "query-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// ingestDir ingests a folder of CloudTrail files into a new lake.
func ingestDir(t testing.TB, src, dir string) {
	t.Helper()
	ctx := context.Background()
	w, err := lake.Open(ctx, dir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ingest.NewDirSource(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := ingest.Run(ctx, s, w, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

var (
	sampleOnce sync.Once
	sampleDir  string
)

// sampleLake is the committed synth sample (testdata/sample: planted
// attacks listed in planted.json), ingested once per test binary. Tests
// must not change it.
func sampleLake(t testing.TB) string {
	t.Helper()
	sampleOnce.Do(func() {
		sampleDir = filepath.Join(tmpRoot, "sample")
		ingestDir(t, "../testdata/sample/bucket", sampleDir)
	})
	return sampleDir
}

func open(t testing.TB, dir string) *query.DB {
	t.Helper()
	db, err := query.Open(context.Background(), dir, query.Options{Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func run(t testing.TB, db *query.DB, q string, args ...any) *query.Result {
	t.Helper()
	res, err := db.Run(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// readParquet reads every events file of a lake with parquet-go, an
// independent reader.
func readParquet(t *testing.T, dir string) []ingest.Event {
	t.Helper()
	var all []ingest.Event
	filepath.WalkDir(filepath.Join(dir, "events"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") {
			rows, err := parquet.ReadFile[ingest.Event](p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rows...)
		}
		return nil
	})
	return all
}

// TestCountsMatchParquet compares SQL answers with parquet-go reading the
// same files, and with the ingest manifest (the files view).
func TestCountsMatchParquet(t *testing.T) {
	dir := sampleLake(t)
	evs := readParquet(t, dir)
	perName := map[string]int{}
	perKey := map[string]int{}
	var denied int
	for _, e := range evs {
		perName[e.EventName]++
		if e.UserIdentity != nil && e.UserIdentity.AccessKeyID != "" {
			perKey[e.UserIdentity.AccessKeyID]++
		}
		if e.ErrorCode != "" {
			denied++
		}
	}
	db := open(t, dir)
	res := run(t, db, "SELECT count(*), count(DISTINCT eventID), count(errorCode) FROM events")
	if got := int(res.Rows[0][0].(int64)); got != len(evs) || got == 0 {
		t.Fatalf("SQL count %d; parquet-go count %d", got, len(evs))
	}
	if got := int(res.Rows[0][2].(int64)); got != denied {
		t.Errorf("SQL errors %d; parquet-go %d", got, denied)
	}
	for _, r := range run(t, db, "SELECT eventName, count(*) FROM events GROUP BY 1").Rows {
		if int(r[1].(int64)) != perName[r[0].(string)] {
			t.Errorf("%s: SQL %d, parquet-go %d", r[0], r[1], perName[r[0].(string)])
		}
	}
	for _, r := range run(t, db, "SELECT userIdentity.accessKeyId, count(*) FROM events WHERE userIdentity.accessKeyId IS NOT NULL GROUP BY 1").Rows {
		if int(r[1].(int64)) != perKey[r[0].(string)] {
			t.Errorf("key %s: SQL %d, parquet-go %d", r[0], r[1], perKey[r[0].(string)])
		}
	}
	// The manifest counts what was written; the lake has exactly that.
	m := run(t, db, "SELECT sum(written), count(*), count(*) FILTER (WHERE status = 'ingested') FROM files")
	if w := m.Rows[0][0]; fmt.Sprint(w) != strconv.Itoa(len(evs)) {
		t.Errorf("files view: %v written; the lake holds %d events", w, len(evs))
	}
	if m.Rows[0][1] != m.Rows[0][2] {
		t.Errorf("files view: %v files, %v ingested", m.Rows[0][1], m.Rows[0][2])
	}
	// JSON columns work with DuckDB's JSON operators.
	j := run(t, db, `SELECT count(*) FROM events WHERE eventName = 'ConsoleLogin' AND (responseElements->>'ConsoleLogin') = 'Failure'`)
	if j.Rows[0][0].(int64) == 0 {
		t.Error("no failed ConsoleLogin through responseElements->>'ConsoleLogin'")
	}
}

var scanning = regexp.MustCompile(`Scanning Files: (\d+)/(\d+)`)

// TestPartitionPruning shows with EXPLAIN that filters on account,
// region and event_date read only the matching files.
func TestPartitionPruning(t *testing.T) {
	db := open(t, sampleLake(t))
	for _, where := range []string{
		"account = '777788889999'",
		"region = 'eu-west-1'",
		"account = '111122223333' AND region = 'us-east-1'",
		"event_date >= '2026-11-21'",
		"event_date = '2026-11-20' AND account IN ('444455556666')",
	} {
		res := run(t, db, "EXPLAIN SELECT count(DISTINCT eventID) FROM events WHERE "+where) // a count(*) may come from cached footers, with no scan to show
		var plan strings.Builder
		for _, r := range res.Rows {
			plan.WriteString(fmt.Sprint(r...))
		}
		m := scanning.FindStringSubmatch(strings.Join(strings.Fields(strings.NewReplacer("│", " ").Replace(plan.String())), " "))
		if m == nil {
			t.Errorf("%s: no 'Scanning Files' in the plan:\n%s", where, plan.String())
			continue
		}
		read, all := atoi(m[1]), atoi(m[2])
		if read >= all {
			t.Errorf("%s: scans %d of %d files; want pruning", where, read, all)
		}
		// The pruned answer is the right one.
		full := run(t, db, "SELECT count(*) FROM (SELECT * FROM events) WHERE "+where+" OFFSET 0")
		pruned := run(t, db, "SELECT count(*) FROM events WHERE "+where)
		if full.Rows[0][0] != pruned.Rows[0][0] {
			t.Errorf("%s: %v with pruning, %v without", where, pruned.Rows[0][0], full.Rows[0][0])
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// goldenQuery exercises strings, counts, times, JSON and lists.
const goldenQuery = `SELECT eventName, count(*) AS n, min(eventTime) AS first,
  any_value(requestParameters) FILTER (WHERE eventName = 'ScheduleKeyDeletion') AS params,
  list(DISTINCT awsRegion ORDER BY awsRegion) AS regions
FROM events WHERE userIdentity.userName = 'dev-mallory' GROUP BY 1 ORDER BY 1`

// TestFormatsGolden renders one query in every text format against
// golden files (go test ./query -run Golden -update rewrites them), and
// checks the parquet format with parquet-go.
func TestFormatsGolden(t *testing.T) {
	db := open(t, sampleLake(t))
	res := run(t, db, goldenQuery)
	for _, f := range []string{"table", "csv", "json", "jsonl", "markdown"} {
		var b bytes.Buffer
		if err := res.Write(&b, f, 100); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("../testdata/query", "dev-mallory."+f+".golden")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			os.WriteFile(golden, b.Bytes(), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s output differs from %s:\n%s", f, golden, b.String())
		}
		switch f {
		case "json":
			var v []map[string]any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil || len(v) != len(res.Rows) {
				t.Errorf("json: %d objects, %v", len(v), err)
			}
		case "jsonl":
			for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("jsonl line not JSON: %s", line)
				}
			}
		}
	}
	out := filepath.Join(t.TempDir(), "out.parquet")
	w, err := query.Open(context.Background(), sampleLake(t), query.Options{Sandbox: true, WritableFiles: []string{out}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.CopyParquet(context.Background(), goldenQuery, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if int(pf.NumRows()) != len(res.Rows) {
		t.Errorf("parquet output: %d rows; want %d", pf.NumRows(), len(res.Rows))
	}
}

// TestTableFitsWidth: table lines never exceed the width, whatever the
// number and size of the columns; wide cells end with …, and columns
// that cannot fit are named, not wrapped.
func TestTableFitsWidth(t *testing.T) {
	db := open(t, sampleLake(t))
	res := run(t, db, "SELECT * FROM events ORDER BY eventID LIMIT 5")
	for _, width := range []int{40, 80, 120, 200} {
		var b bytes.Buffer
		res.Write(&b, "table", width)
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		for _, l := range lines[:len(lines)-1] {
			if n := len([]rune(l)); n > width {
				t.Errorf("width %d: line of %d runes: %s", width, n, l)
			}
		}
		if !strings.Contains(b.String(), "…") || !strings.Contains(lines[len(lines)-1], "columns not shown") {
			t.Errorf("width %d: want clipped cells and hidden columns named:\n%s", width, b.String())
		}
		if got := strings.Count(b.String(), "\n"); got != 5+5 {
			t.Errorf("width %d: %d lines; want 5 rows + 4 rules/header + footer", width, got)
		}
	}
}

type plantedFile struct {
	Planted []struct {
		Technique string   `json:"technique"`
		EventName string   `json:"event_name"`
		EventIDs  []string `json:"event_ids"`
		Account   string   `json:"account"`
		Attempt   bool     `json:"attempt"`
	} `json:"planted"`
}

func column(t *testing.T, res *query.Result, name string) map[string]bool {
	t.Helper()
	for i, c := range res.Columns {
		if c == name {
			out := map[string]bool{}
			for _, r := range res.Rows {
				out[fmt.Sprint(r[i])] = true
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, res.Columns)
	return nil
}

func preset(t *testing.T, db *query.DB, name string, kv ...string) *query.Result {
	t.Helper()
	q, vals, err := query.BindPreset(name, kv)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Run(context.Background(), q, vals...)
	if err != nil {
		t.Fatalf("preset %s: %v", name, err)
	}
	return res
}

// TestPresetsFindPlanted runs the presets over the synth sample and
// checks each returns the planted events (by event ID, from the
// sample's planted.json).
func TestPresetsFindPlanted(t *testing.T) {
	var pf plantedFile
	b, err := os.ReadFile("../testdata/sample/planted.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pf); err != nil {
		t.Fatal(err)
	}
	db := open(t, sampleLake(t))
	tam := column(t, preset(t, db, "tampering"), "eventID")
	tl := column(t, preset(t, db, "timeline", "who=185.220.101.47"), "eventID")
	tlKey := column(t, preset(t, db, "timeline", "who=AKIASTOLEN0000000001"), "eventID")
	logins := preset(t, db, "console-logins", "result=Failure")
	failed := column(t, logins, "eventID")
	hunt := column(t, preset(t, db, "athena-hunt", "since=2026-11-20"), "eventID")
	isTampering := func(name string) bool {
		for _, n := range query.TamperingEvents {
			if n == name {
				return true
			}
		}
		return strings.HasPrefix(name, "Disable")
	}
	var nTam int
	for _, p := range pf.Planted {
		for _, id := range p.EventIDs {
			if isTampering(p.EventName) {
				nTam++
				if !tam[id] {
					t.Errorf("tampering preset misses %s (%s, %s)", p.EventName, p.Technique, id)
				}
			}
			if p.Account == "777788889999" && !tl[id] {
				t.Errorf("timeline of the attacker's IP misses %s (%s)", p.EventName, p.Technique)
			}
			if p.Technique == "Console brute force" {
				if !failed[id] {
					t.Errorf("console-logins result=Failure misses brute force %s", id)
				}
				if !hunt[id] {
					t.Errorf("athena-hunt misses the failed login %s", id)
				}
			}
			if p.EventName == "StopLogging" && !hunt[id] {
				t.Errorf("athena-hunt misses StopLogging %s", id)
			}
		}
	}
	if nTam < 6 {
		t.Errorf("only %d planted tampering events; the sample changed?", nTam)
	}
	if len(tlKey) < 10 {
		t.Errorf("timeline of the stolen key: %d events", len(tlKey))
	}
	for id := range column(t, logins, "result") {
		if id != "Failure" {
			t.Errorf("console-logins result=Failure returned a %s", id)
		}
	}
	who := preset(t, db, "whois", "key=AKIASTOLEN0000000001")
	if len(who.Rows) == 0 || !strings.Contains(fmt.Sprint(who.Rows[0]), "dev-mallory") || !strings.Contains(fmt.Sprint(who.Rows[0]), "185.220.101.47") {
		t.Errorf("whois of the stolen key: %v", who.Rows)
	}
	// The brute force is an error spike of one principal.
	errs := preset(t, db, "errors", "min=5")
	if len(errs.Rows) == 0 {
		t.Error("errors preset: no spike; want the console brute force")
	}
	// Everything the attacker used is new in its window.
	nw := preset(t, db, "new", "since=2026-11-20T01:00:00Z", "until=2026-11-20T02:00:00Z")
	if !column(t, nw, "value")["185.220.101.47"] {
		t.Errorf("new: the attacker's IP is not first seen in its hour: %v", nw.Rows)
	}
	// Window parameters narrow the result.
	if n := len(preset(t, db, "tampering", "since=2026-11-20T03:00:00Z").Rows); n == 0 || n >= len(tam) {
		t.Errorf("tampering since=03:00: %d rows of %d", n, len(tam))
	}
}

// TestPresetParametersAreBound: preset values never become SQL.
func TestPresetParametersAreBound(t *testing.T) {
	db := open(t, sampleLake(t))
	ctx := context.Background()
	before := run(t, db, "SELECT count(*) FROM events").Rows[0][0]
	for _, evil := range []string{
		"x' OR 1=1 --",
		"x'; DROP VIEW events; --",
		`x" OR "1"="1`,
		"') UNION SELECT * FROM events --",
		"$1",
	} {
		for _, name := range []string{"timeline", "whois"} {
			p := query.Presets[name]
			q, vals, err := p.Bind(map[string]string{p.Params[0].Name: evil})
			if err != nil {
				t.Fatal(err)
			}
			if evil != "$1" && strings.Contains(q, evil) {
				t.Errorf("%s: the value is in the SQL", name)
			}
			res, err := db.Run(ctx, q, vals...)
			if err != nil {
				t.Errorf("%s %q: %v", name, evil, err)
			} else if len(res.Rows) != 0 {
				t.Errorf("%s %q: %d rows; want none", name, evil, len(res.Rows))
			}
		}
		// A bad time is a cast error, not SQL.
		q, vals, _ := query.BindPreset("tampering", []string{"since=" + evil})
		if _, err := db.Run(ctx, q, vals...); err == nil || !strings.Contains(err.Error(), "onversion") {
			t.Errorf("tampering since=%q: %v; want a conversion error", evil, err)
		}
	}
	if after := run(t, db, "SELECT count(*) FROM events").Rows[0][0]; after != before {
		t.Errorf("events: %v rows after the injections, %v before", after, before)
	}
	if _, _, err := query.BindPreset("timeline", nil); err == nil || !strings.Contains(err.Error(), "who=") {
		t.Errorf("timeline without who: %v", err)
	}
	if _, _, err := query.BindPreset("timeline", []string{"who=x", "bogus=1"}); err == nil {
		t.Error("an unknown parameter was accepted")
	}
}

// lakeFiles lists a lake's files with their sizes and times.
func lakeFiles(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			info, _ := d.Info()
			out[p] = fmt.Sprint(info.Size(), info.ModTime().UnixNano(), info.Mode())
		}
		return nil
	})
	return out
}

// TestReadOnly: statements that write, attach, load or reconfigure are
// refused, including into the lake's own folders, and the lake does not
// change; --allow-writes lifts it.
func TestReadOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	ingestDir(t, "../testdata/sample/bucket", dir)
	before := lakeFiles(t, dir)
	db := open(t, dir)
	ctx := context.Background()
	ev := filepath.Join(dir, "events")
	outside := filepath.Join(t.TempDir(), "x")
	for _, q := range []string{
		"COPY (SELECT 1) TO '" + outside + ".csv'",
		"COPY (SELECT 1) TO '" + ev + "/x.parquet' (FORMAT parquet)",
		"copy (select 1) to '" + ev + "/y.csv'",
		"/* hi */ COPY (SELECT 1) TO '" + ev + "/z.csv'",
		"EXPORT DATABASE '" + ev + "/exp'",
		"ATTACH '" + ev + "/a.duckdb' AS a",
		"ATTACH ':memory:' AS m",
		"DETACH m",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"SET allowed_directories = ['/']",
		"RESET lock_configuration",
		"PRAGMA enable_profiling = 'json'",
		"SET profiling_output = '" + ev + "/p.json'",
		"SELECT 1; COPY (SELECT 1) TO '" + ev + "/w.csv'",
		"CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('" + outside + "')",
		"VACUUM",
	} {
		if res, err := db.Run(ctx, q); err == nil {
			t.Errorf("%q ran (%v); want it refused", q, res.Rows)
		}
	}
	// What stays allowed: reading, in-memory tables, macros, variables.
	for _, q := range []string{
		"SELECT ';' AS semicolon;",
		"CREATE TABLE mine AS SELECT eventName FROM events LIMIT 3",
		"INSERT INTO mine VALUES ('x')",
		"CREATE MACRO arn_of(u) AS u.arn",
		"SELECT arn_of(userIdentity) FROM events LIMIT 1",
		"SET VARIABLE k = 'AKIASTOLEN0000000001'",
		"SELECT count(*) FROM events WHERE userIdentity.accessKeyId = getvariable('k')",
		"PRAGMA version",
		"DESCRIBE events",
		"SUMMARIZE SELECT eventTime FROM events",
		"SELECT count(*) FROM read_parquet('" + ev + "/**/*.parquet')",
		"SELECT count(*) FROM glob('" + ev + "/**')",
		"EXPLAIN SELECT 1",
	} {
		if _, err := db.Run(ctx, q); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	if err := db.CopyParquet(ctx, "SELECT 1", outside+".parquet"); err == nil {
		t.Error("CopyParquet to a file not in WritableFiles succeeded")
	}
	if _, err := query.Open(ctx, dir, query.Options{Sandbox: true, WritableFiles: []string{filepath.Join(ev, "o.parquet")}}); err == nil {
		t.Error("a writable file inside the lake was accepted")
	}
	if after := lakeFiles(t, dir); !equalMaps(before, after) {
		t.Errorf("the lake changed:\nbefore %v\nafter  %v", before, after)
	}
	if _, err := os.Stat(outside + ".csv"); err == nil {
		t.Error("a file was written outside the lake")
	}

	rw, err := query.Open(ctx, dir, query.Options{AllowWrites: true, Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.Run(ctx, "COPY (SELECT 1 AS a) TO '"+outside+".csv'"); err != nil {
		t.Errorf("--allow-writes: %v", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestErrorsSuggest: errors name the problem and suggest the column meant,
// nested fields included, on top of DuckDB's candidate bindings.
func TestErrorsSuggest(t *testing.T) {
	db := open(t, sampleLake(t))
	for q, want := range map[string][]string{
		"SELECT evntName FROM events":                        {`"evntName" not found`, "Candidate bindings", "did you mean eventName?"},
		"SELECT accesskeyid FROM events":                     {"did you mean userIdentity.accessKeyId?"},
		"SELECT count(*) FROM events WHERE sourceIp = 'x'":   {"did you mean sourceIPAddress?"},
		"SELECT mfaAuthenticated FROM events":                {"userIdentity.sessionContext.attributes.mfaAuthenticated"},
		"SELECT arn FROM events":                             {"did you mean userIdentity.arn or"},
		"SELECT userIdentity.arnn FROM events":               {`Could not find key "arnn"`, `"arn"`},
		"SELECT * FROM event":                                {`Did you mean "events"`, "the lake's views are events"},
		"SELECT eventName FROM events WHERE eventTime > 'x'": {"Conversion Error"},
		"SELECT count(*) FROM events WHERE eventName = 'ConsoleLogin' AND responseElements->>'ConsoleLogin' = 'Failure'": {"Conversion Error", "(responseElements->>'ConsoleLogin') = 'Failure'"},
	} {
		_, err := db.Run(context.Background(), q)
		if err == nil {
			t.Errorf("%s: no error", q)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", q, err, w)
			}
		}
	}
	if s := query.Suggest("x"); len(s) != 0 {
		t.Errorf("Suggest(x) = %v; want nothing for a name that close to nothing", s)
	}
}

func describe(t *testing.T, db *query.DB) [][2]string {
	var out [][2]string
	for _, r := range run(t, db, "SELECT column_name, column_type FROM (DESCRIBE events)").Rows {
		out = append(out, [2]string{r[0].(string), r[1].(string)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// TestEmptyLake: a lake with no Parquet yet has an events view with
// exactly the columns and types of a full one.
func TestEmptyLake(t *testing.T) {
	dir := t.TempDir()
	w, err := lake.Open(context.Background(), dir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close(context.Background())
	db := open(t, dir)
	res := run(t, db, "SELECT count(*) FROM events WHERE eventName = 'x' AND userIdentity.sessionContext.attributes.mfaAuthenticated = 'true' AND requestParameters->>'bucketName' = 'b'")
	if res.Rows[0][0].(int64) != 0 {
		t.Fatalf("empty lake: %v", res.Rows)
	}
	got, want := describe(t, db), describe(t, open(t, sampleLake(t)))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("empty lake schema\n%v\nwant the full lake's\n%v", got, want)
	}
	for _, name := range query.PresetNames() {
		args := map[string]string{}
		for _, p := range query.Presets[name].Params {
			if p.Required {
				args[p.Name] = "x"
			}
		}
		q, vals, err := query.Presets[name].Bind(args)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Run(context.Background(), q, vals...); err != nil {
			t.Errorf("preset %s on an empty lake: %v", name, err)
		}
	}
	if _, err := query.Open(context.Background(), t.TempDir(), query.Options{}); err == nil {
		t.Error("a folder that is not a lake opened")
	}
}

// TestAthenaRunbook runs the lake equivalent of the classic Athena
// hunting query, as written in docs/athena.md, on events planted in the
// last day (and decoys outside it or not matching).
func TestAthenaRunbook(t *testing.T) {
	doc, err := os.ReadFile("../docs/athena.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- runbook-lake -->\\s*```sql\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/athena.md has no <!-- runbook-lake --> SQL block")
	}
	now := time.Now().UTC()
	ev := func(id, name string, at time.Time, extra string) string {
		return fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/eve","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"eve"},"eventTime":%q,"eventSource":"x.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2","requestID":"r-%s","eventID":%q,"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"%s}`,
			at.Format(time.RFC3339), name, id, id, extra)
	}
	hour := now.Add(-time.Hour)
	records := []string{
		ev("want-1", "DeleteTrail", hour, ""),
		ev("want-2", "StopLogging", hour, ""),
		ev("want-3", "DeleteFlowLogs", hour, ""),
		ev("want-4", "DisableSecurityHub", hour, ""),
		ev("want-5", "ConsoleLogin", hour, `,"responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication"`),
		ev("no-1", "ConsoleLogin", hour, `,"responseElements":{"ConsoleLogin":"Success"}`),
		ev("no-2", "DeleteTrail", now.Add(-72*time.Hour), ""),
		ev("no-3", "DescribeTrails", hour, ""),
		ev("t-weak", "UpdateTrail", hour, `,"requestParameters":{"name":"t","enableLogFileValidation":false}`),
		ev("t-benign", "UpdateTrail", hour, `,"requestParameters":{"name":"t","enableLogFileValidation":true,"isMultiRegionTrail":true}`),
		ev("t-denied", "UpdateTrail", hour, `,"requestParameters":{"name":"t","enableLogFileValidation":true},"errorCode":"AccessDenied"`),
		ev("s-weak", "PutEventSelectors", hour, `,"requestParameters":{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":false}]}`),
		ev("s-benign", "PutEventSelectors", hour, `,"requestParameters":{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"excludeManagementEventSources":[]}]}`),
		ev("s-exclude", "PutEventSelectors", hour, `,"requestParameters":{"trailName":"t","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"excludeManagementEventSources":["kms.amazonaws.com"]}]}`),
		ev("d-off", "UpdateDetector", hour, `,"requestParameters":{"detectorId":"d","enable":false}`),
		ev("d-on", "UpdateDetector", hour, `,"requestParameters":{"detectorId":"d","enable":true}`),
	}
	src := t.TempDir()
	key := filepath.Join(src, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "runbook.json")
	os.MkdirAll(filepath.Dir(key), 0o755)
	if err := os.WriteFile(key, []byte(`{"Records":[`+strings.Join(records, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	ingestDir(t, src, dir)
	db := open(t, dir)
	got := column(t, run(t, db, string(m[1])), "eventID")
	want := map[string]bool{"want-1": true, "want-2": true, "want-3": true, "want-4": true, "want-5": true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runbook query found %v; want %v", got, want)
	}
	// Tampering keeps updates that weaken logging, and denied ones.
	tam := column(t, preset(t, db, "tampering"), "eventID")
	for _, id := range []string{"t-weak", "t-denied", "s-weak", "s-exclude", "d-off", "want-1", "want-2", "want-3", "want-4"} {
		if !tam[id] {
			t.Errorf("tampering misses %s", id)
		}
	}
	for _, id := range []string{"t-benign", "s-benign", "d-on"} {
		if tam[id] {
			t.Errorf("tampering reports the harmless %s", id)
		}
	}
	if all := column(t, preset(t, db, "tampering", "all=true"), "eventID"); !all["t-benign"] || !all["s-benign"] || !all["d-on"] {
		t.Errorf("tampering all=true: %v", all)
	}
	// The preset anchors the same query at the lake's last event.
	if hunt := column(t, preset(t, db, "athena-hunt"), "eventID"); fmt.Sprint(hunt) != fmt.Sprint(want) {
		t.Errorf("athena-hunt found %v; want %v", hunt, want)
	}
}

// TestPresetsDocumented: docs/query.md shows every preset with its
// parameters and exactly the SQL that runs (-update regenerates it).
func TestPresetsDocumented(t *testing.T) {
	const path = "../docs/query.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("<!-- presets:begin -->\n")
	for _, name := range query.PresetNames() {
		p := query.Presets[name]
		fmt.Fprintf(&b, "\n### %s\n\n%s.\n\n", name, strings.ToUpper(p.Doc[:1])+p.Doc[1:])
		if len(p.Params) > 0 {
			b.WriteString("| parameter | | |\n|---|---|---|\n")
			for i, q := range p.Params {
				req := "optional"
				if q.Required {
					req = "required"
				}
				if q.Default != "" {
					req += ", default " + q.Default
				}
				fmt.Fprintf(&b, "| `%s` (`$%d`) | %s | %s |\n", q.Name, i+1, req, q.Doc)
			}
			b.WriteString("\n")
		}
		if p.NarrowDoc != "" {
			fmt.Fprintf(&b, "%s\n\n", p.NarrowDoc)
		}
		fmt.Fprintf(&b, "```sql\n%s\n```\n", p.SQL)
	}
	b.WriteString("<!-- presets:end -->")
	re := regexp.MustCompile(`(?s)<!-- presets:begin -->.*<!-- presets:end -->`)
	if !re.Match(doc) {
		t.Fatal("docs/query.md has no presets markers")
	}
	got := re.ReplaceAllLiteral(doc, []byte(b.String()))
	if *update {
		os.WriteFile(path, got, 0o644)
		return
	}
	if !bytes.Equal(got, doc) {
		t.Error("docs/query.md presets are out of date: go test ./query -run PresetsDocumented -update")
	}
}

// TestOptionalViews: findings and integrity views appear when their
// folders hold Parquet files (written by detect and verify).
func TestOptionalViews(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	ingestDir(t, "../testdata/sample/bucket", dir)
	os.MkdirAll(filepath.Join(dir, "findings"), 0o755)
	os.MkdirAll(filepath.Join(dir, "integrity", "run1"), 0o755)
	w, err := query.Open(context.Background(), dir, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`COPY (SELECT 'stop-logging' AS rule, 'high' AS severity, eventID FROM events WHERE eventName = 'StopLogging') TO '%s' (FORMAT parquet)`,
			filepath.Join(dir, "findings", "f1.parquet")),
		fmt.Sprintf(`COPY (SELECT DISTINCT source_key AS key, 'log' AS kind, 'valid' AS status, now() AS verified_at FROM events) TO '%s' (FORMAT parquet)`,
			filepath.Join(dir, "integrity", "run1", "i1.parquet")),
	} {
		if _, err := w.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	db := open(t, dir)
	if got := strings.Join(db.Views, " "); got != "events findings integrity events_verified files" {
		t.Errorf("views %q", got)
	}
	res := run(t, db, `SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM events WHERE eventName = 'StopLogging'),
		(SELECT count(*) FROM events_verified WHERE integrity = 'valid'), (SELECT count(*) FROM events)`)
	if r := res.Rows[0]; r[0] != r[1] || r[2] != r[3] {
		t.Errorf("findings %v of %v StopLogging; verified %v of %v events", r[0], r[1], r[2], r[3])
	}
}

// TestUncommittedBatchesHidden: Parquet files of a batch whose manifest
// entry is not written yet (an ingest running, or killed) are not read,
// and partition pruning still works on the committed list.
func TestUncommittedBatchesHidden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	ingestDir(t, "../testdata/sample/bucket", dir)
	want := run(t, open(t, dir), "SELECT count(*) FROM events").Rows[0][0]
	var some string
	filepath.WalkDir(filepath.Join(dir, "events"), func(p string, d fs.DirEntry, err error) error {
		if some == "" && strings.HasSuffix(p, ".parquet") {
			some = p
		}
		return nil
	})
	b, err := os.ReadFile(some)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(some), "part-20990101T000000000000Z-deadbeef.parquet"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	db := open(t, dir)
	if !db.Uncommitted {
		t.Error("Uncommitted not reported")
	}
	if got := run(t, db, "SELECT count(*) FROM events").Rows[0][0]; got != want {
		t.Errorf("%v events with an uncommitted batch on disk; want %v", got, want)
	}
	res := run(t, db, "EXPLAIN SELECT count(DISTINCT eventID) FROM events WHERE account = '777788889999'")
	var plan strings.Builder
	for _, r := range res.Rows {
		plan.WriteString(fmt.Sprint(r...))
	}
	m := scanning.FindStringSubmatch(strings.Join(strings.Fields(strings.NewReplacer("│", " ").Replace(plan.String())), " "))
	if m == nil || atoi(m[1]) >= atoi(m[2]) {
		t.Errorf("no pruning over the committed list: %v\n%s", m, plan.String())
	}
}

// TestMemoryLimitAndSpillFolder: DuckDB is capped (not its default of 80%
// of RAM), spills to a private folder that Close removes, also sandboxed.
func TestMemoryLimitAndSpillFolder(t *testing.T) {
	db, err := query.Open(context.Background(), sampleLake(t), query.Options{Sandbox: true, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	var limit, tmp string
	if err := db.QueryRow(`SELECT current_setting('memory_limit'), current_setting('temp_directory')`).Scan(&limit, &tmp); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(limit, "MiB") || !strings.Contains(tmp, "trailscope-duckdb-") {
		t.Fatalf("memory_limit %q, temp_directory %q", limit, tmp)
	}
	// A sort bigger than the cap completes by spilling.
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY hash(range) DESC) AS rn, repeat('x', 100) || range AS pad FROM range(8000000)) WHERE rn > 0 AND pad <> ''`).Scan(&n); err != nil {
		t.Fatalf("big sort under a 512MB cap: %v", err)
	}
	if n != 8000000 {
		t.Fatalf("count %d", n)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("spill folder %s: %v", tmp, err)
	}
	db.Close()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("spill folder %s left behind (%v)", tmp, err)
	}
}

// TestCompactedLakeReadsEachRowOnce: after a compaction, and with the
// files it replaced still on disk (a compaction killed between its commit
// and its deletes), the events view holds each row once and the files
// view still lists every ingested object.
func TestCompactedLakeReadsEachRowOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	ctx := context.Background()
	w, err := lake.Open(ctx, dir, lake.Options{BatchEvents: 200})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ingest.NewDirSource("../testdata/sample/bucket")
	if err := ingest.Run(ctx, s, w, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT count(*), count(DISTINCT eventID), (SELECT count(*) FROM files WHERE status = 'ingested') FROM events`
	want := run(t, open(t, dir), q).Rows[0]
	saved := map[string][]byte{}
	filepath.WalkDir(filepath.Join(dir, "events"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") {
			saved[p], _ = os.ReadFile(p)
		}
		return nil
	})
	rep, err := lake.Compact(ctx, dir, lake.CompactOptions{})
	if err != nil || rep.FilesMerged == 0 {
		t.Fatalf("compact: %+v, %v", rep, err)
	}
	if got := run(t, open(t, dir), q).Rows[0]; !reflect.DeepEqual(got, want) {
		t.Fatalf("compacted lake: %v; want %v", got, want)
	}
	for p, b := range saved {
		os.WriteFile(p, b, 0o644)
	}
	db := open(t, dir)
	if got := run(t, db, q).Rows[0]; !reflect.DeepEqual(got, want) {
		t.Fatalf("with replaced files on disk: %v; want %v", got, want)
	}
	if !db.Uncommitted {
		t.Error("replaced files on disk not reported as Uncommitted")
	}
}

// TestTimelineNarrowingKeepsRows: for every identifier in the sample lake
// (principal and session-issuer ARNs, access keys, principalIds, source
// IPs and service names), the timeline narrowed to the identifier's
// columns returns exactly the rows of the timeline over every column.
func TestTimelineNarrowingKeepsRows(t *testing.T) {
	db := open(t, sampleLake(t))
	// Up to 6 values of each column, the most frequent first.
	var parts []string
	for _, c := range []string{"userIdentity.arn", "userIdentity.accessKeyId", "userIdentity.principalId",
		"userIdentity.sessionContext.sessionIssuer.arn", "sourceIPAddress"} {
		parts = append(parts, fmt.Sprintf(`(SELECT %s AS v FROM events WHERE %s IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 6)`, c, c))
	}
	parts = append(parts, `(SELECT sourceIPAddress FROM events WHERE sourceIPAddress LIKE '%.amazonaws.com' LIMIT 2)`,
		`(SELECT userIdentity.principalId FROM events WHERE userIdentity.principalId LIKE '%:%' LIMIT 3)`)
	res := run(t, db, `SELECT DISTINCT v FROM (`+strings.Join(parts, " UNION ALL ")+`) ORDER BY v`)
	narrowed := map[string]int{}
	p := query.Presets["timeline"]
	for _, r := range res.Rows {
		who := fmt.Sprint(r[0])
		q, vals, err := query.BindPreset("timeline", []string{"who=" + who, "limit=1000000"})
		if err != nil {
			t.Fatal(err)
		}
		kind := "all columns"
		if q != p.SQL {
			kind = strings.Fields(q[strings.Index(q, "WHERE (")+7:])[0]
		}
		narrowed[kind]++
		got := run(t, db, q, vals...)
		want := run(t, db, p.SQL, vals...)
		if !reflect.DeepEqual(got.Rows, want.Rows) {
			t.Fatalf("timeline of %q narrowed to %s: %d rows; over every column %d", who, kind, len(got.Rows), len(want.Rows))
		}
	}
	// The sample holds every form: each narrowing is exercised.
	for _, k := range []string{"userIdentity.arn", "userIdentity.accessKeyId", "userIdentity.principalId", "sourceIPAddress", "all columns"} {
		if narrowed[k] == 0 {
			t.Errorf("no identifier narrowed to %s (%v)", k, narrowed)
		}
	}
	t.Logf("%d identifiers: %v", len(res.Rows), narrowed)
}
