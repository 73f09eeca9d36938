package sigma

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadFilesSigmaHQ(t *testing.T) {
	root := filepath.Join(testdataDir, "sigmahq")
	docs, err := LoadFiles(root)
	if err == nil {
		t.Fatal("LoadFiles(sigmahq) = nil error; want the legacy near rule reported")
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Code != CodeCondition || !strings.Contains(es[0].Pos.File, "aws_lambda_function_created_or_invoked.yml") {
		t.Errorf("LoadFiles errors = %v; want exactly the near aggregation of aws_lambda_function_created_or_invoked.yml", err)
	}
	if got, want := len(docs), 57+1+8; got != want {
		t.Errorf("LoadFiles returned %d documents; want %d", got, want)
	}
	// With placeholders, every other document compiles for both backends;
	// the rule whose condition did not parse is reported again, not
	// compiled as "never matches".
	opts := CompileOptions{Placeholders: map[string][]string{"Legitimate_Countries": {"BE"}, "Legitimate_IP_Ranges": {"192.0.2.1"}}}
	if err := Check(docs, opts); !errors.As(err, &es) || len(es) != 1 || es[0].Code != CodeCondition {
		t.Errorf("Check(sigmahq) = %v; want only the near aggregation", err)
	}
	// Without, the placeholder rule is reported with its position.
	err = Check(docs, CompileOptions{})
	if !hasCode(err, CodePlaceholder) {
		t.Errorf("Check without placeholders = %v; want %s", err, CodePlaceholder)
	}
}

func TestLoadFilesSingleFileAndMissing(t *testing.T) {
	f := filepath.Join(testdataDir, "sigmahq", "rules", "cloud", "aws", "cloudtrail", "aws_root_account_usage.yml")
	docs, err := LoadFiles(f, filepath.Join(testdataDir, "does-not-exist"))
	if len(docs) != 1 || docs[0].Rule.Title != "AWS Root Credentials" {
		t.Errorf("LoadFiles(file) = %d docs; want the root account rule", len(docs))
	}
	if err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("LoadFiles(missing) error = %v; want it to name the path", err)
	}
}

// TestConvertSQLGolden pins the SQL of every SigmaHQ rule (go test -update
// rewrites testdata/sigma/sql/sigmahq.sql).
func TestConvertSQLGolden(t *testing.T) {
	docs, err := LoadFiles(filepath.Join(testdataDir, "sigmahq", "rules"), filepath.Join(testdataDir, "sigmahq", "unsupported", "cloud", "aws_macic_evasion.yml"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := ConvertSQL(docs, SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 57+1+1 {
		t.Fatalf("ConvertSQL returned %d queries; want 59 (57 rules, the Macie base rule, its correlation)", len(qs))
	}
	var b strings.Builder
	for _, q := range qs {
		b.WriteString("-- " + q.Kind.String() + ": " + q.Title + " (" + q.ID + ")\n" + q.SQL + ";\n\n")
	}
	golden := filepath.Join(testdataDir, "sql", "sigmahq.sql")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("ConvertSQL output differs from %s (-want +got):\n%s", golden, diff)
	}
	last := qs[len(qs)-1]
	if last.Kind != KindCorrelation || !last.Standalone || last.ID != "91f6a16c-ef71-437a-99ac-0b070e3ad221" {
		t.Errorf("last query = %+v; want the Macie correlation keeping the rule id", last)
	}
	for _, q := range qs {
		if q.ID == "91f6a16c-ef71-437a-99ac-0b070e3ad221/base" && q.Standalone {
			t.Errorf("the Macie base rule is standalone; want it to only feed the correlation")
		}
	}
}

func TestRunFilesStratus(t *testing.T) {
	docs, err := LoadFiles(filepath.Join(testdataDir, "sigmahq", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewRuleSet(docs, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(testdataDir, "events", "stratus-red-team", "*.json"))
	rep, err := RunFiles(rs, files...)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 310 || len(rep.Rejected) != 0 {
		t.Errorf("RunFiles read %d events, rejected %d; want 310 and 0", rep.Events, len(rep.Rejected))
	}
	byRule := map[string]int{}
	for _, f := range rep.Findings {
		byRule[f.Rule.Title]++
	}
	for _, title := range []string{"AWS CloudTrail Important Change", "AWS User Login Profile Was Modified", "AWS Successful Console Login Without MFA"} {
		if byRule[title] == 0 {
			t.Errorf("no finding for %q; findings: %v", title, byRule)
		}
	}
}

func TestReadRecordsFormats(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []string
	}{
		{"array", `[{"eventID":"a"}, {"eventID":"b"}]`, []string{`{"eventID":"a"}`, `{"eventID":"b"}`}},
		{"records", `{"Records":[{"eventID":"a"}]}`, []string{`{"eventID":"a"}`}},
		{"ndjson", "{\"eventID\":\"a\"}\n{\"eventID\":\"b\"}\n", []string{`{"eventID":"a"}`, `{"eventID":"b"}`}},
		{"empty", "  ", nil},
	} {
		var got []string
		err := readRecords(strings.NewReader(tt.in), func(_ int, raw []byte) { got = append(got, string(raw)) })
		if err != nil {
			t.Errorf("readRecords(%s) error = %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("readRecords(%s) (-want +got):\n%s", tt.name, diff)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[{"eventID":"z"}]}`))
	zw.Close()
	var got []string
	if err := readRecords(&gz, func(_ int, raw []byte) { got = append(got, string(raw)) }); err != nil || len(got) != 1 || got[0] != `{"eventID":"z"}` {
		t.Errorf("readRecords(gzip) = %v, %v", got, err)
	}
	if err := readRecords(strings.NewReader("nope"), func(int, []byte) {}); err == nil {
		t.Error("readRecords(nope) = nil; want an error")
	}
}

func corrRuleSet(t *testing.T) *RuleSet {
	t.Helper()
	src := `title: fail
id: f1
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: ConsoleLogin
  condition: selection
---
title: brute
correlation:
  type: event_count
  rules: [f1]
  group-by: [sourceIPAddress]
  timespan: 10m
  condition: {gte: 2}
`
	docs, err := Parse("c.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewRuleSet(docs, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func loginEvent(t *testing.T, id, ts, ip string) Event {
	t.Helper()
	ev, err := ParseEvent([]byte(`{"eventID":"` + id + `","eventTime":"` + ts + `","eventName":"ConsoleLogin","sourceIPAddress":"` + ip + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestCorrelatorDropsLate checks the lateness contract: a window closes
// once an event one timespan after its end arrives, results come out then,
// and later matches for it are dropped and counted.
func TestCorrelatorDropsLate(t *testing.T) {
	rs := corrRuleSet(t)
	c := rs.NewCorrelator(CorrelatorOptions{})
	if got := c.Add("f1", loginEvent(t, "a", "2024-01-01T00:01:00Z", "1.1.1.1")); len(got) != 0 {
		t.Fatalf("first Add returned %d results", len(got))
	}
	c.Add("f1", loginEvent(t, "b", "2024-01-01T00:02:00Z", "1.1.1.1"))
	// 00:15 is less than one timespan after the window end (00:10): open.
	if got := c.Add("f1", loginEvent(t, "c", "2024-01-01T00:15:00Z", "2.2.2.2")); len(got) != 0 {
		t.Errorf("window closed too early: %v", got)
	}
	// 00:05 is late but within tolerance: counted.
	c.Add("f1", loginEvent(t, "d", "2024-01-01T00:05:00Z", "1.1.1.1"))
	got := c.Add("f1", loginEvent(t, "e", "2024-01-01T00:20:00Z", "2.2.2.2"))
	if len(got) != 1 || got[0].Count != 3 || !cmp.Equal(got[0].EventIDs, []string{"a", "b", "d"}) || got[0].Group[0].Value != "1.1.1.1" {
		t.Fatalf("results at 00:20 = %+v; want one group 1.1.1.1 with a, b, d", got)
	}
	if want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); !got[0].WindowStart.Equal(want) || !got[0].First.Equal(want.Add(time.Minute)) || !got[0].Last.Equal(want.Add(5*time.Minute)) {
		t.Errorf("window/first/last = %v %v %v", got[0].WindowStart, got[0].First, got[0].Last)
	}
	c.Add("f1", loginEvent(t, "late", "2024-01-01T00:06:00Z", "1.1.1.1"))
	if c.Dropped() != 1 {
		t.Errorf("Dropped() = %d; want 1", c.Dropped())
	}
	c.Add("f1", loginEvent(t, "no-time", "", "1.1.1.1"))
	if c.Dropped() != 2 {
		t.Errorf("Dropped() = %d after an event without time; want 2", c.Dropped())
	}
	// c (00:15) and e (00:20) are in different windows; f joins e's.
	c.Add("f1", loginEvent(t, "f", "2024-01-01T00:22:00Z", "2.2.2.2"))
	flushed := c.Flush()
	if len(flushed) != 1 || !cmp.Equal(flushed[0].EventIDs, []string{"e", "f"}) {
		t.Errorf("Flush() = %+v; want the 2.2.2.2 group with e, f", flushed)
	}
	if len(c.Flush()) != 0 {
		t.Error("second Flush returned results")
	}
	if got := c.Add("unknown-rule", loginEvent(t, "x", "2024-01-01T00:30:00Z", "1.1.1.1")); got != nil {
		t.Errorf("Add(unknown rule) = %v", got)
	}
}

func TestCorrelatorBoundedMemory(t *testing.T) {
	rs := corrRuleSet(t)
	c := rs.NewCorrelator(CorrelatorOptions{MaxEventIDs: 3, MaxGroups: 2})
	for i := 0; i < 5; i++ {
		c.Add("f1", loginEvent(t, string(rune('a'+i)), "2024-01-01T00:01:00Z", "1.1.1.1"))
	}
	c.Add("f1", loginEvent(t, "x", "2024-01-01T00:01:00Z", "2.2.2.2"))
	c.Add("f1", loginEvent(t, "y", "2024-01-01T00:01:00Z", "3.3.3.3")) // third group: dropped
	if c.Dropped() != 1 {
		t.Errorf("Dropped() = %d; want 1 (MaxGroups)", c.Dropped())
	}
	res := c.Flush()
	if len(res) != 1 || res[0].Count != 5 || len(res[0].EventIDs) != 3 || !res[0].Truncated {
		t.Errorf("Flush() = %+v; want count 5, 3 ids, truncated", res)
	}
}

// TestMatcherConcurrent uses one Matcher from several goroutines (run
// with -race to check the concurrency contract).
func TestMatcherConcurrent(t *testing.T) {
	rs := loadSigmaHQRuleSet(t)
	events := allRealEvents(t)
	var want []int
	var p EventParser
	for _, e := range events {
		ev, _ := p.Parse(e.Raw)
		want = append(want, len(rs.Match(ev, nil)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p EventParser
			var dst []int
			for i, e := range events {
				ev, _ := p.Parse(e.Raw)
				if dst = rs.Match(ev, dst[:0]); len(dst) != want[i] {
					errs <- e.ID
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for id := range errs {
		t.Errorf("concurrent Match differs for event %s", id)
	}
}
