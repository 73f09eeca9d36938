package lake

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/trailscope/trailscope/ingest"
)

// randomEvents makes events that exercise every column's shapes: each
// string empty or set, each nested group nil, empty or set, lists of 0-4
// resources with empty fields, long values (several pages), few and many
// distinct values (dictionary and plain fallback).
func randomEvents(n int, seed uint64) []*ingest.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	str := func(p float64, pool int) string {
		if r.Float64() >= p {
			return ""
		}
		if pool == 0 { // unique, sometimes long
			return fmt.Sprintf("v-%d-%s", r.Uint64(), strings.Repeat("x", r.IntN(3)*r.IntN(400)))
		}
		return fmt.Sprintf("val%d", r.IntN(pool))
	}
	raw := func(p float64) json.RawMessage {
		if r.Float64() >= p {
			return nil
		}
		return json.RawMessage(fmt.Sprintf(`{"k":%d,"s":%q}`, r.IntN(1000), strings.Repeat("y", r.IntN(2000))))
	}
	flag := func() *bool {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			b := true
			return &b
		}
		b := false
		return &b
	}
	out := make([]*ingest.Event, n)
	base := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	for i := range out {
		e := &ingest.Event{
			EventVersion: str(0.9, 3), EventSource: str(0.95, 40), EventName: str(0.95, 300), AWSRegion: str(0.9, 5),
			SourceIPAddress: str(0.9, 0), UserAgent: str(0.9, 50), ErrorCode: str(0.2, 10), ErrorMessage: str(0.2, 0),
			RequestID: str(0.9, 0), EventID: str(0.97, 0), ReadOnly: flag(), EventType: str(0.9, 4), APIVersion: str(0.05, 3),
			ManagementEvent: flag(), RecipientAccountID: str(0.9, 4), SharedEventID: str(0.1, 0), VPCEndpointID: str(0.1, 3),
			VPCEndpointAccountID: str(0.1, 3), EventCategory: str(0.9, 3), SessionCredentialFromConsole: str(0.1, 2),
			RequestParameters: raw(0.7), ResponseElements: raw(0.3), AdditionalEventData: raw(0.3), ServiceEventDetails: raw(0.05),
			Addendum: raw(0.02), EdgeDeviceDetails: raw(0.02), InsightDetails: raw(0.02), ExtraFields: raw(0.05),
			SourceBucket: str(0.5, 2), SourceKey: str(0.99, 30), RecordIndex: int64(r.IntN(5000)) - 1,
		}
		if r.IntN(20) > 0 {
			e.EventTime = base.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Millisecond)
		}
		if r.IntN(10) > 0 {
			u := &ingest.UserIdentity{Type: str(0.9, 6), PrincipalID: str(0.9, 0), ARN: str(0.9, 0), AccountID: str(0.9, 5),
				AccessKeyID: str(0.7, 0), UserName: str(0.3, 20), InvokedBy: str(0.1, 5), IdentityProvider: str(0.05, 2),
				CredentialID: str(0.05, 0)}
			if r.IntN(10) == 0 {
				u.OnBehalfOf = &ingest.OnBehalfOf{UserID: str(0.5, 0), IdentityStoreARN: str(0.5, 2)}
			}
			if r.IntN(3) > 0 {
				c := &ingest.SessionContext{SourceIdentity: str(0.1, 3), EC2RoleDelivery: str(0.1, 2), AssumedRoot: str(0.05, 2)}
				if r.IntN(3) > 0 {
					c.SessionIssuer = &ingest.SessionIssuer{Type: str(0.9, 2), PrincipalID: str(0.9, 0), ARN: str(0.9, 30),
						AccountID: str(0.9, 5), UserName: str(0.9, 30)}
				}
				if r.IntN(8) == 0 {
					c.WebIDFederationData = &ingest.WebIDFederationData{FederatedProvider: str(0.5, 2), Attributes: raw(0.5)}
				}
				if r.IntN(2) == 0 {
					c.Attributes = &ingest.SessionAttributes{CreationDate: str(0.9, 0), MFAAuthenticated: str(0.9, 2)}
				}
				u.SessionContext = c
			}
			e.UserIdentity = u
		}
		if r.IntN(2) == 0 {
			e.TLSDetails = &ingest.TLSDetails{TLSVersion: str(0.9, 3), CipherSuite: str(0.9, 5), ClientProvidedHostHeader: str(0.9, 0)} // unique: the dictionary does not pay
		}
		nres := r.IntN(5) - 1
		if i == 5 {
			nres = 300 // more elements than a uint8 counts
		}
		for range nres {
			e.Resources = append(e.Resources, ingest.Resource{ARN: str(0.8, 0), AccountID: str(0.5, 4), Type: str(0.8, 6)})
		}
		out[i] = e
	}
	return out
}

// realEvents decodes every real CloudTrail record under testdata/events.
func realEventsForTest(t *testing.T) []*ingest.Event {
	t.Helper()
	var out []*ingest.Event
	err := filepath.WalkDir("../../testdata/events", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "inventory.json") ||
			!(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".json.gz")) {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			if r, err = gzip.NewReader(f); err != nil {
				return err
			}
		}
		dec := ingest.NewDecoder(r, 0)
		for {
			raw, err := dec.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return nil // the goldens include malformed files; the good records before are kept
			}
			ev := new(ingest.Event)
			if ingest.ParseEvent(raw, ev) == nil {
				out = append(out, ev)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 3000 {
		t.Fatalf("only %d real events decoded", len(out))
	}
	return out
}

func writeWithParquetGo(t *testing.T, path string, rows []*ingest.Event) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pw := parquet.NewGenericWriter[*ingest.Event](f, writerOptions()...)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestEncoderMatchesParquetGo: the lake's encoder and parquet-go's writer
// give files with the same schema and the same rows, read back by
// parquet-go and by DuckDB; the chunk statistics are the true minimum and
// maximum; Bloom filters hold every value.
func TestEncoderMatchesParquetGo(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := map[string][]*ingest.Event{
		"random": randomEvents(3*rowGroupRows+123, 7),
		"real":   realEventsForTest(t),
		"one":    randomEvents(1, 9),
	}
	for name, rows := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			theirs, ours := filepath.Join(dir, "pgo.parquet"), filepath.Join(dir, "ours.parquet")
			writeWithParquetGo(t, theirs, rows)
			if err := writeParquet(ours, rows); err != nil {
				t.Fatal(err)
			}
			pf := openFile(t, ours)
			if !parquet.EqualNodes(pf.Schema(), eventSchema) {
				t.Fatalf("schema differs:\n%s", pf.Schema())
			}
			if pf.NumRows() != int64(len(rows)) {
				t.Fatalf("%d rows, want %d", pf.NumRows(), len(rows))
			}
			want, err := parquet.ReadFile[ingest.Event](theirs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parquet.ReadFile[ingest.Event](ours)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					a, _ := json.Marshal(got[i])
					b, _ := json.Marshal(want[i])
					t.Fatalf("row %d differs:\nours %s\npgo  %s", i, a, b)
				}
			}
			for _, q := range []string{
				`SELECT count(*) FROM (SELECT * FROM read_parquet('%[1]s') EXCEPT ALL SELECT * FROM read_parquet('%[2]s'))`,
				`SELECT count(*) FROM (SELECT * FROM read_parquet('%[2]s') EXCEPT ALL SELECT * FROM read_parquet('%[1]s'))`,
			} {
				var n int
				if err := db.QueryRow(fmt.Sprintf(q, ours, theirs)).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("DuckDB: %d rows differ (%s)", n, q)
				}
			}
			checkStats(t, pf, rows)
			checkBloomsHold(t, db, ours, rows)
		})
	}
}

func openFile(t *testing.T, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// checkStats compares each row group's eventTime, eventName and
// record_index statistics with the rows.
func checkStats(t *testing.T, pf *parquet.File, rows []*ingest.Event) {
	t.Helper()
	md := pf.Metadata()
	col := map[string]int{}
	for i, p := range eventSchema.Columns() {
		col[strings.Join(p, ".")] = i
	}
	off := 0
	for g, rg := range md.RowGroups {
		grp := rows[off : off+int(rg.NumRows)]
		off += int(rg.NumRows)
		var tmin, tmax int64 = 1 << 62, -1 << 62
		var nmin, nmax string
		var rmin, rmax int64 = 1 << 62, -1 << 62
		nulls := 0
		for _, e := range grp {
			if !e.EventTime.IsZero() {
				tmin, tmax = min(tmin, e.EventTime.UnixMilli()), max(tmax, e.EventTime.UnixMilli())
			}
			if e.EventName == "" {
				nulls++
			} else if nmin == "" {
				nmin, nmax = e.EventName, e.EventName
			} else {
				nmin, nmax = min(nmin, e.EventName), max(nmax, e.EventName)
			}
			rmin, rmax = min(rmin, e.RecordIndex), max(rmax, e.RecordIndex)
		}
		i64 := func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }
		st := rg.Columns[col["eventTime"]].MetaData.Statistics
		if i64(st.MinValue) != tmin || i64(st.MaxValue) != tmax {
			t.Errorf("row group %d: eventTime stats %d..%d, want %d..%d", g, i64(st.MinValue), i64(st.MaxValue), tmin, tmax)
		}
		st = rg.Columns[col["eventName"]].MetaData.Statistics
		if string(st.MinValue) != nmin || string(st.MaxValue) != nmax || st.NullCount != int64(nulls) {
			t.Errorf("row group %d: eventName stats %q..%q (%d nulls), want %q..%q (%d)", g, st.MinValue, st.MaxValue, st.NullCount, nmin, nmax, nulls)
		}
		st = rg.Columns[col["record_index"]].MetaData.Statistics
		if i64(st.MinValue) != rmin || i64(st.MaxValue) != rmax {
			t.Errorf("row group %d: record_index stats %d..%d, want %d..%d", g, i64(st.MinValue), i64(st.MaxValue), rmin, rmax)
		}
	}
}

// checkBloomsHold: DuckDB's probe of the eventID and userIdentity.arn
// filters never rules out a row group for a value it holds.
func checkBloomsHold(t *testing.T, db *sql.DB, path string, rows []*ingest.Event) {
	t.Helper()
	for i, e := range rows {
		if i%97 != 0 || e.EventID == "" {
			continue
		}
		var n int
		q := `SELECT count(*) FROM parquet_bloom_probe(?, 'eventID', ?) WHERE NOT bloom_filter_excludes`
		if err := db.QueryRow(q, path, e.EventID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("the Bloom filters rule out eventID %q, which the file holds", e.EventID)
		}
	}
}

// TestAppendHybrid: parquet-go's RLE decoder reads back what appendHybrid
// writes, for runs, literals and their mixes at every bit width.
func TestAppendHybrid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for width := uint(1); width <= 20; width++ {
		for trial := range 50 {
			var vals []int32
			for len(vals) < trial*13 {
				v := int32(r.Uint32() & (1<<width - 1))
				for range 1 + r.IntN(3)*r.IntN(12) {
					vals = append(vals, v)
				}
			}
			enc := appendHybrid(nil, vals, width)
			dec, err := (&rle.Encoding{BitWidth: int(width)}).DecodeInt32(nil, enc)
			if err != nil {
				t.Fatalf("width %d: %v", width, err)
			}
			got := dec
			if len(got) < len(vals) || !reflect.DeepEqual(got[:len(vals)], vals) {
				t.Fatalf("width %d: decoded %v, want %v", width, got, vals)
			}
			if width <= 8 {
				lv := make([]uint8, len(vals))
				for i, v := range vals {
					lv[i] = uint8(v)
				}
				dl, err := (&rle.Encoding{BitWidth: int(width)}).DecodeLevels(nil, appendHybrid(nil, lv, width))
				if err != nil || len(dl) < len(lv) || !bytes.Equal(dl[:len(lv)], lv) {
					t.Fatalf("width %d levels: %v %v, want %v", width, err, dl, lv)
				}
			}
		}
	}
}

// BenchmarkEncode compares the lake's encoder with parquet-go's writer on
// the same rows (go test -bench Encode ./ingest/lake).
func BenchmarkEncode(b *testing.B) {
	rows := randomEvents(50_000, 11)
	b.Run("trailscope", func(b *testing.B) {
		for b.Loop() {
			ew, err := newEventWriter(io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			if err := ew.writeEvents(rows); err != nil {
				b.Fatal(err)
			}
			ew.close()
			ew.release()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	})
	b.Run("parquet-go", func(b *testing.B) {
		for b.Loop() {
			pw := parquet.NewGenericWriter[*ingest.Event](io.Discard, writerOptions()...)
			if _, err := pw.Write(rows); err != nil {
				b.Fatal(err)
			}
			pw.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	})
}

// TestDeltaBinaryPacked: parquet-go's decoder reads back the lengths
// appendDeltaBinaryPacked writes: empty, one value, partial blocks and
// miniblocks, negative and wide deltas.
func TestDeltaBinaryPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 31, 32, 33, 127, 128, 129, 200, 257, 1000} {
		for _, spread := range []int32{0, 1, 100, 1 << 30} {
			vals := make([]int32, n)
			for i := range vals {
				vals[i] = r.Int32N(spread + 1)
			}
			enc := appendDeltaBinaryPacked(nil, vals)
			got, err := (&delta.BinaryPackedEncoding{}).DecodeInt32(nil, enc)
			if err != nil {
				t.Fatalf("n=%d spread=%d: %v", n, spread, err)
			}
			if len(got) != n {
				t.Fatalf("n=%d spread=%d: %d values decoded", n, spread, len(got))
			}
			for i, v := range vals {
				if g := got[i]; g != v {
					t.Fatalf("n=%d spread=%d: value %d is %d, want %d", n, spread, i, g, v)
				}
			}
		}
	}
}

// TestPageIndex: every column chunk carries a column index and an offset
// index that parquet-go reads: one entry per data page, each page's rows
// where the offset index says, its values within the index's bounds, and
// the sorted eventTime column marked ascending. Compaction's merge relies
// on them to cut sorted runs at pages and copy chunks whole.
func TestPageIndex(t *testing.T) {
	rows := randomEvents(2*rowGroupRows+500, 21)
	sortEvents(rows)
	path := filepath.Join(t.TempDir(), "f.parquet")
	if err := writeParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	multi := checkPageIndex(t, path, true)
	if multi == 0 {
		t.Fatal("no chunk has more than one page: the test checks nothing about page cuts")
	}
}

// checkPageIndex checks every column chunk's column and offset indexes
// against its pages (and, if sorted, that eventTime is marked ascending);
// it returns how many chunks have more than one page.
func checkPageIndex(t *testing.T, path string, sorted bool) int {
	t.Helper()
	pf := openFile(t, path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	md := pf.Metadata()
	timeLeaf, _ := eventSchema.Lookup("eventTime")
	timeCol := timeLeaf.ColumnIndex
	multi := 0
	for g, rg := range pf.RowGroups() {
		for c, chunk := range rg.ColumnChunks() {
			ci, err := chunk.ColumnIndex()
			if err != nil {
				t.Fatalf("row group %d column %d: column index: %v", g, c, err)
			}
			oi, err := chunk.OffsetIndex()
			if err != nil {
				t.Fatalf("row group %d column %d: offset index: %v", g, c, err)
			}
			if ci.NumPages() != oi.NumPages() {
				t.Fatalf("row group %d column %d: %d column index pages, %d offset index pages", g, c, ci.NumPages(), oi.NumPages())
			}
			if sorted && c == timeCol && !ci.IsAscending() {
				t.Errorf("row group %d: eventTime pages not marked ascending", g)
			}
			if oi.NumPages() > 1 {
				multi++
			}
			// Each location points at a page header, and spans the page.
			if oi.NumPages() > 0 && oi.Offset(0) != md.RowGroups[g].Columns[c].MetaData.DataPageOffset {
				t.Fatalf("row group %d column %d: first page at %d, data page offset %d", g, c, oi.Offset(0), md.RowGroups[g].Columns[c].MetaData.DataPageOffset)
			}
			for p := 0; p < oi.NumPages(); p++ {
				var h format.PageHeader
				r := bytes.NewReader(raw[oi.Offset(p):])
				if err := thrift.NewDecoder((&thrift.CompactProtocol{}).NewReader(r)).Decode(&h); err != nil || h.Type != format.DataPageV2 {
					t.Fatalf("row group %d column %d page %d: no data page header at %d (%v)", g, c, p, oi.Offset(p), err)
				}
				size := int64(len(raw)) - oi.Offset(p) - int64(r.Len()) + int64(h.CompressedPageSize)
				if size != oi.CompressedPageSize(p) {
					t.Fatalf("row group %d column %d page %d: %d bytes, index says %d", g, c, p, size, oi.CompressedPageSize(p))
				}
			}
			pages := chunk.Pages()
			var row int64
			typ := chunk.Type()
			for p := 0; ; p++ {
				page, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					if p != oi.NumPages() {
						t.Fatalf("row group %d column %d: %d pages, index lists %d", g, c, p, oi.NumPages())
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if oi.FirstRowIndex(p) != row {
					t.Fatalf("row group %d column %d page %d: starts at row %d, index says %d", g, c, p, row, oi.FirstRowIndex(p))
				}
				row += page.NumRows()
				lo, hi, ok := page.Bounds()
				if ok != !ci.NullPage(p) {
					t.Fatalf("row group %d column %d page %d: has values %v, null page %v", g, c, p, ok, ci.NullPage(p))
				}
				if ok && (typ.Compare(ci.MinValue(p), lo) > 0 || typ.Compare(ci.MaxValue(p), hi) < 0) {
					t.Fatalf("row group %d column %d page %d: index bounds %v..%v do not cover %v..%v", g, c, p, ci.MinValue(p), ci.MaxValue(p), lo, hi)
				}
				parquet.Release(page)
			}
			pages.Close()
		}
	}
	return multi
}

// TestCutBounds: cut statistics stay bounds of the value.
func TestCutBounds(t *testing.T) {
	for _, v := range []string{"", "a", strings.Repeat("a", statBytes), strings.Repeat("b", statBytes+9),
		strings.Repeat("\xff", statBytes+3), "a" + strings.Repeat("\xff", statBytes+3)} {
		lo, hi := cutMin([]byte(v)), cutMax([]byte(v))
		if string(lo) > v || string(hi) < v {
			t.Errorf("%q: cut to %q..%q", v, lo, hi)
		}
		if len(lo) > statBytes || (len(hi) > statBytes && strings.Trim(v, "\xff") != "") {
			t.Errorf("%q: cut to %d and %d bytes", v, len(lo), len(hi))
		}
	}
}
