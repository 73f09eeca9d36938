package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"
)

// benchRecords builds a {"Records":[...]} document of n real-shaped events.
func benchRecords(b *testing.B, n int) []byte {
	raw, err := os.ReadFile("../testdata/events/invictus-ir-sigma-aws/CloudTrail/218007301253_CloudTrail_us-east-1_20230710T1145Z_s7dpHbl38neqZbm2.json")
	if err != nil {
		b.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &doc); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(doc.Records[i%len(doc.Records)])
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// BenchmarkDecodeParse measures the decoder and the strict parser on one
// core (MB/s of uncompressed JSON).
func BenchmarkDecodeParse(b *testing.B) {
	data := benchRecords(b, 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	d := &Decoder{}
	var ev Event
	for i := 0; i < b.N; i++ {
		d.Reset(bytes.NewReader(data), 0)
		for {
			raw, err := d.Next()
			if err == io.EOF {
				break
			}
			var re *RecordError
			if errors.As(err, &re) {
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := ParseEvent(raw, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeOnly measures finding record boundaries alone.
func BenchmarkDecodeOnly(b *testing.B) {
	data := benchRecords(b, 10000)
	b.SetBytes(int64(len(data)))
	d := &Decoder{}
	for i := 0; i < b.N; i++ {
		d.Reset(bytes.NewReader(data), 0)
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
