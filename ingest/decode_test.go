package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

type inventory struct {
	Datasets map[string]struct {
		FileList []struct {
			Path       string         `json:"path"`
			Events     int            `json:"events"`
			EventNames map[string]int `json:"eventNames"`
		} `json:"file_list"`
	} `json:"datasets"`
}

// decodeAll reads every record of a file through the decoder and parser.
func decodeAll(t *testing.T, path string) (names map[string]int, n int, rejected []error, err error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plain, err := plainReader(f, DefaultMaxDecompressedBytes)
	if err != nil {
		return nil, 0, nil, err
	}
	d := NewDecoder(plain, 0)
	names = map[string]int{}
	for {
		raw, err := d.Next()
		if err == io.EOF {
			return names, n, rejected, nil
		}
		var re *RecordError
		if errors.As(err, &re) {
			rejected = append(rejected, err)
			continue
		}
		if err != nil {
			return names, n, rejected, err
		}
		var ev Event
		if err := ParseEvent(raw, &ev); err != nil {
			rejected = append(rejected, err)
			continue
		}
		n++
		name := ev.EventName
		if name == "" {
			name = "None" // the inventory's word for a record without eventName
		}
		names[name]++
	}
}

// TestDecodeRealEvents checks event counts and eventName counts of every
// real file against testdata/events/inventory.json (golden numbers
// computed independently).
func TestDecodeRealEvents(t *testing.T) {
	b, err := os.ReadFile("../testdata/events/inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	files := 0
	for ds, d := range inv.Datasets {
		for _, f := range d.FileList {
			files++
			t.Run(ds+"/"+filepath.Base(f.Path), func(t *testing.T) {
				names, n, rejected, err := decodeAll(t, filepath.Join("../testdata/events", f.Path))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if len(rejected) > 0 {
					t.Errorf("rejected %d records: %v", len(rejected), rejected[0])
				}
				if n != f.Events {
					t.Errorf("events = %d; want %d", n, f.Events)
				}
				if diff := cmp.Diff(f.EventNames, names); diff != "" {
					t.Errorf("eventName counts (-want +got):\n%s", diff)
				}
			})
		}
	}
	if files < 90 {
		t.Fatalf("inventory lists %d files; want the whole corpus", files)
	}
}

// TestCorruptObjectErrorForgetsThePreviousObject: a corrupt object fails
// with the same error whatever object was inflated before it (a pooled
// inflater kept the previous stream's Huffman tables).
func TestCorruptObjectErrorForgetsThePreviousObject(t *testing.T) {
	corrupt := []byte("\x1f\x8b\x08\x00000000$\x01\x00\x00\x00\xcda\xc61\xb9X\xdfA\xbb\xd28\xd7yC0!0-%P\xd2, 7Z0000X?%0\xe1\xbbw y\x01 0Z:0\xe67\xd28\xd687Y\xea0")
	read := func(b []byte) error {
		plain, err := plainReader(bytes.NewReader(b), DefaultMaxDecompressedBytes)
		if err == nil {
			_, err = io.Copy(io.Discard, plain)
		}
		return err
	}
	alone := read(corrupt)
	if !errors.Is(alone, ErrCorrupt) {
		t.Fatalf("corrupt object: %v; want ErrCorrupt", alone)
	}
	var good bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&good, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(`{"Records":[]} `), 500))
	zw.Close()
	for i := 0; i < 8; i++ {
		if err := read(good.Bytes()); err != nil {
			t.Fatal(err)
		}
		if after := read(corrupt); after.Error() != alone.Error() {
			t.Fatalf("after a good object: %v; alone: %v", after, alone)
		}
	}
}

// TestRepeatedGroupKeyStartsAfresh: nested groups share one allocation
// per event; a group given twice is the second value, not a blend of both
// (as when each value was a fresh struct).
func TestRepeatedGroupKeyStartsAfresh(t *testing.T) {
	raw := []byte(`{"eventID":"e","userIdentity":{"type":"IAMUser","userName":"first","sessionContext":{"sourceIdentity":"s1","sessionIssuer":{"arn":"a1"}}},` +
		`"userIdentity":{"type":"AssumedRole","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},` +
		`"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"c"},"tlsDetails":{"tlsVersion":"TLSv1.3"}}`)
	var ev Event
	if err := ParseEvent(raw, &ev); err != nil {
		t.Fatal(err)
	}
	u := ev.UserIdentity
	if u == nil || u.Type != "AssumedRole" || u.UserName != "" || u.SessionContext == nil ||
		u.SessionContext.SourceIdentity != "" || u.SessionContext.SessionIssuer != nil ||
		u.SessionContext.Attributes == nil || u.SessionContext.Attributes.MFAAuthenticated != "true" {
		t.Errorf("userIdentity = %+v, want only the second value", u)
	}
	if ev.TLSDetails == nil || ev.TLSDetails.TLSVersion != "TLSv1.3" || ev.TLSDetails.CipherSuite != "" {
		t.Errorf("tlsDetails = %+v, want only the second value", ev.TLSDetails)
	}
	// Two events parsed one after the other share nothing.
	var ev2 Event
	if err := ParseEvent([]byte(`{"eventID":"f","userIdentity":{"type":"Root"}}`), &ev2); err != nil {
		t.Fatal(err)
	}
	if ev.UserIdentity.Type != "AssumedRole" || ev2.UserIdentity.Type != "Root" {
		t.Errorf("events share their groups: %q, %q", ev.UserIdentity.Type, ev2.UserIdentity.Type)
	}
}
