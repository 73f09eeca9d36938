package detect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/sigma"
)

// Options configure an Engine.
type Options struct {
	// NoBuiltin leaves the built-in pack out.
	NoBuiltin bool
	// RulePaths are extra rule files or folders.
	RulePaths []string
	// Only keeps the rules whose id, name or tag (e.g. attack.t1562.008,
	// attack.defense-evasion) is listed; Exclude drops them.
	Only, Exclude []string
	// Group merges repeats of one finding (same rule, principal, source
	// IP, event name, account, region and outcome) into one finding.
	Group bool
	// Since and Until bound eventTime (zero: open).
	Since, Until time.Time
}

// Engine holds a compiled rule set.
type Engine struct {
	rs    *sigma.RuleSet
	rules []ruleInfo
	corrs []ruleInfo
	opts  Options
	// corrBase marks rules that feed correlations.
	corrBase []bool
}

// RuleError is a rule that could not be loaded; the engine runs without it.
type RuleError = sigma.Errors

// NewEngine loads and compiles the rules. Rules with problems are left out
// and returned as the error alongside a usable engine (nil only if nothing
// could be loaded at all).
func NewEngine(opts Options) (*Engine, error) {
	var docs []*sigma.Document
	var errs []error
	if !opts.NoBuiltin {
		b, err := Builtin()
		if err != nil {
			errs = append(errs, fmt.Errorf("built-in rules: %w", err))
		}
		docs = append(docs, b...)
	}
	if len(opts.RulePaths) > 0 {
		d, err := sigma.LoadFiles(opts.RulePaths...)
		if err != nil {
			errs = append(errs, err)
		}
		docs = append(docs, d...)
	}
	docs = selectDocs(docs, opts.Only, opts.Exclude)
	rs, err := sigma.NewRuleSet(docs, sigma.CompileOptions{})
	if err != nil {
		errs = append(errs, err)
	}
	if rs == nil {
		return nil, errors.Join(errs...)
	}
	e := &Engine{rs: rs, opts: opts}
	lic := licenses(docs)
	for i := 0; i < rs.Len(); i++ {
		m := &rs.Rule(i).Source().Meta
		e.rules = append(e.rules, infoOf(m, lic[m.ID]))
	}
	e.corrBase = make([]bool, rs.Len())
	for _, c := range rs.Correlations() {
		e.corrs = append(e.corrs, infoOf(&c.Meta, lic[c.ID]))
	}
	for _, i := range rs.CorrelationInputs() {
		e.corrBase[i] = true
	}
	return e, errors.Join(errs...)
}

// metaOf returns a document's metadata.
func metaOf(d *sigma.Document) *sigma.Meta {
	switch {
	case d.Rule != nil:
		return &d.Rule.Meta
	case d.Correlation != nil:
		return &d.Correlation.Meta
	case d.Filter != nil:
		return &d.Filter.Meta
	}
	return &sigma.Meta{}
}

// licenses maps rule IDs to the licence their findings must state: the
// built-in pack's own, or the Detection Rule License for rules found next
// to a DRL licence file (SigmaHQ's), which requires crediting the author.
func licenses(docs []*sigma.Document) map[string]string {
	out := map[string]string{}
	drl := map[string]bool{}
	for _, d := range docs {
		m := metaOf(d)
		file := d.Pos.File
		switch {
		case strings.HasPrefix(file, builtinPrefix):
			out[m.ID] = "Apache-2.0 (trailscope built-in pack)"
		case file != "":
			dir := filepath.Dir(file)
			ok, seen := drl[dir]
			if !seen {
				ok = underDRL(dir)
				drl[dir] = ok
			}
			if ok {
				out[m.ID] = "DRL-1.1 (Detection Rule License): credit the rule author"
			}
		}
	}
	return out
}

// underDRL reports whether a folder or one of its parents holds the
// Detection Rule License.
func underDRL(dir string) bool {
	for i := 0; i < 8; i++ {
		for _, name := range []string{"LICENSE.Detection.Rules.md", "LICENSE"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil && strings.Contains(string(b), "Detection Rule License") {
				return true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return false
}

func infoOf(m *sigma.Meta, license string) ruleInfo {
	sev, err := ParseSeverity(m.Level)
	if err != nil {
		sev = Medium
	}
	tac, tech := attackTags(m.Tags)
	return ruleInfo{ID: m.ID, Title: m.Title, Author: m.Author, License: license, Severity: sev,
		Tactics: tac, Techniques: tech, References: m.References}
}

// selectDocs applies --only and --exclude (ids, names or tags).
func selectDocs(docs []*sigma.Document, only, exclude []string) []*sigma.Document {
	if len(only) == 0 && len(exclude) == 0 {
		return docs
	}
	matches := func(d *sigma.Document, sel []string) bool {
		m := metaOf(d)
		for _, s := range sel {
			s = strings.ToLower(s)
			if strings.ToLower(m.ID) == s || strings.ToLower(m.Name) == s {
				return true
			}
			for _, t := range m.Tags {
				if strings.ToLower(t) == s {
					return true
				}
			}
		}
		return false
	}
	var out []*sigma.Document
	for _, d := range docs {
		if d.Kind == sigma.KindRule || d.Kind == sigma.KindCorrelation {
			if len(only) > 0 && !matches(d, only) {
				continue
			}
			if matches(d, exclude) {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// Rules returns the number of detection and correlation rules loaded.
func (e *Engine) Rules() (detection, correlation int) { return len(e.rules), len(e.corrs) }

func (e *Engine) inWindow(t time.Time) bool {
	if !e.opts.Since.IsZero() && t.Before(e.opts.Since) {
		return false
	}
	if !e.opts.Until.IsZero() && !t.Before(e.opts.Until) {
		return false
	}
	return true
}

func infoFromEvent(ev *ingest.Event) eventInfo {
	in := eventInfo{ID: ev.EventID, Name: ev.EventName, Source: ev.EventSource, Account: ev.RecipientAccountID,
		Region: ev.AWSRegion, Time: ev.EventTime, SourceIP: ev.SourceIPAddress, UserAgent: ev.UserAgent,
		ErrorCode: ev.ErrorCode, Key: sourceKey(ev.SourceBucket, ev.SourceKey)}
	if u := ev.UserIdentity; u != nil {
		in.PrincipalARN, in.PrincipalType, in.UserName, in.AccessKey = u.ARN, u.Type, u.UserName, u.AccessKeyID
		if in.Account == "" {
			in.Account = u.AccountID
		}
	}
	return in
}

// Stream is streaming detection: pass Observe as ingest.Options.Observe,
// run the pipeline, then call Findings.
type Stream struct {
	e       *Engine
	mu      sync.Mutex
	g       *grouper
	corrRaw []corrInput
	parsers sync.Pool
}

type corrInput struct {
	raw []byte
	t   time.Time
	id  string
	key string
}

// NewStream starts a streaming detection.
func (e *Engine) NewStream() *Stream {
	s := &Stream{e: e, g: newGrouper(e.rules, e.opts.Group)}
	s.parsers.New = func() any { return new(sigma.EventParser) }
	return s
}

// Observe is an ingest.Options.Observe hook.
func (s *Stream) Observe(obj ingest.Object) ingest.FileObserver {
	return &fileObs{s: s, p: s.parsers.Get().(*sigma.EventParser)}
}

type fileObs struct {
	s     *Stream
	p     *sigma.EventParser
	idx   []int
	hits  []hit
	corrs []corrInput
}

func (o *fileObs) Record(raw []byte, ev *ingest.Event) {
	if !o.s.e.inWindow(ev.EventTime) || !o.s.e.rs.MayMatch(ev.EventName) {
		return
	}
	sev, err := o.p.Parse(raw)
	if err != nil {
		return
	}
	o.idx = o.s.e.rs.Match(sev, o.idx[:0])
	if len(o.idx) == 0 {
		return
	}
	info := infoFromEvent(ev)
	feeds := false
	for _, i := range o.idx {
		if o.s.e.rs.Standalone(i) {
			o.hits = append(o.hits, hit{rule: i, ev: info})
		}
		if o.s.e.corrBase[i] {
			feeds = true
		}
	}
	if feeds {
		o.corrs = append(o.corrs, corrInput{raw: append([]byte(nil), raw...), t: ev.EventTime, id: ev.EventID, key: info.Key})
	}
}

func (o *fileObs) Done(ok bool) {
	if ok && (len(o.hits) > 0 || len(o.corrs) > 0) {
		o.s.mu.Lock()
		for _, h := range o.hits {
			o.s.g.add(h)
		}
		o.s.corrRaw = append(o.s.corrRaw, o.corrs...)
		o.s.mu.Unlock()
	}
	o.s.parsers.Put(o.p)
}

// Findings evaluates the correlations over everything observed and
// returns all findings, sorted.
func (s *Stream) Findings() ([]Finding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.g.findings()
	if len(s.e.corrs) == 0 {
		return out, nil
	}
	// Correlations need event-time order; only the matches of their input
	// rules were kept, so this is small.
	in := slices.Clone(s.corrRaw)
	sort.SliceStable(in, func(i, j int) bool {
		if !in[i].t.Equal(in[j].t) {
			return in[i].t.Before(in[j].t)
		}
		return in[i].id < in[j].id
	})
	seen := map[string]bool{}
	c := s.e.rs.NewCorrelator(sigma.CorrelatorOptions{})
	var p sigma.EventParser
	var results []sigma.CorrelationResult
	keys := map[string]string{}
	var idx []int
	for _, ci := range in {
		if ci.id != "" {
			if seen[ci.id] {
				continue
			}
			seen[ci.id] = true
			keys[ci.id] = ci.key
		}
		ev, err := p.Parse(ci.raw)
		if err != nil {
			continue
		}
		idx = s.e.rs.Match(ev, idx[:0])
		for _, ri := range idx {
			if s.e.corrBase[ri] {
				results = append(results, c.AddIndex(ri, ev)...)
			}
		}
	}
	results = append(results, c.Flush()...)
	for _, r := range results {
		out = append(out, s.e.correlationFinding(r, func(id string) string { return keys[id] }))
	}
	SortFindings(out)
	return out, nil
}

// correlationFinding turns a correlation result into a finding.
func (e *Engine) correlationFinding(r sigma.CorrelationResult, keyOf func(string) string) Finding {
	var info ruleInfo
	for i, c := range e.rs.Correlations() {
		if c == r.Correlation {
			info = e.corrs[i]
		}
	}
	f := Finding{RuleID: info.ID, Title: info.Title, Severity: info.Severity, Tactics: info.Tactics, Techniques: info.Techniques,
		EventIDs: slices.Clone(r.EventIDs), Count: r.Count, First: r.First.UTC(), Last: r.Last.UTC(), Correlated: true,
		Author: info.Author, License: info.License, References: info.References, Group: map[string]string{}}
	for _, g := range r.Group {
		if !g.Null {
			f.Group[g.Field] = g.Value
		}
		switch g.Field {
		case "sourceIPAddress":
			f.SourceIP = g.Value
		case "userIdentity.arn":
			f.Principal.ARN = g.Value
		case "userIdentity.userName":
			f.Principal.UserName = g.Value
		case "userIdentity.accessKeyId":
			f.Principal.AccessKeyID = g.Value
		case "userIdentity.type":
			f.Principal.Type = g.Value
		case "recipientAccountId":
			f.Account = g.Value
		case "awsRegion":
			f.Region = g.Value
		}
	}
	for _, id := range f.EventIDs {
		if k := keyOf(id); k != "" && !slices.Contains(f.SourceKeys, k) {
			f.SourceKeys = append(f.SourceKeys, k)
		}
	}
	slices.Sort(f.SourceKeys)
	f.ID = findingID(f.RuleID, f.EventIDs)
	return f
}

// SQLDB is what RunSQL needs of a database (a *sql.DB).
type SQLDB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// DB is an SQLDB that can be closed.
type DB interface {
	SQLDB
	Close() error
}

// RunSQL runs every rule as DuckDB SQL over table (a view of the lake's
// events, e.g. from query.Open) and returns the findings.
func (e *Engine) RunSQL(ctx context.Context, db SQLDB, table string) ([]Finding, error) {
	return e.runSQL(ctx, db, table, table)
}

// runSQL runs detection rules over table and correlations over corrTable
// (a superset that gives windows their context in scheduled runs).
func (e *Engine) runSQL(ctx context.Context, db SQLDB, table, corrTable string) ([]Finding, error) {
	src := table
	if !e.opts.Since.IsZero() || !e.opts.Until.IsZero() {
		conds := []string{}
		if !e.opts.Since.IsZero() {
			conds = append(conds, fmt.Sprintf(`"eventTime" >= TIMESTAMPTZ '%s'`, e.opts.Since.UTC().Format(time.RFC3339Nano)))
		}
		if !e.opts.Until.IsZero() {
			conds = append(conds, fmt.Sprintf(`"eventTime" < TIMESTAMPTZ '%s'`, e.opts.Until.UTC().Format(time.RFC3339Nano)))
		}
		src = "detect_window"
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW detect_window AS SELECT * FROM %s WHERE %s`,
			quoteIdentPath(table), strings.Join(conds, " AND "))); err != nil {
			return nil, fmt.Errorf("detect window: %w", err)
		}
	}
	cols := []string{"eventName", "eventSource", "recipientAccountId", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "source_bucket", "source_key", "userIdentity", "record_index"}
	// Distinct values of the low-cardinality columns rules test, from the
	// widest table queried: predicates on them become IN lists, decided
	// once per value and pushed down into the Parquet scan.
	values, err := distinctValues(ctx, db, corrTable)
	if err != nil {
		return nil, err
	}
	tables, cleanup, err := e.prefilter(ctx, db, src)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	g := newGrouper(e.rules, e.opts.Group)
	for i := 0; i < e.rs.Len(); i++ {
		if !e.rs.Standalone(i) {
			continue
		}
		table := src
		if t, ok := tables[i]; ok {
			table = t
		}
		q, err := e.rs.RuleSQL(i, sigma.SQLOptions{Table: table, Columns: cols, Values: values})
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
		}
		// First count the matches with a narrow query (only the columns
		// the rule tests are read): most rules match nothing, and DuckDB
		// reads the projected columns of every row the pushed-down
		// filters leave before it applies the rest of the rule.
		narrow, err := e.rs.RuleSQL(i, sigma.SQLOptions{Table: table, Values: values})
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
		}
		n, err := countSQL(ctx, db, narrow)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
		}
		if n == 0 {
			continue
		}
		if n > int64(g.maxPerRule) {
			// Maybe noisy: if its matches fall in more groups than a rule
			// may have findings, the result is a summary, whatever the
			// order the matches are read in; then only the earliest match
			// is read (the summary's representative) and DuckDB does the rest.
			noisy, err := e.noisySQL(ctx, db, q, g.maxPerRule)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
			}
			if noisy {
				if err := e.readRuleRows(ctx, db, q, i, g, 1); err != nil {
					return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
				}
				g.summarise(i)
				if err := summariseSQL(ctx, db, narrow, g.summaries[i]); err != nil {
					return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
				}
				continue
			}
		}
		if err := e.readRuleSQL(ctx, db, q, i, g); err != nil {
			return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
		}
		if s, noisy := g.summaries[i]; noisy {
			if err := summariseSQL(ctx, db, narrow, s); err != nil {
				return nil, fmt.Errorf("rule %s: %w", e.rules[i].ID, err)
			}
		}
	}
	out := g.findings()
	if corrTable != table {
		src = corrTable
	}
	for i := range e.corrs {
		fs, err := e.runCorrelationSQL(ctx, db, src, i, values)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	SortFindings(out)
	return out, nil
}

// unordered drops the ORDER BY that sigma's rule queries end with.
func unordered(q string) string {
	if k := strings.LastIndex(q, "\nORDER BY"); k > 0 {
		return q[:k]
	}
	return q
}

// countSQL counts the rows of a rule query (its ORDER BY dropped).
func countSQL(ctx context.Context, db SQLDB, q string) (int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT count(*) FROM ("+unordered(q)+")")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

// rowPage is how many of a rule's matches one query returns. Pages are
// top-N queries in a total order (eventTime, eventID, then the row's
// source key and record index), so DuckDB keeps at most a page's rows in
// memory instead of sorting every match; a noisy rule is usually
// summarised within its first page.
var rowPage = 200_000

// readRuleSQL reads rule i's matches from its query q into g, page by
// page, until they run out or the rule turns noisy.
func (e *Engine) readRuleSQL(ctx context.Context, db SQLDB, q string, i int, g *grouper) error {
	return e.readRuleRows(ctx, db, q, i, g, -1)
}

// noisySQL reports whether the matches of rule query q fall into more
// than max findings: more distinct group keys (see groupKey) when grouping,
// more distinct events otherwise. The key columns are as readRuleSQL
// reads them (NULL is "", the account falls back to the principal's).
func (e *Engine) noisySQL(ctx context.Context, db SQLDB, q string, max int) (bool, error) {
	key := `coalesce(nullif("eventID", ''), concat_ws(chr(0), '', "source_bucket", "source_key", CAST("eventTime" AS VARCHAR)))`
	if e.opts.Group {
		key = `coalesce("userIdentity"."arn", ''), coalesce("sourceIPAddress", ''), coalesce("eventName", ''),
			coalesce(nullif("recipientAccountId", ''), "userIdentity"."accountId", ''), coalesce("awsRegion", ''), coalesce("errorCode", '') <> ''`
	}
	n, err := countSQL(ctx, db, fmt.Sprintf(`SELECT DISTINCT %s FROM (%s) AS p`, key, unordered(q)))
	if err != nil {
		return false, fmt.Errorf("count groups: %w", err)
	}
	return n > int64(max), nil
}

// readRuleRows is readRuleSQL reading at most limit rows (-1: all).
func (e *Engine) readRuleRows(ctx context.Context, db SQLDB, q string, i int, g *grouper, limit int) error {
	base := unordered(q)
	page := rowPage
	if limit > 0 {
		page = limit
	}
	for offset := 0; ; offset += page {
		pq := fmt.Sprintf(`SELECT * FROM (%s) AS p ORDER BY "eventTime", "eventID", "source_key", "record_index" LIMIT %d OFFSET %d`,
			base, page, offset)
		rows, err := db.QueryContext(ctx, pq)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var id, name, esrc, acct, region, ip, ua, ecode, bucket, key sql.NullString
			var t sql.NullTime
			var uid any
			var idx sql.NullInt64
			if err := rows.Scan(&id, &t, &name, &esrc, &acct, &region, &ip, &ua, &ecode, &bucket, &key, &uid, &idx); err != nil {
				rows.Close()
				return err
			}
			n++
			in := eventInfo{ID: id.String, Time: t.Time.UTC(), Name: name.String, Source: esrc.String, Account: acct.String,
				Region: region.String, SourceIP: ip.String, UserAgent: ua.String, ErrorCode: ecode.String, Key: sourceKey(bucket.String, key.String)}
			if m, ok := uid.(map[string]any); ok {
				in.PrincipalARN, in.PrincipalType = str(m["arn"]), str(m["type"])
				in.UserName, in.AccessKey = str(m["userName"]), str(m["accessKeyId"])
				if in.Account == "" {
					in.Account = str(m["accountId"])
				}
			}
			g.add(hit{rule: i, ev: in})
			if _, noisy := g.summaries[i]; noisy {
				break // the rest of a noisy rule's matches are summarised by DuckDB
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		if _, noisy := g.summaries[i]; noisy || n < page || limit > 0 {
			return nil
		}
	}
}

// valueColumns are the columns whose distinct values detection collects
// (see sigma.SQLOptions.Values): those rules test most, whose values come
// from bounded sets (API names, services, regions, accounts, error codes).
var valueColumns = []string{"eventName", "eventSource", "eventType", "errorCode", "awsRegion", "eventCategory",
	"recipientAccountId", "userIdentity.type", "userIdentity.invokedBy"}

// maxValues is the most distinct values a column may have to be used.
const maxValues = 5000

// distinctValues collects every distinct non-null value of valueColumns
// in table, in one scan; a column with more than maxValues values is left
// out.
func distinctValues(ctx context.Context, db SQLDB, table string) (map[string][]string, error) {
	exprs := make([]string, len(valueColumns))
	for k, c := range valueColumns {
		expr := "t"
		for _, p := range strings.Split(c, ".") {
			expr += `."` + p + `"`
		}
		exprs[k] = fmt.Sprintf("CAST(to_json(list(DISTINCT %s) FILTER (WHERE %s IS NOT NULL)) AS VARCHAR)", expr, expr)
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %s AS t`, strings.Join(exprs, ", "), quoteIdentPath(table)))
	if err != nil {
		return nil, fmt.Errorf("distinct values: %w", err)
	}
	defer rows.Close()
	raw := make([]sql.NullString, len(valueColumns))
	dest := make([]any, len(raw))
	for k := range raw {
		dest[k] = &raw[k]
	}
	out := map[string][]string{}
	if rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("distinct values: %w", err)
		}
		for k, c := range valueColumns {
			var vals []string
			if raw[k].Valid {
				if err := json.Unmarshal([]byte(raw[k].String), &vals); err != nil {
					return nil, fmt.Errorf("distinct values of %s: %w", c, err)
				}
			}
			if len(vals) <= maxValues {
				out[c] = vals
			}
		}
	}
	return out, rows.Err()
}

// summariseSQL completes a noisy rule's summary from all rows of its
// query q with aggregates, instead of reading every match into Go: the
// count, the time bounds and the smallest event IDs, exactly what the
// streaming path's summary holds (the representative, the earliest match,
// is the first row, already read).
func summariseSQL(ctx context.Context, db SQLDB, q string, s *summary) error {
	// The rule's rows, unsorted (the aggregates need no order, and a sort
	// of millions of wide rows is what must be avoided here).
	q = unordered(q)
	var n int64
	var first, last sql.NullTime
	agg, err := db.QueryContext(ctx, `SELECT count(*), min("eventTime"), max("eventTime") FROM (`+q+`)`)
	if err != nil {
		return fmt.Errorf("summarise: %w", err)
	}
	if agg.Next() {
		err = agg.Scan(&n, &first, &last)
	}
	if cerr := agg.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("summarise: %w", err)
	}
	s.count = int(n)
	if first.Valid {
		s.first, s.last = first.Time.UTC(), last.Time.UTC()
	}
	// The sampleIDs smallest distinct event IDs: a top-N (cheap) that
	// widens only if duplicates leave fewer than sampleIDs distinct ones.
	for limit := 2 * sampleIDs; ; limit *= 4 {
		rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT "eventID" FROM (%s) WHERE "eventID" IS NOT NULL AND "eventID" <> '' ORDER BY 1 LIMIT %d`, q, limit))
		if err != nil {
			return fmt.Errorf("summarise: %w", err)
		}
		var ids []string
		got := 0
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("summarise: %w", err)
			}
			got++
			if len(ids) == 0 || ids[len(ids)-1] != id {
				ids = append(ids, id)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("summarise: %w", err)
		}
		if len(ids) >= sampleIDs || got < limit {
			s.ids = ids[:min(len(ids), sampleIDs)]
			return nil
		}
	}
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func quoteIdentPath(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

func (e *Engine) runCorrelationSQL(ctx context.Context, db SQLDB, table string, i int, values map[string][]string) ([]Finding, error) {
	c := e.rs.Correlations()[i]
	q, err := e.rs.CorrelationSQL(i, sigma.SQLOptions{Table: table, Values: values})
	if err != nil {
		return nil, fmt.Errorf("correlation %s: %w", e.corrs[i].ID, err)
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("correlation %s: %w", e.corrs[i].ID, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []Finding
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for k := range vals {
			ptrs[k] = &vals[k]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := sigma.CorrelationResult{Correlation: c}
		for k, name := range cols {
			v := vals[k]
			switch {
			case k < len(c.GroupBy):
				g := sigma.GroupValue{Field: c.GroupBy[k]}
				if v == nil {
					g.Null = true
				} else {
					g.Value = fmt.Sprint(v)
				}
				r.Group = append(r.Group, g)
			case name == "count":
				r.Count = toInt(v)
			case name == "first_time":
				r.First, _ = v.(time.Time)
			case name == "last_time":
				r.Last, _ = v.(time.Time)
			case name == "event_ids":
				if l, ok := v.([]any); ok {
					for _, x := range l {
						r.EventIDs = append(r.EventIDs, fmt.Sprint(x))
					}
				}
			}
		}
		out = append(out, e.correlationFinding(r, func(string) string { return "" }))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Source keys of correlated events.
	for fi := range out {
		keys, err := sourceKeysOf(ctx, db, table, out[fi].EventIDs)
		if err != nil {
			return nil, err
		}
		out[fi].SourceKeys = keys
	}
	return out, nil
}

func sourceKeysOf(ctx context.Context, db SQLDB, table string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "?"
		args[i] = id
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT source_bucket, source_key FROM %s WHERE "eventID" IN (%s)`,
		quoteIdentPath(table), strings.Join(ph, ",")), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b, k sql.NullString
		if err := rows.Scan(&b, &k); err != nil {
			return nil, err
		}
		if s := sourceKey(b.String, k.String); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, rows.Err()
}

func toInt(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case int32:
		return int(x)
	case uint64:
		return int(x)
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}
