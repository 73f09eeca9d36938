package sigma

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Event is one CloudTrail record, parsed. It is only valid until the
// EventParser that produced it parses the next record, and it must not be
// matched from several goroutines at once (it owns scratch buffers).
type Event struct {
	v       *fastjson.Value
	scratch *eventScratch
}

type eventScratch struct {
	a, b  []byte
	slots [numTopSlots]*fastjson.Value
}

// EventParser parses raw CloudTrail records (JSON objects) and reuses its
// buffers, so that parsing is amortised allocation-free. Parse copies the
// record, so the caller may reuse raw. The zero value is ready to use. An
// EventParser is not safe for concurrent use.
type EventParser struct {
	p       fastjson.Parser
	scratch eventScratch
}

// ErrNotObject is returned for records that are not JSON objects.
var ErrNotObject = errors.New("sigma: event is not a JSON object")

// Parse parses one record. The returned Event is valid until the next call.
func (p *EventParser) Parse(raw []byte) (Event, error) {
	v, err := p.p.ParseBytes(raw)
	if err != nil {
		return Event{}, fmt.Errorf("sigma: parse event: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return Event{}, ErrNotObject
	}
	sc := &p.scratch
	sc.slots = [numTopSlots]*fastjson.Value{}
	o, _ := v.Object()
	o.Visit(func(k []byte, c *fastjson.Value) {
		if i := topSlot(b2s(k)); i >= 0 && sc.slots[i] == nil {
			sc.slots[i] = c
		}
	})
	return Event{v: v, scratch: sc}, nil
}

// ParseEvent parses one record with a fresh parser. Use an EventParser in
// loops.
func ParseEvent(raw []byte) (Event, error) {
	var p EventParser
	return p.Parse(raw)
}

// Valid reports whether the event holds a parsed record.
func (e Event) Valid() bool { return e.v != nil }

// String returns the top-level string field name, or "" if it is absent or
// not a string.
func (e Event) String(name string) string {
	if e.v == nil {
		return ""
	}
	return string(e.v.GetStringBytes(name))
}

// EventID returns the eventID field.
func (e Event) EventID() string { return e.String("eventID") }

// EventTime returns the eventTime field, or the zero time if it is absent
// or not RFC 3339.
func (e Event) EventTime() time.Time {
	if e.v == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, b2s(e.v.GetStringBytes("eventTime")))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Lookup returns the string forms of the non-null values a dotted field
// name reaches (arrays fan out), using the same rules as rule matching.
func (e Event) Lookup(field string) []string {
	fp, err := resolveField(field)
	if err != nil || e.v == nil {
		return nil
	}
	var out []string
	e.walkField(fp, func(v *fastjson.Value) bool {
		switch v.Type() {
		case fastjson.TypeObject, fastjson.TypeArray:
			out = append(out, string(appendCompactJSON(nil, v, 0)))
		default:
			if s, ok := e.scalarString(v, 0); ok {
				out = append(out, string(s))
			}
		}
		return false
	})
	return out
}

// walkField visits the values a field reaches, starting from the slot of
// its top-level field when it has one.
func (e Event) walkField(fp *fieldPath, visit func(*fastjson.Value) bool) bool {
	if fp.top < 0 {
		return e.walk(e.v, fp.segs, visit)
	}
	c := e.scratch.slots[fp.top]
	if c == nil {
		return false
	}
	return e.walkFrom(c, fp.segs[1:], visit)
}

// walk visits the values a path reaches. After every segment an array is
// fanned out one level (elements that are arrays are skipped). It stops
// when visit returns true and reports whether it did.
func (e Event) walk(v *fastjson.Value, segs []string, visit func(*fastjson.Value) bool) bool {
	if len(segs) == 0 {
		return visit(v)
	}
	if v.Type() != fastjson.TypeObject {
		return false
	}
	c := v.Get(segs[0])
	if c == nil {
		return false
	}
	return e.walkFrom(c, segs[1:], visit)
}

// walkFrom continues a walk at the value of a segment: arrays fan out one
// level.
func (e Event) walkFrom(c *fastjson.Value, segs []string, visit func(*fastjson.Value) bool) bool {
	if c.Type() == fastjson.TypeArray {
		arr, _ := c.Array()
		for _, el := range arr {
			if el.Type() == fastjson.TypeArray {
				continue
			}
			if e.walk(el, segs, visit) {
				return true
			}
		}
		return false
	}
	return e.walk(c, segs, visit)
}

func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scalarString returns the string form of a scalar: strings as is,
// numbers normalised as DuckDB prints JSON numbers, booleans as
// "true"/"false". Null, objects and arrays have none. which selects the
// scratch buffer (0 or 1).
func (e Event) scalarString(v *fastjson.Value, which int) ([]byte, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return b, true
	case fastjson.TypeTrue:
		return trueBytes, true
	case fastjson.TypeFalse:
		return falseBytes, true
	case fastjson.TypeNumber:
		buf := &e.scratch.a
		if which == 1 {
			buf = &e.scratch.b
		}
		*buf = appendNumber((*buf)[:0], v)
		return *buf, true
	}
	return nil, false
}

var (
	trueBytes  = []byte("true")
	falseBytes = []byte("false")
)

// appendNumber writes a JSON number the way DuckDB's JSON functions print
// it: integer literals unchanged, other numbers as the shortest decimal
// with ".0" for integral values and exponent form outside 1e-6..1e21.
func appendNumber(dst []byte, v *fastjson.Value) []byte {
	start := len(dst)
	dst = v.MarshalTo(dst)
	raw := dst[start:]
	isInt := true
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			isInt = false
			break
		}
	}
	if isInt {
		return dst
	}
	f, err := strconv.ParseFloat(b2s(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return dst
	}
	dst = dst[:start]
	return appendDuckDouble(dst, f)
}

func appendDuckDouble(dst []byte, f float64) []byte {
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	// e is like "-1.2345e+06".
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	ei := 0
	for i, c := range e {
		if c == 'e' {
			ei = i
			break
		}
	}
	mant, expPart := e[:ei], e[ei+1:]
	exp, _ := strconv.Atoi(b2s(expPart))
	var digits [24]byte
	nd := 0
	for _, c := range mant {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	if neg {
		dst = append(dst, '-')
	}
	if exp < -6 || exp >= 21 {
		dst = append(dst, digits[0])
		if nd > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:nd]...)
		}
		dst = append(dst, 'e')
		return strconv.AppendInt(dst, int64(exp), 10)
	}
	if exp < 0 {
		dst = append(dst, '0', '.')
		for i := 0; i < -exp-1; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits[:nd]...)
	}
	// exp >= 0: integer part is digits[0..exp].
	for i := 0; i <= exp; i++ {
		if i < nd {
			dst = append(dst, digits[i])
		} else {
			dst = append(dst, '0')
		}
	}
	dst = append(dst, '.')
	if nd > exp+1 {
		return append(dst, digits[exp+1:nd]...)
	}
	return append(dst, '0')
}

// appendCompactJSON serialises v compactly, escaping strings the way
// DuckDB (yyjson) does: only '"', '\' and control characters.
func appendCompactJSON(dst []byte, v *fastjson.Value, depth int) []byte {
	if depth > 200 {
		return append(dst, "null"...)
	}
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, c *fastjson.Value) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendCompactJSON(dst, c, depth+1)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		arr, _ := v.Array()
		dst = append(dst, '[')
		for i, c := range arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCompactJSON(dst, c, depth+1)
		}
		return append(dst, ']')
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return appendJSONString(dst, b)
	case fastjson.TypeNumber:
		return appendNumber(dst, v)
	case fastjson.TypeTrue:
		return append(dst, "true"...)
	case fastjson.TypeFalse:
		return append(dst, "false"...)
	}
	return append(dst, "null"...)
}

func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
