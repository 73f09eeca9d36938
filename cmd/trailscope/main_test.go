package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// trailscope runs the CLI in-process and returns stdout, stderr and the
// exit code.
func trailscope(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

const stratus = "../../testdata/events/stratus-red-team-detonation-logs"

func TestUsageErrorsExit3(t *testing.T) {
	for _, args := range [][]string{
		{"ingest"},
		{"ingest", "x", "--lake"},
		{"ingest", stratus, "--lake", t.TempDir(), "--format", "xml"},
		{"ingest", stratus, "--lake", t.TempDir(), "--accounts", "12"},
		{"ingest", stratus, "--lake", t.TempDir(), "--start", "yesterday-ish"},
		{"detect"},
		{"detect", stratus, "--lake", "x"},
		{"detect", stratus, "--fail-on", "severe"},
		{"nosuchverb"},
	} {
		_, stderr, code := trailscope(t, args...)
		if code != exitUsage {
			t.Errorf("trailscope %v: exit %d (%s); want %d", args, code, stderr, exitUsage)
		}
		if stderr == "" {
			t.Errorf("trailscope %v: no message on stderr", args)
		}
	}
}

func TestIngestCLIReport(t *testing.T) {
	lake := t.TempDir()
	out, stderr, code := trailscope(t, "ingest", stratus, "--lake", lake, "--format", "json", "-q")
	// The folder holds LICENSE, NOTICE and SOURCE.md: they fail, so exit 2.
	if code != exitPartial {
		t.Fatalf("exit %d; want %d (stderr %s)", code, exitPartial, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"files_total", "files_ingested", "files_skipped", "files_failed", "events_in", "events_written", "events_duplicate", "events_rejected", "failures"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report lacks %q", k)
		}
	}
	if rep["events_written"].(float64) != 310 || rep["files_failed"].(float64) != 3 {
		t.Errorf("report %v; want 310 events written and 3 failed files (LICENSE, NOTICE, SOURCE.md)", rep)
	}
	out, _, code = trailscope(t, "ingest", stratus, "--lake", lake, "--format", "json", "-q")
	json.Unmarshal([]byte(out), &rep)
	if rep["events_written"].(float64) != 0 || rep["files_ingested"].(float64) != 0 {
		t.Errorf("second run wrote %v events from %v files; want 0", rep["events_written"], rep["files_ingested"])
	}
}

// TestDetectFormats runs detect over the Stratus detonations in every
// format, from the source and from a lake, and checks what each format
// requires.
func TestDetectFormats(t *testing.T) {
	lake := t.TempDir()
	if _, stderr, code := trailscope(t, "ingest", stratus, "--lake", lake, "-q"); code != exitPartial {
		t.Fatalf("ingest exit %d: %s", code, stderr)
	}
	for _, format := range []string{"table", "jsonl", "json", "asff", "ocsf", "sarif"} {
		fromSrc, stderr, code := trailscope(t, "detect", stratus, "--format", format, "-q")
		if code != exitPartial { // the folder's LICENSE etc. cannot be read as events
			t.Fatalf("%s: detect SOURCE exit %d: %s", format, code, stderr)
		}
		fromLake, stderr, code := trailscope(t, "detect", "--lake", lake, "--format", format, "-q")
		if code != exitOK {
			t.Fatalf("%s: detect --lake exit %d: %s", format, code, stderr)
		}
		if format != "asff" && format != "table" && fromSrc != fromLake {
			t.Errorf("%s: source and lake outputs differ", format)
		}
		switch format {
		case "asff":
			var doc struct{ Findings []map[string]any }
			if err := json.Unmarshal([]byte(fromLake), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Findings) == 0 {
				t.Fatal("asff: no findings")
			}
			for _, f := range doc.Findings {
				// ASFF's required top-level fields.
				for _, k := range []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt", "UpdatedAt", "Severity", "Title", "Description", "Resources"} {
					if _, ok := f[k]; !ok {
						t.Fatalf("asff finding lacks required %s: %v", k, f)
					}
				}
				res := f["Resources"].([]any)[0].(map[string]any)
				if res["Type"] == "" || res["Id"] == "" {
					t.Fatalf("asff resource lacks Type/Id: %v", res)
				}
				if len(f["AwsAccountId"].(string)) != 12 {
					t.Fatalf("asff AwsAccountId %v is not 12 digits", f["AwsAccountId"])
				}
			}
		case "sarif":
			checkSARIF(t, fromLake)
		case "jsonl":
			for _, line := range strings.Split(strings.TrimSpace(fromLake), "\n") {
				var f map[string]any
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("jsonl line %q: %v", line, err)
				}
				for _, k := range []string{"rule_id", "title", "severity", "event_ids", "first_event_time", "last_event_time", "principal", "attempt"} {
					if _, ok := f[k]; !ok {
						t.Fatalf("finding lacks %s: %s", k, line)
					}
				}
			}
		case "table":
			if !strings.Contains(fromLake, "findings:") {
				t.Errorf("table lacks its summary line:\n%s", fromLake)
			}
		}
	}
}

// checkSARIF checks the SARIF 2.1.0 structure the schema requires of what
// we emit: version, runs with a named tool driver, results with a message
// and a valid level, rule indexes within the driver's rules.
func checkSARIF(t *testing.T, s string) {
	t.Helper()
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex *int   `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(s), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name == "" {
		t.Fatalf("sarif header: version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if len(run.Results) == 0 {
		t.Fatal("sarif: no results")
	}
	for _, r := range run.Results {
		if r.Message.Text == "" {
			t.Fatal("sarif result without message.text")
		}
		switch r.Level {
		case "none", "note", "warning", "error":
		default:
			t.Fatalf("sarif level %q", r.Level)
		}
		if r.RuleIndex == nil || *r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[*r.RuleIndex].ID != r.RuleID {
			t.Fatalf("sarif ruleIndex does not point at rule %s", r.RuleID)
		}
		for _, l := range r.Locations {
			if l.PhysicalLocation.ArtifactLocation.URI == "" {
				t.Fatal("sarif location without uri")
			}
		}
	}
}

func TestDetectFailOnAndSuppress(t *testing.T) {
	file := filepath.Join(stratus, "aws.defense-evasion.cloudtrail-stop.json")
	_, stderr, code := trailscope(t, "detect", file, "--fail-on", "medium", "-q")
	if code != exitFindings {
		t.Fatalf("--fail-on medium: exit %d (%s); want %d", code, stderr, exitFindings)
	}
	out, _, _ := trailscope(t, "detect", file, "--format", "jsonl", "-q")
	var f map[string]any
	json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &f)
	supp := filepath.Join(t.TempDir(), "s.yml")
	os.WriteFile(supp, []byte("suppressions:\n  - rule: "+f["rule_id"].(string)+"\n    reason: test trail\n"), 0o644)
	out, _, code = trailscope(t, "detect", file, "--fail-on", "critical", "--suppress", supp, "--format", "jsonl", "-q")
	if strings.Contains(out, f["rule_id"].(string)) {
		t.Errorf("suppressed finding still shown")
	}
	out, _, _ = trailscope(t, "detect", file, "--suppress", supp, "--show-suppressed", "--format", "jsonl", "-q")
	if !strings.Contains(out, `"suppressed":"test trail"`) {
		t.Errorf("--show-suppressed does not show the reason:\n%s", out)
	}
	os.WriteFile(supp, []byte("suppressions:\n  - rule: x\n"), 0o644)
	if _, stderr, code := trailscope(t, "detect", file, "--suppress", supp); code != exitUsage || !strings.Contains(stderr, "reason is required") {
		t.Errorf("reasonless suppression: exit %d %s", code, stderr)
	}
}

func TestSigmaCLI(t *testing.T) {
	out, _, code := trailscope(t, "sigma", "check", "../../testdata/sigma/sigmahq/rules")
	if code != exitOK || !strings.Contains(out, "57 rule documents OK") {
		t.Fatalf("check SigmaHQ rules: exit %d: %s", code, out)
	}
	out, _, code = trailscope(t, "sigma", "check", "../../testdata/sigma/errors")
	if code == exitOK || !regexp.MustCompile(`(?m)^\S+\.yml:\d+:\d+: \w+: `).MatchString(out) {
		t.Fatalf("check broken rules: exit %d, want non-zero and file:line:col errors:\n%s", code, out)
	}
	out, _, code = trailscope(t, "sigma", "convert", "--target", "duckdb", "../../testdata/sigma/sigmahq/rules")
	if code != exitOK || strings.Count(out, "SELECT ") < 57 {
		t.Fatalf("convert: exit %d, %d SELECTs", code, strings.Count(out, "SELECT "))
	}
	out, _, code = trailscope(t, "sigma", "test", "../../testdata/sigma/sigmahq/rules", "--events", filepath.Join(stratus, "aws.defense-evasion.cloudtrail-stop.json"))
	if code != exitOK || !strings.Contains(out, "1 matches") {
		t.Fatalf("test: exit %d:\n%s", code, out)
	}
}

// TestIngestVerify: ingest --verify verifies in the same pass, stores the
// integrity table, and every event can be seen with its file's status.
func TestIngestVerify(t *testing.T) {
	lake := t.TempDir()
	_, stderr, code := trailscope(t, "ingest", "../../testdata/sample/bucket", "--lake", lake, "--verify", "--public-keys", "../../testdata/sample/public-keys.json", "-q")
	if code != exitFindings { // the sample has a modified log and a deleted digest
		t.Fatalf("exit %d (%s); want %d", code, stderr, exitFindings)
	}
	out, stderr, code := trailscope(t, "query", "--lake", lake, "--format", "csv", "SELECT integrity, count(*) FROM events_verified GROUP BY 1 ORDER BY 1")
	if code != exitOK || !strings.Contains(out, "invalid,") || !strings.Contains(out, "valid,") {
		t.Fatalf("events_verified: %d %s %s", code, out, stderr)
	}
	out, _, _ = trailscope(t, "query", "--lake", lake, "--format", "csv", "SELECT count(*) FROM integrity WHERE status = 'invalid' AND kind = 'log'")
	if !strings.Contains(out, "\n1\n") {
		t.Fatalf("integrity table: %s", out)
	}
}

// TestLakeCompactCLI: ingest --no-compact leaves one file per partition
// per batch; `lake compact` merges them, reports what it did, and the
// lake's rows stay the same.
func TestLakeCompactCLI(t *testing.T) {
	lake := t.TempDir()
	if _, stderr, code := trailscope(t, "ingest", "../../testdata/sample/bucket", "--lake", lake, "--batch-events", "100", "--no-compact", "-q"); code != exitOK {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	const q = "SELECT count(*) AS n, count(DISTINCT eventID) AS ids FROM events"
	before, _, _ := trailscope(t, "query", "--lake", lake, "--format", "csv", q)
	files := func() int {
		n := 0
		filepath.WalkDir(filepath.Join(lake, "events"), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".parquet") {
				n++
			}
			return nil
		})
		return n
	}
	n0 := files()
	out, stderr, code := trailscope(t, "lake", "compact", "--lake", lake, "--format", "json")
	if code != exitOK {
		t.Fatalf("lake compact: exit %d: %s", code, stderr)
	}
	var rep struct {
		Partitions   int `json:"partitions"`
		FilesMerged  int `json:"files_merged"`
		FilesWritten int `json:"files_written"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.FilesMerged == 0 || files() != n0-rep.FilesMerged+rep.FilesWritten {
		t.Fatalf("report %+v; files %d → %d", rep, n0, files())
	}
	if after, _, _ := trailscope(t, "query", "--lake", lake, "--format", "csv", q); after != before {
		t.Fatalf("rows changed: %q → %q", before, after)
	}
	out, _, _ = trailscope(t, "lake", "compact", "--lake", lake)
	if !strings.Contains(out, "0 files merged into 0") {
		t.Fatalf("second compaction: %q", out)
	}
}
