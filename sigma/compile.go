package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// CompileOptions configures Compile, ToSQL and RuleSet construction.
type CompileOptions struct {
	// Placeholders gives the values of %name% placeholders for the expand
	// modifier. A placeholder without values is an error.
	Placeholders map[string][]string
	// AnyLogsource accepts rules whose logsource is not AWS CloudTrail.
	// By default such rules are rejected with CodeLogsource.
	AnyLogsource bool
	// Filters are meta filters. Each filter that names the rule (by id or
	// name) is combined with the rule's condition: rule AND filter.
	Filters []*Filter
}

// node is the compiled, backend-neutral form of a condition. Both the Go
// matcher and the SQL backend walk it, so they cannot disagree about what a
// rule means.
type node interface{ isNode() }

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ kid node }
type constNode struct{ val bool }

// atLeastNode is "N of ...": at least n kids are true.
type atLeastNode struct {
	n    int
	kids []node
}

type leafKind int

const (
	leafStr      leafKind = iota + 1 // any value matches any pattern
	leafKeyword                      // any string in the event matches any pattern
	leafRe                           // any value matches the regexp
	leafCIDR                         // any value is an IP in a prefix
	leafNum                          // any value compares numerically
	leafNull                         // no non-null value
	leafFieldRef                     // any value relates to any value of ref
)

type patKind int

const (
	patEq patKind = iota + 1
	patPrefix
	patSuffix
	patContains
	patGlob
	patAny // "*": any non-null value
)

// strPat is one string pattern. lit is lower-cased unless the leaf is
// cased. For patGlob, toks holds the pattern.
type strPat struct {
	kind  patKind
	lit   string
	toks  []globTok
	runes []globRune
}

// globRune is one element of a wildcard pattern for the Go matcher.
type globRune struct {
	r    rune
	star bool
	one  bool
}

type globTok struct {
	star bool   // '*'
	one  bool   // '?'
	lit  string // literal text
}

type leafNode struct {
	kind     leafKind
	field    *fieldPath
	pats     []strPat
	cased    bool
	re       *regexp.Regexp
	reSrc    string
	reLit    string // a substring every match contains (case-sensitive), or ""
	prefixes []netip.Prefix
	numOp    string
	num      float64
	ref      *fieldPath
	refMode  patKind
}

func (*andNode) isNode()     {}
func (*orNode) isNode()      {}
func (*notNode) isNode()     {}
func (*constNode) isNode()   {}
func (*atLeastNode) isNode() {}
func (*leafNode) isNode()    {}

// program is a compiled rule.
type program struct {
	root node
}

// compileRule turns a rule into the neutral form, reporting every problem.
func compileRule(r *Rule, opts CompileOptions) (*program, error) {
	var errs Errors
	if r == nil {
		return nil, &Error{Code: CodeMissing, Msg: "nil rule"}
	}
	if !opts.AnyLogsource {
		checkLogsource(&errs, r.Logsource, r.Meta.Pos)
	}
	c := &compiler{opts: opts, errs: &errs}
	root := c.detection(&r.Detection)
	for _, f := range opts.Filters {
		if f == nil || !filterApplies(f, r) {
			continue
		}
		if !opts.AnyLogsource {
			checkLogsource(&errs, f.Logsource, f.Meta.Pos)
		}
		fn := c.detection(&f.Detection)
		root = &andNode{kids: []node{root, fn}}
	}
	if err := errs.errOrNil(); err != nil {
		return nil, err
	}
	return &program{root: simplify(root)}, nil
}

func filterApplies(f *Filter, r *Rule) bool {
	for _, ref := range f.Rules {
		if ref.Ref != "" && (ref.Ref == r.ID || ref.Ref == r.Name) {
			return true
		}
	}
	return false
}

func checkLogsource(errs *Errors, ls Logsource, at Pos) {
	pos := ls.Pos
	if pos.Line == 0 {
		pos = at
	}
	if !ls.Set {
		return // reported by Parse
	}
	if ls.Category != "" {
		errs.add(pos, CodeLogsource, "logsource category %q is not supported; only product: aws, service: cloudtrail", ls.Category)
		return
	}
	if (ls.Product != "" && ls.Product != "aws") || (ls.Service != "" && ls.Service != "cloudtrail") || (ls.Product == "" && ls.Service == "") {
		errs.add(pos, CodeLogsource, "logsource product %q service %q is not supported; only product: aws, service: cloudtrail", ls.Product, ls.Service)
	}
}

type compiler struct {
	opts CompileOptions
	errs *Errors
}

func (c *compiler) detection(det *Detection) node {
	searches := map[string]node{}
	for _, name := range det.Order {
		searches[name] = c.search(det.Searches[name])
	}
	var alts []node
	for _, cond := range det.Conditions {
		if cond.Agg != nil {
			c.errs.add(cond.Agg.Pos, CodeUnsupported, "aggregation in condition: compile the rule with NewRuleSet (or ConvertSQL, Check), which turns it into a correlation")
			continue
		}
		alts = append(alts, c.expr(det, searches, cond.Expr))
	}
	switch len(alts) {
	case 0:
		if len(det.Conditions) == 0 {
			c.errs.add(det.Pos, CodeMissing, "detection has no valid condition")
		}
		return &constNode{false}
	case 1:
		return alts[0]
	}
	return &orNode{kids: alts}
}

func (c *compiler) expr(det *Detection, s map[string]node, e Expr) node {
	switch e := e.(type) {
	case *AndExpr:
		n := &andNode{}
		for _, a := range e.Args {
			n.kids = append(n.kids, c.expr(det, s, a))
		}
		return n
	case *OrExpr:
		n := &orNode{}
		for _, a := range e.Args {
			n.kids = append(n.kids, c.expr(det, s, a))
		}
		return n
	case *NotExpr:
		return &notNode{kid: c.expr(det, s, e.Arg)}
	case *IdentExpr:
		if n, ok := s[e.Name]; ok {
			return n
		}
		c.errs.add(e.Pos, CodeUndefined, "condition references undefined search %q", e.Name)
		return &constNode{false}
	case *OfExpr:
		names := det.matchPattern(e.Pattern)
		if len(names) == 0 {
			c.errs.add(e.Pos, CodeUndefined, "no search matches %q", e.Pattern)
			return &constNode{false}
		}
		var kids []node
		for _, name := range names {
			kids = append(kids, s[name])
		}
		switch {
		case e.Count == 0:
			return &andNode{kids: kids}
		case e.Count == 1:
			return &orNode{kids: kids}
		case e.Count > len(kids):
			return &constNode{false}
		}
		return &atLeastNode{n: e.Count, kids: kids}
	}
	return &constNode{false}
}

func (c *compiler) search(s *Search) node {
	if s == nil {
		return &constNode{false}
	}
	if s.Keywords != nil {
		return c.fieldMatch(s.Keywords, true)
	}
	or := &orNode{}
	for _, m := range s.Maps {
		and := &andNode{}
		for _, fm := range m {
			and.kids = append(and.kids, c.fieldMatch(fm, false))
		}
		or.kids = append(or.kids, and)
	}
	return or
}

// modifier set of one field match.
type mods struct {
	match              string // "", contains, startswith, endswith, re, cidr, gt, gte, lt, lte, exists, fieldref
	all, cased, expand bool
	reI, reM, reS      bool
	transforms         []string // base64, base64offset, utf16le, utf16be, utf16, wide, windash
	// refMode is contains, startswith or endswith combined with fieldref.
	refMode string
}

var matchModifiers = map[string]bool{
	"contains": true, "startswith": true, "endswith": true, "re": true, "cidr": true,
	"gt": true, "gte": true, "lt": true, "lte": true, "exists": true, "fieldref": true,
}

func (c *compiler) modifiers(fm *FieldMatch) (mods, bool) {
	var m mods
	ok := true
	bad := func(mod Modifier, format string, args ...any) {
		c.errs.add(mod.Pos, CodeBadModifier, format, args...)
		ok = false
	}
	for i, mod := range fm.Modifiers {
		switch name := mod.Name; {
		case matchModifiers[name]:
			if m.match != "" {
				// contains|fieldref style combinations.
				if m.match == "fieldref" && m.refMode == "" && (name == "contains" || name == "startswith" || name == "endswith") {
					m.refMode = name
					continue
				}
				if name == "fieldref" && (m.match == "contains" || m.match == "startswith" || m.match == "endswith") {
					m.refMode, m.match = m.match, "fieldref"
					continue
				}
				bad(mod, "modifier %q cannot be combined with %q", name, m.match)
				continue
			}
			m.match = name
		case name == "all":
			m.all = true
		case name == "cased":
			m.cased = true
		case name == "expand":
			m.expand = true
		case name == "i" || name == "m" || name == "s":
			if m.match != "re" {
				bad(mod, "modifier %q is only valid after \"re\"", name)
				continue
			}
			switch name {
			case "i":
				m.reI = true
			case "m":
				m.reM = true
			case "s":
				m.reS = true
			}
		case name == "base64" || name == "base64offset" || name == "utf16le" || name == "utf16be" || name == "utf16" || name == "wide" || name == "windash":
			if m.match != "" && m.match != "contains" && m.match != "startswith" && m.match != "endswith" {
				bad(mod, "modifier %q cannot follow %q", name, m.match)
				continue
			}
			m.transforms = append(m.transforms, name)
		case name == "":
			bad(mod, "empty modifier at position %d", i+1)
		default:
			c.errs.add(mod.Pos, CodeUnknownModifier, "unknown modifier %q", name)
			ok = false
		}
	}
	if m.cased && (m.match == "re" || m.match == "cidr" || m.match == "exists" || isNumOp(m.match)) {
		bad(fm.Modifiers[0], "modifier \"cased\" cannot be combined with %q", m.match)
	}
	if m.expand && m.match != "" && m.match != "contains" && m.match != "startswith" && m.match != "endswith" {
		bad(fm.Modifiers[0], "modifier \"expand\" cannot be combined with %q", m.match)
	}
	if len(m.transforms) > 0 && (m.match == "re" || m.match == "cidr" || m.match == "exists" || m.match == "fieldref" || isNumOp(m.match)) {
		bad(fm.Modifiers[0], "value transformations cannot be combined with %q", m.match)
	}
	return m, ok
}

func isNumOp(s string) bool { return s == "gt" || s == "gte" || s == "lt" || s == "lte" }

func (c *compiler) fieldMatch(fm *FieldMatch, keyword bool) node {
	m, ok := c.modifiers(fm)
	if !ok {
		return &constNode{false}
	}
	var fp *fieldPath
	if !keyword {
		var err error
		fp, err = resolveField(fm.Field)
		if err != nil {
			c.errs.add(fm.Pos, CodeField, "%v", err)
			return &constNode{false}
		}
	} else if m.match != "" && m.match != "contains" && m.match != "startswith" && m.match != "endswith" {
		c.errs.add(fm.Pos, CodeBadModifier, "keywords do not take the %q modifier", m.match)
		return &constNode{false}
	}
	if len(fm.Values) == 0 {
		c.errs.add(fm.Pos, CodeType, "no values")
		return &constNode{false}
	}
	if fp != nil && fp.isStructLeaf() && !(m.match == "exists" || (m.match == "" && len(fm.Values) == 1 && fm.Values[0].Kind == ValueNull)) {
		c.errs.add(fm.Pos, CodeField, "field %q is a structure; match one of its members, or use null or exists", fm.Field)
		return &constNode{false}
	}

	switch m.match {
	case "exists":
		if len(fm.Values) != 1 || fm.Values[0].Kind != ValueBool {
			c.errs.add(fm.Pos, CodeType, "exists takes a single true or false")
			return &constNode{false}
		}
		null := &leafNode{kind: leafNull, field: fp}
		if fm.Values[0].Str == "true" {
			return &notNode{kid: null}
		}
		return null
	case "re":
		return c.combine(fm, m, func(v Value) node { return c.reLeaf(fp, v, m) })
	case "cidr":
		return c.combine(fm, m, func(v Value) node { return c.cidrLeaf(fp, v) })
	case "gt", "gte", "lt", "lte":
		return c.combine(fm, m, func(v Value) node {
			if v.Kind != ValueNumber {
				c.errs.add(v.Pos, CodeType, "%s needs a number, not %q", m.match, v.Str)
				return &constNode{false}
			}
			f, err := strconv.ParseFloat(v.Str, 64)
			if err != nil {
				c.errs.add(v.Pos, CodeNumber, "bad number %q", v.Str)
				return &constNode{false}
			}
			return &leafNode{kind: leafNum, field: fp, numOp: m.match, num: f}
		})
	case "fieldref":
		mode := map[string]patKind{"": patEq, "contains": patContains, "startswith": patPrefix, "endswith": patSuffix}[m.refMode]
		return c.combine(fm, m, func(v Value) node {
			if v.Kind != ValueString {
				c.errs.add(v.Pos, CodeType, "fieldref needs a field name")
				return &constNode{false}
			}
			ref, err := resolveField(v.Str)
			if err == nil && ref.isStructLeaf() {
				err = fmt.Errorf("field %q is a structure", v.Str)
			}
			if err != nil {
				c.errs.add(v.Pos, CodeField, "fieldref: %v", err)
				return &constNode{false}
			}
			return &leafNode{kind: leafFieldRef, field: fp, ref: ref, refMode: mode, cased: m.cased}
		})
	}

	// String matching, with optional expansion and transformations.
	kind := leafStr
	if keyword {
		kind = leafKeyword
		if m.match == "" {
			m.match = "contains" // keywords are full-text search terms
		}
	}
	var nodes []node
	var pats []strPat
	flush := func() {
		if len(pats) > 0 {
			nodes = append(nodes, &leafNode{kind: kind, field: fp, pats: pats, cased: m.cased})
			pats = nil
		}
	}
	for _, v := range fm.Values {
		if v.Kind == ValueNull {
			if m.match != "" || len(m.transforms) > 0 || keyword {
				c.errs.add(v.Pos, CodeType, "null cannot be combined with modifiers or used as a keyword")
				continue
			}
			if m.all {
				flush()
			}
			nodes = append(nodes, &leafNode{kind: leafNull, field: fp})
			continue
		}
		variants, ok := c.valueVariants(v, m)
		if !ok {
			continue
		}
		var vp []strPat
		for _, toks := range variants {
			vp = append(vp, makePattern(toks, m.match, m.cased))
		}
		if m.all {
			// Every value must match; the variants of one value are
			// alternatives.
			nodes = append(nodes, &leafNode{kind: kind, field: fp, pats: vp, cased: m.cased})
		} else {
			pats = append(pats, vp...)
		}
	}
	flush()
	if len(nodes) == 0 {
		return &constNode{false}
	}
	if len(nodes) == 1 {
		return nodes[0]
	}
	if m.all {
		return &andNode{kids: nodes}
	}
	return &orNode{kids: nodes}
}

// combine joins per-value leaves with OR, or AND for |all.
func (c *compiler) combine(fm *FieldMatch, m mods, leaf func(Value) node) node {
	var kids []node
	for _, v := range fm.Values {
		if v.Kind == ValueNull {
			c.errs.add(v.Pos, CodeType, "null cannot be combined with the %q modifier", m.match)
			continue
		}
		kids = append(kids, leaf(v))
	}
	if len(kids) == 1 {
		return kids[0]
	}
	if m.all {
		return &andNode{kids: kids}
	}
	return &orNode{kids: kids}
}

// valueVariants applies expand and the transformations to one value and
// returns the resulting glob token lists (one per variant).
func (c *compiler) valueVariants(v Value, m mods) ([][]globTok, bool) {
	texts := []string{v.Str}
	if m.expand {
		var err error
		texts, err = expandPlaceholders(v.Str, c.opts.Placeholders)
		if err != nil {
			c.errs.add(v.Pos, CodePlaceholder, "%v", err)
			return nil, false
		}
	}
	var out [][]globTok
	for _, t := range texts {
		if len(m.transforms) == 0 {
			if !utf8.ValidString(t) {
				c.errs.add(v.Pos, CodeType, "value is not valid UTF-8")
				return nil, false
			}
			out = append(out, parseWildcards(t))
			continue
		}
		// Transformations work on the literal value: wildcards are not
		// interpreted.
		vals := []string{unescapeWildcards(t)}
		for _, tr := range m.transforms {
			var next []string
			for _, s := range vals {
				next = append(next, applyTransform(tr, s)...)
			}
			vals = next
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				c.errs.add(v.Pos, CodeType, "value is not valid UTF-8 after %s (add base64 or base64offset after utf16 modifiers)", strings.Join(m.transforms, "|"))
				return nil, false
			}
			out = append(out, []globTok{{lit: s}})
		}
	}
	if len(out) > maxValues {
		c.errs.add(v.Pos, CodeTooLarge, "value expands to more than %d alternatives", maxValues)
		return nil, false
	}
	return out, true
}

var placeholderRe = regexp.MustCompile(`%[A-Za-z0-9_.-]+%`)

func expandPlaceholders(s string, vals map[string][]string) ([]string, error) {
	out := []string{s}
	for _, ph := range placeholderRe.FindAllString(s, -1) {
		name := ph[1 : len(ph)-1]
		repl, ok := vals[name]
		if !ok || len(repl) == 0 {
			return nil, fmt.Errorf("placeholder %s has no values (set CompileOptions.Placeholders[%q])", ph, name)
		}
		var next []string
		for _, o := range out {
			for _, r := range repl {
				next = append(next, strings.Replace(o, ph, r, 1))
				if len(next) > maxValues {
					return nil, fmt.Errorf("placeholder expansion yields more than %d values", maxValues)
				}
			}
		}
		out = next
	}
	return out, nil
}

func applyTransform(name, s string) []string {
	switch name {
	case "base64":
		return []string{base64.StdEncoding.EncodeToString([]byte(s))}
	case "base64offset":
		var out []string
		for i := 0; i < 3; i++ {
			enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), s...))
			start := []int{0, 2, 3}[i]
			end := len(enc) - []int{0, 3, 2}[(len(s)+i)%3]
			if start <= end {
				out = append(out, enc[start:end])
			}
		}
		return out
	case "utf16le", "wide", "utf16":
		u := utf16.Encode([]rune(s))
		var b []byte
		if name == "utf16" {
			b = append(b, 0xff, 0xfe)
		}
		for _, r := range u {
			b = append(b, byte(r), byte(r>>8))
		}
		return []string{string(b)}
	case "utf16be":
		var b []byte
		for _, r := range utf16.Encode([]rune(s)) {
			b = append(b, byte(r>>8), byte(r))
		}
		return []string{string(b)}
	case "windash":
		dashes := []string{"-", "/", "\u2013", "\u2014", "\u2015"}
		var out []string
		seen := map[string]bool{}
		for _, d := range dashes {
			v := replaceFlagDashes(s, d)
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
		return out
	}
	return []string{s}
}

// replaceFlagDashes replaces a '-' or '/' that starts a word with d.
func replaceFlagDashes(s, d string) string {
	var b strings.Builder
	for i, r := range s {
		if (r == '-' || r == '/') && (i == 0 || s[i-1] == ' ') {
			b.WriteString(d)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseWildcards splits a Sigma value into literal text, '*' and '?'.
// A backslash escapes '*', '?' and '\'; before any other character it is a
// literal backslash.
func parseWildcards(s string) []globTok {
	var toks []globTok
	var lit strings.Builder
	emit := func() {
		if lit.Len() > 0 {
			toks = append(toks, globTok{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*':
			emit()
			if len(toks) == 0 || !toks[len(toks)-1].star {
				toks = append(toks, globTok{star: true})
			}
		case '?':
			emit()
			toks = append(toks, globTok{one: true})
		default:
			lit.WriteByte(ch)
		}
	}
	emit()
	return toks
}

func unescapeWildcards(s string) string {
	var b strings.Builder
	for _, t := range parseWildcards(s) {
		switch {
		case t.star:
			b.WriteByte('*')
		case t.one:
			b.WriteByte('?')
		default:
			b.WriteString(t.lit)
		}
	}
	return b.String()
}

// makePattern adds the implicit wildcards of contains/startswith/endswith
// and classifies the pattern.
func makePattern(toks []globTok, match string, cased bool) strPat {
	star := globTok{star: true}
	if match == "contains" || match == "endswith" {
		if len(toks) == 0 || !toks[0].star {
			toks = append([]globTok{star}, toks...)
		}
	}
	if match == "contains" || match == "startswith" {
		if len(toks) == 0 || !toks[len(toks)-1].star {
			toks = append(toks, star)
		}
	}
	if !cased {
		for i := range toks {
			toks[i].lit = strings.ToLower(toks[i].lit)
		}
	}
	var lits, stars, ones int
	for _, t := range toks {
		switch {
		case t.star:
			stars++
		case t.one:
			ones++
		default:
			lits++
		}
	}
	n := len(toks)
	switch {
	case ones == 0 && lits == 0 && stars > 0:
		return strPat{kind: patAny}
	case ones == 0 && stars == 0:
		lit := ""
		if n == 1 {
			lit = toks[0].lit
		}
		return strPat{kind: patEq, lit: lit}
	case ones == 0 && lits == 1 && stars == 1 && toks[0].star:
		return strPat{kind: patSuffix, lit: toks[1].lit}
	case ones == 0 && lits == 1 && stars == 1 && toks[1].star:
		return strPat{kind: patPrefix, lit: toks[0].lit}
	case ones == 0 && lits == 1 && stars == 2 && n == 3 && toks[0].star && toks[2].star:
		return strPat{kind: patContains, lit: toks[1].lit}
	}
	var runes []globRune
	for _, t := range toks {
		switch {
		case t.star:
			runes = append(runes, globRune{star: true})
		case t.one:
			runes = append(runes, globRune{one: true})
		default:
			for _, r := range t.lit {
				runes = append(runes, globRune{r: r})
			}
		}
	}
	return strPat{kind: patGlob, toks: toks, runes: runes}
}

func (c *compiler) reLeaf(fp *fieldPath, v Value, m mods) node {
	if v.Kind != ValueString {
		c.errs.add(v.Pos, CodeType, "re needs a string")
		return &constNode{false}
	}
	src, err := checkRegexp(v.Str)
	if err != nil {
		c.errs.add(v.Pos, CodeRegexp, "%v", err)
		return &constNode{false}
	}
	flags := ""
	if m.reI {
		flags += "i"
	}
	if m.reM {
		flags += "m"
	}
	if m.reS {
		flags += "s"
	}
	if flags != "" {
		src = "(?" + flags + ")" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		c.errs.add(v.Pos, CodeRegexp, "%v", err)
		return &constNode{false}
	}
	return &leafNode{kind: leafRe, field: fp, re: re, reSrc: src, reLit: requiredLiteral(src)}
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of the expression must contain, used to skip the regexp engine.
func requiredLiteral(src string) string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	lit := func(r *syntax.Regexp) string {
		if r.Op == syntax.OpLiteral && r.Flags&syntax.FoldCase == 0 {
			return string(r.Rune)
		}
		return ""
	}
	best := lit(re)
	if re.Op == syntax.OpConcat {
		for _, sub := range re.Sub {
			if l := lit(sub); len(l) > len(best) {
				best = l
			}
		}
	}
	return best
}

// checkRegexp validates a regular expression for both backends (Go regexp
// and DuckDB's RE2), with clear messages for Perl-only syntax.
func checkRegexp(s string) (string, error) {
	if len(s) > MaxRegexpLen {
		return "", fmt.Errorf("regular expression is longer than %d bytes", MaxRegexpLen)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("regular expression is not valid UTF-8")
	}
	for _, bad := range []struct{ seq, what string }{
		{"(?=", "lookahead"}, {"(?!", "negative lookahead"}, {"(?<=", "lookbehind"}, {"(?<!", "negative lookbehind"},
		{"(?>", "atomic groups"}, {"(?#", "comments"},
	} {
		if strings.Contains(s, bad.seq) {
			return "", fmt.Errorf("%s (%s) is not supported: regular expressions are RE2, which has no backtracking", bad.what, bad.seq)
		}
	}
	if backrefRe.MatchString(s) {
		return "", fmt.Errorf("backreferences (\\1) are not supported: regular expressions are RE2, which has no backtracking")
	}
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("regular expression contains a NUL byte")
	}
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return "", fmt.Errorf("bad regular expression: %w", err)
	}
	// Very large repetition counts blow up program size.
	if re.MaxCap() > 1000 {
		return "", fmt.Errorf("regular expression has more than 1000 groups")
	}
	return s, nil
}

var backrefRe = regexp.MustCompile(`(^|[^\\])(\\\\)*\\[1-9]`)

func (c *compiler) cidrLeaf(fp *fieldPath, v Value) node {
	p, err := netip.ParsePrefix(strings.TrimSpace(v.Str))
	if err != nil {
		c.errs.add(v.Pos, CodeCIDR, "bad CIDR %q: %v", v.Str, err)
		return &constNode{false}
	}
	if !p.Addr().Is4() {
		c.errs.add(v.Pos, CodeCIDR, "CIDR %q: only IPv4 prefixes are supported (the SQL backend has no IPv6 arithmetic)", v.Str)
		return &constNode{false}
	}
	return &leafNode{kind: leafCIDR, field: fp, prefixes: []netip.Prefix{p.Masked()}}
}

// simplify flattens nested and/or nodes and folds constants.
func simplify(n node) node {
	switch n := n.(type) {
	case *andNode:
		var kids []node
		for _, k := range n.kids {
			k = simplify(k)
			if c, ok := k.(*constNode); ok {
				if !c.val {
					return &constNode{false}
				}
				continue
			}
			if a, ok := k.(*andNode); ok {
				kids = append(kids, a.kids...)
				continue
			}
			kids = append(kids, k)
		}
		switch len(kids) {
		case 0:
			return &constNode{true}
		case 1:
			return kids[0]
		}
		return &andNode{kids: kids}
	case *orNode:
		var kids []node
		for _, k := range n.kids {
			k = simplify(k)
			if c, ok := k.(*constNode); ok {
				if c.val {
					return &constNode{true}
				}
				continue
			}
			if o, ok := k.(*orNode); ok {
				kids = append(kids, o.kids...)
				continue
			}
			kids = append(kids, k)
		}
		switch len(kids) {
		case 0:
			return &constNode{false}
		case 1:
			return kids[0]
		}
		return &orNode{kids: kids}
	case *notNode:
		k := simplify(n.kid)
		if c, ok := k.(*constNode); ok {
			return &constNode{!c.val}
		}
		if nn, ok := k.(*notNode); ok {
			return nn.kid
		}
		return &notNode{kid: k}
	case *atLeastNode:
		kids := make([]node, len(n.kids))
		for i, k := range n.kids {
			kids[i] = simplify(k)
		}
		return &atLeastNode{n: n.n, kids: kids}
	}
	return n
}

// requiredEventNames returns the lower-cased eventName values (exact, or
// prefixes ending in "*") one of which an event must have for n to be
// true, if n implies such a set.
func requiredEventNames(n node) (map[string]bool, bool) {
	switch n := n.(type) {
	case *leafNode:
		if n.kind != leafStr || n.field == nil || n.field.raw != "eventName" {
			return nil, false
		}
		set := map[string]bool{}
		for _, p := range n.pats {
			lit := p.lit
			if n.cased {
				lit = strings.ToLower(lit)
			}
			switch p.kind {
			case patEq:
				set[lit] = true
			case patPrefix:
				set[lit+"*"] = true
			default:
				return nil, false
			}
		}
		return set, true
	case *andNode:
		var best map[string]bool
		for _, k := range n.kids {
			if s, ok := requiredEventNames(k); ok && (best == nil || len(s) < len(best)) {
				best = s
			}
		}
		return best, best != nil
	case *orNode:
		union := map[string]bool{}
		for _, k := range n.kids {
			s, ok := requiredEventNames(k)
			if !ok {
				return nil, false
			}
			for v := range s {
				union[v] = true
			}
		}
		return union, true
	}
	return nil, false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
