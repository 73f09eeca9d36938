package sigma

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Matcher is a compiled detection rule. It is immutable and safe for
// concurrent use by multiple goroutines (each with its own Event).
type Matcher struct {
	rule *Rule
	prog *program
}

// Compile resolves a rule once (regular expressions, CIDRs, field paths,
// lower-cased patterns) into a Matcher. It reports every problem as Errors.
func Compile(r *Rule, opts CompileOptions) (*Matcher, error) {
	prog, err := compileRule(r, opts)
	if err != nil {
		return nil, err
	}
	return &Matcher{rule: r, prog: prog}, nil
}

// Rule returns the rule the matcher was compiled from.
func (m *Matcher) Rule() *Rule { return m.rule }

// Match reports whether the event matches the rule. It never fails and
// does not allocate.
func (m *Matcher) Match(ev Event) bool {
	if ev.v == nil {
		return false
	}
	return evalNode(m.prog.root, ev)
}

func evalNode(n node, ev Event) bool {
	switch n := n.(type) {
	case *leafNode:
		return evalLeaf(n, ev)
	case *andNode:
		for _, k := range n.kids {
			if !evalNode(k, ev) {
				return false
			}
		}
		return true
	case *orNode:
		for _, k := range n.kids {
			if evalNode(k, ev) {
				return true
			}
		}
		return false
	case *notNode:
		return !evalNode(n.kid, ev)
	case *constNode:
		return n.val
	case *atLeastNode:
		count := 0
		for i, k := range n.kids {
			if evalNode(k, ev) {
				count++
				if count >= n.n {
					return true
				}
			}
			if count+len(n.kids)-i-1 < n.n {
				return false
			}
		}
		return false
	}
	return false
}

func evalLeaf(l *leafNode, ev Event) bool {
	switch l.kind {
	case leafKeyword:
		return anyString(ev.v, l, 0)
	case leafNull:
		return !ev.walkField(l.field, func(v *fastjson.Value) bool {
			return v.Type() != fastjson.TypeNull
		})
	case leafFieldRef:
		return ev.walkField(l.field, func(a *fastjson.Value) bool {
			as, ok := ev.scalarString(a, 0)
			if !ok {
				return false
			}
			return ev.walkField(l.ref, func(b *fastjson.Value) bool {
				bs, ok := ev.scalarString(b, 1)
				if !ok {
					return false
				}
				return refMatch(b2s(as), b2s(bs), l.refMode, l.cased)
			})
		})
	}
	if fp := l.field; fp.top >= 0 && len(fp.segs) == 1 {
		// Fast path: a top-level field, straight from its slot.
		v := ev.scratch.slots[fp.top]
		if v == nil {
			return false
		}
		if v.Type() != fastjson.TypeArray {
			return ev.matchValue(l, v)
		}
	}
	return ev.walkField(l.field, func(v *fastjson.Value) bool {
		return ev.matchValue(l, v)
	})
}

// matchValue matches one value a path reached: scalars by their string
// form; objects by every scalar inside them, at any depth.
func (e Event) matchValue(l *leafNode, v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		found := false
		o.Visit(func(_ []byte, c *fastjson.Value) {
			if !found && e.matchValue(l, c) {
				found = true
			}
		})
		return found
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, c := range arr {
			if e.matchValue(l, c) {
				return true
			}
		}
		return false
	}
	s, ok := e.scalarString(v, 0)
	return ok && leafMatchString(l, b2s(s))
}

// anyString reports whether any string value in the event matches.
func anyString(v *fastjson.Value, l *leafNode, depth int) bool {
	if depth > 200 {
		return false
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return leafMatchString(l, b2s(b))
	case fastjson.TypeObject:
		o, _ := v.Object()
		found := false
		o.Visit(func(_ []byte, c *fastjson.Value) {
			if !found && anyString(c, l, depth+1) {
				found = true
			}
		})
		return found
	case fastjson.TypeArray:
		arr, _ := v.Array()
		for _, c := range arr {
			if anyString(c, l, depth+1) {
				return true
			}
		}
	}
	return false
}

func leafMatchString(l *leafNode, s string) bool {
	switch l.kind {
	case leafStr, leafKeyword:
		for i := range l.pats {
			if patMatch(&l.pats[i], s, l.cased) {
				return true
			}
		}
		return false
	case leafRe:
		if l.reLit != "" && !strings.Contains(s, l.reLit) {
			return false
		}
		return l.re.MatchString(s)
	case leafCIDR:
		if !isDottedQuad(s) {
			return false
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return false
		}
		for _, p := range l.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	case leafNum:
		if !isDecimal(s) {
			return false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		switch l.numOp {
		case "gt":
			return f > l.num
		case "gte":
			return f >= l.num
		case "lt":
			return f < l.num
		case "lte":
			return f <= l.num
		}
	}
	return false
}

// isDottedQuad accepts exactly what the SQL backend's IPv4 test accepts.
func isDottedQuad(s string) bool {
	parts := 0
	n, digits := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || digits > 3 || n > 255 || (digits > 1 && s[i-digits] == '0') {
				return false
			}
			parts++
			n, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
		digits++
	}
	return parts == 4
}

// isDecimal accepts -?digits(.digits)?([eE][+-]?digits)? — the numbers both
// backends compare with gt/gte/lt/lte.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || i-start > 300 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es || i-es > 3 {
			return false
		}
	}
	return i == len(s)
}

func refMatch(a, b string, mode patKind, cased bool) bool {
	switch mode {
	case patEq:
		return foldEqual(a, b, cased, true)
	case patPrefix:
		return hasPrefixFold(a, b, cased, true)
	case patSuffix:
		return hasSuffixFold(a, b, cased, true)
	case patContains:
		return containsFold(a, b, cased, true)
	}
	return false
}

func patMatch(p *strPat, s string, cased bool) bool {
	switch p.kind {
	case patAny:
		return true
	case patEq:
		return foldEqual(s, p.lit, cased, false)
	case patPrefix:
		return hasPrefixFold(s, p.lit, cased, false)
	case patSuffix:
		return hasSuffixFold(s, p.lit, cased, false)
	case patContains:
		return containsFold(s, p.lit, cased, false)
	case patGlob:
		return globMatch(p.runes, s, cased)
	}
	return false
}

// lowerRune is the per-character lower-casing used for case-insensitive
// matching (patterns are lower-cased with strings.ToLower at compile time).
func lowerRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

// foldEqual compares s with pat. pat is already lower-cased unless
// cased or bothSides (then both sides are lowered).
func foldEqual(s, pat string, cased, bothSides bool) bool {
	if cased {
		return s == pat
	}
	// ASCII fast path: compare bytes while both sides are ASCII.
	i := 0
	for i < len(s) && i < len(pat) {
		a, b := s[i], pat[i]
		if a|b >= utf8.RuneSelf {
			break
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if bothSides && 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
		i++
	}
	s, pat = s[i:], pat[i:]
	for len(s) > 0 && len(pat) > 0 {
		a, na := decodeRune(s)
		b, nb := decodeRune(pat)
		if bothSides {
			b = lowerRune(b)
		}
		if lowerRune(a) != b {
			return false
		}
		s, pat = s[na:], pat[nb:]
	}
	return len(s) == 0 && len(pat) == 0
}

func decodeRune(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

// prefixLen returns how many bytes of s match pat as a prefix, or -1.
func prefixLen(s, pat string, cased, bothSides bool) int {
	if cased {
		if strings.HasPrefix(s, pat) {
			return len(pat)
		}
		return -1
	}
	n := 0
	for len(pat) > 0 {
		if len(s) == 0 {
			return -1
		}
		a, na := decodeRune(s)
		b, nb := decodeRune(pat)
		if bothSides {
			b = lowerRune(b)
		}
		if lowerRune(a) != b {
			return -1
		}
		s, pat = s[na:], pat[nb:]
		n += na
	}
	return n
}

func hasPrefixFold(s, pat string, cased, bothSides bool) bool {
	return prefixLen(s, pat, cased, bothSides) >= 0
}

func hasSuffixFold(s, pat string, cased, bothSides bool) bool {
	if cased {
		return strings.HasSuffix(s, pat)
	}
	// Try every rune boundary; patterns are short.
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !utf8.RuneStart(s[i]) {
			continue
		}
		if foldEqual(s[i:], pat, false, bothSides) {
			return true
		}
	}
	return false
}

func containsFold(s, pat string, cased, bothSides bool) bool {
	if cased {
		return strings.Contains(s, pat)
	}
	if pat == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if !utf8.RuneStart(s[i]) {
			continue
		}
		if prefixLen(s[i:], pat, false, bothSides) >= 0 {
			return true
		}
	}
	return false
}

// globMatch matches s against a wildcard pattern anchored at both ends;
// '?' is one character. It runs in O(len(s)*len(pat)): on a mismatch it
// only backtracks to the most recent '*'.
func globMatch(pat []globRune, s string, cased bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pat) {
			p := pat[pi]
			switch {
			case p.star:
				starP, starS = pi, si
				pi++
				continue
			case p.one:
				_, n := decodeRune(s[si:])
				si += n
				pi++
				continue
			default:
				r, n := decodeRune(s[si:])
				if !cased {
					r = lowerRune(r)
				}
				if r == p.r {
					si += n
					pi++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more character.
		_, n := decodeRune(s[starS:])
		starS += n
		si = starS
		pi = starP + 1
	}
	for pi < len(pat) && pat[pi].star {
		pi++
	}
	return pi == len(pat)
}
