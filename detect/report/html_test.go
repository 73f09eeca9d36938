package report

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/detect"
)

func sampleReport() *Report {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var logs []LogFile
	var digests []DigestHour
	for h := 0; h < 12; h++ {
		at := t0.Add(time.Duration(h)*time.Hour + 5*time.Minute)
		status := "valid"
		if h == 4 {
			status = "invalid" // the tampered hour
		}
		if h >= 7 && h <= 8 {
			continue // a gap: no logs, no digest
		}
		logs = append(logs, LogFile{Account: "111122223333", Region: "us-east-1", Delivered: at, Key: "k" + strconv.Itoa(h), Status: status})
		digests = append(digests, DigestHour{Account: "111122223333", Region: "us-east-1", Start: t0.Add(time.Duration(h) * time.Hour), End: t0.Add(time.Duration(h+1) * time.Hour), Status: "valid", Logs: 1})
		if h < 11 { // logging stopped at 10:30: nothing after
			logs = append(logs, LogFile{Account: "444455556666", Region: "eu-west-1", Delivered: at, Key: "j" + strconv.Itoa(h), Status: "valid"})
		}
	}
	changes := []LoggingChange{{Account: "444455556666", Region: "eu-west-1", Time: t0.Add(10*time.Hour + 30*time.Minute), Stopped: true}}
	r := &Report{Source: "s3://trail-bucket", Lake: "/tmp/lake", Generated: t0.Add(24 * time.Hour), Verified: true,
		Integrity: map[string]int{"valid": 20, "invalid": 1},
		Problems:  []IntegrityFile{{Kind: "log", Key: "k4", Status: "invalid", Reason: "hash mismatch"}},
		Coverage:  BuildCoverage(logs, digests, changes, time.Time{}, time.Time{}),
		Findings: []detect.Finding{
			{ID: "a", RuleID: "r1", Title: "CloudTrail logging stopped", Severity: detect.High, First: t0.Add(10 * time.Hour), Last: t0.Add(10 * time.Hour), EventIDs: []string{"e1"}, Principal: detect.Principal{ARN: "arn:aws:iam::444455556666:user/mallory"}, Count: 1},
			{ID: "b", RuleID: "r2", Title: "Console login failures <script>alert(1)</script>", Severity: detect.Medium, First: t0.Add(2 * time.Hour), Last: t0.Add(3 * time.Hour), EventIDs: []string{"e2", "e3"}, SourceIP: "203.0.113.9", Count: 2},
			{ID: "c", RuleID: "r3", Title: "Suppressed thing", Severity: detect.Critical, Suppressed: "known CI", EventIDs: []string{"e4"}},
		}}
	r.Finish()
	return r
}

func TestCoverageMap(t *testing.T) {
	r := sampleReport()
	cv := r.Coverage
	if cv.Hours != 12 || len(cv.Rows) != 2 {
		t.Fatalf("coverage %d hours, %d rows; want 12, 2", cv.Hours, len(cv.Rows))
	}
	row := cv.Rows[0]
	if row.Cells[4].State != StateTampered || row.Cells[7].State != StateGap || row.Cells[8].State != StateGap || row.Cells[0].State != StateVerified {
		t.Fatalf("row %s: states %v", row.Account, states(row))
	}
	other := cv.Rows[1]
	if other.Cells[10].State != StateStopped || other.Cells[11].State != StateStopped || other.Cells[9].State != StateVerified || other.Cells[7].State != StateGap {
		t.Fatalf("row %s: states %v", other.Account, states(other))
	}
	if len(cv.Gaps) == 0 || cv.Gaps[0].State != StateTampered {
		t.Fatalf("gaps %v: want the tampered hour first", cv.Gaps)
	}
}

// TestCoverageStopTargets: a stop maps onto the chains of the trail it
// named (all of an organization trail's chains in its organization), not
// onto another trail's, and not onto hours that still received logs.
func TestCoverageStopTargets(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type chain struct{ acct, region, org, trail string }
	chains := []chain{
		{"111122223333", "us-east-1", "o-aaaa", "org-trail"}, // where the stop is called
		{"111122223333", "eu-west-1", "o-aaaa", "org-trail"}, // same trail, other region, silent after the stop
		{"444455556666", "us-east-1", "o-aaaa", "org-trail"}, // member account, still delivering
		{"777788889999", "us-east-1", "", "org-trail"},       // a different account's trail of the same name
	}
	var logs []LogFile
	var digests []DigestHour
	for _, c := range chains {
		for h := 0; h < 6; h++ {
			silent := h >= 3 && (c.acct == "111122223333" || c.acct == "777788889999" && h == 4)
			if !silent {
				logs = append(logs, LogFile{Account: c.acct, Region: c.region, Delivered: t0.Add(time.Duration(h)*time.Hour + 10*time.Minute), Status: "valid"})
			}
			digests = append(digests, DigestHour{Account: c.acct, Region: c.region, Trail: c.trail, OrgID: c.org,
				Start: t0.Add(time.Duration(h) * time.Hour), End: t0.Add(time.Duration(h+1) * time.Hour), Status: "valid"})
		}
	}
	for _, tc := range []struct {
		name  string
		trail string
		want  map[string]string // "acct/region" → states of hours 2..5
	}{
		{"the delivering org trail", "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", map[string]string{
			"111122223333/us-east-1": "stopped stopped stopped stopped",
			"111122223333/eu-west-1": "verified stopped stopped stopped",
			"444455556666/us-east-1": "verified verified verified verified",
			"777788889999/us-east-1": "verified verified empty verified",
		}},
		{"another trail", "audit-trail", map[string]string{
			"111122223333/us-east-1": "verified empty empty empty",
			"777788889999/us-east-1": "verified verified empty verified",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.trail
			if i := strings.LastIndex(name, "/"); i >= 0 {
				name = name[i+1:]
			}
			changes := []LoggingChange{{Account: "111122223333", Region: "us-east-1", Time: t0.Add(2*time.Hour + 30*time.Minute), Stopped: true, Trail: name}}
			cv := BuildCoverage(logs, digests, changes, time.Time{}, time.Time{})
			for _, r := range cv.Rows {
				want, ok := tc.want[r.Account+"/"+r.Region]
				if !ok {
					continue
				}
				if got := strings.Join(states(r)[2:], " "); got != want {
					t.Errorf("%s/%s hours 2-5: %s; want %s", r.Account, r.Region, got, want)
				}
			}
		})
	}
}

func states(r Row) []string {
	var s []string
	for _, c := range r.Cells {
		s = append(s, c.State)
	}
	return s
}

func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestHTMLReportInBrowser renders the report in headless Chromium: the
// page loads with no network, the numbers on the page equal the JSON
// report's, and the screenshot shows the tampered hour's colour.
func TestHTMLReportInBrowser(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		if os.Getenv("TRAILSCOPE_REQUIRE_BROWSER") != "" {
			t.Fatal("no chromium on PATH (CI installs Debian's chromium)")
		}
		t.Skip("no chromium on PATH: apt-get install chromium (CI does)")
	}
	r := sampleReport()
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(html.Bytes(), []byte("<script>alert(1)")) {
		t.Fatal("finding title not escaped")
	}
	if re := regexp.MustCompile(`(src|href)="https?://`); re.Match(html.Bytes()) {
		t.Fatal("the report loads something from the network")
	}
	os.WriteFile(page, html.Bytes(), 0o644)
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + filepath.Join(dir, "profile")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, browser, append(flags, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	// Numbers on the rendered page equal the JSON report's.
	var j map[string]any
	var buf bytes.Buffer
	r.WriteJSON(&buf)
	json.Unmarshal(buf.Bytes(), &j)
	want := map[string]int{
		"findings":           r.Active,
		"suppressed":         r.Suppressed,
		"sev-high":           r.BySeverity["high"],
		"sev-medium":         r.BySeverity["medium"],
		"integrity-problems": len(r.Problems),
		"gaps":               len(r.Coverage.Gaps),
		"cells-tampered":     r.Coverage.Counts[StateTampered],
		"cells-gap":          r.Coverage.Counts[StateGap],
		"cells-verified":     r.Coverage.Counts[StateVerified],
		"cells-stopped":      r.Coverage.Counts[StateStopped],
	}
	if int(j["findings_by_severity"].(map[string]any)["high"].(float64)) != want["sev-high"] {
		t.Fatal("JSON and report disagree")
	}
	for k, v := range want {
		re := regexp.MustCompile(`data-count="` + k + `">(\d+)<`)
		m := re.FindSubmatch(dom)
		if m == nil {
			t.Errorf("rendered page has no %s count", k)
			continue
		}
		if got, _ := strconv.Atoi(string(m[1])); got != v {
			t.Errorf("page shows %s = %d; JSON report says %d", k, got, v)
		}
	}
	if n := bytes.Count(dom, []byte(`data-state="tampered"`)); n != r.Coverage.Counts[StateTampered] {
		t.Errorf("page has %d tampered cells; want %d", n, r.Coverage.Counts[StateTampered])
	}
	// Screenshot: the heat map is drawn, with the tampered colour.
	shot := filepath.Join(dir, "shot.png")
	if out, err := exec.CommandContext(ctx, browser, append(flags, "--screenshot="+shot, "--window-size=1400,1000", "file://"+page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	tampered, gap := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			r8, g8, b8 := cr>>8, cg>>8, cb>>8
			if r8 == 0x8e && g8 == 0x1b && b8 == 0x1b {
				tampered++
			}
			if r8 == 0xd9 && g8 == 0xd9 && b8 == 0xd9 {
				gap++
			}
		}
	}
	if tampered < 50 || gap < 50 {
		t.Fatalf("screenshot has %d tampered and %d gap pixels; want the heat map drawn", tampered, gap)
	}
	if os.Getenv("TRAILSCOPE_KEEP_SCREENSHOT") != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("TRAILSCOPE_KEEP_SCREENSHOT"), b, 0o644)
	}
}

// TestAxisLabels: the heat map's hour axis labels 6-hourly over short
// spans, daily over weeks, monthly over long spans.
func TestAxisLabels(t *testing.T) {
	start := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		hours int
		want  map[int]string // column → label; every other column ""
	}{
		{12, map[int]string{2: "03-02", 8: "06:00"}},
		{24 * 10, nil},
		{24 * 100, map[int]string{2 + 24*30: "2026-04", 2 + 24*(30+30): "2026-05", 2 + 24*(30+30+31): "2026-06"}},
	} {
		c := &Coverage{Start: start, Hours: tc.hours}
		got := c.AxisLabels()
		if len(got) != tc.hours {
			t.Fatalf("%d hours: %d labels", tc.hours, len(got))
		}
		for h, l := range got {
			want, ok := tc.want[h]
			if tc.want == nil { // daily: every midnight
				if ts := start.Add(time.Duration(h) * time.Hour); ts.Hour() == 0 {
					want, ok = ts.Format("01-02"), true
				}
			}
			if !ok {
				want = ""
			}
			if l != want {
				t.Errorf("%d hours, column %d: %q, want %q", tc.hours, h, l, want)
			}
		}
	}
}
