package sigma

import (
	"fmt"
	"github.com/valyala/fastjson"
	"strings"
	"unicode/utf8"
)

// RuleSet is a compiled collection of detection and correlation rules. It
// matches an event against all detection rules at once, using an index on
// eventName so that only the rules that can match are evaluated. A RuleSet
// is immutable and safe for concurrent use (each goroutine with its own
// Event).
type RuleSet struct {
	rules      []*Matcher
	standalone []bool
	ref        map[string]int // rule id and name -> index
	index      map[string][]int32
	prefixes   []namePrefix
	always     []int32
	corrs      []*compiledCorr
}

// NewRuleSet compiles the detection rules, meta filters and correlation
// rules in docs. Legacy aggregations ("| count() by x > N") become
// event_count or value_count correlations. Filters in docs and in
// opts.Filters are applied to the rules they name. Rules that fail to
// compile are left out and their problems are returned as Errors together
// with the usable RuleSet.
func NewRuleSet(docs []*Document, opts CompileOptions) (*RuleSet, error) {
	var errs Errors
	var ok []*Document
	for _, d := range docs {
		if len(d.Errs) == 0 {
			ok = append(ok, d)
			continue
		}
		// Report the parse problems again, plus what compiling finds, but
		// leave the document out.
		errs = append(errs, d.Errs...)
		if d.Kind == KindRule && d.Rule != nil && !hasAgg(d.Rule) {
			if _, err := compileRule(d.Rule, opts); err != nil {
				var ce Errors
				ce.appendErr(d.Pos, CodeUnsupported, err)
				for _, e := range ce {
					if e.Code != CodeMissing {
						errs = append(errs, e)
					}
				}
			}
		}
	}
	docs = expandLegacy(ok, &errs)
	filters := append([]*Filter(nil), opts.Filters...)
	for _, d := range docs {
		if d.Kind == KindFilter && d.Filter != nil {
			filters = append(filters, d.Filter)
		}
	}
	opts.Filters = filters
	rs := &RuleSet{ref: map[string]int{}, index: map[string][]int32{}}
	for _, d := range docs {
		if d.Kind != KindRule || d.Rule == nil {
			continue
		}
		m, err := Compile(d.Rule, opts)
		if err != nil {
			errs.appendErr(d.Pos, CodeUnsupported, err)
			continue
		}
		i := len(rs.rules)
		rs.rules = append(rs.rules, m)
		rs.standalone = append(rs.standalone, true)
		for _, key := range []string{d.Rule.ID, d.Rule.Name} {
			if key == "" {
				continue
			}
			if _, dup := rs.ref[key]; dup {
				errs.add(d.Rule.Meta.Pos, CodeDuplicate, "rule id or name %q is used twice", key)
				continue
			}
			rs.ref[key] = i
		}
		if names, ok := requiredEventNames(m.prog.root); ok {
			for _, n := range sortedKeys(names) {
				if strings.HasSuffix(n, "*") {
					rs.prefixes = append(rs.prefixes, namePrefix{prefix: strings.TrimSuffix(n, "*"), rule: int32(i)})
					continue
				}
				rs.index[n] = append(rs.index[n], int32(i))
			}
		} else {
			rs.always = append(rs.always, int32(i))
		}
	}
	for _, f := range filters {
		for _, ref := range f.Rules {
			if _, ok := rs.ref[ref.Ref]; !ok {
				errs.add(ref.Pos, CodeReference, "filter %q references unknown rule %q", f.Title, ref.Ref)
			}
		}
	}
	for _, d := range docs {
		if d.Kind != KindCorrelation || d.Correlation == nil {
			continue
		}
		cc, err := rs.compileCorrelation(d.Correlation)
		if err != nil {
			errs.appendErr(d.Pos, CodeCorrelation, err)
			continue
		}
		rs.corrs = append(rs.corrs, cc)
		if !d.Correlation.Generate {
			for _, ri := range cc.rules {
				rs.standalone[ri] = false
			}
		}
	}
	return rs, errs.errOrNil()
}

// namePrefix indexes a rule by an eventName prefix (startswith).
type namePrefix struct {
	prefix string
	rule   int32
}

// EventNames returns the eventName values one of which an event must have
// for rule i to match — lower-cased exact values, and prefixes (from
// startswith) — or ok false if the rule does not constrain eventName that
// way. Names are compared ASCII-case-insensitively, as Match dispatches;
// an event whose name is not ASCII may match any rule.
func (rs *RuleSet) EventNames(i int) (exact, prefixes []string, ok bool) {
	names, ok := requiredEventNames(rs.rules[i].prog.root)
	if !ok {
		return nil, nil, false
	}
	for _, n := range sortedKeys(names) {
		if p, isPrefix := strings.CutSuffix(n, "*"); isPrefix {
			prefixes = append(prefixes, p)
		} else {
			exact = append(exact, n)
		}
	}
	return exact, prefixes, true
}

// Len returns the number of detection rules.
func (rs *RuleSet) Len() int { return len(rs.rules) }

// Rule returns the i-th detection rule's matcher.
func (rs *RuleSet) Rule(i int) *Matcher { return rs.rules[i] }

// Standalone reports whether matches of rule i are findings on their own.
// It is false for rules that only feed correlations with generate: false
// (the specification's default).
func (rs *RuleSet) Standalone(i int) bool { return rs.standalone[i] }

// Correlations returns the compiled correlation rules.
func (rs *RuleSet) Correlations() []*Correlation {
	out := make([]*Correlation, len(rs.corrs))
	for i, c := range rs.corrs {
		out[i] = c.c
	}
	return out
}

// Match appends to dst the indices of the detection rules the event
// matches, in rule order, and returns the extended slice. It does not
// allocate when dst has room.
func (rs *RuleSet) Match(ev Event, dst []int) []int {
	if ev.v == nil {
		return dst
	}
	var cands []int32
	var name []byte
	if v := ev.scratch.slots[slotEventName]; v != nil && v.Type() == fastjson.TypeString {
		name, _ = v.StringBytes()
	}
	var buf [96]byte
	ascii := len(name) <= len(buf)
	if ascii {
		for i, c := range name {
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
	}
	if !ascii {
		// Rare: evaluate every rule.
		for i, m := range rs.rules {
			if m.Match(ev) {
				dst = append(dst, i)
			}
		}
		return dst
	}
	lname := buf[:len(name)]
	cands = rs.index[string(lname)]
	// Prefix-indexed rules are few; add the ones that apply, then merge
	// the three sorted lists so results come out in rule order.
	var pre [8]int32
	npre := 0
	for _, p := range rs.prefixes {
		if strings.HasPrefix(b2s(lname), p.prefix) {
			if npre == len(pre) {
				// Too many to track on the stack: evaluate everything.
				for i, m := range rs.rules {
					if m.Match(ev) {
						dst = append(dst, i)
					}
				}
				return dst
			}
			pre[npre] = p.rule
			npre++
		}
	}
	a, b, c := cands, rs.always, pre[:npre]
	last := int32(-1)
	for len(a) > 0 || len(b) > 0 || len(c) > 0 {
		i := int32(1<<31 - 1)
		if len(a) > 0 && a[0] < i {
			i = a[0]
		}
		if len(b) > 0 && b[0] < i {
			i = b[0]
		}
		if len(c) > 0 && c[0] < i {
			i = c[0]
		}
		for len(a) > 0 && a[0] == i {
			a = a[1:]
		}
		for len(b) > 0 && b[0] == i {
			b = b[1:]
		}
		for len(c) > 0 && c[0] == i {
			c = c[1:]
		}
		if i == last {
			continue
		}
		last = i
		if evalNode(rs.rules[i].prog.root, ev) {
			dst = append(dst, int(i))
		}
	}
	return dst
}

// expandLegacy turns rules with a legacy aggregation into a base rule plus
// a correlation over it. The correlation keeps the rule's title and id;
// the base rule gets the id "<id>/base".
func expandLegacy(docs []*Document, errs *Errors) []*Document {
	var out []*Document
	for _, d := range docs {
		if d.Kind != KindRule || d.Rule == nil || !hasAgg(d.Rule) {
			out = append(out, d)
			continue
		}
		r := d.Rule
		if len(r.Detection.Conditions) != 1 {
			errs.add(r.Detection.Pos, CodeUnsupported, "an aggregation needs exactly one condition")
			continue
		}
		cond := r.Detection.Conditions[0]
		agg := cond.Agg
		if r.Detection.Timeframe == 0 {
			errs.add(agg.Pos, CodeUnsupported, "the aggregation needs detection.timeframe (the time window)")
			continue
		}
		base := *r
		base.Detection.Conditions = []*Condition{{Source: cond.Source, Expr: cond.Expr, Pos: cond.Pos}}
		id := r.ID
		if id == "" {
			id = r.Title
		}
		base.ID, base.Name = id+"/base", ""
		c := &Correlation{
			Meta:     r.Meta,
			Type:     "event_count",
			Rules:    []RuleRef{{Ref: base.ID, Pos: agg.Pos}},
			Timespan: r.Detection.Timeframe,
			Pos:      d.Pos,
			legacy:   true,
		}
		if agg.GroupBy != "" {
			c.GroupBy = []string{agg.GroupBy}
		}
		if agg.Field != "" {
			c.Type, c.Field = "value_count", agg.Field
		}
		op := map[string]string{">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq", "!=": "neq"}[agg.Op]
		c.Condition = []CountCond{{Op: op, Value: float64(agg.Value), Pos: agg.Pos}}
		out = append(out, &Document{Kind: KindRule, Pos: d.Pos, Rule: &base},
			&Document{Kind: KindCorrelation, Pos: d.Pos, Correlation: c})
	}
	return out
}

func hasAgg(r *Rule) bool {
	for _, c := range r.Detection.Conditions {
		if c.Agg != nil {
			return true
		}
	}
	return false
}

// compiledCorr is a correlation resolved against a RuleSet.
type compiledCorr struct {
	c     *Correlation
	rules []int // referenced detection rules, in the correlation's order
	// group[k][j] is the field of group-by k for rules[j].
	group [][]*fieldPath
	field *fieldPath // value_count
	span  int64      // milliseconds
	conds []CountCond
}

func (rs *RuleSet) compileCorrelation(c *Correlation) (*compiledCorr, error) {
	var errs Errors
	cc := &compiledCorr{c: c, span: c.Timespan.Milliseconds()}
	if cc.span <= 0 && !c.parsed {
		errs.add(c.Pos, CodeCorrelation, "correlation %q has no timespan", c.Title)
	}
	names := make([]string, 0, len(c.Rules))
	for _, ref := range c.Rules {
		i, ok := rs.ref[ref.Ref]
		if !ok {
			errs.add(ref.Pos, CodeReference, "correlation references unknown rule %q (correlations of correlations are not supported)", ref.Ref)
			continue
		}
		cc.rules = append(cc.rules, i)
		names = append(names, ref.Ref)
	}
	for gi, g := range c.GroupBy {
		gpos := c.Pos
		if gi < len(c.GroupByPos) {
			gpos = c.GroupByPos[gi]
		}
		var fps []*fieldPath
		for j, ri := range cc.rules {
			name := g
			if al, ok := c.Aliases[g]; ok {
				r := rs.rules[ri].rule
				f, ok := al[names[j]]
				if !ok {
					f, ok = al[r.Name]
				}
				if !ok {
					f, ok = al[r.ID]
				}
				if !ok {
					apos, ok := c.AliasPos[g]
					if !ok {
						apos = c.Pos
					}
					errs.add(apos, CodeCorrelation, "alias %q has no field for rule %q", g, names[j])
					continue
				}
				name = f
			}
			fp, err := resolveField(name)
			if err == nil && fp.isStructLeaf() {
				err = fmt.Errorf("field %q is a structure", name)
			}
			if err != nil {
				errs.add(gpos, CodeField, "group-by: %v", err)
				continue
			}
			fps = append(fps, fp)
		}
		cc.group = append(cc.group, fps)
	}
	if c.Type == "value_count" {
		fp, err := resolveField(c.Field)
		if err == nil && fp.isStructLeaf() {
			err = fmt.Errorf("field %q is a structure", c.Field)
		}
		if err != nil {
			errs.add(c.Pos, CodeField, "condition.field: %v", err)
		}
		cc.field = fp
	}
	switch c.Type {
	case "event_count", "value_count", "temporal", "temporal_ordered":
	default:
		if !c.parsed {
			errs.add(c.Pos, CodeUnsupported, "correlation type %q is not supported", c.Type)
		}
	}
	cc.conds = c.Condition
	if len(cc.conds) == 0 && (c.Type == "temporal" || c.Type == "temporal_ordered") {
		// Without a condition, every referenced rule must match.
		cc.conds = []CountCond{{Op: "gte", Value: float64(len(c.Rules))}}
	}
	if err := errs.errOrNil(); err != nil {
		return nil, err
	}
	if cc.span <= 0 {
		// Parse already reported the timespan.
		return nil, Errors{}
	}
	return cc, nil
}

func (cc *compiledCorr) condHolds(n int) bool {
	f := float64(n)
	for _, c := range cc.conds {
		ok := false
		switch c.Op {
		case "gt":
			ok = f > c.Value
		case "gte":
			ok = f >= c.Value
		case "lt":
			ok = f < c.Value
		case "lte":
			ok = f <= c.Value
		case "eq":
			ok = f == c.Value
		case "neq":
			ok = f != c.Value
		}
		if !ok {
			return false
		}
	}
	return true
}
