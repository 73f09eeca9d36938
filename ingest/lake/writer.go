package lake

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// Options configure a Writer.
type Options struct {
	// BatchEvents is how many events are gathered before a batch is
	// committed (default 20,000). Larger batches make fewer, larger files
	// and use more memory.
	BatchEvents int
	// Shard names this writer's shard in batch names when ingest is
	// sharded ("" for none), so shards never collide.
	Shard string
	// RetryFailed makes objects recorded as failed (corrupt, not
	// CloudTrail) eligible again even if unchanged.
	RetryFailed bool
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Compact, if set, merges the small files of the partitions this run
	// wrote when the writer closes (see Compact).
	Compact bool
	// CompactRows is CompactOptions.TargetRows for that compaction.
	CompactRows int64
	// CompactProgress is CompactOptions.Progress for that compaction.
	CompactProgress func(done, total int)
}

// ErrLocked is returned (wrapped) when another process holds the lake.
var ErrLocked = errors.New("lake locked")

// Writer is the ingest.Sink that writes the lake.
type Writer struct {
	dir      string
	opts     Options
	doneMu   sync.RWMutex        // Done is called by the pipeline's workers
	done     map[uint64]objState // committed objects by key hash
	seen     *seenSets
	batch    *batch
	inflight *inflight // the batch being committed in the background, if any
	report   Report
	started  time.Time
	unlock   func()
	// lastTouch: the partition folders this run wrote, each with the
	// batch count when it was last written; compacted: the batch count
	// when a partition was last handed to a background compaction.
	lastTouch map[string]int64
	compacted map[string]int64
	bg        *bgCompaction
}

// bgCompaction is a compaction of quiet partitions running while ingest
// goes on (at most one at a time).
type bgCompaction struct {
	done   chan struct{}
	cancel context.CancelFunc
	rep    *CompactReport
	err    error
}

// quietBatches: a partition no batch wrote for this many batches is
// compacted in the background. Listings come in key order (account,
// region, day), so the partitions of a folder the run has moved past get
// no more rows; if one does, the later file is merged at the end.
const quietBatches = 3

// inflight is a batch committed by a background goroutine while the
// next one fills. At most one is in flight.
type inflight struct {
	done    chan struct{}
	files   []ManifestEntry
	written int64
	outputs []string
	err     error
}

type objState struct {
	tag    uint64 // hash of etag and size
	failed bool
}

// Report is the outcome of an ingest run. Its event counts balance:
// EventsIn = EventsWritten + EventsDuplicate + EventsRejected.
type Report struct {
	Lake            string           `json:"lake"`
	FilesTotal      int64            `json:"files_total"`
	FilesIngested   int64            `json:"files_ingested"`
	FilesSkipped    int64            `json:"files_skipped"`
	FilesFailed     int64            `json:"files_failed"`
	EventsIn        int64            `json:"events_in"`
	EventsWritten   int64            `json:"events_written"`
	EventsDuplicate int64            `json:"events_duplicate"`
	EventsRejected  int64            `json:"events_rejected"`
	ParquetFiles    int64            `json:"parquet_files"`
	Batches         int64            `json:"batches"`
	Compaction      *CompactReport   `json:"compaction,omitempty"`
	CompactionError string           `json:"compaction_error,omitempty"` // the lake is complete; `lake compact` can finish the job
	SkipReasons     map[string]int64 `json:"skip_reasons,omitempty"`
	Failures        []Failure        `json:"failures"`
	FailuresOmitted int64            `json:"failures_omitted,omitempty"`
	Duration        time.Duration    `json:"-"`
	Seconds         float64          `json:"seconds"`
}

// Failure names an object (or a record in it) that could not be used.
type Failure struct {
	Bucket   string `json:"bucket,omitempty"`
	Key      string `json:"key"`
	Kind     string `json:"kind"` // "file" or "record"
	Error    string `json:"error"`
	Rejected int64  `json:"events_rejected"`
}

// Balanced reports whether every event is accounted for.
func (r *Report) Balanced() bool {
	return r.EventsIn == r.EventsWritten+r.EventsDuplicate+r.EventsRejected
}

const maxFailures = 1000

// Open opens (or creates) the lake in dir, removing whatever an
// interrupted run left uncommitted, and loads the manifest.
func Open(ctx context.Context, dir string, opts Options) (*Writer, error) {
	if opts.BatchEvents <= 0 {
		opts.BatchEvents = 20_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for _, d := range []string{eventsDir(dir), manifestDir(dir), seenDir(dir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open lake: %w", err)
		}
	}
	// Fail now, with the cause, if nothing can be written (read-only
	// mount, permissions), rather than after reading the first batch.
	probe := filepath.Join(dir, "_state", ".write-probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		return nil, fmt.Errorf("lake %s is not writable: %w", dir, err)
	}
	os.Remove(probe)
	unlock, err := lockLake(dir)
	if err != nil {
		return nil, err
	}
	w := &Writer{dir: dir, opts: opts, done: map[uint64]objState{}, started: opts.Now(), unlock: unlock,
		lastTouch: map[string]int64{}, compacted: map[string]int64{}}
	w.report.Lake = dir
	w.report.SkipReasons = map[string]int64{}
	w.report.Failures = []Failure{}
	committed, replaced, err := w.loadManifest()
	if err == nil {
		err = recoverDir(eventsDir(dir), committed, replaced)
	}
	if err == nil {
		err = recoverDir(seenDir(dir), committed, nil)
	}
	if err != nil {
		unlock()
		return nil, err
	}
	w.seen = newSeenSets(seenDir(dir))
	w.batch = newBatch()
	return w, nil
}

func eventsDir(dir string) string   { return filepath.Join(dir, "events") }
func manifestDir(dir string) string { return filepath.Join(dir, "_state", "manifest") }
func seenDir(dir string) string     { return filepath.Join(dir, "_state", "seen") }

// ManifestEntry is one source object in a committed batch.
type ManifestEntry struct {
	Bucket       string    `json:"bucket,omitempty"`
	Key          string    `json:"key"`
	ETag         string    `json:"etag,omitempty"`
	VersionID    string    `json:"version_id,omitempty"`
	Size         int64     `json:"size"`
	LastModified time.Time `json:"last_modified,omitzero"`
	Status       string    `json:"status"` // ingested | failed
	Error        string    `json:"error,omitempty"`
	Events       int64     `json:"events"`
	Written      int64     `json:"written"`
	Duplicates   int64     `json:"duplicates"`
	Rejected     int64     `json:"rejected"`
}

// Manifest is the commit record of one batch: an ingest batch (Kind "")
// or a compaction (Kind "compact", which reads no source object and
// replaces the files it lists in Replaces by its Outputs).
type Manifest struct {
	Batch     string          `json:"batch"`
	Kind      string          `json:"kind,omitempty"`
	Committed time.Time       `json:"committed"`
	Files     []ManifestEntry `json:"files"`
	Outputs   []string        `json:"outputs"`            // parquet files, relative to the lake
	Replaces  []string        `json:"replaces,omitempty"` // files a compaction replaced
}

func objKey(bucket, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()
}

func objTag(etag string, size int64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(etag))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(size))
	h.Write(b[:])
	return h.Sum64()
}

// loadManifest reads every committed batch (after deleting manifest temp
// files a crash left) and returns their names and the files compactions
// replaced.
func (w *Writer) loadManifest() (map[string]bool, map[string]bool, error) {
	tmps, _ := filepath.Glob(filepath.Join(manifestDir(w.dir), "*.tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
	ms, err := ReadManifests(w.dir)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range ms {
		for _, f := range m.Files {
			w.done[objKey(f.Bucket, f.Key)] = objState{tag: objTag(f.ETag, f.Size), failed: f.Status != "ingested"}
		}
	}
	_, replaced := LiveOutputs(ms)
	return committedBatches(ms), replaced, nil
}

// ReadManifests reads the manifest of every committed batch of the lake in
// dir, in file name order. A lake without a manifest folder gives an
// error wrapping fs.ErrNotExist.
func ReadManifests(dir string) ([]*Manifest, error) {
	ents, err := os.ReadDir(manifestDir(dir))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var ms []*Manifest
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		m, err := ReadManifest(filepath.Join(manifestDir(dir), e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// LiveOutputs returns the Parquet files (relative to the lake,
// slash-separated) the manifests commit and no compaction replaced, and
// the replaced ones.
func LiveOutputs(ms []*Manifest) (live, replaced map[string]bool) {
	live, replaced = map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		for _, o := range m.Outputs {
			live[o] = true
		}
		for _, r := range m.Replaces {
			replaced[r] = true
		}
	}
	for r := range replaced {
		delete(live, r)
	}
	return live, replaced
}

// committedBatches returns the names of the manifests' batches.
func committedBatches(ms []*Manifest) map[string]bool {
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[m.Batch] = true
	}
	return out
}

// ReadManifest reads one batch's manifest file.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return &m, nil
}

// batchOf extracts the batch name from "part-BATCH.parquet",
// "part-BATCH.1.parquet" (a partition's second half, as versions before
// 2026-11-23 wrote them) or "BATCH.ids".
func batchOf(name string) string {
	name = strings.TrimSuffix(name, ".tmp")
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".parquet"), ".ids")
	name = strings.TrimSuffix(name, ".1")
	return strings.TrimPrefix(name, "part-")
}

// sortEvents puts a partition's rows in the lake's order: eventTime, then
// eventID.
func sortEvents(rows []*ingest.Event) {
	slices.SortStableFunc(rows, func(x, y *ingest.Event) int {
		if c := x.EventTime.Compare(y.EventTime); c != 0 {
			return c
		}
		return strings.Compare(x.EventID, y.EventID)
	})
}

// recoverDir deletes files of uncommitted batches, temp files, and files
// a committed compaction replaced (relative to the lake, slash-separated).
func recoverDir(root string, committed, replaced map[string]bool) error {
	lake := filepath.Dir(root)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.HasSuffix(name, ".tmp") || !committed[batchOf(name)] || replaced[relTo(lake, p)] {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("recover lake: %w", err)
			}
		}
		return nil
	})
}

// Done reports whether obj was committed before (same ETag and size),
// unless it failed and RetryFailed is set.
func (w *Writer) Done(obj ingest.Object) bool {
	w.doneMu.RLock()
	st, ok := w.done[objKey(obj.Bucket, obj.Key)]
	w.doneMu.RUnlock()
	if !ok || st.tag != objTag(obj.ETag, obj.Size) {
		return false
	}
	return !(st.failed && w.opts.RetryFailed)
}

type partKey struct{ account, region, date string }

// batch gathers the rows of whole source objects, per partition.
type batch struct {
	parts  map[partKey][]*ingest.Event
	files  []ManifestEntry
	events int
	// horizon: per account/region folder, the latest delivery time (from
	// the key name) of the batch's objects.
	horizon map[string]time.Time
}

func newBatch() *batch {
	return &batch{parts: map[partKey][]*ingest.Event{}, horizon: map[string]time.Time{}}
}

// partitionOf picks the partition values, safe as folder names.
func partitionOf(ev *ingest.Event, key keyname.Key) partKey {
	p := partKey{account: "unknown", region: "unknown", date: "unknown"}
	switch {
	case keyname.IsAccount(ev.RecipientAccountID):
		p.account = ev.RecipientAccountID
	case keyname.IsAccount(key.Account):
		p.account = key.Account
	case ev.UserIdentity != nil && keyname.IsAccount(ev.UserIdentity.AccountID):
		p.account = ev.UserIdentity.AccountID
	}
	switch {
	case keyname.IsRegion(ev.AWSRegion):
		p.region = ev.AWSRegion
	case keyname.IsRegion(key.Region):
		p.region = key.Region
	}
	if !ev.EventTime.IsZero() {
		p.date = ev.EventTime.UTC().Format("2006-01-02")
	}
	return p
}

// eventHash is the identity used for de-duplication.
func eventHash(ev *ingest.Event) uint64 {
	h := fnv.New64a()
	if ev.EventID != "" {
		h.Write([]byte("id:"))
		h.Write([]byte(ev.EventID))
		return h.Sum64()
	}
	// No eventID (old records): the event's content identifies it.
	b, _ := json.Marshal(struct {
		*ingest.Event
		SourceBucket, SourceKey, RecordIndex struct{} `json:"-"`
	}{Event: ev})
	h.Write([]byte("raw:"))
	h.Write(b)
	return h.Sum64()
}

// Write takes one file's result and events.
func (w *Writer) Write(ctx context.Context, f ingest.FileResult, events []ingest.Event) error {
	w.report.FilesTotal++
	switch f.Status {
	case ingest.FileSkipped:
		w.report.FilesSkipped++
		w.report.SkipReasons[f.Reason]++
		return nil
	case ingest.FileFailed:
		w.report.FilesFailed++
		w.report.EventsIn += f.Records
		w.report.EventsRejected += f.Records
		w.addFailure(Failure{Bucket: f.Object.Bucket, Key: f.Object.Key, Kind: "file", Error: f.Reason, Rejected: f.Records})
		if !f.Transient {
			// Record it so unchanged bad objects are not retried forever.
			w.batch.files = append(w.batch.files, entryOf(f, "failed", 0, 0))
		}
		return nil
	}
	w.report.FilesIngested++
	w.report.EventsIn += f.Records
	w.report.EventsRejected += f.Rejected
	for _, e := range f.RecordErrors {
		w.addFailure(Failure{Bucket: f.Object.Bucket, Key: f.Object.Key, Kind: "record", Error: e, Rejected: 1})
	}
	if int64(len(f.RecordErrors)) < f.Rejected {
		w.report.FailuresOmitted += f.Rejected - int64(len(f.RecordErrors))
	}
	k, _ := keyname.Parse(f.Object.Key)
	if k.Kind == keyname.Log && !k.Time.IsZero() {
		folder := k.Account + "/" + k.Region
		if k.Time.After(w.batch.horizon[folder]) {
			w.batch.horizon[folder] = k.Time
		}
	}
	var written, dups int64
	for i := range events {
		ev := &events[i]
		p := partitionOf(ev, k)
		isNew, err := w.seen.add(p.date, eventHash(ev))
		if err != nil {
			return err
		}
		if !isNew {
			dups++
			continue
		}
		w.batch.parts[p] = append(w.batch.parts[p], ev)
		written++
	}
	w.batch.events += int(written)
	w.report.EventsDuplicate += dups
	e := entryOf(f, "ingested", written, dups)
	w.batch.files = append(w.batch.files, e)
	if w.batch.events >= w.opts.BatchEvents {
		return w.commit(ctx, false)
	}
	return nil
}

func entryOf(f ingest.FileResult, status string, written, dups int64) ManifestEntry {
	return ManifestEntry{Bucket: f.Object.Bucket, Key: f.Object.Key, ETag: f.Object.ETag, VersionID: f.Object.VersionID,
		Size: f.Object.Size, LastModified: f.Object.LastModified, Status: status, Error: f.Reason,
		Events: f.Records, Written: written, Duplicates: dups, Rejected: f.Records - written - dups}
}

func (w *Writer) addFailure(f Failure) {
	if len(w.report.Failures) >= maxFailures {
		w.report.FailuresOmitted++
		return
	}
	w.report.Failures = append(w.report.Failures, f)
}

func newBatchName(now time.Time, shard string) string {
	var r [4]byte
	rand.Read(r[:])
	name := now.UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(r[:])
	if shard != "" {
		name += "-s" + shard
	}
	return strings.ReplaceAll(name, ".", "")
}

// commit hands the pending batch to a background goroutine (after the
// previous one finished) so decoding goes on while Parquet is written.
func (w *Writer) commit(ctx context.Context, final bool) error {
	if err := w.wait(); err != nil {
		return err
	}
	w.compactQuiet(ctx)
	b := w.batch
	if len(b.files) == 0 {
		return nil
	}
	w.batch = newBatch()
	var carried map[string][]uint64
	if !final {
		carried = w.holdBack(b, w.batch)
		if len(b.files) == 0 && len(b.parts) == 0 {
			return nil // everything waits for the next batch
		}
	}
	frozen := w.seen.freezeExcept(carried)
	name := newBatchName(w.opts.Now(), w.opts.Shard)
	in := &inflight{done: make(chan struct{}), files: b.files}
	w.inflight = in
	// The batch outlives the call (and the pipeline's context, which ends
	// with the run); a cancelled run still finishes or abandons it cleanly.
	bctx := context.WithoutCancel(ctx)
	go func() {
		defer close(in.done)
		in.written, in.outputs, in.err = writeBatch(bctx, w.dir, name, b, frozen, w.opts.Now)
	}()
	return nil
}

// holdWindow is how far before a folder's latest delivery the rows of a
// batch are held for the next one. CloudTrail delivers an event within
// minutes (15 at most, in the documentation), so the objects listed next
// (later deliveries of the same folder) hold no event older than this:
// consecutive batch files of a partition then do not overlap in time,
// and compaction merges them as sorted runs, a page at a time, instead
// of row by row.
const holdWindow = 30 * time.Minute

// holdBack moves into next the rows of b that later objects could precede
// in time: those within holdWindow of their folder's latest delivery in b.
// The objects those rows come from move with them (they are committed
// with the batch that writes their last rows); the rows of theirs written
// now are duplicates to a re-run after a crash, never lost or written
// twice. It returns the carried rows' identities, per event date, which
// stay pending in the seen sets until their batch commits. Carried rows
// count toward the next batch's size, so memory does not grow; nothing is
// carried when that would leave the batch less than a quarter of its rows
// to write (a very busy folder: compaction merges the overlap instead).
func (w *Writer) holdBack(b, next *batch) map[string][]uint64 {
	cuts := map[partKey]time.Time{}
	total := 0
	for p, rows := range b.parts {
		wm, ok := b.horizon[p.account+"/"+p.region]
		if !ok {
			continue
		}
		cut := wm.Add(-holdWindow)
		n := 0
		for _, r := range rows {
			if !r.EventTime.Before(cut) {
				n++
			}
		}
		if n > 0 {
			cuts[p] = cut
			total += n
		}
	}
	if total == 0 || total > w.opts.BatchEvents*3/4 {
		return nil
	}
	held := map[uint64]bool{}
	carried := map[string][]uint64{}
	for p, cut := range cuts {
		rows := b.parts[p]
		kept := 0
		for _, r := range rows {
			if r.EventTime.Before(cut) {
				rows[kept] = r
				kept++
				continue
			}
			next.parts[p] = append(next.parts[p], r)
			held[objKey(r.SourceBucket, r.SourceKey)] = true
			carried[p.date] = append(carried[p.date], eventHash(r))
		}
		if kept == 0 {
			delete(b.parts, p)
		} else {
			b.parts[p] = rows[:kept]
		}
	}
	files := b.files[:0]
	for _, f := range b.files {
		if f.Status == "ingested" && held[objKey(f.Bucket, f.Key)] {
			next.files = append(next.files, f)
		} else {
			files = append(files, f)
		}
	}
	b.files = files
	b.events -= total
	next.events += total
	return carried
}

// wait waits for the batch in flight and accounts for it.
func (w *Writer) wait() error {
	in := w.inflight
	if in == nil {
		return nil
	}
	<-in.done
	w.inflight = nil
	if in.err != nil {
		w.seen.unfreeze()
		return in.err
	}
	w.seen.thaw()
	w.doneMu.Lock()
	for _, f := range in.files {
		w.done[objKey(f.Bucket, f.Key)] = objState{tag: objTag(f.ETag, f.Size), failed: f.Status != "ingested"}
	}
	w.doneMu.Unlock()
	w.report.EventsWritten += in.written
	w.report.ParquetFiles += int64(len(in.outputs))
	w.report.Batches++
	for _, o := range in.outputs {
		w.lastTouch[pathDir(o)] = w.report.Batches
	}
	return nil
}

// compactQuiet starts a background compaction of the partitions no batch
// wrote for quietBatches batches, if none is running: it uses the CPU
// that decoding and writing leave idle, so less is left for Close.
func (w *Writer) compactQuiet(ctx context.Context) {
	if !w.opts.Compact || !w.collect(false) {
		return
	}
	var parts []string
	for p, b := range w.lastTouch {
		if w.report.Batches-b >= quietBatches && w.compacted[p] < b {
			parts = append(parts, p)
			w.compacted[p] = b
		}
	}
	if len(parts) == 0 {
		return
	}
	sort.Strings(parts)
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	bg := &bgCompaction{done: make(chan struct{}), cancel: cancel}
	w.bg = bg
	go func() {
		defer close(bg.done)
		bg.rep, bg.err = compact(bctx, w.dir, CompactOptions{TargetRows: w.opts.CompactRows, Partitions: parts, Parallel: 1, Now: w.opts.Now})
	}()
}

// collect adds a finished background compaction to the report (waiting
// for it if wait); false if it is still running.
func (w *Writer) collect(wait bool) bool {
	bg := w.bg
	if bg == nil {
		return true
	}
	if wait {
		<-bg.done
	} else {
		select {
		case <-bg.done:
		default:
			return false
		}
	}
	w.bg = nil
	bg.cancel()
	w.addCompaction(bg.rep, bg.err)
	return true
}

func (w *Writer) addCompaction(rep *CompactReport, err error) {
	if err != nil && w.report.CompactionError == "" {
		w.report.CompactionError = err.Error()
	}
	if rep == nil {
		return
	}
	if w.report.Compaction == nil {
		w.report.Compaction = &CompactReport{}
	}
	w.report.Compaction.add(rep)
}

// writeBatch writes one batch's Parquet files, its seen-ID files and, last,
// its manifest (the commit point). It touches no Writer state.
func writeBatch(ctx context.Context, dir, name string, b *batch, frozen map[string][]uint64, now func() time.Time) (int64, []string, error) {
	m := Manifest{Batch: name, Files: b.files, Outputs: []string{}}
	keys := make([]partKey, 0, len(b.parts))
	for k := range b.parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, c := keys[i], keys[j]
		return a.account+"/"+a.region+"/"+a.date < c.account+"/"+c.region+"/"+c.date
	})
	// Each partition is sorted by eventTime, then written; two files are
	// written at a time, and each file's columns are encoded by two
	// goroutines (a batch is usually one partition: listings come in
	// account, region, day order).
	outputs := make([]string, len(keys))
	var g errgroup.Group
	g.SetLimit(2)
	for i, k := range keys {
		rel := filepath.Join("events", "account="+k.account, "region="+k.region, "event_date="+k.date, "part-"+name+".parquet")
		rows := b.parts[k]
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			sortEvents(rows)
			if err := writeParquet(filepath.Join(dir, rel), rows); err != nil {
				return fmt.Errorf("write %s: %w", rel, err)
			}
			outputs[i] = filepath.ToSlash(rel)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, nil, err
	}
	var written int64
	for _, k := range keys {
		written += int64(len(b.parts[k]))
	}
	m.Outputs = append(m.Outputs, outputs...)
	if err := writeIDs(seenDir(dir), name, frozen); err != nil {
		return 0, nil, err
	}
	m.Committed = now().UTC()
	body, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return 0, nil, err
	}
	if err := writeAtomic(filepath.Join(manifestDir(dir), name+".json"), body); err != nil {
		return 0, nil, fmt.Errorf("commit batch %s: %w", name, err)
	}
	return written, m.Outputs, nil
}

// Close commits what is pending, compacts the partitions the run wrote
// and any holding many files (Options.Compact), releases the lake and
// returns the run's report.
func (w *Writer) Close(ctx context.Context) (*Report, error) {
	defer w.release()
	err := w.commit(ctx, true)
	if werr := w.wait(); err == nil {
		err = werr
	}
	w.collect(true)
	if err == nil && w.opts.Compact {
		parts := make([]string, 0, len(w.lastTouch))
		for p := range w.lastTouch { // the partitions this run wrote
			parts = append(parts, p)
		}
		// Every batch is committed: a failed (or interrupted) compaction
		// leaves a complete lake, so it is reported, not fatal.
		w.addCompaction(compact(ctx, w.dir, CompactOptions{TargetRows: w.opts.CompactRows, Partitions: parts, Crowded: true, Progress: w.opts.CompactProgress, Now: w.opts.Now}))
	}
	w.report.Duration = w.opts.Now().Sub(w.started)
	w.report.Seconds = w.report.Duration.Seconds()
	if err == nil && !w.report.Balanced() {
		err = fmt.Errorf("internal error: events do not balance: in %d != written %d + duplicate %d + rejected %d",
			w.report.EventsIn, w.report.EventsWritten, w.report.EventsDuplicate, w.report.EventsRejected)
	}
	return &w.report, err
}

// Abort drops the pending batch (nothing of it reaches the lake) and
// returns the report of what was committed. Events of the dropped batch
// are not counted as written; a re-run reads their objects again.
func (w *Writer) Abort() *Report {
	defer w.release()
	if w.bg != nil {
		w.bg.cancel() // a compaction not committed yet leaves nothing behind
		w.collect(true)
	}
	w.wait() // a batch already in flight may still commit; its files are then done
	w.seen.abort()
	w.batch = newBatch()
	w.report.Duration = w.opts.Now().Sub(w.started)
	w.report.Seconds = w.report.Duration.Seconds()
	return &w.report
}

// release drops the lake's lock (once).
func (w *Writer) release() {
	if w.unlock != nil {
		w.unlock()
		w.unlock = nil
	}
}

// rowGroupRows bounds a row group, and so the writer's memory.
const rowGroupRows = 16384

// bloomColumns get split-block Bloom filters (10 bits a value, ~1% false
// positives): the columns responders look up one value of — an event, a
// request, an access key, a principal, an IP. Their values are random, so
// min/max statistics cannot prune; DuckDB, Athena, Trino and Spark skip a
// row group whose filter rules the value out.
var bloomColumns = [][]string{
	{"eventID"}, {"requestID"}, {"sourceIPAddress"},
	{"userIdentity", "accessKeyId"}, {"userIdentity", "arn"},
}

func writerOptions() []parquet.WriterOption {
	blooms := make([]parquet.BloomFilterColumn, len(bloomColumns))
	for i, c := range bloomColumns {
		blooms[i] = parquet.SplitBlockFilter(10, c...)
	}
	return []parquet.WriterOption{
		parquet.Compression(zstdPages),
		parquet.PageBufferSize(pageBytes),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.CreatedBy("trailscope", "0.1", ""),
		parquet.BloomFilters(blooms...),
	}
}

func writeParquet(path string, rows []*ingest.Event) error {
	return writeFileSynced(path, func(f *os.File) error {
		ew, err := newEventWriter(f)
		if err != nil {
			return err
		}
		defer ew.release()
		if err := ew.writeEvents(rows); err != nil {
			return err
		}
		return ew.close()
	})
}

// writeFileSynced creates path through fill: a temp name, fsync, rename,
// and an fsync of the folder, so the file is durable before the manifest
// entry that commits it.
var writeFileSynced = ingest.CreateFileAtomic

// writeAtomic is ingest.WriteFileAtomic: temp name, fsync, rename, and a
// folder fsync so the new name is durable.
var writeAtomic = ingest.WriteFileAtomic
