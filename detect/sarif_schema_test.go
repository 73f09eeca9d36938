package detect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/synth"
)

// sarifSchemaPath is the official OASIS SARIF 2.1.0 schema (errata01);
// testdata/schemas/README.md says where it comes from.
const sarifSchemaPath = "../testdata/schemas/sarif-schema-2.1.0.json"

// sarifSchema compiles the OASIS schema with format assertions on, so a
// helpUri that is not an absolute URI or an artifact location that is not
// a URI reference fails too.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := doc.(map[string]any)["id"].(string)
	if !strings.HasSuffix(id, "/sarif-schema-2.1.0.json") {
		t.Fatalf("%s: id %q is not the SARIF 2.1.0 schema", sarifSchemaPath, id)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// realisticFindings gathers the findings of a realistic run: the planted
// attacks of a generated archive (built-in pack, grouped, with its
// correlation), the Stratus Red Team detonations under the SigmaHQ rules,
// and a suppression applied to some of them.
func realisticFindings(t *testing.T) []detect.Finding {
	t.Helper()
	e, err := detect.NewEngine(detect.Options{Group: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := synth.SampleOptions(filepath.Join(dir, "bucket"))
	o.Seed = 42
	if _, err := synth.Generate(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	src, err := ingest.NewDirSource(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	fs := streamFindings(t, e, src)

	hq, err := detect.NewEngine(detect.Options{RulePaths: []string{"../testdata/sigma/sigmahq"}})
	if hq == nil {
		t.Fatalf("no engine for the SigmaHQ rules: %v", err)
	}
	fs = append(fs, streamFindings(t, hq, realSource(t))...)

	// Suppress every finding of the first rule, with a reason.
	s, err := detect.ParseSuppressions("s.yml", []byte("suppressions:\n  - rule: "+fs[0].RuleID+"\n    reason: known CI activity\n"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Apply(fs) == 0 {
		t.Fatal("the suppression matched nothing")
	}
	return fs
}

// TestSARIFSchema renders the findings of a realistic run as SARIF and
// validates the log against the official SARIF 2.1.0 JSON schema; a log
// that misses required properties or has wrong types must not validate.
func TestSARIFSchema(t *testing.T) {
	sch := sarifSchema(t)
	fs := realisticFindings(t)
	var suppressed, correlated int
	for _, f := range fs {
		if f.Suppressed != "" {
			suppressed++
		}
		if f.Correlated {
			correlated++
		}
	}
	t.Logf("%d findings, %d suppressed, %d from correlations", len(fs), suppressed, correlated)
	if suppressed == 0 || correlated == 0 {
		t.Fatalf("want suppressed and correlation findings in the run; got %d and %d", suppressed, correlated)
	}
	render := func(t *testing.T, fs []detect.Finding, o detect.WriteOptions) []byte {
		t.Helper()
		var b bytes.Buffer
		if err := detect.Write(&b, "sarif", fs, o); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	decode := func(t *testing.T, b []byte) any {
		t.Helper()
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := render(t, fs, detect.WriteOptions{Now: now, ShowSuppressed: true})

	for _, c := range []struct {
		name string
		fs   []detect.Finding
		o    detect.WriteOptions
	}{
		{"all with suppressed", fs, detect.WriteOptions{Now: now, ShowSuppressed: true}},
		{"unsuppressed only", fs, detect.WriteOptions{Now: now}},
		{"no findings", nil, detect.WriteOptions{Now: now}},
		{"odd finding", []detect.Finding{{
			ID: "x", RuleID: "r", Title: "Café ☕ rule", Severity: detect.Critical,
			Tactics: []string{"defense-evasion", "defense-evasion"}, Techniques: []string{"T1562.008", "T1562.008"},
			References: []string{"see the wiki", "https://example.com/a b"},
			SourceKeys: []string{"s3://bucket/AWSLogs/1/a b%.json.gz", "dir with space/ü.json", `C:\logs\x.json`},
			Suppressed: "test",
		}}, detect.WriteOptions{Now: now, ShowSuppressed: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := valid
			if c.name != "all with suppressed" {
				b = render(t, c.fs, c.o)
			}
			if err := sch.Validate(decode(t, b)); err != nil {
				t.Fatalf("SARIF does not validate against the 2.1.0 schema:\n%v", err)
			}
		})
	}

	// Negative cases: each mutation of the valid log must fail validation.
	mutations := []struct {
		name   string
		mutate func(log map[string]any)
	}{
		{"no version", func(log map[string]any) { delete(log, "version") }},
		{"wrong version", func(log map[string]any) { log["version"] = "2.0.0" }},
		{"no runs", func(log map[string]any) { delete(log, "runs") }},
		{"no tool", func(log map[string]any) { delete(sarifRun(log), "tool") }},
		{"no driver name", func(log map[string]any) {
			delete(sarifRun(log)["tool"].(map[string]any)["driver"].(map[string]any), "name")
		}},
		{"no result message", func(log map[string]any) { delete(sarifResult(log, 0), "message") }},
		{"bad level", func(log map[string]any) { sarifResult(log, 0)["level"] = "critical" }},
		{"ruleIndex below -1", func(log map[string]any) { sarifResult(log, 0)["ruleIndex"] = -2 }},
		{"unknown result property", func(log map[string]any) { sarifResult(log, 0)["severity"] = "high" }},
		{"suppression without kind", func(log map[string]any) {
			for i := range sarifRun(log)["results"].([]any) {
				if s, ok := sarifResult(log, i)["suppressions"].([]any); ok {
					delete(s[0].(map[string]any), "kind")
					return
				}
			}
			panic("no suppressed result")
		}},
		{"rule without id", func(log map[string]any) {
			delete(sarifRun(log)["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)[0].(map[string]any), "id")
		}},
	}
	for _, m := range mutations {
		t.Run("invalid/"+m.name, func(t *testing.T) {
			var log map[string]any
			if err := json.Unmarshal(valid, &log); err != nil {
				t.Fatal(err)
			}
			m.mutate(log)
			b, err := json.Marshal(log)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(decode(t, b)); err == nil {
				t.Fatal("the mutated log validates; want a schema error")
			}
		})
	}
}

func sarifRun(log map[string]any) map[string]any {
	return log["runs"].([]any)[0].(map[string]any)
}

func sarifResult(log map[string]any, i int) map[string]any {
	return sarifRun(log)["results"].([]any)[i].(map[string]any)
}
