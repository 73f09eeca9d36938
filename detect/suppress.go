package detect

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Suppression silences findings of one rule that match every condition,
// for a stated reason, optionally until a date.
type Suppression struct {
	Rule    string              `yaml:"rule"`
	Reason  string              `yaml:"reason"`
	Expires string              `yaml:"expires,omitempty"`
	Where   map[string][]string `yaml:"-"`
	expires time.Time
	line    int
}

// Suppressions is a loaded suppression file.
type Suppressions struct {
	File  string
	Items []Suppression
}

// suppressionFields are the finding fields a condition may test.
var suppressionFields = map[string]func(f *Finding) string{
	"account":             func(f *Finding) string { return f.Account },
	"region":              func(f *Finding) string { return f.Region },
	"source_ip":           func(f *Finding) string { return f.SourceIP },
	"user_agent":          func(f *Finding) string { return f.UserAgent },
	"event_name":          func(f *Finding) string { return f.EventName },
	"event_source":        func(f *Finding) string { return f.Source },
	"error_code":          func(f *Finding) string { return f.ErrorCode },
	"attempt":             func(f *Finding) string { return fmt.Sprint(f.Attempt) },
	"principal.arn":       func(f *Finding) string { return f.Principal.ARN },
	"principal.type":      func(f *Finding) string { return f.Principal.Type },
	"principal.user_name": func(f *Finding) string { return f.Principal.UserName },
}

// maxSuppressionBytes caps a suppression file.
const maxSuppressionBytes = 1 << 20

// ParseSuppressions reads a suppression file:
//
//	suppressions:
//	  - rule: 4a8b9c...          # rule id (required)
//	    reason: CI role rotates trails nightly   # required
//	    expires: 2027-01-31      # optional, YYYY-MM-DD or RFC 3339
//	    where:                   # optional; every condition must hold
//	      principal.arn: arn:aws:iam::*:role/ci-*   # glob
//	      region: [us-east-1, eu-west-1]            # any of
//
// A suppression without a reason, with an unknown field, or already
// expired at now is an error: every problem is reported at once.
func ParseSuppressions(file string, src []byte, now time.Time) (*Suppressions, error) {
	if len(src) > maxSuppressionBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxSuppressionBytes)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a mapping with a suppressions list", file)
	}
	if countNodes(&doc, 0) > 100000 {
		return nil, fmt.Errorf("%s: too many YAML nodes (alias expansion?)", file)
	}
	var errs []error
	bad := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, a...)))
	}
	s := &Suppressions{File: file}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "suppressions" {
			list = root.Content[i+1]
		} else {
			bad(root.Content[i], "unknown key %q (want suppressions)", root.Content[i].Value)
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: want a suppressions list", file)
	}
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			bad(item, "a suppression must be a mapping")
			continue
		}
		sp := Suppression{Where: map[string][]string{}, line: item.Line}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			switch k.Value {
			case "rule":
				sp.Rule = v.Value
			case "reason":
				sp.Reason = strings.TrimSpace(v.Value)
			case "expires":
				sp.Expires = v.Value
				t, err := parseDate(v.Value)
				if err != nil {
					bad(v, "expires: %v", err)
				}
				sp.expires = t
			case "where":
				if v.Kind != yaml.MappingNode {
					bad(v, "where must be a mapping of field: value")
					continue
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					fk, fv := v.Content[j], v.Content[j+1]
					if _, ok := suppressionFields[fk.Value]; !ok {
						bad(fk, "unknown field %q", fk.Value)
						continue
					}
					switch fv.Kind {
					case yaml.ScalarNode:
						sp.Where[fk.Value] = []string{fv.Value}
					case yaml.SequenceNode:
						for _, x := range fv.Content {
							if x.Kind != yaml.ScalarNode {
								bad(x, "values must be strings")
								continue
							}
							sp.Where[fk.Value] = append(sp.Where[fk.Value], x.Value)
						}
					default:
						bad(fv, "values must be a string or a list")
					}
				}
			default:
				bad(k, "unknown key %q", k.Value)
			}
		}
		if sp.Rule == "" {
			bad(item, "rule is required")
		}
		if sp.Reason == "" {
			bad(item, "reason is required: say why these findings are not a problem")
		}
		if !sp.expires.IsZero() && !now.Before(sp.expires) {
			bad(item, "expired on %s: review it, then renew or delete it", sp.Expires)
		}
		s.Items = append(s.Items, sp)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func countNodes(n *yaml.Node, depth int) int {
	if depth > 64 {
		return 1 << 30
	}
	c := 1
	for _, k := range n.Content {
		c += countNodes(k, depth+1)
	}
	if n.Alias != nil {
		c += countNodes(n.Alias, depth+1)
	}
	return c
}

func parseDate(s string) (time.Time, error) {
	for _, l := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(l, s); err == nil {
			if l == "2006-01-02" {
				t = t.Add(24 * time.Hour) // valid through that day
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or RFC 3339", s)
}

// Apply marks the findings a suppression covers and returns how many.
func (s *Suppressions) Apply(fs []Finding) int {
	if s == nil {
		return 0
	}
	n := 0
	for i := range fs {
		f := &fs[i]
		for _, sp := range s.Items {
			if sp.matches(f) {
				f.Suppressed = sp.Reason
				n++
				break
			}
		}
	}
	return n
}

func (sp *Suppression) matches(f *Finding) bool {
	if sp.Rule != f.RuleID {
		return false
	}
	for field, vals := range sp.Where {
		got := suppressionFields[field](f)
		ok := false
		for _, v := range vals {
			if glob(v, got) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// glob matches s against a pattern where * is any run of characters
// (slashes included) and ? is one character.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextS > 0 && nextS <= len(s) {
			px, sx = nextP, nextS
			continue
		}
		return false
	}
	return true
}
