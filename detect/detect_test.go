package detect_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
)

// realEvents is the folder of real CloudTrail events (Stratus Red Team
// detonations and background).
const realEvents = "../testdata/events"

// streamFindings runs streaming detection over src.
func streamFindings(t *testing.T, e *detect.Engine, src ingest.Source) []detect.Finding {
	t.Helper()
	s := e.NewStream()
	if err := ingest.Run(context.Background(), src, &ingest.CountSink{}, ingest.Options{Observe: s.Observe}); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Findings()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// lakeOf ingests src into a new lake and opens it in DuckDB.
func lakeOf(t *testing.T, src ingest.Source) (string, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	w, err := lake.Open(ctx, dir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ingest.Run(ctx, src, w, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	_, err = db.Exec(fmt.Sprintf(`CREATE VIEW events AS SELECT * FROM read_parquet('%s/events/**/*.parquet', hive_partitioning = true, hive_types = {'account': VARCHAR, 'region': VARCHAR, 'event_date': VARCHAR})`, dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, db
}

func realSource(t *testing.T) ingest.Source {
	src, err := ingest.NewDirSource(realEvents)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestStreamAndLakeAgree runs the built-in pack and all SigmaHQ rules over
// the real events both ways and requires identical findings.
func TestStreamAndLakeAgree(t *testing.T) {
	for _, tc := range []struct {
		group     bool
		page      int   // rows per page of a rule's SQL; 0: the default
		prefilter int64 // the prefilter table's row bound; 0: the default, -1: no prefilter
		served    bool  // some rules must run over the prefilter table
	}{{true, 0, 0, true}, {false, 0, 0, true}, {true, 3, 0, true}, {false, 2, 0, true},
		{true, 0, -1, false}, {true, 0, 40, true}, {false, 0, 40, true}} {
		group := tc.group
		t.Run(fmt.Sprintf("group=%v,page=%d,prefilter=%d", group, tc.page, tc.prefilter), func(t *testing.T) {
			if tc.page > 0 {
				defer detect.SetRowPage(tc.page)()
			}
			if tc.prefilter != 0 {
				defer detect.SetPrefilterRows(max(tc.prefilter, 0))()
			}
			e, err := detect.NewEngine(detect.Options{RulePaths: []string{"../testdata/sigma/sigmahq"}, Group: group})
			if err != nil {
				t.Logf("rules left out: %v", err)
			}
			if e == nil {
				t.Fatal("no engine")
			}
			stream := streamFindings(t, e, realSource(t))
			_, db := lakeOf(t, realSource(t))
			rec := &recordingDB{SQLDB: db}
			fromLake, err := e.RunSQL(context.Background(), rec, "events")
			if err != nil {
				t.Fatal(err)
			}
			if served := rec.count(`FROM "` + detect.PrefilterTable + `"`); served > 0 != tc.served {
				t.Fatalf("%d rule queries over the prefilter table; want some: %v", served, tc.served)
			}
			if len(stream) < 10 {
				t.Fatalf("only %d findings over the Stratus Red Team detonations; want many", len(stream))
			}
			norm := func(fs []detect.Finding) []detect.Finding {
				for i := range fs {
					fs[i].First, fs[i].Last = fs[i].First.UTC(), fs[i].Last.UTC()
				}
				return fs
			}
			if diff := cmp.Diff(norm(stream), norm(fromLake)); diff != "" {
				t.Fatalf("streaming and lake findings differ (-stream +lake):\n%s", diff)
			}
			// Every output format renders both identically.
			for _, format := range detect.Formats {
				var a, b bytes.Buffer
				now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				detect.Write(&a, format, stream, detect.WriteOptions{Now: now})
				detect.Write(&b, format, fromLake, detect.WriteOptions{Now: now})
				if a.String() != b.String() {
					t.Errorf("format %s differs between streaming and lake", format)
				}
			}
		})
	}
}

// TestStratusTechniquesAreFound checks that the detonations of defense
// evasion techniques give findings from the built-in pack.
func TestStratusTechniquesAreFound(t *testing.T) {
	e, err := detect.NewEngine(detect.Options{Group: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"aws.defense-evasion.cloudtrail-stop.json":                      "StopLogging",
		"aws.defense-evasion.cloudtrail-delete.json":                    "DeleteTrail",
		"aws.defense-evasion.vpc-remove-flow-logs.json":                 "DeleteFlowLogs",
		"aws.defense-evasion.organizations-leave.json":                  "LeaveOrganization",
		"aws.exfiltration.ec2-share-ebs-snapshot.json":                  "ModifySnapshotAttribute",
		"aws.exfiltration.ec2-security-group-open-port-22-ingress.json": "AuthorizeSecurityGroupIngress",
	}
	for file, event := range want {
		t.Run(file, func(t *testing.T) {
			p := filepath.Join(realEvents, "stratus-red-team-detonation-logs", file)
			fs := streamFindings(t, e, ingest.NewFileSource(p))
			found := false
			for _, f := range fs {
				if f.EventName == event {
					found = true
				}
			}
			if !found {
				t.Errorf("no finding on %s in %s; got %d findings", event, file, len(fs))
			}
		})
	}
}

func TestSuppressions(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	good := `suppressions:
  - rule: r1
    reason: CI rotates trails
    expires: 2026-12-31
    where:
      principal.arn: "arn:aws:sts::*:assumed-role/ci/*"
      region: [us-east-1, eu-west-1]
`
	s, err := detect.ParseSuppressions("s.yml", []byte(good), now)
	if err != nil {
		t.Fatal(err)
	}
	fs := []detect.Finding{
		{RuleID: "r1", Region: "us-east-1", Principal: detect.Principal{ARN: "arn:aws:sts::111:assumed-role/ci/build-7"}},
		{RuleID: "r1", Region: "us-west-2", Principal: detect.Principal{ARN: "arn:aws:sts::111:assumed-role/ci/build-7"}},
		{RuleID: "r2", Region: "us-east-1", Principal: detect.Principal{ARN: "arn:aws:sts::111:assumed-role/ci/build-7"}},
		{RuleID: "r1", Region: "us-east-1", Principal: detect.Principal{ARN: "arn:aws:iam::111:user/ci"}},
	}
	if n := s.Apply(fs); n != 1 || fs[0].Suppressed != "CI rotates trails" {
		t.Fatalf("Apply suppressed %d (%+v); want only the first", n, fs)
	}
	bad := []struct{ name, src, want string }{
		{"no reason", "suppressions:\n  - rule: r1\n", "reason is required"},
		{"expired", "suppressions:\n  - rule: r1\n    reason: x\n    expires: 2026-01-01\n", "expired"},
		{"unknown field", "suppressions:\n  - rule: r1\n    reason: x\n    where:\n      colour: red\n", "unknown field"},
		{"no rule", "suppressions:\n  - reason: x\n", "rule is required"},
		{"alias bomb", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nsuppressions: []\n", "too many"},
	}
	for _, c := range bad {
		_, err := detect.ParseSuppressions("s.yml", []byte(c.src), now)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "s.yml:") {
			t.Errorf("%s: error %v; want a located error containing %q", c.name, err, c.want)
		}
	}
}

func FuzzParseSuppressions(f *testing.F) {
	f.Add([]byte("suppressions:\n  - rule: r1\n    reason: x\n    where:\n      region: [a, b]\n"))
	f.Add([]byte("suppressions: [{rule: a, reason: b, expires: 2099-01-01}]"))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	// set fills the finding field a where condition tests.
	set := map[string]func(f *detect.Finding, v string) bool{
		"account":             func(f *detect.Finding, v string) bool { f.Account = v; return true },
		"region":              func(f *detect.Finding, v string) bool { f.Region = v; return true },
		"source_ip":           func(f *detect.Finding, v string) bool { f.SourceIP = v; return true },
		"user_agent":          func(f *detect.Finding, v string) bool { f.UserAgent = v; return true },
		"event_name":          func(f *detect.Finding, v string) bool { f.EventName = v; return true },
		"event_source":        func(f *detect.Finding, v string) bool { f.Source = v; return true },
		"error_code":          func(f *detect.Finding, v string) bool { f.ErrorCode = v; return true },
		"attempt":             func(f *detect.Finding, v string) bool { f.Attempt = v == "true"; return v == "true" || v == "false" },
		"principal.arn":       func(f *detect.Finding, v string) bool { f.Principal.ARN = v; return true },
		"principal.type":      func(f *detect.Finding, v string) bool { f.Principal.Type = v; return true },
		"principal.user_name": func(f *detect.Finding, v string) bool { f.Principal.UserName = v; return true },
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := detect.ParseSuppressions("f.yml", b, now)
		if err != nil {
			// Every problem is located in the file.
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yml:") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if s == nil {
			t.Fatal("nil suppressions without an error")
		}
		for _, it := range s.Items {
			if it.Reason == "" || it.Rule == "" {
				t.Fatalf("accepted a suppression without rule or reason: %+v", it)
			}
			// A finding of the rule whose fields are the literal first
			// values of the conditions is suppressed, with the reason.
			f := detect.Finding{RuleID: it.Rule}
			literal := true
			for field, vals := range it.Where {
				fill, ok := set[field]
				if !ok {
					t.Fatalf("accepted unknown field %q", field)
				}
				if len(vals) == 0 || strings.ContainsAny(vals[0], "*?") || !fill(&f, vals[0]) {
					literal = false
				}
			}
			fs := []detect.Finding{f}
			if n := s.Apply(fs); literal && (n != 1 || fs[0].Suppressed == "") {
				t.Fatalf("a finding matching %+v exactly is not suppressed", it)
			}
			other := []detect.Finding{{RuleID: it.Rule + "-other"}}
			if s.Apply(other) != 0 && !slicesContainsRule(s.Items, other[0].RuleID) {
				t.Fatalf("a finding of another rule is suppressed")
			}
		}
	})
}

func slicesContainsRule(items []detect.Suppression, rule string) bool {
	for _, it := range items {
		if it.Rule == rule {
			return true
		}
	}
	return false
}

// TestWebhook delivers findings to an HTTP server on 127.0.0.1 that fails
// twice before accepting, and checks the Slack-compatible payload.
func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		got = append(got, m)
	}))
	defer srv.Close()
	n := detect.NewNotifier(srv.URL, detect.NotifierOptions{Backoff: 10 * time.Millisecond})
	n.Send(detect.Finding{ID: "f1", Title: "CloudTrail logging stopped", Severity: detect.High, EventName: "StopLogging", Attempt: true, ErrorCode: "AccessDenied"})
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || calls != 3 {
		t.Fatalf("got %d deliveries after %d calls; want 1 after 3", len(got), calls)
	}
	text, _ := got[0]["text"].(string)
	if !strings.Contains(text, "[HIGH]") || !strings.Contains(text, "denied attempt") || got[0]["blocks"] == nil {
		t.Fatalf("payload %v: want severity, attempt and blocks", got[0])
	}
	// A webhook that never answers 2xx does not block and reports failure.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer bad.Close()
	n2 := detect.NewNotifier(bad.URL, detect.NotifierOptions{Backoff: time.Millisecond, Retries: 2})
	start := time.Now()
	for i := 0; i < 5; i++ {
		n2.Send(detect.Finding{ID: fmt.Sprint(i)})
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("Send blocked")
	}
	if err := n2.Close(context.Background()); err == nil || !strings.Contains(err.Error(), "5 failed") {
		t.Fatalf("Close = %v; want 5 failed", err)
	}
}

var _ = os.Getenv

// TestScheduledRuns: each scheduled run examines only the batches the
// lake committed since the last run, late deliveries included, and never
// reports a finding twice.
func TestScheduledRuns(t *testing.T) {
	ctx := context.Background()
	e, err := detect.NewEngine(detect.Options{NoBuiltin: true, RulePaths: []string{"../testdata/sigma/sigmahq/rules"}, Group: true})
	if e == nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lk := filepath.Join(dir, "lake")
	state := filepath.Join(dir, "state.json")
	ingestFiles := func(files ...string) {
		w, err := lake.Open(ctx, lk, lake.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ingest.Run(ctx, ingest.NewFileSource(files...), w, ingest.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runOnce := func() []detect.Finding { return scheduledRun(t, e, lk, state) }
	strat := filepath.Join(realEvents, "stratus-red-team-detonation-logs")
	ingestFiles(filepath.Join(strat, "aws.defense-evasion.cloudtrail-stop.json"))
	first := runOnce()
	if len(first) == 0 {
		t.Fatal("first run: no findings on a StopLogging detonation")
	}
	if again := runOnce(); len(again) != 0 {
		t.Fatalf("second run with nothing new: %d findings; want 0", len(again))
	}
	// A late delivery: events from the past, ingested now.
	ingestFiles(filepath.Join(strat, "aws.defense-evasion.cloudtrail-delete.json"))
	late := runOnce()
	if len(late) == 0 {
		t.Fatal("late delivery: no findings")
	}
	for _, f := range late {
		for _, g := range first {
			if f.ID == g.ID {
				t.Fatalf("finding %s reported twice", f.ID)
			}
		}
	}
	if again := runOnce(); len(again) != 0 {
		t.Fatalf("third run: %d findings; want 0", len(again))
	}
}

// TestNoisyRuleIsSummarised: a rule matching more events than the cap
// becomes one summary finding, identical from both paths, when its
// matches fall into more findings than the cap (many principals, or no
// grouping); matches that group into few findings stay findings.
func TestNoisyRuleIsSummarised(t *testing.T) {
	for _, tc := range []struct {
		name       string
		group      bool
		principals int
		summary    bool
	}{
		{"grouped, many principals", true, 1 << 30, true},
		{"grouped, three principals", true, 3, false},
		{"ungrouped", false, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var recs []map[string]any
			for i := 0; i < detect.DefaultMaxFindingsPerRule+500; i++ {
				recs = append(recs, map[string]any{"eventID": fmt.Sprintf("ev-%06d", i), "eventTime": fmt.Sprintf("2024-01-01T%02d:%02d:%02dZ", i/3600%24, i/60%60, i%60),
					"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
					"sourceIPAddress": "10.0.0.1", "userIdentity": map[string]any{"type": "IAMUser", "arn": fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i%tc.principals)}})
			}
			src := ingest.NewFileSource(writeEvents(t, dir, recs))
			e, _ := detect.NewEngine(detect.Options{Group: tc.group})
			stream := streamFindings(t, e, src)
			_, db := lakeOf(t, src)
			lake, err := e.RunSQL(context.Background(), db, "events")
			if err != nil {
				t.Fatal(err)
			}
			if tc.summary {
				if len(stream) != 1 || !stream[0].Summary || stream[0].Count != len(recs) || len(stream[0].EventIDs) != 100 || stream[0].EventIDs[0] != "ev-000000" ||
					stream[0].EventName != "StopLogging" || stream[0].Source != "cloudtrail.amazonaws.com" {
					t.Fatalf("stream: %d findings, first %+v", len(stream), stream[0])
				}
			} else if len(stream) != tc.principals || stream[0].Summary || stream[0].Count+stream[1].Count+stream[2].Count != len(recs) {
				t.Fatalf("stream: %d findings; want %d, not summarised", len(stream), tc.principals)
			}
			a, _ := json.Marshal(stream)
			b, _ := json.Marshal(lake)
			if string(a) != string(b) {
				t.Fatalf("findings differ between stream and lake:\nstream %.400s\nlake   %.400s", a, b)
			}
		})
	}
}

// TestScheduledRunAfterCompaction: when the batches a scheduled run has
// not examined yet were compacted away (their rows now live in a merged
// file), the run still examines exactly their rows: every new event is
// covered, no old finding comes back.
func TestScheduledRunAfterCompaction(t *testing.T) {
	ctx := context.Background()
	e, err := detect.NewEngine(detect.Options{Group: true})
	if e == nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lk := filepath.Join(dir, "lake")
	state := filepath.Join(dir, "state.json")
	stops := func(from, n int) string {
		var recs []map[string]any
		for i := from; i < from+n; i++ {
			recs = append(recs, map[string]any{"eventID": fmt.Sprintf("ev-%04d", i), "eventTime": fmt.Sprintf("2024-01-01T%02d:%02d:00Z", i/60, i%60),
				"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
				"sourceIPAddress": "10.0.0.1", "userIdentity": map[string]any{"type": "IAMUser", "arn": fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i)}})
		}
		d := filepath.Join(dir, fmt.Sprint(from))
		os.MkdirAll(d, 0o755)
		return writeEvents(t, d, recs)
	}
	ingestFile := func(path string, lopts lake.Options) {
		w, err := lake.Open(ctx, lk, lopts)
		if err != nil {
			t.Fatal(err)
		}
		if err := ingest.Run(ctx, ingest.NewFileSource(path), w, ingest.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	covered := func(fs []detect.Finding) map[string]bool {
		ids := map[string]bool{}
		for _, f := range fs {
			for _, id := range f.EventIDs {
				ids[id] = true
			}
		}
		return ids
	}
	runOnce := func() []detect.Finding { return scheduledRun(t, e, lk, state) }
	// Each ingest of one file is one batch: one small file per run.
	ingestFile(stops(0, 3), lake.Options{})
	first := covered(runOnce())
	if len(first) != 3 {
		t.Fatalf("first run covers %d events; want 3", len(first))
	}
	for i := 1; i <= 5; i++ {
		ingestFile(stops(i*10, 3), lake.Options{Compact: true})
	}
	files, _ := filepath.Glob(filepath.Join(lk, "events", "*", "*", "*", "*.parquet"))
	if len(files) >= 6 {
		t.Fatalf("%d files after 6 one-batch runs; the test needs some new batches compacted away", len(files))
	}
	got := covered(runOnce())
	if len(got) != 15 {
		t.Fatalf("after compaction the run covers %d events; want the 15 new ones", len(got))
	}
	for id := range got {
		if first[id] {
			t.Fatalf("event %s reported again", id)
		}
	}
	if again := runOnce(); len(again) != 0 {
		t.Fatalf("nothing new: %d findings", len(again))
	}
}

// scheduledRun runs one scheduled detection over the lake lk with the
// state file state, and saves the state.
func scheduledRun(t *testing.T, e *detect.Engine, lk, state string) []detect.Finding {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf(`CREATE VIEW events AS SELECT * FROM read_parquet('%s/events/**/*.parquet', hive_partitioning = true, hive_types = {'account': VARCHAR, 'region': VARCHAR, 'event_date': VARCHAR})`, lk)); err != nil {
		t.Fatal(err)
	}
	st, err := detect.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.RunScheduled(context.Background(), db, lk, "events", st)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(state); err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

// recordingDB records the statements run through it.
type recordingDB struct {
	detect.SQLDB
	mu    sync.Mutex
	stmts []string
}

func (r *recordingDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	r.mu.Lock()
	r.stmts = append(r.stmts, q)
	r.mu.Unlock()
	return r.SQLDB.QueryContext(ctx, q, args...)
}

func (r *recordingDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r.mu.Lock()
	r.stmts = append(r.stmts, q)
	r.mu.Unlock()
	return r.SQLDB.ExecContext(ctx, q, args...)
}

// count returns how many statements contain sub.
func (r *recordingDB) count(sub string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.stmts {
		if strings.Contains(q, sub) {
			n++
		}
	}
	return n
}
