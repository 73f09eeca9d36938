package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Format is the shape of an input file.
type Format int

// Input shapes the decoder recognises.
const (
	FormatUnknown      Format = iota
	FormatRecords             // {"Records":[...]}: a delivered CloudTrail log file
	FormatArray               // [ {...}, ... ]: a JSON array of events
	FormatLines               // {...}\n{...}: JSON lines, or one bare event
	FormatLookupEvents        // {"Events":[{"CloudTrailEvent":"..."}]}: lookup-events output
)

func (f Format) String() string {
	switch f {
	case FormatRecords:
		return "records"
	case FormatArray:
		return "array"
	case FormatLines:
		return "jsonl"
	case FormatLookupEvents:
		return "lookup-events"
	}
	return "unknown"
}

// Error kinds. Use errors.Is to classify a FileError or RecordError.
var (
	// ErrCorrupt: the bytes are not valid gzip or not valid JSON.
	ErrCorrupt = errors.New("corrupt")
	// ErrNotCloudTrail: valid JSON, but not CloudTrail events.
	ErrNotCloudTrail = errors.New("not CloudTrail")
	// ErrTooLarge: a record or a decompressed file passed its size cap.
	ErrTooLarge = errors.New("too large")
	// ErrMalformedRecord: one record cannot be used; the rest of the file can.
	ErrMalformedRecord = errors.New("malformed record")
)

// RecordError is a problem with one record. The stream goes on after it.
type RecordError struct {
	Index  int   // record index in the file, from 0
	Offset int64 // byte offset of the record in the uncompressed stream
	Err    error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %d (offset %d): %v", e.Index, e.Offset, e.Err)
}
func (e *RecordError) Unwrap() error { return e.Err }

// DefaultMaxRecordBytes caps one record (CloudTrail's own limit is far
// below it).
const DefaultMaxRecordBytes = 64 << 20

// Decoder reads CloudTrail records, one at a time, from an uncompressed
// stream in any of the shapes of Format. Memory is bounded by the largest
// record, never by the file.
//
// Next returns each record as raw JSON object bytes, valid until the next
// call. A malformed record comes back as a *RecordError and Next can be
// called again; any other error ends the stream and is sticky.
type Decoder struct {
	r       io.Reader
	buf     []byte
	start   int // first unread byte
	end     int // end of buffered data
	base    int64
	eof     bool
	rerr    error // error from the underlying reader
	err     error // sticky: the stream is over
	max     int
	state   int
	format  Format
	index   int
	scratch []byte
}

const (
	stInit = iota
	stArray
	stLines
	stTail
	stDone
)

// NewDecoder returns a decoder reading r. maxRecord caps one record's
// size (0 means DefaultMaxRecordBytes).
func NewDecoder(r io.Reader, maxRecord int) *Decoder {
	d := &Decoder{}
	d.Reset(r, maxRecord)
	return d
}

// Reset makes d read from r, keeping its buffers.
func (d *Decoder) Reset(r io.Reader, maxRecord int) {
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecordBytes
	}
	if cap(d.buf) == 0 {
		d.buf = make([]byte, 256<<10)
	}
	d.buf = d.buf[:cap(d.buf)]
	*d = Decoder{r: r, buf: d.buf, max: maxRecord, scratch: d.scratch[:0]}
}

// Format is the shape found at the start of the stream.
func (d *Decoder) Format() Format { return d.format }

// Count is the number of records returned so far, malformed ones included.
func (d *Decoder) Count() int { return d.index }

// fill reads more data, keeping buf[d.start:]. It returns false at EOF or
// on error (d.err set for errors other than EOF).
func (d *Decoder) fill() bool {
	if d.eof || d.rerr != nil {
		return false
	}
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.base += int64(d.start)
		d.start, d.end = 0, n
	}
	if d.end == len(d.buf) {
		if len(d.buf) >= d.max+64 {
			d.err = fmt.Errorf("%w: record over %d bytes", ErrTooLarge, d.max)
			return false
		}
		nb := make([]byte, min(2*len(d.buf), d.max+64))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	for {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err == io.EOF {
			d.eof = true
			return n > 0
		}
		if err != nil {
			d.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// skipSpace moves past white space and returns the next byte.
func (d *Decoder) skipSpace() (byte, bool) {
	for {
		for d.start < d.end {
			c := d.buf[d.start]
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				d.start++
				continue
			}
			return c, true
		}
		if !d.fill() {
			return 0, false
		}
	}
}

func (d *Decoder) syntaxf(format string, a ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrCorrupt, d.base+int64(d.start), fmt.Sprintf(format, a...))
}

// scanValue finds the end of the JSON value at d.start (strings and
// brackets only; contents are validated later) and returns its length.
func (d *Decoder) scanValue() (int, error) {
	p := 0
	depth := 0
	for {
		if d.start+p >= d.end {
			if !d.fill() {
				if d.rerr != nil {
					return 0, d.rerr
				}
				if d.err != nil {
					return 0, d.err
				}
				if depth == 0 && p > 0 {
					return p, nil // a bare literal at EOF
				}
				return 0, fmt.Errorf("%w: unexpected end of data inside a value", ErrCorrupt)
			}
			continue
		}
		c := d.buf[d.start+p]
		switch c {
		case '"':
			// find the closing quote, skipping escapes
			q := p + 1
			for {
				if d.start+q >= d.end {
					if !d.fill() {
						if d.rerr != nil {
							return 0, d.rerr
						}
						if d.err != nil {
							return 0, d.err
						}
						return 0, fmt.Errorf("%w: unexpected end of data inside a string", ErrCorrupt)
					}
					continue
				}
				i := bytes.IndexByte(d.buf[d.start+q:d.end], '"')
				if i < 0 {
					q = d.end - d.start
					continue
				}
				q += i
				// The quote is escaped if an odd number of backslashes
				// precede it (within this string).
				bs := 0
				for j := d.start + q - 1; j > d.start+p && d.buf[j] == '\\'; j-- {
					bs++
				}
				if bs%2 == 1 {
					q++
					continue
				}
				break
			}
			p = q + 1
			if depth == 0 {
				return p, nil
			}
		case '{', '[':
			depth++
			p++
		case '}', ']':
			depth--
			p++
			if depth < 0 {
				return 0, fmt.Errorf("%w: unbalanced %q", ErrCorrupt, c)
			}
			if depth == 0 {
				return p, nil
			}
		case ',', ' ', '\n', '\r', '\t', ':':
			if depth == 0 {
				return p, nil // end of a bare literal
			}
			p++
		default:
			p++
		}
	}
}

// Next returns the next record.
func (d *Decoder) Next() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	for {
		switch d.state {
		case stInit:
			if err := d.begin(); err != nil {
				d.err = err
				return nil, err
			}
		case stArray:
			c, ok := d.skipSpace()
			if !ok {
				return nil, d.stop(d.eofErr("in the records array"))
			}
			if c == ']' {
				d.start++
				d.state = stTail
				continue
			}
			if d.index > 0 {
				if c != ',' {
					return nil, d.stop(d.syntaxf("want ',' or ']' between records, got %q", c))
				}
				d.start++
				if _, ok := d.skipSpace(); !ok {
					return nil, d.stop(d.eofErr("in the records array"))
				}
			}
			return d.record()
		case stLines:
			if _, ok := d.skipSpace(); !ok {
				if d.rerr != nil {
					return nil, d.stop(d.rerr)
				}
				d.state = stDone
				continue
			}
			return d.record()
		case stTail:
			if err := d.tail(); err != nil {
				return nil, d.stop(err)
			}
			d.state = stDone
		case stDone:
			if d.err != nil {
				return nil, d.err
			}
			return nil, io.EOF
		}
	}
}

// eofErr is the error for data that ends too soon: the reader's own
// error if it had one, else corruption.
func (d *Decoder) eofErr(where string) error {
	if d.rerr != nil {
		return d.rerr
	}
	return fmt.Errorf("%w: unexpected end of data %s", ErrCorrupt, where)
}

func (d *Decoder) stop(err error) error {
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// record reads one element at d.start and returns it as a record.
func (d *Decoder) record() ([]byte, error) {
	off := d.base + int64(d.start)
	n, err := d.scanValue()
	if err != nil {
		return nil, d.stop(err)
	}
	if n == 0 {
		n = 1 // a stray delimiter: reject it as a record, and move on
	}
	raw := d.buf[d.start : d.start+n]
	d.start += n
	idx := d.index
	d.index++
	if d.format == FormatLookupEvents {
		ev, err := d.lookupEvent(raw)
		if err != nil {
			return nil, &RecordError{Index: idx, Offset: off, Err: err}
		}
		raw = ev
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &RecordError{Index: idx, Offset: off, Err: fmt.Errorf("%w: not a JSON object", ErrMalformedRecord)}
	}
	return raw, nil
}

// lookupEvent pulls the CloudTrailEvent string out of a lookup-events
// element and unquotes it.
func (d *Decoder) lookupEvent(el []byte) ([]byte, error) {
	var v struct {
		CloudTrailEvent *string `json:"CloudTrailEvent"`
	}
	if err := json.Unmarshal(el, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRecord, err)
	}
	if v.CloudTrailEvent == nil {
		return nil, fmt.Errorf("%w: lookup-events element has no CloudTrailEvent", ErrMalformedRecord)
	}
	d.scratch = append(d.scratch[:0], *v.CloudTrailEvent...)
	return d.scratch, nil
}

// begin detects the shape of the stream and positions d at the first
// record.
func (d *Decoder) begin() error {
	// Skip a UTF-8 byte order mark.
	for d.end-d.start < 3 && d.fill() {
	}
	if bytes.HasPrefix(d.buf[d.start:d.end], []byte("\xef\xbb\xbf")) {
		d.start += 3
	}
	c, ok := d.skipSpace()
	if !ok {
		if d.rerr != nil {
			return d.rerr
		}
		return fmt.Errorf("%w: empty file", ErrNotCloudTrail)
	}
	switch c {
	case '[':
		d.start++
		d.format, d.state = FormatArray, stArray
		return nil
	case '{':
	default:
		return fmt.Errorf("%w: starts with %q, not a JSON object or array", ErrNotCloudTrail, c)
	}
	// Look at the first key without consuming the object: it tells a
	// wrapper ({"Records": / {"Events":) from a bare event.
	for d.end-d.start < 4096 && d.fill() {
	}
	b := d.buf[d.start:d.end]
	i := 1
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	if i < len(b) && b[i] == '}' {
		return fmt.Errorf("%w: empty JSON object", ErrNotCloudTrail)
	}
	if i < len(b) && b[i] == '"' {
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return fmt.Errorf("%w: first key is not a short string", ErrNotCloudTrail)
		}
		key := string(b[i+1 : i+1+j])
		switch key {
		case "Records", "Events":
			d.start += i + 2 + j
			c, ok := d.skipSpace()
			if !ok || c != ':' {
				return d.syntaxf("want ':' after %q", key)
			}
			d.start++
			c, ok = d.skipSpace()
			if !ok {
				return fmt.Errorf("%w: unexpected end of data", ErrCorrupt)
			}
			if c != '[' {
				return fmt.Errorf("%w: %q is not an array", ErrNotCloudTrail, key)
			}
			d.start++
			d.format, d.state = FormatRecords, stArray
			if key == "Events" {
				d.format = FormatLookupEvents
			}
			return nil
		}
		if !eventKeys[key] {
			return fmt.Errorf("%w: first key %q is neither Records, Events nor an event field", ErrNotCloudTrail, key)
		}
	}
	d.format, d.state = FormatLines, stLines
	return nil
}

// eventKeys are top-level keys that start a bare CloudTrail event.
var eventKeys = map[string]bool{
	"eventVersion": true, "userIdentity": true, "eventTime": true, "eventSource": true,
	"eventName": true, "awsRegion": true, "sourceIPAddress": true, "eventID": true,
	"eventType": true, "recipientAccountId": true, "requestParameters": true,
}

// tail consumes what follows the records array in a wrapper object:
// other keys (lookup-events' NextToken) and the closing brace. Trailing
// non-space data is corruption.
func (d *Decoder) tail() error {
	if d.format == FormatArray {
		if c, ok := d.skipSpace(); ok {
			return d.syntaxf("data after the closing ']': %q", c)
		}
		return d.rerr
	}
	for {
		c, ok := d.skipSpace()
		if !ok {
			return d.eofErr("missing '}'")
		}
		switch c {
		case '}':
			d.start++
			if c, ok := d.skipSpace(); ok {
				return d.syntaxf("data after the closing '}': %q", c)
			}
			return d.rerr
		case ',':
			d.start++
			if c, ok := d.skipSpace(); !ok || c != '"' {
				return d.syntaxf("want a key")
			}
			n, err := d.scanValue() // key
			if err != nil {
				return err
			}
			d.start += n
			if c, ok := d.skipSpace(); !ok || c != ':' {
				return d.syntaxf("want ':'")
			}
			d.start++
			if _, ok := d.skipSpace(); !ok {
				return fmt.Errorf("%w: unexpected end of data", ErrCorrupt)
			}
			n, err = d.scanValue()
			if err != nil {
				return err
			}
			d.start += n
		default:
			return d.syntaxf("want ',' or '}' after the records array, got %q", c)
		}
	}
}
