package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Severity orders finding levels.
type Severity int

// Severities, as Sigma's level values.
const (
	Informational Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"informational", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "informational"
	}
	return severityNames[s]
}

// ParseSeverity reads a Sigma level or a severity name.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	if strings.EqualFold(s, "info") {
		return Informational, nil
	}
	return 0, fmt.Errorf("severity %q: want one of %s", s, strings.Join(severityNames, ", "))
}

// MarshalText writes the severity name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Principal is who acted.
type Principal struct {
	ARN      string `json:"arn,omitempty"`
	Type     string `json:"type,omitempty"`
	UserName string `json:"user_name,omitempty"`
	// AccessKeyID is the key the call was signed with.
	AccessKeyID string `json:"access_key_id,omitempty"`
}

// Label names the principal for people: its ARN, else its user name,
// else the access key, else "".
func (p Principal) Label() string {
	switch {
	case p.ARN != "":
		return p.ARN
	case p.UserName != "":
		return p.UserName
	}
	return p.AccessKeyID
}

// Finding is one detection: one matching event, a group of repeats of it,
// or one correlation group.
type Finding struct {
	ID         string            `json:"id"` // stable: hash of the rule and the event IDs
	RuleID     string            `json:"rule_id"`
	Title      string            `json:"title"`
	Severity   Severity          `json:"severity"`
	Tactics    []string          `json:"tactics,omitempty"`    // ATT&CK tactic names, e.g. defense-evasion
	Techniques []string          `json:"techniques,omitempty"` // ATT&CK technique IDs, e.g. T1562.008
	Attempt    bool              `json:"attempt"`              // every contributing call was denied (errorCode set)
	ErrorCode  string            `json:"error_code,omitempty"`
	EventIDs   []string          `json:"event_ids"`
	Count      int               `json:"count"` // contributing events
	First      time.Time         `json:"first_event_time"`
	Last       time.Time         `json:"last_event_time"`
	EventName  string            `json:"event_name,omitempty"`
	Source     string            `json:"event_source,omitempty"`
	Account    string            `json:"account,omitempty"`
	Region     string            `json:"region,omitempty"`
	Principal  Principal         `json:"principal"`
	SourceIP   string            `json:"source_ip,omitempty"`
	UserAgent  string            `json:"user_agent,omitempty"`
	SourceKeys []string          `json:"source_keys,omitempty"` // s3://bucket/key or file paths
	Group      map[string]string `json:"group,omitempty"`       // correlation group-by values
	Correlated bool              `json:"correlation,omitempty"`
	Author     string            `json:"rule_author,omitempty"`
	License    string            `json:"rule_license,omitempty"`
	References []string          `json:"references,omitempty"`
	Integrity  string            `json:"integrity,omitempty"` // status of the source files, when verified
	Suppressed string            `json:"suppressed,omitempty"`
	// Summary marks a noisy rule's one finding: more than
	// DefaultMaxFindingsPerRule findings were folded into it; EventIDs
	// holds a sample (the smallest IDs) and Count the total.
	Summary bool `json:"summary,omitempty"`
}

// hit is one rule match on one event: the common currency of the
// streaming and SQL paths.
type hit struct {
	rule int
	ev   eventInfo
}

// eventInfo is what a finding needs of an event.
type eventInfo struct {
	ID, Name, Source, Account, Region string
	Time                              time.Time
	PrincipalARN, PrincipalType       string
	UserName, AccessKey               string
	SourceIP, UserAgent, ErrorCode    string
	Key                               string // s3://bucket/key or path
}

func sourceKey(bucket, key string) string {
	if key == "" {
		return ""
	}
	if bucket == "" {
		return key
	}
	return "s3://" + bucket + "/" + key
}

func findingID(rule string, ids []string) string {
	h := sha256.New()
	h.Write([]byte(rule))
	for _, id := range ids {
		h.Write([]byte{0})
		h.Write([]byte(id))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// ruleInfo is a rule's metadata, resolved once.
type ruleInfo struct {
	ID, Title, Author, License string
	Severity                   Severity
	Tactics, Techniques        []string
	References                 []string
}

// attackTags splits Sigma tags into ATT&CK tactics and techniques.
func attackTags(tags []string) (tactics, techniques []string) {
	for _, t := range tags {
		t = strings.ToLower(t)
		if !strings.HasPrefix(t, "attack.") {
			continue
		}
		v := strings.TrimPrefix(t, "attack.")
		if len(v) > 1 && v[0] == 't' && v[1] >= '0' && v[1] <= '9' {
			techniques = append(techniques, strings.ToUpper(v))
		} else if len(v) > 1 && (v[0] == 'g' || v[0] == 's') && v[1] >= '0' && v[1] <= '9' {
			continue // groups and software
		} else {
			tactics = append(tactics, v)
		}
	}
	return tactics, techniques
}

// groupKey says which hits are repeats of one finding: same rule, same
// principal, source IP, event name, account, region and outcome.
func groupKey(h hit) string {
	return strings.Join([]string{fmt.Sprint(h.rule), h.ev.PrincipalARN, h.ev.SourceIP, h.ev.Name, h.ev.Account, h.ev.Region, fmt.Sprint(h.ev.ErrorCode != "")}, "\x00")
}

// grouper accumulates hits into findings as they come, in any order,
// with memory per finding rather than per hit beyond each event's ID: a
// noisy rule over millions of events stays bounded when grouped. The same
// grouper serves the streaming and the SQL paths, so both give identical
// findings.
type grouper struct {
	rules []ruleInfo
	group bool
	accs  map[string]*acc
	// perRule counts each rule's findings; past maxPerRule a rule is
	// summarised into one finding (a noisy rule must not exhaust memory).
	perRule    map[int]int
	summaries  map[int]*summary
	maxPerRule int
}

// summary is a noisy rule's single finding: counts, time bounds and the
// sampleIDs smallest event IDs — all independent of arrival order, so
// both detection paths still agree.
type summary struct {
	count       int
	first, last time.Time
	ids         []string // sorted, at most sampleIDs
	rep         hit      // the earliest hit, whole (its event name and source are reported)
	hasRep      bool
}

const sampleIDs = 100

// DefaultMaxFindingsPerRule is where a rule's findings are summarised.
const DefaultMaxFindingsPerRule = 10000

type acc struct {
	rep  hit                 // the representative: earliest (time, event ID, key)
	ids  map[string]struct{} // event IDs (dedup of the same event seen twice)
	evs  []evRef
	keys map[string]struct{}
	last time.Time
}

type evRef struct {
	t  time.Time
	id string
}

func newGrouper(rules []ruleInfo, group bool) *grouper {
	return &grouper{rules: rules, group: group, accs: map[string]*acc{}, perRule: map[int]int{},
		summaries: map[int]*summary{}, maxPerRule: DefaultMaxFindingsPerRule}
}

func (s *summary) add(h hit, n int) {
	s.addRep(h)
	s.addEvent(h.ev.Time, h.ev.ID, n)
}

// addRep makes h the representative if it is the earliest hit so far.
func (s *summary) addRep(h hit) {
	if !s.hasRep || before(h, s.rep) {
		s.rep, s.hasRep = h, true
	}
}

// addEvent counts n matches of the event id at time t.
func (s *summary) addEvent(t time.Time, id string, n int) {
	if s.count == 0 || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	s.count += n
	if id != "" {
		i, found := slices.BinarySearch(s.ids, id)
		if !found && (len(s.ids) < sampleIDs || i < len(s.ids)) {
			s.ids = slices.Insert(s.ids, i, id)
			if len(s.ids) > sampleIDs {
				s.ids = s.ids[:sampleIDs]
			}
		}
	}
}

// summarise turns every finding of rule r into its summary.
func (g *grouper) summarise(r int) {
	s := &summary{}
	for k, a := range g.accs {
		if a.rep.rule != r {
			continue
		}
		for _, e := range a.evs {
			s.addEvent(e.t, e.id, 1)
		}
		s.addRep(a.rep)
		delete(g.accs, k)
	}
	g.summaries[r] = s
}

func before(a, b hit) bool {
	if !a.ev.Time.Equal(b.ev.Time) {
		return a.ev.Time.Before(b.ev.Time)
	}
	if a.ev.ID != b.ev.ID {
		return a.ev.ID < b.ev.ID
	}
	return a.ev.Key < b.ev.Key
}

func (g *grouper) add(h hit) {
	if s, ok := g.summaries[h.rule]; ok {
		s.add(h, 1)
		return
	}
	k := fmt.Sprint(h.rule) + "\x00" + h.ev.ID
	if h.ev.ID == "" {
		k += "\x00" + h.ev.Key + h.ev.Time.String()
	}
	if g.group {
		k = groupKey(h)
	}
	a := g.accs[k]
	if a == nil {
		if g.perRule[h.rule]++; g.perRule[h.rule] > g.maxPerRule {
			g.summarise(h.rule)
			g.summaries[h.rule].add(h, 1)
			return
		}
		a = &acc{rep: h, ids: map[string]struct{}{}, keys: map[string]struct{}{}, last: h.ev.Time}
		g.accs[k] = a
	} else if before(h, a.rep) {
		a.rep = h
	}
	if h.ev.Key != "" {
		a.keys[h.ev.Key] = struct{}{}
	}
	if h.ev.ID != "" {
		if _, dup := a.ids[h.ev.ID]; dup {
			return
		}
		a.ids[h.ev.ID] = struct{}{}
	}
	a.evs = append(a.evs, evRef{h.ev.Time, h.ev.ID})
	if h.ev.Time.After(a.last) {
		a.last = h.ev.Time
	}
}

func (g *grouper) findings() []Finding {
	out := make([]Finding, 0, len(g.accs))
	for _, a := range g.accs {
		h := a.rep
		r := g.rules[h.rule]
		sort.Slice(a.evs, func(i, j int) bool {
			if !a.evs[i].t.Equal(a.evs[j].t) {
				return a.evs[i].t.Before(a.evs[j].t)
			}
			return a.evs[i].id < a.evs[j].id
		})
		ids := make([]string, len(a.evs))
		for i, e := range a.evs {
			ids[i] = e.id
		}
		f := Finding{RuleID: r.ID, Title: r.Title, Severity: r.Severity, Tactics: r.Tactics, Techniques: r.Techniques,
			Attempt: h.ev.ErrorCode != "", ErrorCode: h.ev.ErrorCode, EventIDs: ids, Count: len(ids),
			First: a.evs[0].t, Last: a.last, EventName: h.ev.Name, Source: h.ev.Source, Account: h.ev.Account, Region: h.ev.Region,
			Principal: Principal{ARN: h.ev.PrincipalARN, Type: h.ev.PrincipalType, UserName: h.ev.UserName, AccessKeyID: h.ev.AccessKey},
			SourceIP:  h.ev.SourceIP, UserAgent: h.ev.UserAgent, Author: r.Author, License: r.License, References: r.References}
		for k := range a.keys {
			f.SourceKeys = append(f.SourceKeys, k)
		}
		slices.Sort(f.SourceKeys)
		f.ID = findingID(f.RuleID, f.EventIDs)
		out = append(out, f)
	}
	for r, s := range g.summaries {
		ri := g.rules[r]
		f := Finding{RuleID: ri.ID, Title: fmt.Sprintf("%s (noisy rule: %d matching events summarised; query the lake for all)", ri.Title, s.count),
			Severity: ri.Severity, Tactics: ri.Tactics, Techniques: ri.Techniques, EventIDs: s.ids, Count: s.count, First: s.first, Last: s.last,
			EventName: s.rep.ev.Name, Source: s.rep.ev.Source, Author: ri.Author, License: ri.License, References: ri.References, Summary: true}
		f.ID = findingID(f.RuleID, append([]string{"summary"}, f.EventIDs...))
		out = append(out, f)
	}
	SortFindings(out)
	return out
}

// SortFindings orders findings by first event time, then rule, then ID.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if !a.First.Equal(b.First) {
			return a.First.Before(b.First)
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.ID < b.ID
	})
}
