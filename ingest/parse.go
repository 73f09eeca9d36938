package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// maxDepth caps JSON nesting inside one record.
const maxDepth = 512

var (
	boolTrue  = true
	boolFalse = false
)

// ParseEvent decodes one raw CloudTrail record into ev. It validates the
// whole record as strict JSON. The event keeps its own copy of the bytes;
// raw may be reused after the call. Unknown top-level fields go to
// ev.ExtraFields, unknown fields of userIdentity to ExtraFields under
// "userIdentity.<name>", so nothing is dropped.
func ParseEvent(raw []byte, ev *Event) error {
	*ev = Event{}
	own := make([]byte, len(raw))
	copy(own, raw)
	s := jscan{b: own, parts: new(parts)}
	var extra []byte
	err := s.object(func(key []byte, v span) error {
		var err error
		switch string(key) {
		case "eventVersion":
			ev.EventVersion, err = s.str(v)
		case "eventTime":
			var t string
			if t, err = s.str(v); err == nil && t != "" {
				ev.EventTime, err = parseTime(t)
			}
		case "eventSource":
			ev.EventSource, err = s.str(v)
		case "eventName":
			ev.EventName, err = s.str(v)
		case "awsRegion":
			ev.AWSRegion, err = s.str(v)
		case "sourceIPAddress":
			ev.SourceIPAddress, err = s.str(v)
		case "userAgent":
			ev.UserAgent, err = s.str(v)
		case "errorCode":
			ev.ErrorCode, err = s.str(v)
		case "errorMessage":
			ev.ErrorMessage, err = s.str(v)
		case "requestID":
			ev.RequestID, err = s.str(v)
		case "eventID":
			ev.EventID, err = s.str(v)
		case "readOnly":
			ev.ReadOnly, err = s.boolean(v)
		case "eventType":
			ev.EventType, err = s.str(v)
		case "apiVersion":
			ev.APIVersion, err = s.str(v)
		case "managementEvent":
			ev.ManagementEvent, err = s.boolean(v)
		case "recipientAccountId":
			ev.RecipientAccountID, err = s.str(v)
		case "sharedEventID":
			ev.SharedEventID, err = s.str(v)
		case "vpcEndpointId":
			ev.VPCEndpointID, err = s.str(v)
		case "vpcEndpointAccountId":
			ev.VPCEndpointAccountID, err = s.str(v)
		case "eventCategory":
			ev.EventCategory, err = s.str(v)
		case "sessionCredentialFromConsole":
			ev.SessionCredentialFromConsole, err = s.str(v)
		case "userIdentity":
			ev.UserIdentity, err = s.userIdentity(v, &extra)
		case "tlsDetails":
			ev.TLSDetails, err = s.tlsDetails(v)
		case "resources":
			ev.Resources, err = s.resources(v)
		case "requestParameters":
			ev.RequestParameters = s.raw(v)
		case "responseElements":
			ev.ResponseElements = s.raw(v)
		case "additionalEventData":
			ev.AdditionalEventData = s.raw(v)
		case "serviceEventDetails":
			ev.ServiceEventDetails = s.raw(v)
		case "addendum":
			ev.Addendum = s.raw(v)
		case "edgeDeviceDetails":
			ev.EdgeDeviceDetails = s.raw(v)
		case "insightDetails":
			ev.InsightDetails = s.raw(v)
		default:
			extra = appendExtra(extra, key, s.b[v.start:v.end])
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedRecord, err)
	}
	if extra != nil {
		ev.ExtraFields = append(extra, '}')
	}
	return nil
}

func appendExtra(extra, key, val []byte) []byte {
	if extra == nil {
		extra = append(extra, '{')
	} else {
		extra = append(extra, ',')
	}
	extra = append(extra, '"')
	extra = append(extra, key...)
	extra = append(extra, '"', ':')
	return append(extra, val...)
}

// parseTime parses CloudTrail's eventTime (RFC 3339, normally
// "2006-01-02T15:04:05Z") into UTC.
func parseTime(s string) (time.Time, error) {
	if len(s) == 20 && s[19] == 'Z' && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' {
		var n [6]int
		pos := [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}}
		ok := true
		for i, p := range pos {
			for j := p[0]; j < p[1]; j++ {
				c := s[j]
				if c < '0' || c > '9' {
					ok = false
					break
				}
				n[i] = n[i]*10 + int(c-'0')
			}
		}
		if ok && n[1] >= 1 && n[1] <= 12 && n[2] >= 1 && n[2] <= 31 && n[3] < 24 && n[4] < 60 && n[5] < 61 {
			return time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	return t.UTC(), nil
}

// span is a value's byte range in jscan.b.
type span struct{ start, end int }

// jscan walks one complete JSON document strictly.
type jscan struct {
	b     []byte
	i     int
	depth int
	// What skipString learnt of the last string it passed, so str need
	// not scan it again.
	lastEnd   int
	lastPlain bool // no escapes
	lastASCII bool
	// parts holds the event's nested groups (shared by sub-scanners).
	parts *parts
}

// fresh zeroes a group of parts for a new value: a repeated key starts
// afresh, as a newly allocated value would.
func fresh[T any](p *T) *T {
	var zero T
	*p = zero
	return p
}

// parts holds an event's nested groups in one allocation (most events
// have most of them): fewer allocations per event, fewer objects for the
// GC to trace.
type parts struct {
	ui  UserIdentity
	sc  SessionContext
	si  SessionIssuer
	at  SessionAttributes
	tls TLSDetails
}

var errSyntax = errors.New("invalid JSON")

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\n', '\r', '\t':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) fail(what string) error {
	if s.i >= len(s.b) {
		return fmt.Errorf("%w: unexpected end (%s)", errSyntax, what)
	}
	return fmt.Errorf("%w at byte %d: %s", errSyntax, s.i, what)
}

// object walks an object at s.i, calling fn with each key and value span.
// After it returns, s.i is past the object. fn may inspect the value with
// sub-scanners; object has already validated the value.
func (s *jscan) object(fn func(key []byte, v span) error) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.fail("want an object")
	}
	s.i++
	s.depth++
	if s.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return s.end()
	}
	for {
		s.ws()
		ks := s.i
		if err := s.skipString(); err != nil {
			return err
		}
		key := s.b[ks+1 : s.i-1]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("want ':'")
		}
		s.i++
		s.ws()
		vs := s.i
		if err := s.skipValue(); err != nil {
			return err
		}
		if err := fn(key, span{vs, s.i}); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("want ',' or '}'")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return s.end()
		default:
			return s.fail("want ',' or '}'")
		}
	}
}

// end checks that only white space follows a top-level value.
func (s *jscan) end() error {
	if s.depth > 0 {
		return nil
	}
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the value")
	}
	return nil
}

func (s *jscan) skipValue() error {
	if s.i >= len(s.b) {
		return s.fail("want a value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		return s.object(func([]byte, span) error { return nil })
	case c == '[':
		s.i++
		s.depth++
		if s.depth > maxDepth {
			return fmt.Errorf("nesting deeper than %d", maxDepth)
		}
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			s.depth--
			return nil
		}
		for {
			s.ws()
			if err := s.skipValue(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.fail("want ',' or ']'")
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == ']' {
				s.i++
				s.depth--
				return nil
			}
			return s.fail("want ',' or ']'")
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return s.fail("want a value")
}

func (s *jscan) lit(w string) error {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return s.fail("bad literal")
	}
	s.i += len(w)
	return nil
}

func (s *jscan) number() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		s.i = i
		return s.fail("bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			s.i = i
			return s.fail("bad number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.i = i
			return s.fail("bad number")
		}
	}
	s.i = i
	return nil
}

// strStop marks the bytes that end a run of plain string content: the
// closing quote, an escape, and control characters (invalid in JSON).
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

func (s *jscan) skipString() error {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return s.fail("want a string")
	}
	i := s.i + 1
	plain, ascii := true, true
	for {
		for i+4 <= len(b) && !strStop[b[i]] && !strStop[b[i+1]] && !strStop[b[i+2]] && !strStop[b[i+3]] {
			i += 4
		}
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return s.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			s.lastEnd, s.lastPlain, s.lastASCII = s.i, plain, ascii
			return nil
		case c >= 0x80:
			ascii = false
			i++
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				s.i = i
				return s.fail("bad escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					s.i = i
					return s.fail("bad \\u escape")
				}
				i += 6
			default:
				s.i = i
				return s.fail("bad escape")
			}
		default:
			s.i = i
			return s.fail("control character in a string")
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// str returns a string value (null gives ""). Strings without escapes
// share the event's byte copy.
func (s *jscan) str(v span) (string, error) {
	b := s.b[v.start:v.end]
	if len(b) == 4 && string(b) == "null" {
		return "", nil
	}
	if len(b) < 2 || b[0] != '"' {
		// CloudTrail sometimes has numbers where strings are documented;
		// keep the literal text rather than reject the record.
		if b[0] == '{' || b[0] == '[' {
			return "", errors.New("want a string, got a JSON " + map[byte]string{'{': "object", '[': "array"}[b[0]])
		}
		return unsafe.String(&b[0], len(b)), nil
	}
	in := b[1 : len(b)-1]
	plain, ascii := s.lastPlain, s.lastASCII
	if s.lastEnd != v.end {
		plain, ascii = true, true
		for _, c := range in {
			if c == '\\' {
				plain = false
				break
			}
			if c >= 0x80 {
				ascii = false
			}
		}
	}
	if plain {
		if len(in) == 0 {
			return "", nil
		}
		if !ascii && !utf8.Valid(in) {
			return strings.ToValidUTF8(string(in), "\uFFFD"), nil
		}
		return unsafe.String(&in[0], len(in)), nil
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out, nil
}

func (s *jscan) boolean(v span) (*bool, error) {
	switch string(s.b[v.start:v.end]) {
	case "true", `"true"`:
		return &boolTrue, nil
	case "false", `"false"`:
		return &boolFalse, nil
	case "null":
		return nil, nil
	}
	return nil, errors.New("want a boolean")
}

// raw returns a JSON value as is (null gives nil), with invalid UTF-8
// replaced so the lake's JSON columns always hold valid text.
func (s *jscan) raw(v span) json.RawMessage {
	b := s.b[v.start:v.end]
	if string(b) == "null" {
		return nil
	}
	if !utf8.Valid(b) {
		return json.RawMessage(strings.ToValidUTF8(string(b), "\uFFFD"))
	}
	return json.RawMessage(b)
}

func (s *jscan) sub(v span) *jscan {
	return &jscan{b: s.b[:v.end], i: v.start, depth: 1, parts: s.parts}
}

func isNull(b []byte) bool { return string(b) == "null" }

func (s *jscan) userIdentity(v span, extra *[]byte) (*UserIdentity, error) {
	if isNull(s.b[v.start:v.end]) {
		return nil, nil
	}
	u := fresh(&s.parts.ui)
	sub := s.sub(v)
	err := sub.object(func(key []byte, v span) error {
		var err error
		switch string(key) {
		case "type":
			u.Type, err = sub.str(v)
		case "principalId":
			u.PrincipalID, err = sub.str(v)
		case "arn":
			u.ARN, err = sub.str(v)
		case "accountId":
			u.AccountID, err = sub.str(v)
		case "accessKeyId":
			u.AccessKeyID, err = sub.str(v)
		case "userName":
			u.UserName, err = sub.str(v)
		case "invokedBy":
			u.InvokedBy, err = sub.str(v)
		case "identityProvider":
			u.IdentityProvider, err = sub.str(v)
		case "credentialId":
			u.CredentialID, err = sub.str(v)
		case "onBehalfOf":
			if !isNull(sub.b[v.start:v.end]) {
				o := &OnBehalfOf{}
				ss := sub.sub(v)
				err = ss.object(func(k []byte, v span) error {
					var err error
					switch string(k) {
					case "userId":
						o.UserID, err = ss.str(v)
					case "identityStoreArn":
						o.IdentityStoreARN, err = ss.str(v)
					default:
						*extra = appendExtra(*extra, append([]byte("userIdentity.onBehalfOf."), k...), ss.b[v.start:v.end])
					}
					return err
				})
				u.OnBehalfOf = o
			}
		case "sessionContext":
			u.SessionContext, err = sub.sessionContext(v, extra)
		default:
			*extra = appendExtra(*extra, append([]byte("userIdentity."), key...), sub.b[v.start:v.end])
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	return u, err
}

func (s *jscan) sessionContext(v span, extra *[]byte) (*SessionContext, error) {
	if isNull(s.b[v.start:v.end]) {
		return nil, nil
	}
	c := fresh(&s.parts.sc)
	sub := s.sub(v)
	err := sub.object(func(key []byte, v span) error {
		var err error
		val := sub.b[v.start:v.end]
		switch string(key) {
		case "sessionIssuer":
			if !isNull(val) {
				si := fresh(&sub.parts.si)
				ss := sub.sub(v)
				err = ss.object(func(k []byte, v span) error {
					var err error
					switch string(k) {
					case "type":
						si.Type, err = ss.str(v)
					case "principalId":
						si.PrincipalID, err = ss.str(v)
					case "arn":
						si.ARN, err = ss.str(v)
					case "accountId":
						si.AccountID, err = ss.str(v)
					case "userName":
						si.UserName, err = ss.str(v)
					default:
						*extra = appendExtra(*extra, append([]byte("userIdentity.sessionContext.sessionIssuer."), k...), ss.b[v.start:v.end])
					}
					return err
				})
				c.SessionIssuer = si
			}
		case "webIdFederationData":
			if !isNull(val) {
				w := &WebIDFederationData{}
				ss := sub.sub(v)
				err = ss.object(func(k []byte, v span) error {
					var err error
					switch string(k) {
					case "federatedProvider":
						w.FederatedProvider, err = ss.str(v)
					case "attributes":
						w.Attributes = ss.raw(v)
					default:
						*extra = appendExtra(*extra, append([]byte("userIdentity.sessionContext.webIdFederationData."), k...), ss.b[v.start:v.end])
					}
					return err
				})
				c.WebIDFederationData = w
			}
		case "attributes":
			if !isNull(val) {
				a := fresh(&sub.parts.at)
				ss := sub.sub(v)
				err = ss.object(func(k []byte, v span) error {
					var err error
					switch string(k) {
					case "creationDate":
						a.CreationDate, err = ss.str(v)
					case "mfaAuthenticated":
						a.MFAAuthenticated, err = ss.str(v)
					default:
						*extra = appendExtra(*extra, append([]byte("userIdentity.sessionContext.attributes."), k...), ss.b[v.start:v.end])
					}
					return err
				})
				c.Attributes = a
			}
		case "sourceIdentity":
			c.SourceIdentity, err = sub.str(v)
		case "ec2RoleDelivery":
			c.EC2RoleDelivery, err = sub.str(v)
		case "assumedRoot":
			c.AssumedRoot, err = sub.str(v)
		default:
			*extra = appendExtra(*extra, append([]byte("userIdentity.sessionContext."), key...), val)
		}
		return err
	})
	return c, err
}

func (s *jscan) tlsDetails(v span) (*TLSDetails, error) {
	if isNull(s.b[v.start:v.end]) {
		return nil, nil
	}
	t := fresh(&s.parts.tls)
	sub := s.sub(v)
	err := sub.object(func(k []byte, v span) error {
		var err error
		switch string(k) {
		case "tlsVersion":
			t.TLSVersion, err = sub.str(v)
		case "cipherSuite":
			t.CipherSuite, err = sub.str(v)
		case "clientProvidedHostHeader":
			t.ClientProvidedHostHeader, err = sub.str(v)
		}
		return err
	})
	return t, err
}

func (s *jscan) resources(v span) ([]Resource, error) {
	b := s.b[v.start:v.end]
	if isNull(b) {
		return nil, nil
	}
	if b[0] != '[' {
		return nil, errors.New("want an array")
	}
	var out []Resource
	sub := s.sub(v)
	sub.i++ // past '['
	for {
		sub.ws()
		if sub.i < len(sub.b) && sub.b[sub.i] == ']' {
			return out, nil
		}
		var r Resource
		es := sub.i
		if err := sub.skipValue(); err != nil {
			return nil, err
		}
		if sub.b[es] == '{' {
			ss := &jscan{b: sub.b[:sub.i], i: es, depth: 1}
			err := ss.object(func(k []byte, v span) error {
				var err error
				switch string(k) {
				case "ARN", "arn":
					r.ARN, err = ss.str(v)
				case "accountId":
					r.AccountID, err = ss.str(v)
				case "type":
					r.Type, err = ss.str(v)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		out = append(out, r)
		sub.ws()
		if sub.i < len(sub.b) && sub.b[sub.i] == ',' {
			sub.i++
		}
	}
}
