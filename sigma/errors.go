package sigma

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a rule file. Line and Col are 1-based; zero means
// unknown.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error codes. They are stable strings that tools may match on.
const (
	CodeYAML             = "yaml_error"
	CodeTooLarge         = "too_large"
	CodeMissing          = "missing_field"
	CodeType             = "wrong_type"
	CodeUnknownModifier  = "unknown_modifier"
	CodeBadModifier      = "bad_modifier"
	CodeCondition        = "condition_error"
	CodeUndefined        = "undefined_identifier"
	CodeRegexp           = "bad_regexp"
	CodeCIDR             = "bad_cidr"
	CodeNumber           = "bad_number"
	CodeLogsource        = "unsupported_logsource"
	CodeField            = "bad_field"
	CodeUnsupported      = "unsupported"
	CodeCorrelation      = "correlation_error"
	CodeReference        = "unknown_rule"
	CodePlaceholder      = "unresolved_placeholder"
	CodeDuplicate        = "duplicate"
	CodeEventParse       = "event_error"
	CodeLimit            = "limit_exceeded"
	CodeNotRule          = "not_a_rule"
	CodeUnknownAttribute = "unknown_attribute"
)

// Error is one located problem in a rule file. It prints as
// "file:line:col: code: message".
type Error struct {
	Pos  Pos
	Code string
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Pos, e.Code, e.Msg)
}

// Errors is a list of problems, sorted by position by Sort. A function that
// returns Errors reports every problem it found, not just the first.
type Errors []*Error

func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no errors"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders the errors by file, line, column, code and message.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// errOrNil returns nil for an empty list and the sorted list, without
// duplicates, otherwise.
func (es Errors) errOrNil() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	out := es[:1]
	for _, e := range es[1:] {
		last := out[len(out)-1]
		if e.Pos == last.Pos && e.Code == last.Code && e.Msg == last.Msg {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (es *Errors) add(pos Pos, code, format string, args ...any) {
	*es = append(*es, &Error{Pos: pos, Code: code, Msg: fmt.Sprintf(format, args...)})
}

// appendErr merges err into es: Errors and *Error keep their positions, any
// other error is recorded at pos.
func (es *Errors) appendErr(pos Pos, code string, err error) {
	switch e := err.(type) {
	case nil:
	case Errors:
		*es = append(*es, e...)
	case *Error:
		*es = append(*es, e)
	default:
		es.add(pos, code, "%v", err)
	}
}
