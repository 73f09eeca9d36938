package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits on hostile input.
const (
	// MaxFileSize is the largest rule file Parse accepts.
	MaxFileSize = 1 << 20
	// MaxDocuments is the largest number of YAML documents in one file.
	MaxDocuments = 1000
	// maxAliasVisits caps how many nodes may be reached through YAML
	// aliases in one document (alias bombs).
	maxAliasVisits = 10000
	// maxDepth caps the nesting depth of the YAML tree we walk.
	maxDepth = 64
	// MaxRegexpLen is the longest regular expression accepted.
	MaxRegexpLen = 4096
	// maxValues caps the number of values of one field.
	maxValues = 10000
	// maxConditionLen caps the length of a condition.
	maxConditionLen = 8192
)

// Parse parses a Sigma rule file (one or more YAML documents separated by
// "---") into documents. It reports every problem it finds as Errors; the
// documents that parsed are returned even when err is non-nil.
func Parse(filename string, src []byte) ([]*Document, error) {
	var errs Errors
	if len(src) > MaxFileSize {
		errs.add(Pos{File: filename}, CodeTooLarge, "file is %d bytes; the limit is %d", len(src), MaxFileSize)
		return nil, errs.errOrNil()
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*Document
	for i := 0; ; i++ {
		if i >= MaxDocuments {
			errs.add(Pos{File: filename}, CodeTooLarge, "more than %d YAML documents", MaxDocuments)
			break
		}
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs.add(yamlErrPos(filename, err), CodeYAML, "%s", yamlErrMsg(err))
			break
		}
		p := &parser{file: filename}
		d := p.document(&n)
		errs = append(errs, p.errs...)
		if d != nil {
			d.Errs = append(Errors(nil), p.errs...)
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 && len(errs) == 0 {
		errs.add(Pos{File: filename}, CodeMissing, "no Sigma document in file")
	}
	return docs, errs.errOrNil()
}

// ParseRule parses a file that must hold exactly one detection rule.
func ParseRule(filename string, src []byte) (*Rule, error) {
	docs, err := Parse(filename, src)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 || docs[0].Kind != KindRule {
		return nil, &Error{Pos: Pos{File: filename}, Code: CodeNotRule, Msg: "file does not hold exactly one detection rule"}
	}
	return docs[0].Rule, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrPos(file string, err error) Pos {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Pos{File: file, Line: n}
	}
	return Pos{File: file}
}

func yamlErrMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

type parser struct {
	file   string
	errs   Errors
	aliasN int
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

func (p *parser) errf(n *yaml.Node, code, format string, args ...any) {
	p.errs.add(p.pos(n), code, format, args...)
}

// resolve follows aliases, counting the nodes reached through them.
func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if hops > 100 {
			return nil
		}
		p.aliasN += countNodes(n.Alias, maxAliasVisits+1)
		if p.aliasN > maxAliasVisits {
			p.errf(n, CodeTooLarge, "YAML aliases expand to more than %d nodes", maxAliasVisits)
			return nil
		}
		n = n.Alias
	}
	return n
}

// countNodes counts the nodes under n, stopping at limit.
func countNodes(n *yaml.Node, limit int) int {
	count := 0
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || count >= limit || depth > maxDepth {
			count = limit
			return
		}
		count++
		if n.Kind == yaml.AliasNode {
			walk(n.Alias, depth+1)
			return
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return count
}

type kv struct {
	key *yaml.Node
	val *yaml.Node
}

// mapping returns the key/value pairs of a mapping node, reporting
// duplicate and non-string keys. It returns nil and an error for other
// kinds.
func (p *parser) mapping(n *yaml.Node, what string) []kv {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, CodeType, "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	seen := map[string]bool{}
	var out []kv
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.errf(k, CodeType, "%s: keys must be strings", what)
			continue
		}
		if k.Tag == "!!merge" {
			p.errf(k, CodeUnsupported, "%s: YAML merge keys (<<) are not supported", what)
			continue
		}
		if seen[k.Value] {
			p.errf(k, CodeDuplicate, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, kv{k, v})
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "an unknown node"
}

// str reads a scalar string attribute.
func (p *parser) str(n *yaml.Node, what string) string {
	n = p.resolve(n)
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, CodeType, "%s must be a string, not %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// strList reads a list of strings (a single string is accepted as a list
// of one).
func (p *parser) strList(n *yaml.Node, what string) []string {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, CodeType, "%s must be a list of strings, not %s", what, kindName(n))
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if s := p.str(c, what+" element"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) document(root *yaml.Node) *Document {
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // empty document, e.g. a trailing "---"
	}
	pairs := p.mapping(root, "document")
	if pairs == nil {
		return nil
	}
	has := map[string]*yaml.Node{}
	for _, e := range pairs {
		has[e.key.Value] = e.val
	}
	d := &Document{Pos: p.pos(root)}
	switch {
	case has["correlation"] != nil:
		d.Kind = KindCorrelation
		d.Correlation = p.correlation(root, pairs)
	case has["filter"] != nil:
		d.Kind = KindFilter
		d.Filter = p.filter(root, pairs)
	case has["action"] != nil:
		p.errf(has["action"], CodeUnsupported, "legacy Sigma 1.x rule collections (action: ...) are not supported")
		return nil
	default:
		d.Kind = KindRule
		d.Rule = p.rule(root, pairs)
	}
	return d
}

// meta reads the common attributes and reports whether the key was one.
func (p *parser) meta(m *Meta, e kv) bool {
	switch e.key.Value {
	case "title":
		m.Title = p.str(e.val, "title")
		if len(m.Title) > 256 {
			p.errf(e.val, CodeTooLarge, "title is longer than 256 characters")
		}
	case "id":
		m.ID = p.str(e.val, "id")
	case "name":
		m.Name = p.str(e.val, "name")
	case "status":
		m.Status = p.str(e.val, "status")
	case "description":
		m.Description = p.str(e.val, "description")
	case "author":
		m.Author = p.str(e.val, "author")
	case "date":
		m.Date = p.str(e.val, "date")
	case "modified":
		m.Modified = p.str(e.val, "modified")
	case "level":
		m.Level = p.str(e.val, "level")
		switch m.Level {
		case "", "informational", "low", "medium", "high", "critical":
		default:
			p.errf(e.val, CodeType, "level %q is not one of informational, low, medium, high, critical", m.Level)
		}
	case "references":
		m.References = p.strList(e.val, "references")
	case "tags":
		m.Tags = p.strList(e.val, "tags")
	case "license", "related", "taxonomy", "scope", "fields", "falsepositives", "generate", "regression_tests_path", "simulation":
		// Recognised; handled by the caller or informational only.
		return e.key.Value != "fields" && e.key.Value != "falsepositives" && e.key.Value != "generate"
	default:
		return false
	}
	return true
}

func (p *parser) requireTitle(m *Meta, root *yaml.Node) {
	m.Pos = p.pos(root)
	if strings.TrimSpace(m.Title) == "" {
		p.errf(root, CodeMissing, "missing title")
	}
}

func (p *parser) rule(root *yaml.Node, pairs []kv) *Rule {
	r := &Rule{}
	var sawDetection bool
	for _, e := range pairs {
		if p.meta(&r.Meta, e) {
			continue
		}
		switch e.key.Value {
		case "logsource":
			r.Logsource = p.logsource(e.val)
		case "detection":
			sawDetection = true
			r.Detection = p.detection(e.val, "detection")
		case "fields":
			r.Fields = p.strList(e.val, "fields")
		case "falsepositives":
			r.FalsePositive = p.strList(e.val, "falsepositives")
		default:
			// Custom attributes are allowed by the specification.
		}
	}
	p.requireTitle(&r.Meta, root)
	if !sawDetection {
		p.errf(root, CodeMissing, "missing detection")
	}
	if !r.Logsource.Set {
		p.errf(root, CodeMissing, "missing logsource")
	}
	return r
}

func (p *parser) logsource(n *yaml.Node) Logsource {
	ls := Logsource{Pos: p.pos(n), Set: true}
	for _, e := range p.mapping(n, "logsource") {
		switch e.key.Value {
		case "product":
			ls.Product = p.str(e.val, "logsource.product")
		case "service":
			ls.Service = p.str(e.val, "logsource.service")
		case "category":
			ls.Category = p.str(e.val, "logsource.category")
		case "definition":
			p.str(e.val, "logsource.definition")
		default:
			p.str(e.val, "logsource."+e.key.Value)
		}
	}
	return ls
}

var searchIDRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

func (p *parser) detection(n *yaml.Node, what string) Detection {
	det := Detection{Searches: map[string]*Search{}, Pos: p.pos(n)}
	pairs := p.mapping(n, what)
	var condNode *yaml.Node
	for _, e := range pairs {
		switch name := e.key.Value; name {
		case "condition":
			condNode = e.val
		case "timeframe":
			s := p.str(e.val, "timeframe")
			d, err := parseTimespan(s)
			if err != nil {
				p.errf(e.val, CodeType, "timeframe: %v", err)
			}
			det.Timeframe, det.TimeframePos = d, p.pos(e.val)
		default:
			if !searchIDRe.MatchString(name) {
				p.errf(e.key, CodeType, "search identifier %q may only contain letters, digits and _", name)
				continue
			}
			s := p.search(name, e.key, e.val)
			if s != nil {
				det.Searches[name] = s
				det.Order = append(det.Order, name)
			}
		}
	}
	if n := p.resolve(n); n != nil && n.Kind == yaml.MappingNode {
		if condNode == nil {
			p.errf(n, CodeMissing, "%s: missing condition", what)
		} else {
			det.Conditions = p.conditions(condNode)
		}
		if len(det.Searches) == 0 {
			p.errf(n, CodeMissing, "%s: no search identifiers defined", what)
		}
	}
	if condNode != nil {
		for _, c := range det.Conditions {
			p.checkIdents(&det, c.Expr)
		}
	}
	return det
}

func (p *parser) conditions(n *yaml.Node) []*Condition {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	var nodes []*yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		nodes = []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		nodes = n.Content
	default:
		p.errf(n, CodeType, "condition must be a string or a list of strings")
		return nil
	}
	var out []*Condition
	for _, c := range nodes {
		s := p.str(c, "condition")
		if s == "" {
			continue
		}
		c = p.resolve(c)
		base := p.pos(c)
		if len(s) > maxConditionLen {
			p.errf(c, CodeTooLarge, "condition is longer than %d bytes", maxConditionLen)
			continue
		}
		// Column offsets are exact for plain and single-quoted one-line
		// scalars; other styles report the scalar's start.
		exact := (c.Style == 0 || c.Style == yaml.SingleQuotedStyle || c.Style == yaml.DoubleQuotedStyle) && !strings.Contains(s, "\n")
		if c.Style == yaml.SingleQuotedStyle || c.Style == yaml.DoubleQuotedStyle {
			base.Col++
		}
		cond, errs := parseCondition(s, base, exact)
		p.errs = append(p.errs, errs...)
		if cond != nil {
			out = append(out, cond)
		}
	}
	return out
}

// checkIdents reports identifiers and patterns that name no search.
func (p *parser) checkIdents(det *Detection, e Expr) {
	switch e := e.(type) {
	case *AndExpr:
		for _, a := range e.Args {
			p.checkIdents(det, a)
		}
	case *OrExpr:
		for _, a := range e.Args {
			p.checkIdents(det, a)
		}
	case *NotExpr:
		p.checkIdents(det, e.Arg)
	case *IdentExpr:
		if det.Searches[e.Name] == nil {
			p.errs.add(e.Pos, CodeUndefined, "condition references undefined search %q", e.Name)
		}
	case *OfExpr:
		if len(det.matchPattern(e.Pattern)) == 0 {
			p.errs.add(e.Pos, CodeUndefined, "no search matches %q", e.Pattern)
		}
	}
}

// matchPattern returns the search names (in file order) that a pattern of
// an "of" expression selects. "them" selects all searches whose name does
// not start with "_".
func (det *Detection) matchPattern(pattern string) []string {
	var out []string
	for _, name := range det.Order {
		if pattern == "them" {
			if !strings.HasPrefix(name, "_") {
				out = append(out, name)
			}
			continue
		}
		if identGlob(pattern, name) {
			out = append(out, name)
		}
	}
	return out
}

// identGlob matches a search name against a pattern with '*' wildcards.
func identGlob(pattern, name string) bool {
	for {
		i := strings.IndexByte(pattern, '*')
		if i < 0 {
			return pattern == name
		}
		if !strings.HasPrefix(name, pattern[:i]) {
			return false
		}
		name, pattern = name[i:], pattern[i+1:]
		if pattern == "" {
			return true
		}
		for j := 0; j <= len(name); j++ {
			if identGlob(pattern, name[j:]) {
				return true
			}
		}
		return false
	}
}

func (p *parser) search(name string, key, n *yaml.Node) *Search {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	s := &Search{Name: name, Pos: p.pos(key)}
	switch n.Kind {
	case yaml.MappingNode:
		s.Maps = [][]*FieldMatch{p.fieldMap(n)}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.errf(n, CodeType, "search %q is an empty list", name)
			return nil
		}
		var maps, scalars int
		for _, c := range n.Content {
			c = p.resolve(c)
			if c == nil {
				return nil
			}
			if c.Kind == yaml.MappingNode {
				maps++
			} else {
				scalars++
			}
		}
		switch {
		case maps > 0 && scalars > 0:
			p.errf(n, CodeType, "search %q mixes field maps and keywords", name)
			return nil
		case maps > 0:
			for _, c := range n.Content {
				s.Maps = append(s.Maps, p.fieldMap(p.resolve(c)))
			}
		default:
			s.Keywords = &FieldMatch{Pos: p.pos(n), Values: p.values(n, "keyword")}
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.errf(n, CodeType, "search %q is empty", name)
			return nil
		}
		s.Keywords = &FieldMatch{Pos: p.pos(n), Values: p.values(n, "keyword")}
	default:
		p.errf(n, CodeType, "search %q must be a mapping or a list", name)
		return nil
	}
	return s
}

func (p *parser) fieldMap(n *yaml.Node) []*FieldMatch {
	var out []*FieldMatch
	pairs := p.mapping(n, "search")
	if len(pairs) == 0 && n != nil && n.Kind == yaml.MappingNode {
		p.errf(n, CodeType, "empty field map")
	}
	for _, e := range pairs {
		fm := p.fieldMatch(e.key, e.val)
		if fm != nil {
			out = append(out, fm)
		}
	}
	return out
}

func (p *parser) fieldMatch(key, val *yaml.Node) *FieldMatch {
	parts := strings.Split(key.Value, "|")
	fm := &FieldMatch{Field: parts[0], Pos: p.pos(key)}
	col := key.Column + len(parts[0]) + 1
	if key.Style == yaml.SingleQuotedStyle || key.Style == yaml.DoubleQuotedStyle {
		col++
	}
	for _, m := range parts[1:] {
		fm.Modifiers = append(fm.Modifiers, Modifier{Name: m, Pos: Pos{File: p.file, Line: key.Line, Col: col}})
		col += len(m) + 1
	}
	if fm.Field == "" {
		p.errf(key, CodeField, "empty field name in %q", key.Value)
		return nil
	}
	before := len(p.errs)
	fm.Values = p.values(val, "value of "+fm.Field)
	if len(fm.Values) == 0 && len(p.errs) > before {
		return nil // already reported
	}
	return fm
}

// values reads a scalar or a list of scalars.
func (p *parser) values(n *yaml.Node, what string) []Value {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if v, ok := p.scalar(n, what); ok {
			return []Value{v}
		}
		return nil
	case yaml.SequenceNode:
		if len(n.Content) > maxValues {
			p.errf(n, CodeTooLarge, "%s: more than %d values", what, maxValues)
			return nil
		}
		if len(n.Content) == 0 {
			p.errf(n, CodeType, "%s: empty list", what)
			return nil
		}
		out := make([]Value, 0, len(n.Content))
		for _, c := range n.Content {
			c = p.resolve(c)
			if c == nil {
				continue
			}
			if c.Kind != yaml.ScalarNode {
				p.errf(c, CodeType, "%s: list elements must be scalars, not %s", what, kindName(c))
				continue
			}
			if v, ok := p.scalar(c, what); ok {
				out = append(out, v)
			}
		}
		return out
	}
	p.errf(n, CodeType, "%s must be a scalar or a list of scalars, not %s", what, kindName(n))
	return nil
}

func (p *parser) scalar(n *yaml.Node, what string) (Value, bool) {
	v := Value{Str: n.Value, Pos: p.pos(n)}
	switch n.ShortTag() {
	case "!!str":
		v.Kind = ValueString
	case "!!int", "!!float":
		v.Kind = ValueNumber
	case "!!bool":
		v.Kind = ValueBool
		v.Str = strings.ToLower(n.Value)
	case "!!null":
		v.Kind, v.Str = ValueNull, ""
	case "!!binary", "!!timestamp":
		v.Kind = ValueString
	default:
		p.errf(n, CodeType, "%s: unsupported YAML type %s", what, n.ShortTag())
		return v, false
	}
	return v, true
}

var timespanRe = regexp.MustCompile(`^([0-9]{1,9})([smhdwMy])$`)

// parseTimespan parses "30s", "5m", "1h", "7d" (and "w" for weeks).
func parseTimespan(s string) (time.Duration, error) {
	m := timespanRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a number followed by s, m, h or d", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	if n == 0 {
		return 0, fmt.Errorf("%q is zero", s)
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if unit == 0 {
		return 0, fmt.Errorf("%q: months and years are not fixed durations", s)
	}
	if n > int64(365*24*time.Hour/unit) {
		return 0, fmt.Errorf("%q is longer than a year", s)
	}
	return time.Duration(n) * unit, nil
}

func (p *parser) refs(n *yaml.Node, what string) []RuleRef {
	n = p.resolve(n)
	if n == nil {
		return nil
	}
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
	default:
		p.errf(n, CodeType, "%s must be a list of rule ids or names", what)
		return nil
	}
	var out []RuleRef
	for _, c := range nodes {
		if s := p.str(c, what+" element"); s != "" {
			out = append(out, RuleRef{Ref: s, Pos: p.pos(p.resolve(c))})
		}
	}
	if len(out) == 0 {
		p.errf(n, CodeMissing, "%s is empty", what)
	}
	return out
}

func (p *parser) correlation(root *yaml.Node, pairs []kv) *Correlation {
	c := &Correlation{Pos: p.pos(root), parsed: true}
	var corrNode *yaml.Node
	for _, e := range pairs {
		if p.meta(&c.Meta, e) {
			continue
		}
		switch e.key.Value {
		case "correlation":
			corrNode = e.val
		case "generate":
			c.Generate = p.boolean(e.val, "generate")
		}
	}
	p.requireTitle(&c.Meta, root)
	var sawType, sawRules, sawTimespan, sawCond bool
	var groupNode *yaml.Node
	for _, e := range p.mapping(corrNode, "correlation") {
		switch e.key.Value {
		case "type":
			sawType = true
			c.Type = p.str(e.val, "correlation.type")
			switch c.Type {
			case "event_count", "value_count", "temporal", "temporal_ordered":
			case "value_sum", "value_avg", "value_percentile", "value_median":
				p.errf(e.val, CodeUnsupported, "correlation type %q is not supported (supported: event_count, value_count, temporal, temporal_ordered)", c.Type)
			default:
				p.errf(e.val, CodeCorrelation, "unknown correlation type %q", c.Type)
			}
		case "rules":
			sawRules = true
			c.Rules = p.refs(e.val, "correlation.rules")
		case "group-by":
			groupNode = e.val
			c.GroupBy = p.strList(e.val, "correlation.group-by")
			if g := p.resolve(e.val); g != nil {
				if g.Kind == yaml.SequenceNode {
					for _, el := range g.Content {
						c.GroupByPos = append(c.GroupByPos, p.pos(el))
					}
				} else {
					c.GroupByPos = []Pos{p.pos(g)}
				}
			}
		case "timespan", "timeframe":
			sawTimespan = true
			d, err := parseTimespan(p.str(e.val, "correlation.timespan"))
			if err != nil {
				p.errf(e.val, CodeType, "timespan: %v", err)
			}
			c.Timespan = d
		case "condition":
			sawCond = true
			c.Condition, c.Field = p.countCond(e.val)
		case "aliases":
			c.Aliases = map[string]map[string]string{}
			c.AliasPos = map[string]Pos{}
			for _, a := range p.mapping(e.val, "correlation.aliases") {
				c.AliasPos[a.key.Value] = p.pos(a.key)
				m := map[string]string{}
				for _, r := range p.mapping(a.val, "alias "+a.key.Value) {
					m[r.key.Value] = p.str(r.val, "alias field")
				}
				c.Aliases[a.key.Value] = m
			}
		case "generate":
			c.Generate = p.boolean(e.val, "generate")
		default:
			p.errf(e.key, CodeUnknownAttribute, "unknown correlation attribute %q", e.key.Value)
		}
	}
	if corrNode == nil {
		return c
	}
	at := p.resolve(corrNode)
	if at == nil {
		return c
	}
	if !sawType {
		p.errf(at, CodeMissing, "correlation: missing type")
	}
	if !sawRules {
		p.errf(at, CodeMissing, "correlation: missing rules")
	}
	if !sawTimespan {
		p.errf(at, CodeMissing, "correlation: missing timespan")
	}
	switch c.Type {
	case "event_count", "value_count":
		if !sawCond {
			p.errf(at, CodeMissing, "correlation: %s needs a condition", c.Type)
		}
		if c.Type == "value_count" && sawCond && c.Field == "" {
			p.errf(at, CodeMissing, "correlation: value_count needs condition.field")
		}
		if c.Type == "event_count" && c.Field != "" {
			p.errf(at, CodeCorrelation, "correlation: condition.field is only valid for value_count")
		}
	case "temporal", "temporal_ordered":
		if c.Field != "" {
			p.errf(at, CodeCorrelation, "correlation: condition.field is only valid for value_count")
		}
		if len(c.Rules) < 2 && sawRules {
			p.errf(at, CodeCorrelation, "correlation: %s needs at least two rules", c.Type)
		}
	}
	_ = groupNode
	return c
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	n = p.resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errf(n, CodeType, "%s must be true or false", what)
		return false
	}
	return strings.EqualFold(n.Value, "true")
}

func (p *parser) countCond(n *yaml.Node) ([]CountCond, string) {
	var out []CountCond
	var field string
	for _, e := range p.mapping(n, "correlation.condition") {
		switch op := e.key.Value; op {
		case "gt", "gte", "lt", "lte", "eq", "neq":
			v := p.resolve(e.val)
			if v == nil {
				continue
			}
			if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") {
				p.errf(v, CodeType, "condition.%s must be a number", op)
				continue
			}
			f, err := strconv.ParseFloat(v.Value, 64)
			if err != nil {
				p.errf(v, CodeNumber, "condition.%s: %v", op, err)
				continue
			}
			out = append(out, CountCond{Op: op, Value: f, Pos: p.pos(v)})
		case "field":
			field = p.str(e.val, "condition.field")
		default:
			p.errf(e.key, CodeCorrelation, "unknown condition operator %q (want gt, gte, lt, lte, eq, neq or field)", op)
		}
	}
	if r := p.resolve(n); r != nil && r.Kind == yaml.MappingNode && len(out) == 0 {
		p.errf(r, CodeMissing, "correlation condition has no comparison")
	}
	return out, field
}

func (p *parser) filter(root *yaml.Node, pairs []kv) *Filter {
	f := &Filter{}
	var filterNode *yaml.Node
	for _, e := range pairs {
		if p.meta(&f.Meta, e) {
			continue
		}
		switch e.key.Value {
		case "logsource":
			f.Logsource = p.logsource(e.val)
		case "filter":
			filterNode = e.val
		}
	}
	p.requireTitle(&f.Meta, root)
	if !f.Logsource.Set {
		p.errf(root, CodeMissing, "missing logsource")
	}
	// The filter section is a detection section plus "rules".
	fn := p.resolve(filterNode)
	if fn == nil {
		return f
	}
	if fn.Kind != yaml.MappingNode {
		p.errf(fn, CodeType, "filter must be a mapping")
		return f
	}
	det := &yaml.Node{Kind: yaml.MappingNode, Line: fn.Line, Column: fn.Column}
	var sawRules bool
	for i := 0; i+1 < len(fn.Content); i += 2 {
		k := fn.Content[i]
		if k.Value == "rules" {
			sawRules = true
			f.Rules = p.refs(fn.Content[i+1], "filter.rules")
			continue
		}
		det.Content = append(det.Content, k, fn.Content[i+1])
	}
	if !sawRules {
		p.errf(fn, CodeMissing, "filter: missing rules")
	}
	f.Detection = p.detection(det, "filter")
	return f
}
