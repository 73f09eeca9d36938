package sigma

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// testCase is one file of testdata/sigma/cases: a rule (or a rule file
// with correlations), events, and what must match. Every case runs through
// the Go matcher and through DuckDB.
type testCase struct {
	Description  string              `yaml:"description"`
	Rule         string              `yaml:"rule"`        // path relative to testdata/sigma
	RuleInline   string              `yaml:"rule_inline"` // or the rule text
	Placeholders map[string][]string `yaml:"placeholders"`
	Events       []caseEvent         `yaml:"events"`
	// WantError is the error code both backends must report.
	WantError string `yaml:"want_error"`
	// Correlation names the correlation rule (title, id or name) to
	// evaluate; Groups are its expected results.
	Correlation string      `yaml:"correlation"`
	Groups      []caseGroup `yaml:"groups"`
}

type caseEvent struct {
	File    string         `yaml:"file"` // relative to testdata/sigma/events
	EventID string         `yaml:"eventID"`
	Inline  map[string]any `yaml:"inline"`
	Set     map[string]any `yaml:"set"`
	Delete  []string       `yaml:"delete"`
	Match   bool           `yaml:"match"`
	Note    string         `yaml:"note"`
}

type caseGroup struct {
	Group  map[string]string `yaml:"group"`
	Count  int               `yaml:"count"`
	Events []string          `yaml:"events"`
}

var eventFileCache = map[string][]rawEvent{}

func (ce caseEvent) build() (rawEvent, error) {
	var m map[string]any
	switch {
	case ce.Inline != nil:
		m = ce.Inline
	case ce.File != "":
		evs, ok := eventFileCache[ce.File]
		if !ok {
			var err error
			evs, err = readEventFile(filepath.Join(testdataDir, "events", ce.File))
			if err != nil {
				return rawEvent{}, err
			}
			eventFileCache[ce.File] = evs
		}
		for _, e := range evs {
			if e.ID == ce.EventID {
				d := json.NewDecoder(bytes.NewReader(e.Raw))
				d.UseNumber()
				if err := d.Decode(&m); err != nil {
					return rawEvent{}, err
				}
			}
		}
		if m == nil {
			return rawEvent{}, fmt.Errorf("event %s not found in %s", ce.EventID, ce.File)
		}
	default:
		return rawEvent{}, errors.New("event needs file or inline")
	}
	for k, v := range ce.Set {
		setPath(m, strings.Split(k, "."), v)
	}
	for _, k := range ce.Delete {
		deletePath(m, strings.Split(k, "."))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return rawEvent{}, err
	}
	id, _ := m["eventID"].(string)
	return rawEvent{ID: id, Raw: bytes.TrimSpace(buf.Bytes())}, nil
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func deletePath(m map[string]any, path []string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}

func loadCase(t *testing.T, path string) (testCase, []*Document, []rawEvent, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tc testCase
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&tc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ruleFile, src := "inline.yml", []byte(tc.RuleInline)
	if tc.Rule != "" {
		ruleFile = filepath.Join(testdataDir, tc.Rule)
		if src, err = os.ReadFile(ruleFile); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := Parse(ruleFile, src)
	if err != nil && tc.WantError == "" {
		t.Fatalf("Parse(%s) = %v", ruleFile, err)
	}
	if err != nil {
		if !hasCode(err, tc.WantError) {
			t.Errorf("Parse(%s) = %v; want code %s", ruleFile, err, tc.WantError)
		}
		return tc, nil, nil, nil
	}
	var events []rawEvent
	var want []string
	seen := map[string]bool{}
	for i, ce := range tc.Events {
		ev, err := ce.build()
		if err != nil {
			t.Fatalf("%s: event %d: %v", path, i, err)
		}
		if ev.ID == "" || seen[ev.ID] {
			t.Fatalf("%s: event %d: eventID %q is empty or repeated", path, i, ev.ID)
		}
		seen[ev.ID] = true
		events = append(events, ev)
		if ce.Match {
			want = append(want, ev.ID)
		}
	}
	sort.Strings(want)
	return tc, docs, events, want
}

func hasCode(err error, code string) bool {
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if e.Code == code {
				return true
			}
		}
		return false
	}
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func TestCases(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdataDir, "cases", "*.yaml"))
	if len(files) < 57 {
		t.Fatalf("found %d cases; want at least 57", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			tc, docs, events, want := loadCase(t, f)
			if docs == nil {
				return
			}
			if tc.Correlation != "" {
				runCorrelationCase(t, tc, docs, events)
				return
			}
			if tc.WantError == "" && len(tc.Events) > 0 {
				var pos, neg int
				for _, e := range tc.Events {
					if e.Match {
						pos++
					} else {
						neg++
					}
				}
				if pos == 0 || neg == 0 {
					t.Errorf("case has %d positive and %d negative events; want at least one of each", pos, neg)
				}
			}
			var rule *Rule
			var filters []*Filter
			for _, d := range docs {
				switch d.Kind {
				case KindRule:
					if rule == nil {
						rule = d.Rule
					}
				case KindFilter:
					filters = append(filters, d.Filter)
				}
			}
			if rule == nil {
				t.Fatal("case has no detection rule")
			}
			opts := CompileOptions{Placeholders: tc.Placeholders, Filters: filters}
			m, cerr := Compile(rule, opts)
			q, serr := ToSQL(rule, SQLOptions{CompileOptions: opts})
			if tc.WantError != "" {
				if !hasCode(cerr, tc.WantError) || !hasCode(serr, tc.WantError) {
					t.Errorf("Compile = %v, ToSQL = %v; want code %s from both", cerr, serr, tc.WantError)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("Compile = %v, ToSQL = %v", cerr, serr)
			}
			got := goIDs(t, m, events)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Go matcher: matched eventIDs differ (-want +got):\n%s", diff)
			}
			db := openDuck(t, events)
			gotSQL, err := queryIDs(t, db, q)
			if err != nil {
				t.Fatalf("DuckDB: %v\n%s", err, q)
			}
			if diff := cmp.Diff(want, gotSQL); diff != "" {
				t.Errorf("DuckDB: matched eventIDs differ (-want +got):\n%s\nquery:\n%s", diff, q)
			}
		})
	}
}

// TestCasesCoverSigmaHQ checks that every SigmaHQ CloudTrail rule has a
// case with positive and negative events.
func TestCasesCoverSigmaHQ(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdataDir, "cases", "*.yaml"))
	covered := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tc testCase
		if err := yaml.Unmarshal(b, &tc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if tc.Rule != "" && len(tc.Events) > 0 {
			covered[filepath.Base(tc.Rule)] = true
		}
	}
	rules := sigmaHQRuleFiles(t, "rules")
	if len(rules) != 57 {
		t.Errorf("found %d SigmaHQ rules; want 57", len(rules))
	}
	for _, f := range rules {
		if !covered[filepath.Base(f)] {
			t.Errorf("SigmaHQ rule %s has no case", filepath.Base(f))
		}
	}
}
