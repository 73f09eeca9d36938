package synth

import (
	"sort"
	"strconv"
	"unicode/utf8"
)

// obj is a JSON object whose fields keep their order, so records come out
// in CloudTrail's own field order (eventVersion, userIdentity, eventTime,
// ...) rather than sorted.
type obj []kv

type kv struct {
	k string
	v any
}

// m is a JSON object written with sorted keys (request parameters and
// response elements, whose order does not matter to anyone).
type m = map[string]any

func (o obj) get(k string) any {
	for _, f := range o {
		if f.k == k {
			return f.v
		}
	}
	return nil
}

// set replaces a field, or appends it.
func (o *obj) set(k string, v any) {
	for i := range *o {
		if (*o)[i].k == k {
			(*o)[i].v = v
			return
		}
	}
	*o = append(*o, kv{k, v})
}

// setAfter inserts a field after an existing one (or appends it).
func (o *obj) setAfter(after, k string, v any) {
	for i := range *o {
		if (*o)[i].k == k {
			(*o)[i].v = v
			return
		}
	}
	for i := range *o {
		if (*o)[i].k == after {
			*o = append(*o, kv{})
			copy((*o)[i+2:], (*o)[i+1:])
			(*o)[i+1] = kv{k, v}
			return
		}
	}
	*o = append(*o, kv{k, v})
}

func (o *obj) del(k string) {
	for i := range *o {
		if (*o)[i].k == k {
			*o = append((*o)[:i], (*o)[i+1:]...)
			return
		}
	}
}

// appendJSON writes v as compact JSON, as CloudTrail does (no HTML
// escaping, "/" not escaped).
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case obj:
		b = append(b, '{')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.k)
			b = append(b, ':')
			b = appendJSON(b, f.v)
		}
		return append(b, '}')
	case m:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	case []any:
		return appendList(b, x, appendJSON)
	case []m:
		return appendList(b, x, func(b []byte, e m) []byte { return appendJSON(b, e) })
	case []obj:
		return appendList(b, x, func(b []byte, e obj) []byte { return appendJSON(b, e) })
	case []string:
		return appendList(b, x, appendString)
	default:
		panic("synth: cannot encode " + strconv.Quote(typeName(v))) // a generator bug
	}
}

// appendList appends xs as a JSON array, each element by enc.
func appendList[T any](b []byte, xs []T, enc func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, e := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = enc(b, e)
	}
	return append(b, ']')
}

func typeName(v any) string {
	switch v.(type) {
	case int32:
		return "int32"
	case uint64:
		return "uint64"
	}
	return "value"
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
