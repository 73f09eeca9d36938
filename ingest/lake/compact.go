package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/parquet-go/parquet-go"

	"github.com/trailscope/trailscope/ingest"
)

// Compaction merges a partition's small files (one per ingest batch that
// touched the partition) into files of up to CompactOptions.TargetRows
// rows, sorted by eventTime. Fewer, larger files are what query engines
// read fastest: at 10 million events an uncompacted lake holds ~500 files
// of 20,000 rows, a compacted one ~35.
//
// A compaction is a batch like an ingest batch: its merged file is written
// under a temporary name, synced and renamed, then its manifest entry
// (kind "compact", listing the files it replaces) is committed, and only
// then are the replaced files deleted. A crash before the commit leaves an
// uncommitted file that the next Open deletes; a crash after it leaves
// replaced files that the next Open deletes; readers that list the lake
// through the manifest (trailscope query and detect) never see a row twice.

// CompactOptions configure Compact.
type CompactOptions struct {
	// TargetRows is the most rows a compacted file gets (default
	// 1,000,000, about 130 MB). Files with at least half as many rows are
	// left as they are.
	TargetRows int64
	// Partitions restricts compaction to these partition folders, relative
	// to the lake ("events/account=A/region=R/event_date=D"); nil means
	// every partition.
	Partitions []string
	// Crowded adds to Partitions every partition that holds at least four
	// files (what a killed run, or runs before it, left uncompacted).
	Crowded bool
	// Progress, if set, is called after each partition with the number of
	// partitions done and the total.
	Progress func(done, total int)
	// Parallel is how many partitions are merged at once (default: one
	// per core; a merge holds ~20 MB of heap and keeps one core busy).
	Parallel int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// CompactReport says what a compaction did.
type CompactReport struct {
	Partitions   int      `json:"partitions"`         // partitions examined
	FilesMerged  int      `json:"files_merged"`       // small files replaced
	FilesWritten int      `json:"files_written"`      // compacted files written
	Concatenated int      `json:"files_concatenated"` // of those, written by copying sorted runs whole
	Rows         int64    `json:"rows"`               // rows rewritten
	Foreign      []string `json:"foreign,omitempty"`
	Seconds      float64  `json:"seconds"`
}

// add sums o into r.
func (r *CompactReport) add(o *CompactReport) {
	r.Partitions += o.Partitions
	r.FilesMerged += o.FilesMerged
	r.FilesWritten += o.FilesWritten
	r.Concatenated += o.Concatenated
	r.Rows += o.Rows
	r.Foreign = append(r.Foreign, o.Foreign...)
	r.Seconds += o.Seconds
}

// DefaultCompactRows is CompactOptions.TargetRows' default.
const DefaultCompactRows = 1_000_000

// maxMergeFanIn bounds the files merged into one output: each open input
// holds a decompressed page of every column, so memory grows with it.
const maxMergeFanIn = 24

// minSmallFiles is how many small files a partition needs before it is
// compacted: a run that adds a file or two to a partition leaves them
// until more arrive.
const minSmallFiles = 4

// eventSchema is the schema this version writes. Files with another schema
// (written by another version) are never compacted: merging them through
// this schema could drop columns.
var eventSchema = parquet.SchemaOf(new(ingest.Event))

// sortOrder is the lake's row order within a file.
var sortOrder = parquet.SortingColumns(parquet.Ascending("eventTime"), parquet.Ascending("eventID"))

// Compact merges small files in the lake in dir. It takes the lake's lock,
// so it never runs beside an ingest of the same lake.
func Compact(ctx context.Context, dir string, opts CompactOptions) (*CompactReport, error) {
	unlock, err := lockLake(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	committed, replaced, err := readCommitted(dir)
	if err != nil {
		return nil, err
	}
	if err := recoverDir(eventsDir(dir), committed, replaced); err != nil {
		return nil, err
	}
	return compact(ctx, dir, opts)
}

// liveFiles returns the lake's committed, not replaced, Parquet files
// (paths relative to dir, slash-separated) grouped by partition folder.
func liveFiles(dir string) (map[string][]string, error) {
	ms, err := ReadManifests(dir)
	if err != nil {
		return nil, err
	}
	live, _ := LiveOutputs(ms)
	parts := map[string][]string{}
	for o := range live {
		parts[pathDir(o)] = append(parts[pathDir(o)], o)
	}
	return parts, nil
}

func pathDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func compact(ctx context.Context, dir string, opts CompactOptions) (*CompactReport, error) {
	if opts.TargetRows <= 0 {
		opts.TargetRows = DefaultCompactRows
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.GOMAXPROCS(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	start := opts.Now()
	rep := &CompactReport{}
	parts, err := liveFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("compact %s: %w", dir, err)
	}
	var names []string
	if opts.Partitions != nil {
		for _, p := range opts.Partitions {
			if _, ok := parts[filepath.ToSlash(p)]; ok {
				names = append(names, filepath.ToSlash(p))
			}
		}
		if opts.Crowded {
			for p, files := range parts {
				if len(files) >= minSmallFiles {
					names = append(names, p)
				}
			}
		}
	} else {
		for p := range parts {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	names = dedupSorted(names)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallel)
	for _, p := range names {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			prep := &CompactReport{}
			err := compactPartition(gctx, dir, parts[p], opts, prep)
			mu.Lock()
			defer mu.Unlock()
			rep.add(prep)
			if err != nil {
				return fmt.Errorf("compact %s: %w", p, err)
			}
			rep.Partitions++
			if opts.Progress != nil {
				opts.Progress(rep.Partitions, len(names))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rep, err
	}
	sort.Strings(rep.Foreign)
	rep.Seconds = opts.Now().Sub(start).Seconds()
	return rep, nil
}

func dedupSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

type smallFile struct {
	rel  string
	rows int64
}

// compactPartition merges the small files of one partition, in groups of
// at most TargetRows rows, each group committed on its own.
func compactPartition(ctx context.Context, dir string, files []string, opts CompactOptions, rep *CompactReport) error {
	var small []smallFile
	for _, rel := range files {
		rows, same, err := fileInfo(filepath.Join(dir, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed by hand
		}
		if err != nil {
			return err
		}
		if !same {
			rep.Foreign = append(rep.Foreign, rel)
			continue
		}
		if rows < opts.TargetRows/2 {
			small = append(small, smallFile{rel, rows})
		}
	}
	small = tiered(small)
	if len(small) < minSmallFiles {
		return nil
	}
	sort.Slice(small, func(i, j int) bool { return small[i].rel < small[j].rel }) // batch names sort by time
	var group []smallFile
	var rows int64
	flush := func() error {
		defer func() { group, rows = nil, 0 }()
		if len(group) < 2 {
			return nil
		}
		return mergeGroup(ctx, dir, group, opts.Now, rep)
	}
	for _, f := range small {
		if len(group) > 0 && (rows+f.rows > opts.TargetRows || len(group) == maxMergeFanIn) {
			if err := flush(); err != nil {
				return err
			}
		}
		group = append(group, f)
		rows += f.rows
	}
	return flush()
}

// tiered drops from the candidates, largest first, each file larger than
// all the remaining ones together (size-tiered merging, as in an LSM tree):
// a partition that grows by small increments (hourly runs) rewrites its
// big file only once as much new data has come, so each row is rewritten
// O(log n) times, not once per run.
func tiered(small []smallFile) []smallFile {
	sort.Slice(small, func(i, j int) bool { return small[i].rows < small[j].rows })
	var sum int64
	for _, f := range small {
		sum += f.rows
	}
	for len(small) > 1 {
		last := small[len(small)-1].rows
		if last <= sum-last {
			break
		}
		sum -= last
		small = small[:len(small)-1]
	}
	return small
}

// fileInfo returns a Parquet file's row count and whether its schema is
// the one this version writes.
func fileInfo(path string) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return pf.NumRows(), parquet.EqualNodes(pf.Schema(), eventSchema), nil
}

// mergeGroup writes one sorted file from the group, commits it, and
// deletes the files it replaces.
func mergeGroup(ctx context.Context, dir string, group []smallFile, now func() time.Time, rep *CompactReport) error {
	var rgs []parquet.RowGroup
	var files []*os.File
	var pfs []*parquet.File
	var want int64
	for _, g := range group {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(g.rel)))
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
		if err != nil {
			return fmt.Errorf("%s: %w", g.rel, err)
		}
		rgs = append(rgs, pf.RowGroups()...)
		files = append(files, f)
		pfs = append(pfs, pf)
		want += pf.NumRows()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Sorted runs that do not overlap (the usual case: see holdBack) are
	// concatenated a column chunk at a time; others are merged row by row.
	runs, disjoint := concatOrder(files, pfs)
	var merged parquet.RowGroup
	if !disjoint {
		var err error
		if merged, err = parquet.MergeRowGroups(rgs, eventSchema, parquet.SortingRowGroupConfig(sortOrder)); err != nil {
			return err
		}
	}
	name := newBatchName(now(), "c")
	rel := pathDir(group[0].rel) + "/part-" + name + ".parquet"
	path := filepath.Join(dir, filepath.FromSlash(rel))
	err := writeFileSynced(path, func(f *os.File) error {
		if disjoint {
			if err := writeConcat(f, runs); err != nil {
				return err
			}
		} else {
			opts := append([]parquet.WriterOption{eventSchema, parquet.SortingWriterConfig(sortOrder)}, writerOptions()...)
			pw := parquet.NewWriter(f, opts...)
			if _, err := pw.WriteRowGroup(merged); err != nil {
				return err
			}
			if err := pw.Close(); err != nil {
				return err
			}
		}
		// Check the result before it replaces anything.
		st, err := f.Stat()
		if err != nil {
			return err
		}
		out, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true))
		if err != nil {
			return fmt.Errorf("reading back: %w", err)
		}
		if out.NumRows() != want {
			return fmt.Errorf("merged file holds %d rows, want %d", out.NumRows(), want)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	m := Manifest{Batch: name, Kind: "compact", Committed: now().UTC(), Files: []ManifestEntry{}, Outputs: []string{rel}}
	for _, g := range group {
		m.Replaces = append(m.Replaces, g.rel)
	}
	body, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(manifestDir(dir), name+".json"), body); err != nil {
		os.Remove(path)
		return fmt.Errorf("commit compaction %s: %w", name, err)
	}
	for _, g := range group {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(g.rel))); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	ingest.SyncDir(filepath.Dir(path))
	rep.FilesMerged += len(group)
	rep.FilesWritten++
	if disjoint {
		rep.Concatenated++
	}
	rep.Rows += want
	return nil
}

// readCommitted returns the names of committed batches and the files
// compactions replaced (relative, slash-separated).
func readCommitted(dir string) (map[string]bool, map[string]bool, error) {
	ms, err := ReadManifests(dir)
	if err != nil {
		return nil, nil, err
	}
	_, replaced := LiveOutputs(ms)
	return committedBatches(ms), replaced, nil
}

// relTo returns p relative to dir, slash-separated.
func relTo(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}
