package lake

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/bloom"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/trailscope/trailscope/ingest"
)

// This file is the lake's Parquet encoder: it writes []*ingest.Event
// straight into column chunks. parquet-go's reflective writer spent most
// of ingest's CPU shredding optional and nested fields value by value
// (null bitmaps, per-value dictionary hashing, column buffers); here each
// event is read once, and each leaf column's typed accessor appends its
// levels and value to that column's current page.
//
// The files are plain Parquet, the same as parquet-go writes for
// ingest.Event: the schema elements are taken from parquet-go's own schema
// of the type (so readers, compaction's schema check and docs/schema.md
// see no difference), data pages v2 with RLE levels, dictionary
// (RLE_DICTIONARY, for the struct's `dict` fields) or DELTA_LENGTH_BYTE_ARRAY
// strings, zstd pages, chunk and page statistics with type-defined column
// order, the page index, and split-block Bloom filters on bloomColumns.
// TestEncoderMatchesParquetGo checks the equivalence.

// leaf is one leaf column of the event schema and how to read it from an
// event.
type leaf struct {
	path           []string
	typ            format.Type
	maxDef, maxRep int
	dict, bloom    bool
	// One of these reads the value and its definition level (the value
	// is meaningful only when def == maxDef).
	str func(*ingest.Event) (string, uint8)
	i64 func(*ingest.Event) (int64, uint8)
	bl  func(*ingest.Event) (bool, uint8)
	// res reads a field of a resources element (the list column).
	res func(*ingest.Resource) string
}

// view is b as a string, without a copy (b must not change while it is used).
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// defStr gives a string's definition level below `above` present optional
// ancestors: an empty string is NULL.
func defStr(v string, above uint8) (string, uint8) {
	if v == "" {
		return "", above
	}
	return v, above + 1
}

func flag(b *bool) (bool, uint8) {
	if b == nil {
		return false, 0
	}
	return *b, 1
}

func topStr(f func(*ingest.Event) string) func(*ingest.Event) (string, uint8) {
	return func(e *ingest.Event) (string, uint8) { return defStr(f(e), 0) }
}

func topJSON(f func(*ingest.Event) []byte) func(*ingest.Event) (string, uint8) {
	return func(e *ingest.Event) (string, uint8) { return defStr(view(f(e)), 0) }
}

// A group accessor returns an optional group of the event and the
// definition level reached on the way: its present optional ancestors,
// and itself when present (nil, with the level where the path stopped,
// when it is not).
type groupOf[G any] func(*ingest.Event) (*G, uint8)

// top is a group at the top level of the event.
func top[G any](get func(*ingest.Event) *G) groupOf[G] {
	return func(e *ingest.Event) (*G, uint8) {
		if g := get(e); g != nil {
			return g, 1
		}
		return nil, 0
	}
}

// under is a group inside another.
func under[P, G any](parent groupOf[P], get func(*P) *G) groupOf[G] {
	return func(e *ingest.Event) (*G, uint8) {
		p, d := parent(e)
		if p == nil {
			return nil, d
		}
		if g := get(p); g != nil {
			return g, d + 1
		}
		return nil, d
	}
}

// field reads a string field of a group.
func field[G any](group groupOf[G], f func(*G) string) func(*ingest.Event) (string, uint8) {
	return func(e *ingest.Event) (string, uint8) {
		g, d := group(e)
		if g == nil {
			return "", d
		}
		return defStr(f(g), d)
	}
}

var (
	userIdentity = top(func(e *ingest.Event) *ingest.UserIdentity { return e.UserIdentity })
	tlsDetails   = top(func(e *ingest.Event) *ingest.TLSDetails { return e.TLSDetails })
	onBehalfOf   = under(userIdentity, func(u *ingest.UserIdentity) *ingest.OnBehalfOf { return u.OnBehalfOf })
	session      = under(userIdentity, func(u *ingest.UserIdentity) *ingest.SessionContext { return u.SessionContext })
	issuer       = under(session, func(c *ingest.SessionContext) *ingest.SessionIssuer { return c.SessionIssuer })
	webID        = under(session, func(c *ingest.SessionContext) *ingest.WebIDFederationData { return c.WebIDFederationData })
	sessionAttrs = under(session, func(c *ingest.SessionContext) *ingest.SessionAttributes { return c.Attributes })
)

// accessors reads every leaf of ingest.Event, by dotted path.
var accessors = map[string]leaf{
	"eventVersion": {str: topStr(func(e *ingest.Event) string { return e.EventVersion })},
	"eventTime": {i64: func(e *ingest.Event) (int64, uint8) {
		if e.EventTime.IsZero() {
			return 0, 0
		}
		return e.EventTime.UnixMilli(), 1
	}},
	"eventSource":                  {str: topStr(func(e *ingest.Event) string { return e.EventSource })},
	"eventName":                    {str: topStr(func(e *ingest.Event) string { return e.EventName })},
	"awsRegion":                    {str: topStr(func(e *ingest.Event) string { return e.AWSRegion })},
	"sourceIPAddress":              {str: topStr(func(e *ingest.Event) string { return e.SourceIPAddress })},
	"userAgent":                    {str: topStr(func(e *ingest.Event) string { return e.UserAgent })},
	"errorCode":                    {str: topStr(func(e *ingest.Event) string { return e.ErrorCode })},
	"errorMessage":                 {str: topStr(func(e *ingest.Event) string { return e.ErrorMessage })},
	"requestID":                    {str: topStr(func(e *ingest.Event) string { return e.RequestID })},
	"eventID":                      {str: topStr(func(e *ingest.Event) string { return e.EventID })},
	"readOnly":                     {bl: func(e *ingest.Event) (bool, uint8) { return flag(e.ReadOnly) }},
	"eventType":                    {str: topStr(func(e *ingest.Event) string { return e.EventType })},
	"apiVersion":                   {str: topStr(func(e *ingest.Event) string { return e.APIVersion })},
	"managementEvent":              {bl: func(e *ingest.Event) (bool, uint8) { return flag(e.ManagementEvent) }},
	"recipientAccountId":           {str: topStr(func(e *ingest.Event) string { return e.RecipientAccountID })},
	"sharedEventID":                {str: topStr(func(e *ingest.Event) string { return e.SharedEventID })},
	"vpcEndpointId":                {str: topStr(func(e *ingest.Event) string { return e.VPCEndpointID })},
	"vpcEndpointAccountId":         {str: topStr(func(e *ingest.Event) string { return e.VPCEndpointAccountID })},
	"eventCategory":                {str: topStr(func(e *ingest.Event) string { return e.EventCategory })},
	"sessionCredentialFromConsole": {str: topStr(func(e *ingest.Event) string { return e.SessionCredentialFromConsole })},

	"userIdentity.type":                        {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.Type })},
	"userIdentity.principalId":                 {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.PrincipalID })},
	"userIdentity.arn":                         {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.ARN })},
	"userIdentity.accountId":                   {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.AccountID })},
	"userIdentity.accessKeyId":                 {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.AccessKeyID })},
	"userIdentity.userName":                    {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.UserName })},
	"userIdentity.invokedBy":                   {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.InvokedBy })},
	"userIdentity.identityProvider":            {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.IdentityProvider })},
	"userIdentity.credentialId":                {str: field(userIdentity, func(u *ingest.UserIdentity) string { return u.CredentialID })},
	"userIdentity.onBehalfOf.userId":           {str: field(onBehalfOf, func(o *ingest.OnBehalfOf) string { return o.UserID })},
	"userIdentity.onBehalfOf.identityStoreArn": {str: field(onBehalfOf, func(o *ingest.OnBehalfOf) string { return o.IdentityStoreARN })},

	"userIdentity.sessionContext.sessionIssuer.type":        {str: field(issuer, func(i *ingest.SessionIssuer) string { return i.Type })},
	"userIdentity.sessionContext.sessionIssuer.principalId": {str: field(issuer, func(i *ingest.SessionIssuer) string { return i.PrincipalID })},
	"userIdentity.sessionContext.sessionIssuer.arn":         {str: field(issuer, func(i *ingest.SessionIssuer) string { return i.ARN })},
	"userIdentity.sessionContext.sessionIssuer.accountId":   {str: field(issuer, func(i *ingest.SessionIssuer) string { return i.AccountID })},
	"userIdentity.sessionContext.sessionIssuer.userName":    {str: field(issuer, func(i *ingest.SessionIssuer) string { return i.UserName })},
	"userIdentity.sessionContext.webIdFederationData.federatedProvider": {str: field(webID, func(w *ingest.WebIDFederationData) string {
		return w.FederatedProvider
	})},
	"userIdentity.sessionContext.webIdFederationData.attributes": {str: field(webID, func(w *ingest.WebIDFederationData) string {
		return view(w.Attributes)
	})},
	"userIdentity.sessionContext.attributes.creationDate": {str: field(sessionAttrs, func(a *ingest.SessionAttributes) string {
		return a.CreationDate
	})},
	"userIdentity.sessionContext.attributes.mfaAuthenticated": {str: field(sessionAttrs, func(a *ingest.SessionAttributes) string {
		return a.MFAAuthenticated
	})},
	"userIdentity.sessionContext.sourceIdentity":  {str: field(session, func(c *ingest.SessionContext) string { return c.SourceIdentity })},
	"userIdentity.sessionContext.ec2RoleDelivery": {str: field(session, func(c *ingest.SessionContext) string { return c.EC2RoleDelivery })},
	"userIdentity.sessionContext.assumedRoot":     {str: field(session, func(c *ingest.SessionContext) string { return c.AssumedRoot })},

	"tlsDetails.tlsVersion":               {str: field(tlsDetails, func(t *ingest.TLSDetails) string { return t.TLSVersion })},
	"tlsDetails.cipherSuite":              {str: field(tlsDetails, func(t *ingest.TLSDetails) string { return t.CipherSuite })},
	"tlsDetails.clientProvidedHostHeader": {str: field(tlsDetails, func(t *ingest.TLSDetails) string { return t.ClientProvidedHostHeader })},

	"resources.list.element.ARN":       {res: func(r *ingest.Resource) string { return r.ARN }},
	"resources.list.element.accountId": {res: func(r *ingest.Resource) string { return r.AccountID }},
	"resources.list.element.type":      {res: func(r *ingest.Resource) string { return r.Type }},

	"requestParameters":   {str: topJSON(func(e *ingest.Event) []byte { return e.RequestParameters })},
	"responseElements":    {str: topJSON(func(e *ingest.Event) []byte { return e.ResponseElements })},
	"additionalEventData": {str: topJSON(func(e *ingest.Event) []byte { return e.AdditionalEventData })},
	"serviceEventDetails": {str: topJSON(func(e *ingest.Event) []byte { return e.ServiceEventDetails })},
	"addendum":            {str: topJSON(func(e *ingest.Event) []byte { return e.Addendum })},
	"edgeDeviceDetails":   {str: topJSON(func(e *ingest.Event) []byte { return e.EdgeDeviceDetails })},
	"insightDetails":      {str: topJSON(func(e *ingest.Event) []byte { return e.InsightDetails })},
	"extraFields":         {str: topJSON(func(e *ingest.Event) []byte { return e.ExtraFields })},
	"source_bucket":       {str: topStr(func(e *ingest.Event) string { return e.SourceBucket })},
	"source_key":          {str: topStr(func(e *ingest.Event) string { return e.SourceKey })},
	"record_index":        {i64: func(e *ingest.Event) (int64, uint8) { return e.RecordIndex, 0 }},
}

// fileTemplate is what every file shares: the schema elements, column
// orders, format version and created-by of parquet-go's writer for
// ingest.Event, and the leaves in column order.
type fileTemplate struct {
	meta   format.FileMetaData
	leaves []leaf
}

var template = sync.OnceValues(buildTemplate)

func buildTemplate() (*fileTemplate, error) {
	// An empty file written by parquet-go holds the exact schema elements.
	var buf bytes.Buffer
	pw := parquet.NewGenericWriter[*ingest.Event](&buf, parquet.CreatedBy("trailscope", "0.1", ""))
	if err := pw.Close(); err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return nil, err
	}
	t := &fileTemplate{}
	md := pf.Metadata()
	t.meta.Version = md.Version
	t.meta.Schema = md.Schema
	t.meta.CreatedBy = md.CreatedBy
	t.meta.ColumnOrders = md.ColumnOrders
	blooms := map[string]bool{}
	for _, p := range bloomColumns {
		blooms[strings.Join(p, ".")] = true
	}
	for _, path := range eventSchema.Columns() {
		key := strings.Join(path, ".")
		l, ok := accessors[key]
		if !ok {
			return nil, fmt.Errorf("lake encoder: no accessor for column %s", key)
		}
		lc, _ := eventSchema.Lookup(path...)
		l.path = path
		switch {
		case l.i64 != nil:
			l.typ = format.Int64
		case l.bl != nil:
			l.typ = format.Boolean
		default:
			l.typ = format.ByteArray
		}
		l.maxDef, l.maxRep = lc.MaxDefinitionLevel, lc.MaxRepetitionLevel
		// The struct's `dict` tags choose the dictionary columns, as for
		// parquet-go's writer (so compaction can copy pages verbatim).
		enc := lc.Node.Encoding()
		l.dict = enc != nil && enc.Encoding() == format.RLEDictionary
		l.bloom = blooms[key]
		t.leaves = append(t.leaves, l)
	}
	if len(t.leaves) != len(accessors) {
		return nil, fmt.Errorf("lake encoder: %d accessors for %d columns", len(accessors), len(t.leaves))
	}
	if len(t.meta.ColumnOrders) != len(t.leaves) {
		t.meta.ColumnOrders = make([]format.ColumnOrder, len(t.leaves))
		for i := range t.meta.ColumnOrders {
			t.meta.ColumnOrders[i].Value = &format.TypeDefinedOrder{}
		}
	}
	return t, nil
}

// statBytes: byte-array minimums and maximums in statistics and the page
// index are cut to this length (a shorter minimum is still a lower bound;
// a cut maximum has its last byte raised, so it stays an upper bound).
const statBytes = 64

// eventWriter writes a Parquet file of events, a row group at a time.
// Its memory is small and does not grow with the row group: each column's
// pages are compressed as soon as they fill.
//
// Besides the data, each file carries what parquet-go's writer puts in
// its own files, so that compaction (parquet-go's merge) can cut sorted
// runs at page boundaries and copy whole column chunks without decoding
// them: page statistics, the page index (column and offset indexes),
// encoding statistics, and Bloom filters sized by the chunk's value count.
type eventWriter struct {
	fileOut
	t       *fileTemplate
	groups  []format.RowGroup
	indexes [][]chunkIndex // per row group, per column
	rows    int64
	cols    []colBuf
	scr     [2]scratch // one per encoding goroutine (see writeRowGroup)
}

// fileOut is a Parquet file being written, with its offset; the encoder
// and compaction's concatenation both write through it.
type fileOut struct {
	w     *bufio.Writer
	off   int64
	proto thrift.CompactProtocol
}

// start begins a file on w (reusing the buffer of an earlier one).
func (o *fileOut) start(w io.Writer) error {
	if o.w == nil {
		o.w = bufio.NewWriterSize(w, 256<<10)
	} else {
		o.w.Reset(w)
	}
	o.off = 0
	return o.write([]byte("PAR1"))
}

func (o *fileOut) Write(b []byte) (int, error) {
	n, err := o.w.Write(b)
	o.off += int64(n)
	return n, err
}

func (o *fileOut) write(b []byte) error {
	_, err := o.Write(b)
	return err
}

// finish writes the page indexes (every column index, then every offset
// index; a nil column index or an empty offset index is left out), then
// the footer fm, and flushes.
func (o *fileOut) finish(fm *format.FileMetaData, columnIndex func(g, i int) ([]byte, error), offsetIndex func(g, i int) *format.OffsetIndex) error {
	for g := range fm.RowGroups {
		for i := range fm.RowGroups[g].Columns {
			b, err := columnIndex(g, i)
			if err != nil {
				return err
			}
			c := &fm.RowGroups[g].Columns[i]
			c.ColumnIndexOffset, c.ColumnIndexLength = 0, 0
			if b == nil {
				continue
			}
			c.ColumnIndexOffset, c.ColumnIndexLength = o.off, int32(len(b))
			if err := o.write(b); err != nil {
				return err
			}
		}
	}
	for g := range fm.RowGroups {
		for i := range fm.RowGroups[g].Columns {
			c := &fm.RowGroups[g].Columns[i]
			c.OffsetIndexOffset, c.OffsetIndexLength = 0, 0
			oi := offsetIndex(g, i)
			if oi == nil || len(oi.PageLocations) == 0 {
				continue
			}
			b, err := thrift.Marshal(&o.proto, oi)
			if err != nil {
				return err
			}
			c.OffsetIndexOffset, c.OffsetIndexLength = o.off, int32(len(b))
			if err := o.write(b); err != nil {
				return err
			}
		}
	}
	b, err := thrift.Marshal(&o.proto, fm)
	if err != nil {
		return err
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(b)))
	b = append(b, "PAR1"...)
	if err := o.write(b); err != nil {
		return err
	}
	return o.w.Flush()
}

// scratch is one encoding goroutine's page buffers.
type scratch struct {
	levels []byte // a page's encoded levels
	vals   []byte // a page's values, before compression
	comp   []byte
	proto  thrift.CompactProtocol
}

// chunkIndex is a column chunk's page index.
type chunkIndex struct {
	ci format.ColumnIndex
	oi format.OffsetIndex
}

// colBuf is one leaf column's chunk of the row group being written,
// gathered row by row: its levels, the current page's values, and the
// pages already encoded. It holds no pointers into the events.
type colBuf struct {
	l          *leaf
	defs, reps []uint8 // the chunk's levels
	n          int     // the chunk's values (non-null)
	rows       int     // rows begun
	// The current page: byte arrays as lengths and bytes (DELTA_LENGTH_
	// BYTE_ARRAY), int64 PLAIN, booleans a byte each.
	plain   []byte
	lens    []int32
	pageLv  int    // level entry where the current page starts
	pageVi  int    // value where it starts
	pageRow int    // row where it starts
	pages   []byte // encoded pages (headers, levels, compressed values)
	uncomp  int64  // their uncompressed size, headers included
	index   chunkIndex
	nData   int                   // data pages
	md      format.ColumnMetaData // set by finish, offsets relative to the chunk
	dataOff int                   // where the data pages start in pages
	// Dictionary columns: the chunk's indices and distinct values (owned),
	// and where pages start (level entry, value, row).
	dict      map[string]int32
	dictVals  []string
	dictBytes int
	idx       []int32
	cuts      [][3]int
	pagePlain int // PLAIN size of the current page's values
	// Statistics of the current page and of the chunk; Bloom hashes.
	page, chunk bounds
	hashes      []uint64
}

// bounds are the least and greatest values seen (int64 and booleans in
// lo, hi; byte arrays in min, max).
type bounds struct {
	set      bool
	lo, hi   int64
	min, max []byte
}

func (b *bounds) int(v int64) {
	if !b.set {
		b.lo, b.hi, b.set = v, v, true
		return
	}
	b.lo, b.hi = min(b.lo, v), max(b.hi, v)
}

func (b *bounds) str(v string) {
	switch {
	case !b.set:
		b.min, b.max, b.set = append(b.min[:0], v...), append(b.max[:0], v...), true
	case v < view(b.min):
		b.min = append(b.min[:0], v...)
	case v > view(b.max):
		b.max = append(b.max[:0], v...)
	}
}

// widen makes b cover o.
func (b *bounds) widen(o *bounds, typ format.Type) {
	if !o.set {
		return
	}
	if typ != format.ByteArray {
		b.int(o.lo)
		b.int(o.hi)
		return
	}
	b.str(view(o.min))
	b.str(view(o.max))
}

// encode returns the bounds as Parquet statistics values.
func (b *bounds) encode(typ format.Type) (lo, hi []byte) {
	switch typ {
	case format.Int64:
		return binary.LittleEndian.AppendUint64(nil, uint64(b.lo)), binary.LittleEndian.AppendUint64(nil, uint64(b.hi))
	case format.Boolean:
		return []byte{byte(b.lo)}, []byte{byte(b.hi)}
	}
	return cutMin(b.min), cutMax(b.max)
}

func cutMin(v []byte) []byte { return bytes.Clone(v[:min(len(v), statBytes)]) }

func cutMax(v []byte) []byte {
	if len(v) <= statBytes {
		return bytes.Clone(v)
	}
	out := bytes.Clone(v[:statBytes])
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] < 0xff {
			out[i]++
			return out[:i+1]
		}
	}
	return bytes.Clone(v) // all 0xff: no shorter upper bound
}

// writers keeps eventWriters (and their buffers) for the next file.
var writers sync.Pool

// newEventWriter starts a file on w; release gives the writer back once
// the file is closed.
func newEventWriter(w io.Writer) (*eventWriter, error) {
	if ew, _ := writers.Get().(*eventWriter); ew != nil {
		ew.groups, ew.indexes, ew.rows = nil, nil, 0
		return ew, ew.start(w)
	}
	t, err := template()
	if err != nil {
		return nil, err
	}
	ew := &eventWriter{t: t, cols: make([]colBuf, len(t.leaves))}
	for i := range ew.cols {
		c := &ew.cols[i]
		c.l = &t.leaves[i]
		if c.l.dict {
			c.dict = map[string]int32{}
		}
	}
	return ew, ew.start(w)
}

func (ew *eventWriter) release() {
	ew.w.Reset(nil)
	writers.Put(ew)
}

// writeEvents writes rows as row groups of at most rowGroupRows rows.
func (ew *eventWriter) writeEvents(rows []*ingest.Event) error {
	for len(rows) > 0 {
		n := min(len(rows), rowGroupRows)
		if err := ew.writeRowGroup(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (ew *eventWriter) writeRowGroup(rows []*ingest.Event) error {
	if len(rows) == 0 {
		return nil
	}
	for i := range ew.cols {
		ew.cols[i].reset()
	}
	// Row by row (each event is read while it is in cache), the columns
	// shared among the encoders, each column a page at a time.
	encode := func(sc *scratch, cols []colBuf) {
		for _, e := range rows {
			for i := range cols {
				cols[i].add(sc, e)
			}
		}
		for i := range cols {
			cols[i].finish(sc)
		}
	}
	if len(rows) < 1024 {
		encode(&ew.scr[0], ew.cols)
	} else {
		// Two contiguous halves of the columns: each encoder reads its
		// own part of every event (top-level fields, then userIdentity
		// and the JSON documents).
		var wg sync.WaitGroup
		half := len(ew.cols) * 2 / 5
		wg.Go(func() { encode(&ew.scr[1], ew.cols[half:]) })
		encode(&ew.scr[0], ew.cols[:half])
		wg.Wait()
	}
	rg := format.RowGroup{NumRows: int64(len(rows)), FileOffset: ew.off, Ordinal: int16(len(ew.groups))}
	idx := make([]chunkIndex, len(ew.cols))
	for i := range ew.cols {
		c := &ew.cols[i]
		cc, err := ew.writeChunk(c)
		if err != nil {
			return fmt.Errorf("column %s: %w", strings.Join(c.l.path, "."), err)
		}
		rg.TotalByteSize += cc.MetaData.TotalUncompressedSize
		rg.TotalCompressedSize += cc.MetaData.TotalCompressedSize
		rg.Columns = append(rg.Columns, cc)
		idx[i] = c.index
	}
	// The Bloom filters follow the row group's column chunks. They are
	// sized by the chunk's value count, nulls included, as parquet-go's.
	for i := range ew.cols {
		c := &ew.cols[i]
		if !c.l.bloom || len(c.hashes) == 0 {
			continue
		}
		f := make(bloom.SplitBlockFilter, max(1, bloom.NumSplitBlocksOf(int64(len(c.defs)), 10)))
		f.InsertBulk(c.hashes)
		h := format.BloomFilterHeader{NumBytes: int32(len(f.Bytes()))}
		h.Algorithm.Value = &format.SplitBlockAlgorithm{}
		h.Hash.Value = &format.XxHash{}
		h.Compression.Value = &format.BloomFilterUncompressed{}
		hb, err := thrift.Marshal(&ew.proto, &h)
		if err != nil {
			return err
		}
		md := &rg.Columns[i].MetaData
		md.BloomFilterOffset = ew.off
		if err := ew.write(hb); err != nil {
			return err
		}
		if err := ew.write(f.Bytes()); err != nil {
			return err
		}
		md.BloomFilterLength = int32(ew.off - md.BloomFilterOffset)
	}
	ew.groups = append(ew.groups, rg)
	ew.indexes = append(ew.indexes, idx)
	ew.rows += int64(len(rows))
	return nil
}

func (c *colBuf) reset() {
	c.defs, c.reps, c.plain, c.lens, c.pages, c.idx, c.cuts, c.hashes = c.defs[:0], c.reps[:0], c.plain[:0], c.lens[:0], c.pages[:0], c.idx[:0], c.cuts[:0], c.hashes[:0]
	c.n, c.rows, c.pageLv, c.pageVi, c.pageRow, c.pagePlain, c.uncomp, c.nData = 0, 0, 0, 0, 0, 0, 0, 0
	c.page.set, c.chunk.set = false, false
	c.index = chunkIndex{} // kept by the row group's index: not reused
	if c.dict != nil {
		clear(c.dict)
		c.dictVals, c.dictBytes = c.dictVals[:0], 0
	}
}

// pageSize is the current page's size in values.
func (c *colBuf) pageSize() int { return len(c.plain) + 4*len(c.lens) }

// add appends one row's entries.
func (c *colBuf) add(sc *scratch, e *ingest.Event) {
	// A page ends at a row start once it holds pageBytes of values.
	if c.dict == nil {
		if c.pageSize() >= pageBytes {
			c.flushPage(sc, len(c.defs), c.n, c.rows)
		}
	} else if c.pagePlain >= pageBytes {
		// Cut by the values' PLAIN size, not the indices': readers
		// (parquet-go's merge among them) materialise a page's values.
		c.cuts = append(c.cuts, [3]int{len(c.defs), c.n, c.rows})
		c.pagePlain = 0
	}
	c.rows++
	l := c.l
	full := uint8(l.maxDef)
	switch {
	case l.res != nil:
		// resources: optional LIST of a required element group with
		// optional fields. An empty list is NULL, as parquet-go writes it.
		if len(e.Resources) == 0 {
			c.defs = append(c.defs, 0)
			c.reps = append(c.reps, 0)
			return
		}
		for j := range e.Resources {
			var rep uint8
			if j > 0 {
				rep = 1
			}
			c.reps = append(c.reps, rep)
			if v := l.res(&e.Resources[j]); v != "" {
				c.defs = append(c.defs, full)
				c.addString(v)
			} else {
				c.defs = append(c.defs, full-1)
			}
		}
	case l.str != nil:
		v, d := l.str(e)
		c.defs = append(c.defs, d)
		if d == full {
			c.addString(v)
		}
	case l.i64 != nil:
		v, d := l.i64(e)
		c.defs = append(c.defs, d)
		if d == full {
			c.plain = binary.LittleEndian.AppendUint64(c.plain, uint64(v))
			c.page.int(v)
			c.n++
		}
	case l.bl != nil:
		v, d := l.bl(e)
		c.defs = append(c.defs, d)
		if d == full {
			c.plain = append(c.plain, b2u(v))
			c.page.int(int64(b2u(v)))
			c.n++
		}
	}
}

func (c *colBuf) addString(v string) {
	c.n++
	if c.l.bloom {
		c.hashes = append(c.hashes, bloom.XXH64{}.Sum64(unsafe.Slice(unsafe.StringData(v), len(v))))
	}
	if c.dict != nil {
		// Most dictionary columns repeat the previous row's value (one
		// account, region, bucket, trail version...): check it first.
		if len(c.idx) > 0 && v == c.dictVals[c.idx[len(c.idx)-1]] {
			c.idx = append(c.idx, c.idx[len(c.idx)-1])
			c.pagePlain += 4 + len(v)
			return
		}
		id, ok := c.dict[v]
		if !ok {
			v = strings.Clone(v) // the map's keys stay in cache, not in the events
			id = int32(len(c.dictVals))
			c.dict[v] = id
			c.dictVals = append(c.dictVals, v)
			c.dictBytes += 4 + len(v)
		}
		c.idx = append(c.idx, id)
		c.pagePlain += 4 + len(v)
		return
	}
	c.lens = append(c.lens, int32(len(v)))
	c.plain = append(c.plain, v...)
	c.page.str(v)
}

// flushPage encodes the level entries from the page start to lv and the
// values to vi (the buffered values, or the dictionary indices) as a v2
// data page; row is the row the next page starts at.
func (c *colBuf) flushPage(sc *scratch, lv, vi, row int) {
	if lv == c.pageLv {
		return
	}
	l := c.l
	sc.levels = sc.levels[:0]
	repLen := 0
	if l.maxRep > 0 {
		sc.levels = appendHybrid(sc.levels, c.reps[c.pageLv:lv], uint(bits.Len8(uint8(l.maxRep))))
		repLen = len(sc.levels)
	}
	if l.maxDef > 0 {
		sc.levels = appendHybrid(sc.levels, c.defs[c.pageLv:lv], uint(bits.Len8(uint8(l.maxDef))))
	}
	vals := c.plain
	enc := format.Plain
	switch {
	case c.dict != nil && len(c.idx) > 0:
		enc = format.RLEDictionary
		width := max(1, uint(bits.Len32(uint32(len(c.dictVals)-1))))
		sc.vals = append(sc.vals[:0], byte(width))
		sc.vals = appendHybrid(sc.vals, c.idx[c.pageVi:vi], width)
		vals = sc.vals
		for _, id := range c.idx[c.pageVi:vi] {
			c.page.str(c.dictVals[id])
		}
	case l.typ == format.ByteArray:
		enc = format.DeltaLengthByteArray
		sc.vals = appendDeltaBinaryPacked(sc.vals[:0], c.lens)
		sc.vals = append(sc.vals, c.plain...)
		vals = sc.vals
	case l.typ == format.Boolean:
		sc.vals = sc.vals[:0]
		for i := 0; i < len(vals); i += 8 {
			var b byte
			for j := i; j < min(i+8, len(vals)); j++ {
				b |= vals[j] << (j - i)
			}
			sc.vals = append(sc.vals, b)
		}
		vals = sc.vals
	}
	dh := format.DataPageHeaderV2{
		NumValues: int32(lv - c.pageLv), NumNulls: int32((lv - c.pageLv) - (vi - c.pageVi)), NumRows: int32(row - c.pageRow),
		Encoding: enc, DefinitionLevelsByteLength: int32(len(sc.levels) - repLen), RepetitionLevelsByteLength: int32(repLen),
		IsCompressed: thrift.New(true),
	}
	// Page statistics and the page index let readers skip pages, and let
	// parquet-go's merge (compaction) cut sorted runs at pages.
	dh.Statistics.NullCount = int64(dh.NumNulls)
	ci := &c.index.ci
	ci.NullPages = append(ci.NullPages, !c.page.set)
	ci.NullCounts = append(ci.NullCounts, int64(dh.NumNulls))
	if c.page.set {
		dh.Statistics.MinValue, dh.Statistics.MaxValue = c.page.encode(l.typ)
		ci.MinValues = append(ci.MinValues, dh.Statistics.MinValue)
		ci.MaxValues = append(ci.MaxValues, dh.Statistics.MaxValue)
	} else {
		ci.MinValues = append(ci.MinValues, []byte{})
		ci.MaxValues = append(ci.MaxValues, []byte{})
	}
	c.chunk.widen(&c.page, l.typ)
	c.page.set = false
	c.index.oi.PageLocations = append(c.index.oi.PageLocations, format.PageLocation{
		Offset: int64(len(c.pages)), FirstRowIndex: int64(c.pageRow)})
	h := format.PageHeader{Type: format.DataPageV2}
	h.DataPageHeaderV2.Set(dh)
	c.appendPage(sc, &h, sc.levels, vals)
	loc := &c.index.oi.PageLocations[len(c.index.oi.PageLocations)-1]
	loc.CompressedPageSize = int32(int64(len(c.pages)) - loc.Offset)
	c.nData++
	c.pageLv, c.pageVi, c.pageRow, c.plain, c.lens = lv, vi, row, c.plain[:0], c.lens[:0]
}

// appendPage compresses vals and appends the page (header, levels,
// compressed values) to the chunk's pages.
func (c *colBuf) appendPage(sc *scratch, h *format.PageHeader, levels, vals []byte) {
	sc.comp, _ = zstdPages.Encode(sc.comp, vals)
	h.UncompressedPageSize = int32(len(levels) + len(vals))
	h.CompressedPageSize = int32(len(levels) + len(sc.comp))
	hb, _ := thrift.Marshal(&sc.proto, h) // a PageHeader always marshals
	c.uncomp += int64(len(hb)) + int64(h.UncompressedPageSize)
	c.pages = append(c.pages, hb...)
	c.pages = append(c.pages, levels...)
	c.pages = append(c.pages, sc.comp...)
}

// finish ends a column chunk's encoding (for a dictionary column: the
// dictionary page if it pays, then the data pages) and fills c.md, with
// offsets relative to the chunk.
func (c *colBuf) finish(sc *scratch) {
	l := c.l
	md := format.ColumnMetaData{Type: l.typ, PathInSchema: l.path, Codec: format.Zstd, NumValues: int64(len(c.defs))}
	md.Statistics.NullCount = int64(len(c.defs) - c.n)
	c.dataOff = 0
	enc := format.Plain
	if l.typ == format.ByteArray {
		enc = format.DeltaLengthByteArray
	}
	switch {
	case c.dict == nil || c.n == 0:
		c.flushPage(sc, len(c.defs), c.n, c.rows)
	case c.dictBytes*2 <= c.n*4+c.plainLen():
		// The dictionary pays: values repeat.
		enc = format.RLEDictionary
		sc.vals = sc.vals[:0]
		for _, v := range c.dictVals {
			sc.vals = appendPlainString(sc.vals, v)
		}
		h := format.PageHeader{Type: format.DictionaryPage}
		h.DictionaryPageHeader.Set(format.DictionaryPageHeader{NumValues: int32(len(c.dictVals)), Encoding: format.Plain})
		c.appendPage(sc, &h, nil, sc.vals)
		c.dataOff = len(c.pages)
		md.DictionaryPageOffset = 1 // made absolute by writeChunk
		md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DictionaryPage, Encoding: format.Plain, Count: 1})
		for _, cut := range append(c.cuts, [3]int{len(c.defs), c.n, c.rows}) {
			c.flushPage(sc, cut[0], cut[1], cut[2])
		}
	default:
		// Mostly distinct values: no dictionary, pages cut as for other
		// columns.
		c.undict(sc)
	}
	md.EncodingStats = append(md.EncodingStats, format.PageEncodingStats{PageType: format.DataPageV2, Encoding: enc, Count: int32(c.nData)})
	switch {
	case enc == format.RLEDictionary:
		md.Encoding = []format.Encoding{format.Plain, format.RLEDictionary}
	default:
		md.Encoding = []format.Encoding{enc}
	}
	if l.maxDef > 0 || l.maxRep > 0 {
		md.Encoding = append(md.Encoding, format.RLE)
	}
	if c.chunk.set {
		md.Statistics.MinValue, md.Statistics.MaxValue = c.chunk.encode(l.typ)
	}
	md.TotalUncompressedSize = c.uncomp
	md.TotalCompressedSize = int64(len(c.pages))
	c.index.ci.BoundaryOrder = c.boundaryOrder()
	c.md = md
}

// writeChunk writes a finished column chunk and returns its metadata.
func (ew *eventWriter) writeChunk(c *colBuf) (format.ColumnChunk, error) {
	start := ew.off
	md := c.md
	if md.DictionaryPageOffset != 0 {
		md.DictionaryPageOffset = start
	}
	md.DataPageOffset = start + int64(c.dataOff)
	for i := range c.index.oi.PageLocations {
		c.index.oi.PageLocations[i].Offset += start
	}
	if err := ew.write(c.pages); err != nil {
		return format.ColumnChunk{}, err
	}
	return format.ColumnChunk{FileOffset: start, MetaData: md}, nil
}

// boundaryOrder is ASCENDING when the pages' minimums and maximums never
// decrease (a sorted column, eventTime above all).
func (c *colBuf) boundaryOrder() format.BoundaryOrder {
	ci := &c.index.ci
	less := func(a, b []byte) bool {
		if c.l.typ == format.Int64 {
			return int64(binary.LittleEndian.Uint64(a)) < int64(binary.LittleEndian.Uint64(b))
		}
		return bytes.Compare(a, b) < 0
	}
	for i := 1; i < len(ci.NullPages); i++ {
		if ci.NullPages[i] || ci.NullPages[i-1] {
			return format.Unordered
		}
		if less(ci.MinValues[i], ci.MinValues[i-1]) || less(ci.MaxValues[i], ci.MaxValues[i-1]) {
			return format.Unordered
		}
	}
	return format.Ascending
}

// plainLen is the size the dictionary column's values would take PLAIN.
func (c *colBuf) plainLen() int {
	n := 0
	for _, id := range c.idx {
		n += len(c.dictVals[id])
	}
	return n
}

// undict writes a dictionary column's values without the dictionary.
func (c *colBuf) undict(sc *scratch) {
	idx := c.idx
	c.idx = nil // flushPage writes the buffered values
	defer func() { c.idx = idx[:0] }()
	c.pageLv, c.pageVi, c.pageRow, c.plain, c.lens = 0, 0, 0, c.plain[:0], c.lens[:0]
	full := uint8(c.l.maxDef)
	vi, row := 0, 0
	for lv, d := range c.defs {
		if c.l.maxRep == 0 || c.reps[lv] == 0 {
			if c.pageSize() >= pageBytes {
				c.flushPage(sc, lv, vi, row)
			}
			row++
		}
		if d == full {
			v := c.dictVals[idx[vi]]
			c.lens = append(c.lens, int32(len(v)))
			c.plain = append(c.plain, v...)
			c.page.str(v)
			vi++
		}
	}
	c.flushPage(sc, len(c.defs), vi, row)
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// close writes the page indexes (every column index, then every offset
// index) and the footer.
func (ew *eventWriter) close() error {
	fm := ew.t.meta
	fm.NumRows = ew.rows
	fm.RowGroups = ew.groups
	return ew.finish(&fm, func(g, i int) ([]byte, error) {
		return thrift.Marshal(&ew.proto, &ew.indexes[g][i].ci)
	}, func(g, i int) *format.OffsetIndex { return &ew.indexes[g][i].oi })
}

func appendPlainString(dst []byte, v string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

// appendHybrid appends vals in Parquet's RLE / bit-packing hybrid
// encoding with the given bit width (no length prefix): runs of 8 or more
// equal values as RLE runs, the rest bit-packed in groups of 8.
func appendHybrid[T uint8 | int32](dst []byte, vals []T, width uint) []byte {
	lit := 0 // start of the values not yet written
	i := 0
	for i < len(vals) {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		if j-i < 8 {
			i = j
			continue
		}
		// A bit-packed run holds a multiple of 8 values: the literals
		// before this run borrow from its start.
		if pad := (i - lit) % 8; pad != 0 {
			i += 8 - pad
		}
		if i > lit {
			dst = appendBitPacked(dst, vals[lit:i], width)
			lit = i
		}
		if j-i >= 8 {
			dst = binary.AppendUvarint(dst, uint64(j-i)<<1)
			v := uint32(vals[i])
			for b := uint(0); b < width; b += 8 {
				dst = append(dst, byte(v>>b))
			}
			lit = j
		}
		i = j
	}
	if lit < len(vals) {
		dst = appendBitPacked(dst, vals[lit:], width)
	}
	return dst
}

// appendBitPacked writes vals as one bit-packed run, padded with zeros to
// a multiple of 8 values.
func appendBitPacked[T uint8 | int32](dst []byte, vals []T, width uint) []byte {
	groups := (len(vals) + 7) / 8
	dst = binary.AppendUvarint(dst, uint64(groups)<<1|1)
	return packBits(dst, groups*8, width, func(k int) uint64 {
		if k < len(vals) {
			return uint64(uint32(vals[k]))
		}
		return 0
	})
}

// packBits appends n values of width bits, least significant bit first.
// width is at most 33 (deltas of int32s), so a value always fits beside
// the fewer than 8 bits still pending.
func packBits(dst []byte, n int, width uint, val func(int) uint64) []byte {
	var acc uint64
	var used uint
	for k := range n {
		v := val(k)
		acc |= v << used
		used += width
		for used >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			used -= 8
		}
	}
	if used > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

// appendDeltaBinaryPacked appends vals in the DELTA_BINARY_PACKED
// encoding: blocks of 128 deltas, 4 miniblocks of 32 each, every
// miniblock bit-packed at its own width above the block's least delta.
func appendDeltaBinaryPacked(dst []byte, vals []int32) []byte {
	const blockSize, miniblocks, miniSize = 128, 4, 32
	dst = binary.AppendUvarint(dst, blockSize)
	dst = binary.AppendUvarint(dst, miniblocks)
	dst = binary.AppendUvarint(dst, uint64(len(vals)))
	first := int64(0)
	if len(vals) > 0 {
		first = int64(vals[0])
	}
	dst = binary.AppendVarint(dst, first) // zigzag
	var deltas [blockSize]int64
	for start := 1; start < len(vals); start += blockSize {
		n := min(blockSize, len(vals)-start)
		minD := int64(1<<63 - 1)
		for i := range n {
			deltas[i] = int64(vals[start+i]) - int64(vals[start+i-1])
			minD = min(minD, deltas[i])
		}
		dst = binary.AppendVarint(dst, minD)
		var widths [miniblocks]uint
		for m := range miniblocks {
			var or uint64
			for i := m * miniSize; i < min(n, (m+1)*miniSize); i++ {
				or |= uint64(deltas[i] - minD)
			}
			widths[m] = uint(bits.Len64(or))
			dst = append(dst, byte(widths[m]))
		}
		for m := range miniblocks {
			if m*miniSize >= n {
				break // no body for miniblocks past the values
			}
			dst = packBits(dst, miniSize, widths[m], func(k int) uint64 {
				if i := m*miniSize + k; i < n {
					return uint64(deltas[i] - minD)
				}
				return 0
			})
		}
	}
	return dst
}
