package query_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailscope/trailscope/query"
)

// shell runs a script through a Shell and returns stdout and stderr.
func shell(t *testing.T, db *query.DB, hist, script string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	sh := query.NewShell(db, query.ShellOptions{In: strings.NewReader(script), Out: &out, Err: &errb, HistoryFile: hist,
		Width: func() int { return 100 }})
	if err := sh.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String()
}

// TestShellScript drives the library shell with piped input: multi-line
// statements, several statements on a line, ; inside strings and
// comments, dot commands, presets, errors that do not stop the session.
func TestShellScript(t *testing.T) {
	db := open(t, sampleLake(t))
	dir := t.TempDir()
	hist := filepath.Join(dir, "sub", "history")
	csv := filepath.Join(dir, "out.csv")
	out, errs := shell(t, db, hist, `
SELECT count(*) AS n
  FROM events
  WHERE eventName = 'ConsoleLogin';
SELECT 'a;b' AS semi; SELECT 2 AS two -- a comment; with a semicolon
;
SELECT evntName FROM events;
.tables
.mode csv
SELECT eventName FROM events WHERE eventName = 'StopLogging' ORDER BY eventTime LIMIT 1;
.mode bogus
.timer on
.output `+csv+`
SELECT 42 AS answer;
.output
.timer off
.mode jsonl
.preset whois key=AKIASTOLEN0000000001
.mode table
.preset timeline who="x' OR 1=1 --"
.preset nosuch
.schema files
.nope
.quit
SELECT 'after quit';
`)
	for _, want := range []string{"│ n ", "│ a;b ", "│ two ", "events  files", "eventName\nStopLogging\n", "dev-mallory", "185.220.101.47", "0 rows", "│ key ", "│ status "} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"did you mean eventName?", "usage: .mode", "run time:", `no preset "nosuch"`, "unknown command .nope"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(out, "after quit") || strings.Contains(out, "42") {
		t.Errorf("output after .quit, or .output result on the screen:\n%s", out)
	}
	if b, _ := os.ReadFile(csv); string(b) != "answer\n42\n" {
		t.Errorf(".output file: %q", b)
	}
	h, _ := os.ReadFile(hist)
	for _, want := range []string{"SELECT count(*) AS n FROM events WHERE eventName = 'ConsoleLogin';\n", ".tables\n", ".preset whois key=AKIASTOLEN0000000001\n"} {
		if !strings.Contains(string(h), want) {
			t.Errorf("history lacks %q:\n%s", want, h)
		}
	}
}

// TestShellCancel: an interrupt cancels the running query; the shell goes
// on with the next statement.
func TestShellCancel(t *testing.T) {
	db := open(t, sampleLake(t))
	sig := make(chan os.Signal, 1)
	var out, errb syncBuffer
	sh := query.NewShell(db, query.ShellOptions{In: strings.NewReader("SELECT count(*) FROM range(10000000000) a, range(10) b;\nSELECT 'still here' AS alive;\n"),
		Out: &out, Err: &errb, Interrupts: sig})
	done := make(chan struct{})
	go func() {
		// Ctrl-C until the query says it was cancelled.
		for !strings.Contains(errb.String(), "query cancelled") {
			select {
			case <-done:
				return
			case <-time.After(300 * time.Millisecond):
			}
			select {
			case sig <- os.Interrupt:
			default:
			}
		}
	}()
	start := time.Now()
	err := sh.Run(context.Background())
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if !strings.Contains(errb.String(), "query cancelled") || !strings.Contains(out.String(), "still here") {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
}

func TestSplitStatements(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		rest string
	}{
		{"SELECT 1;", []string{"SELECT 1"}, ""},
		{"SELECT 1; SELECT 2;\n", []string{"SELECT 1", "SELECT 2"}, ""},
		{"SELECT ';'", nil, "SELECT ';'"},
		{"SELECT \"a;\" FROM t; SEL", []string{`SELECT "a;" FROM t`}, "SEL"},
		{"SELECT 1 -- ;\n", nil, "SELECT 1 -- ;\n"},
		{"SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1"}, ""},
		{"SELECT $$a;b$$;", []string{"SELECT $$a;b$$"}, ""},
		{";;", nil, ""},
		{"SELECT 'it''s;';", []string{"SELECT 'it''s;'"}, ""},
	} {
		got, rest := query.SplitStatements(c.in)
		if !reflect.DeepEqual(got, c.want) || rest != c.rest {
			t.Errorf("SplitStatements(%q) = %q, %q; want %q, %q", c.in, got, rest, c.want, c.rest)
		}
	}
}

// TestComplete: TAB completes dot commands, presets and their
// parameters, tables, columns, nested fields and keywords.
func TestComplete(t *testing.T) {
	db := open(t, sampleLake(t))
	sh := query.NewShell(db, query.ShellOptions{In: strings.NewReader(""), Out: &bytes.Buffer{}})
	for _, c := range []struct {
		line       string
		head, tail string
		want       []string
	}{
		{".ta", "", "", []string{".tables"}},
		{".preset ti", ".preset ", "", []string{"timeline"}},
		{".preset timeline w", ".preset timeline ", "", []string{"who="}},
		{".mode js", ".mode ", "", []string{"json", "jsonl"}},
		{"SELECT eventNa", "SELECT ", "", []string{"eventName"}},
		{"SELECT * FROM ev", "SELECT * FROM ", "", []string{"events"}},
		{"SELECT * FROM fil", "SELECT * FROM ", "", []string{"files"}},
		{"SELECT userIdentity.sessionC", "SELECT ", "", []string{"userIdentity.sessionContext"}},
		{"SELECT useridentity.sessioncontext.sessionissuer.ar", "SELECT ", "", []string{"useridentity.sessioncontext.sessionissuer.arn"}},
		{"SELECT e.sourceIP FROM events e", "SELECT ", " FROM events e", []string{"e.sourceIPAddress"}},
		{"sel", "", "", []string{"select"}},
		{"SELECT count(*) FRO", "SELECT count(*) ", "", []string{"FROM"}},
		{"SELECT json_extract_str", "SELECT ", "", []string{"json_extract_string"}},
	} {
		pos := len(c.line)
		if c.tail != "" {
			pos = len(c.line) - len(c.tail)
		}
		head, got, tail := sh.Complete(c.line, pos)
		if head != c.head || tail != c.tail {
			t.Errorf("Complete(%q): head %q tail %q; want %q %q", c.line, head, tail, c.head, c.tail)
		}
		for _, w := range c.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("Complete(%q) = %v; want %q among them", c.line, got, w)
			}
		}
	}
	if _, got, _ := sh.Complete("SELECT eventNa", len("SELECT eventNa")); len(got) != 1 {
		t.Errorf("eventNa: %v; want exactly eventName", got)
	}
	if _, got, _ := sh.Complete("SELECT 1 FROM even", len("SELECT 1 FROM even")); !reflect.DeepEqual(got, []string{"events"}) {
		t.Errorf("after FROM: %v; want only the table", got)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
