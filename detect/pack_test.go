package detect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/sigma"
)

// packTest is one rules/tests/<name>.yml file.
type packTest struct {
	Rule     string `yaml:"rule"`
	Positive []struct {
		Note    string         `yaml:"note"`
		Attempt bool           `yaml:"attempt"`
		Event   map[string]any `yaml:"event"`
	} `yaml:"positive"`
	Negative []struct {
		Note  string         `yaml:"note"`
		Event map[string]any `yaml:"event"`
	} `yaml:"negative"`
	Sequences []struct {
		Note        string           `yaml:"note"`
		Correlation string           `yaml:"correlation"`
		Events      []map[string]any `yaml:"events"`
		WantGroups  int              `yaml:"want_groups"`
	} `yaml:"sequences"`
}

func loadPackTests(t *testing.T) map[string]*packTest {
	t.Helper()
	out := map[string]*packTest{}
	err := fs.WalkDir(detect.BuiltinFS(), "rules/tests", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(detect.BuiltinFS(), p)
		if err != nil {
			return err
		}
		var pt packTest
		if err := yaml.Unmarshal(b, &pt); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[strings.TrimSuffix(path.Base(p), path.Ext(p))] = &pt
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeEvents writes events as one {"Records":[...]} file in dir.
func writeEvents(t *testing.T, dir string, evs []map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": evs})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "events.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBuiltinPack checks every built-in rule: it compiles, it has ATT&CK
// tags and a level, it has a test file with positives and look-alike
// negatives, and both backends (the Go matcher while streaming, DuckDB SQL
// over a real lake) give the expected verdict on every test event, with
// denied calls reported as attempts.
func TestBuiltinPack(t *testing.T) {
	docs, err := detect.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tests := loadPackTests(t)
	rules := map[string]string{} // id -> name
	for _, d := range docs {
		var m *sigma.Meta
		switch {
		case d.Rule != nil:
			m = &d.Rule.Meta
		case d.Correlation != nil:
			m = &d.Correlation.Meta
			continue // correlations are tested through their base rule's sequences
		}
		rules[m.ID] = m.Name
		if _, ok := tests[m.Name]; !ok {
			t.Errorf("rule %s has no test file rules/tests/%s.yml", m.Name, m.Name)
		}
		var tactic, technique bool
		for _, tag := range m.Tags {
			technique = technique || strings.HasPrefix(tag, "attack.t")
			tactic = tactic || (strings.HasPrefix(tag, "attack.") && !strings.HasPrefix(tag, "attack.t"))
		}
		if !tactic || !technique || m.Level == "" || m.Author == "" {
			t.Errorf("rule %s: want a level, an author, an ATT&CK tactic and technique tag (%v)", m.Name, m.Tags)
		}
	}
	for name, pt := range tests {
		if rules[pt.Rule] != name {
			t.Errorf("test file %s names rule %s, which is not rule %s", name, pt.Rule, name)
		}
		if len(pt.Positive) == 0 || len(pt.Negative) == 0 {
			t.Errorf("%s: want positive and negative events", name)
		}
	}
	if len(rules) < 20 {
		t.Fatalf("%d built-in rules; want the whole pack", len(rules))
	}

	// All test events in one source; every event has its own eventID.
	type want struct {
		rule, note string
		match      bool
		attempt    bool
	}
	var evs []map[string]any
	wants := map[string][]want{} // eventID -> expectations
	for name, pt := range tests {
		for _, p := range pt.Positive {
			id := p.Event["eventID"].(string)
			_, hasErr := p.Event["errorCode"]
			if hasErr != p.Attempt {
				t.Errorf("%s/%s: attempt=%v but errorCode present=%v", name, p.Note, p.Attempt, hasErr)
			}
			evs = append(evs, p.Event)
			wants[id] = append(wants[id], want{pt.Rule, p.Note, true, p.Attempt})
		}
		for _, n := range pt.Negative {
			id := n.Event["eventID"].(string)
			evs = append(evs, n.Event)
			wants[id] = append(wants[id], want{pt.Rule, n.Note, false, false})
		}
	}
	dir := t.TempDir()
	src := ingest.NewFileSource(writeEvents(t, dir, evs))
	e, err := detect.NewEngine(detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// One finding per matching event, both ways.
	e1, _ := detect.NewEngine(detect.Options{Group: false})
	stream := streamFindings(t, e1, src)
	_, db := lakeOf(t, src)
	fromLake, err := e1.RunSQL(context.Background(), db, "events")
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ rule, id string }
	index := func(fs []detect.Finding) map[key]detect.Finding {
		m := map[key]detect.Finding{}
		for _, f := range fs {
			if f.Correlated {
				continue
			}
			for _, id := range f.EventIDs {
				m[key{f.RuleID, id}] = f
			}
		}
		return m
	}
	for name, got := range map[string]map[key]detect.Finding{"stream": index(stream), "lake": index(fromLake)} {
		for id, ws := range wants {
			for _, w := range ws {
				f, ok := got[key{w.rule, id}]
				if ok != w.match {
					t.Errorf("%s: rule %s on %q: matched=%v; want %v", name, rules[w.rule], w.note, ok, w.match)
					continue
				}
				if ok && f.Attempt != w.attempt {
					t.Errorf("%s: rule %s on %q: attempt=%v; want %v", name, rules[w.rule], w.note, f.Attempt, w.attempt)
				}
			}
		}
	}
	var a, b bytes.Buffer
	json.NewEncoder(&a).Encode(stream)
	json.NewEncoder(&b).Encode(fromLake)
	if a.String() != b.String() {
		t.Errorf("stream and lake findings differ over the pack's test events")
	}

	// Correlation sequences.
	for name, pt := range tests {
		for _, seq := range pt.Sequences {
			d := t.TempDir()
			s := ingest.NewFileSource(writeEvents(t, d, seq.Events))
			count := func(fs []detect.Finding) int {
				n := 0
				for _, f := range fs {
					if f.Correlated && f.RuleID == seq.Correlation {
						n++
					}
				}
				return n
			}
			if got := count(streamFindings(t, e, s)); got != seq.WantGroups {
				t.Errorf("%s/%s: stream: %d correlation findings; want %d", name, seq.Note, got, seq.WantGroups)
			}
			_, db := lakeOf(t, s)
			fl, err := e.RunSQL(context.Background(), db, "events")
			if err != nil {
				t.Fatal(err)
			}
			if got := count(fl); got != seq.WantGroups {
				t.Errorf("%s/%s: lake: %d correlation findings; want %d", name, seq.Note, got, seq.WantGroups)
			}
		}
	}
	_ = slices.Contains[[]string]
}
