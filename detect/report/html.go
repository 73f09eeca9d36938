package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML file: inline CSS
// and SVG, no script or font from the network. Key numbers carry
// data-count attributes so a test can compare the page with the JSON.
func (r *Report) WriteHTML(w io.Writer) error {
	var js bytes.Buffer
	if err := json.NewEncoder(&js).Encode(r); err != nil {
		return err
	}
	data := struct {
		*Report
		JSON      template.JS
		Timeline  template.HTML
		StateList []string
		Sev       []string
	}{Report: r, JSON: template.JS(strings.ReplaceAll(js.String(), "</", "<\\/")), Timeline: timelineSVG(r),
		StateList: []string{StateVerified, StateUnverified, StateEmpty, StateGap, StateStopped, StateMissing, StateTampered},
		Sev:       severityOrder}
	return page.Execute(w, data)
}

// timelineSVG draws findings over time, one lane per severity.
func timelineSVG(r *Report) template.HTML {
	var fs []int
	var lo, hi time.Time
	for i, f := range r.Findings {
		if f.Suppressed != "" {
			continue
		}
		fs = append(fs, i)
		if lo.IsZero() || f.First.Before(lo) {
			lo = f.First
		}
		if f.Last.After(hi) {
			hi = f.Last
		}
	}
	const width, lane, left = 900.0, 22.0, 110.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="findings timeline">`, int(width), int(lane*6+20))
	for i, s := range severityOrder {
		y := 10 + float64(i)*lane
		fmt.Fprintf(&b, `<text x="4" y="%.0f" class="lane">%s</text><line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" class="grid"/>`, y+15, s, left, width-10, y+lane/2+1, y+lane/2+1)
	}
	span := hi.Sub(lo)
	if span <= 0 {
		span = time.Hour
	}
	for _, i := range fs {
		f := r.Findings[i]
		x := left + (width-left-20)*float64(f.First.Sub(lo))/float64(span)
		li := 4 - int(f.Severity)
		y := 10 + float64(li)*lane + lane/2 + 1
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" class="sev-%s"><title>%s — %s</title></circle>`, x, y, f.Severity,
			template.HTMLEscapeString(f.First.UTC().Format(time.RFC3339)), template.HTMLEscapeString(f.Title))
	}
	if len(fs) > 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="axis">%s</text><text x="%.0f" y="%.0f" class="axis" text-anchor="end">%s</text>`,
			left, lane*6+16, lo.UTC().Format("2006-01-02 15:04"), width-10, lane*6+16, hi.UTC().Format("2006-01-02 15:04"))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"hour":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:00Z") },
	"join":  strings.Join,
	"count": func(m map[string]int, k string) int { return m[k] },
	"dur":   func(a, b time.Time) string { return b.Sub(a).String() },
}

var page = template.Must(template.New("report").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trailscope scan — {{.Source}}</title>
<style>
:root{--ok:#2e9d52;--un:#9bc4a8;--empty:#e6efe8;--gap:#d9d9d9;--stop:#f0a030;--miss:#d9534f;--tamp:#8e1b1b;--ink:#1d2330;--mut:#6b7280}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);margin:0;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9ced8}
main{padding:20px 28px;max-width:1400px}section{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:16px 20px;margin-bottom:18px}
h2{font-size:16px;margin:0 0 12px}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #e3e6ea;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px}.card span{color:var(--mut);font-size:12px;text-transform:uppercase}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}th{background:#fafbfc}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.heat{overflow-x:auto}.heatrow{display:flex;align-items:center;margin:2px 0}.heatrow .lbl{width:230px;flex:none;font:12px ui-monospace,monospace}
.cell{width:10px;height:16px;margin-right:1px;flex:none;border-radius:2px}
.heataxis .tick{width:10px;margin-right:1px;flex:none;font:10px ui-monospace,monospace;color:var(--mut);white-space:nowrap;overflow:visible;border-left:1px solid transparent}.heataxis .tick.on{border-left-color:var(--mut)}
.verified{background:var(--ok)}.unverified{background:var(--un)}.empty{background:var(--empty)}.gap{background:var(--gap)}.stopped{background:var(--stop)}.missing{background:var(--miss)}.tampered{background:var(--tamp)}
.legend{display:flex;gap:14px;flex-wrap:wrap;margin:8px 0;font-size:12px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px}
.sev{font-weight:600;text-transform:uppercase;font-size:11px;padding:1px 6px;border-radius:4px;color:#fff}
.sev-critical,.b-critical{background:#7f1d1d;fill:#7f1d1d}.sev-high,.b-high{background:#dc2626;fill:#dc2626}.sev-medium,.b-medium{background:#f59e0b;fill:#f59e0b}.sev-low,.b-low{background:#3b82f6;fill:#3b82f6}.sev-informational,.b-informational{background:#9ca3af;fill:#9ca3af}
.st-valid{color:var(--ok)}.st-invalid,.st-missing{color:var(--miss);font-weight:600}
svg .lane{font-size:11px;fill:var(--mut)}svg .grid{stroke:#eef0f3}svg .axis{font-size:11px;fill:var(--mut)}
</style></head><body>
<header><h1>trailscope scan</h1><p>{{.Source}}{{if .Lake}} → lake {{.Lake}}{{end}} · generated {{ts .Generated}}</p></header>
<main>
<section id="summary"><h2>Summary</h2><div class="cards">
<div class="card"><b data-count="findings">{{.Active}}</b><span>findings</span></div>
<div class="card"><b data-count="suppressed">{{.Suppressed}}</b><span>suppressed</span></div>
{{range .Sev}}<div class="card"><b data-count="sev-{{.}}">{{count $.BySeverity .}}</b><span>{{.}}</span></div>{{end}}
<div class="card"><b data-count="integrity-valid">{{count .Integrity "valid"}}</b><span>files valid</span></div>
<div class="card"><b data-count="integrity-problems">{{len .Problems}}</b><span>integrity problems</span></div>
<div class="card"><b data-count="gaps">{{len .Coverage.Gaps}}</b><span>coverage gaps</span></div>
</div></section>

<section id="coverage"><h2>Coverage: account × region × hour</h2>
<div class="legend">{{range .StateList}}<span><i class="{{.}}"></i>{{.}} (<span data-count="cells-{{.}}">{{count $.Coverage.Counts .}}</span>)</span>{{end}}</div>
<div class="heat">{{with .Coverage}}{{if .Rows}}<div class="heatrow heataxis" aria-label="hours (UTC)"><span class="lbl">hour (UTC)</span>{{range .AxisLabels}}<span class="tick{{if .}} on{{end}}">{{.}}</span>{{end}}</div>{{end}}{{end}}{{range .Coverage.Rows}}<div class="heatrow" data-account="{{.Account}}" data-region="{{.Region}}"><span class="lbl">{{.Account}} {{.Region}}</span>{{range .Cells}}<span class="cell {{.State}}" data-state="{{.State}}" title="{{hour .Hour}}: {{.State}}, {{.Logs}} log files{{if .Detail}} — {{.Detail}}{{end}}"></span>{{end}}</div>{{end}}</div>
{{if .Coverage.Gaps}}<h3>Gaps</h3><table id="gaps"><tr><th>state</th><th>account</th><th>region</th><th>from</th><th>to</th><th>length</th><th>detail</th></tr>
{{range .Coverage.Gaps}}<tr><td><span class="cell {{.State}}" style="display:inline-block"></span> {{.State}}</td><td>{{.Account}}</td><td>{{.Region}}</td><td>{{ts .From}}</td><td>{{ts .To}}</td><td>{{dur .From .To}}</td><td>{{.Detail}}</td></tr>{{end}}</table>{{end}}
</section>

<section id="timeline"><h2>Findings timeline</h2>{{.Timeline}}</section>

<section id="integrity"><h2>Integrity</h2>
{{if not .Verified}}<p>Not verified: no digests or public keys were available.</p>{{else}}
<div class="cards">{{range $k, $v := .Integrity}}<div class="card"><b data-count="integrity-{{$k}}">{{$v}}</b><span>{{$k}}</span></div>{{end}}</div>
{{if .Problems}}<table id="integrity-table"><tr><th>status</th><th>kind</th><th>key</th><th>reason</th></tr>
{{range .Problems}}<tr><td class="st-{{.Status}}">{{.Status}}</td><td>{{.Kind}}</td><td><code>{{.Key}}</code></td><td>{{.Reason}}</td></tr>{{end}}</table>{{else}}<p>Every file verified.</p>{{end}}{{end}}
</section>

<section id="findings"><h2>Findings</h2>
{{if .Findings}}<table id="findings-table"><tr><th>severity</th><th>first event</th><th>title</th><th>principal</th><th>source IP</th><th>account / region</th><th>ATT&amp;CK</th><th>evidence</th></tr>
{{range .Findings}}<tr data-severity="{{.Severity}}"{{if .Suppressed}} data-suppressed="1"{{end}}><td><span class="sev b-{{.Severity}}">{{.Severity}}</span></td><td>{{ts .First}}</td>
<td>{{.Title}}{{if .Attempt}} <b>(denied attempt: {{.ErrorCode}})</b>{{end}}{{if .Suppressed}}<br><i>suppressed: {{.Suppressed}}</i>{{end}}<br><small>rule {{.RuleID}}{{if .Author}} by {{.Author}}{{end}}</small></td>
<td><code>{{.Principal.ARN}}</code></td><td>{{.SourceIP}}</td><td>{{.Account}}<br>{{.Region}}</td><td>{{join .Techniques ", "}}<br><small>{{join .Tactics ", "}}</small></td>
<td><small>events: <code>{{join .EventIDs ", "}}</code>{{range .SourceKeys}}<br><code>{{.}}</code>{{end}}</small></td></tr>{{end}}</table>
{{else}}<p>No findings.</p>{{end}}
</section>
</main>
<script type="application/json" id="report-data">{{.JSON}}</script>
</body></html>
`))
