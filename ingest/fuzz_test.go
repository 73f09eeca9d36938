package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary bytes to the decoder and parser: they must
// never panic or hang, and every record they return must parse or be
// rejected with an error.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/events/*/*.json")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 2<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"Records":[{"eventID":"a","eventTime":"2024-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"Events":[{"CloudTrailEvent":"{\"eventID\":\"x\"}"}]}`))
	f.Add([]byte(`[{"eventName":"x"}, 1, "s", null]`))
	f.Add([]byte("{\"eventName\":\"a\"}\n{\"eventName\":\"b\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), 1<<20)
		for i := 0; i < 100000; i++ {
			raw, err := d.Next()
			if err == io.EOF {
				return
			}
			var re *RecordError
			if errors.As(err, &re) {
				continue
			}
			if err != nil {
				// Stream errors are sticky.
				if _, err2 := d.Next(); err2 != err {
					t.Fatalf("Next after %v returned %v; want the same error", err, err2)
				}
				return
			}
			var ev Event
			_ = ParseEvent(raw, &ev)
		}
		t.Fatal("decoder did not finish")
	})
}

// FuzzParseEvent checks the strict record parser alone.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"eventVersion":"1.08","userIdentity":{"type":"Root","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2024-01-01T00:00:00Z","resources":[{"ARN":"a"}],"requestParameters":{"a":[1,2,{"b":null}]},"x":1}`))
	f.Add([]byte(`{"eventName":"\u00e9\ud83d\ude00","readOnly":"true"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev Event
		if err := ParseEvent(raw, &ev); err != nil {
			if !errors.Is(err, ErrMalformedRecord) {
				t.Fatalf("error %v is not ErrMalformedRecord", err)
			}
			return
		}
		// What the parser accepts must be storable: valid UTF-8 strings
		// and valid JSON in the JSON columns.
		for _, s := range []string{ev.EventName, ev.EventSource, ev.EventID, ev.UserAgent, ev.ErrorMessage} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 kept: %q", s)
			}
		}
		for _, j := range [][]byte{ev.RequestParameters, ev.ResponseElements, ev.AdditionalEventData, ev.ExtraFields} {
			if j != nil && !json.Valid(j) {
				t.Fatalf("invalid JSON kept: %q", j)
			}
		}
	})
}
