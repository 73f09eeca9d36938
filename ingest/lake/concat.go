package lake

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// This file is compaction's fast path. A partition's batch files are
// sorted runs that, thanks to the writer's hold-back, do not overlap in
// time; then the merged file is their row groups one after the other,
// and it is written by copying each column chunk, Bloom filter and column
// index byte for byte, moving the offsets the footer and the offset index
// hold. Nothing is decoded or compressed again.

// runGroup is one input row group for concatenation.
type runGroup struct {
	file   *os.File
	rg     format.RowGroup
	lo, hi int64 // eventTime bounds (milliseconds)
}

// concatOrder returns the row groups of the files in eventTime order if
// each holds no null eventTime and each one's times come strictly after
// the previous one's, or, within a file, not before (rows are sorted
// within a file, so the row groups, concatenated in that order, are
// sorted). ok is false otherwise.
func concatOrder(files []*os.File, pfs []*parquet.File) (order []runGroup, ok bool) {
	lc, _ := eventSchema.Lookup("eventTime")
	col := lc.ColumnIndex
	for i, pf := range pfs {
		for _, rg := range pf.Metadata().RowGroups {
			if rg.NumRows == 0 {
				continue
			}
			if col >= len(rg.Columns) {
				return nil, false
			}
			md := rg.Columns[col].MetaData
			st := md.Statistics
			if st.NullCount != 0 || len(st.MinValue) != 8 || len(st.MaxValue) != 8 || rg.NumRows > rowGroupRows {
				return nil, false
			}
			for _, c := range rg.Columns {
				// A Bloom filter whose length is not recorded cannot be
				// copied; nor can encrypted or externally stored chunks.
				if c.FilePath != "" || c.CryptoMetadata.Value != nil || (c.MetaData.BloomFilterOffset != 0 && c.MetaData.BloomFilterLength <= 0) {
					return nil, false
				}
			}
			order = append(order, runGroup{file: files[i], rg: rg,
				lo: int64(binary.LittleEndian.Uint64(st.MinValue)), hi: int64(binary.LittleEndian.Uint64(st.MaxValue))})
		}
	}
	// Stable: a file's row groups keep their order (they may share an
	// eventTime where the writer cut them; the file is sorted).
	slices.SortStableFunc(order, func(a, b runGroup) int { return cmpInt(a.lo, b.lo) })
	for i := 1; i < len(order); i++ {
		sameFile := order[i].file == order[i-1].file
		if order[i].lo < order[i-1].hi || (order[i].lo == order[i-1].hi && !sameFile) {
			return nil, false
		}
	}
	return order, len(order) > 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeConcat writes the row groups, in order, as one file on w.
func writeConcat(w io.Writer, order []runGroup) error {
	t, err := template()
	if err != nil {
		return err
	}
	var out fileOut
	if err := out.start(w); err != nil {
		return err
	}
	copyRange := func(f *os.File, off, n int64) error {
		_, err := io.Copy(&out, io.NewSectionReader(f, off, n))
		return err
	}
	fm := t.meta
	var ci [][][]byte // per row group, per column: the column index, verbatim
	var oi [][]format.OffsetIndex
	for g, in := range order {
		rg := in.rg
		rg.Columns = slices.Clone(rg.Columns)
		rg.Ordinal = int16(g)
		rg.FileOffset = out.off
		rg.TotalCompressedSize = 0
		var cis [][]byte
		var ois []format.OffsetIndex
		for i := range rg.Columns {
			c := &rg.Columns[i]
			md := &c.MetaData
			start := md.DataPageOffset
			if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
				start = md.DictionaryPageOffset
			}
			delta := out.off - start
			if err := copyRange(in.file, start, md.TotalCompressedSize); err != nil {
				return err
			}
			rg.TotalCompressedSize += md.TotalCompressedSize
			c.FileOffset = start + delta
			md.DataPageOffset += delta
			if md.DictionaryPageOffset > 0 {
				md.DictionaryPageOffset += delta
			}
			md.IndexPageOffset = 0
			var idx []byte
			if c.ColumnIndexOffset > 0 && c.ColumnIndexLength > 0 {
				idx = make([]byte, c.ColumnIndexLength)
				if _, err := in.file.ReadAt(idx, c.ColumnIndexOffset); err != nil {
					return fmt.Errorf("column index: %w", err)
				}
			}
			cis = append(cis, idx)
			var o format.OffsetIndex
			if c.OffsetIndexOffset > 0 && c.OffsetIndexLength > 0 {
				b := make([]byte, c.OffsetIndexLength)
				if _, err := in.file.ReadAt(b, c.OffsetIndexOffset); err != nil {
					return fmt.Errorf("offset index: %w", err)
				}
				if err := thrift.Unmarshal(&out.proto, b, &o); err != nil {
					return fmt.Errorf("offset index: %w", err)
				}
				for k := range o.PageLocations {
					o.PageLocations[k].Offset += delta
				}
			}
			ois = append(ois, o)
		}
		for i := range rg.Columns {
			md := &rg.Columns[i].MetaData
			if md.BloomFilterOffset == 0 {
				continue
			}
			from := md.BloomFilterOffset
			md.BloomFilterOffset = out.off
			if err := copyRange(in.file, from, int64(md.BloomFilterLength)); err != nil {
				return err
			}
		}
		fm.RowGroups = append(fm.RowGroups, rg)
		fm.NumRows += rg.NumRows
		ci = append(ci, cis)
		oi = append(oi, ois)
	}
	return out.finish(&fm, func(g, i int) ([]byte, error) { return ci[g][i], nil },
		func(g, i int) *format.OffsetIndex { return &oi[g][i] })
}
