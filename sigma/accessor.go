package sigma

import (
	"strings"
	"unicode/utf8"
)

// Source returns the rule the matcher was compiled from (its metadata:
// title, level, tags, author).
func (m *Matcher) Source() *Rule { return m.rule }

// CorrelationInputs returns the indices of the detection rules that feed
// at least one correlation, sorted.
func (rs *RuleSet) CorrelationInputs() []int {
	seen := map[int]bool{}
	var out []int
	for _, c := range rs.corrs {
		for _, ri := range c.rules {
			if !seen[ri] {
				seen[ri] = true
				out = append(out, ri)
			}
		}
	}
	sortInts(out)
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// MayMatch reports whether any detection rule could match an event with
// this eventName (by the eventName index): callers that already know the
// name can skip parsing events no rule looks at. It errs on the side of
// true.
func (rs *RuleSet) MayMatch(eventName string) bool {
	if len(rs.always) > 0 || len(eventName) > 96 {
		return true
	}
	var buf [96]byte
	for i := 0; i < len(eventName); i++ {
		c := eventName[i]
		if c >= utf8.RuneSelf {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	lname := string(buf[:len(eventName)])
	if len(rs.index[lname]) > 0 {
		return true
	}
	for _, p := range rs.prefixes {
		if strings.HasPrefix(lname, p.prefix) {
			return true
		}
	}
	return false
}
