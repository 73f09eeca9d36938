package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trailscope/trailscope/ingest/keyname"
)

// Options configure Run. The zero value is usable.
type Options struct {
	Prefix string // listing prefix inside the source (from s3://bucket/PREFIX)
	Range  Range
	// Workers is how many objects are fetched and decoded at once
	// (default 2 × GOMAXPROCS).
	Workers              int
	MaxRecordBytes       int   // cap on one record (default DefaultMaxRecordBytes)
	MaxDecompressedBytes int64 // cap on one object's inflated size (default DefaultMaxDecompressedBytes)
	// Retries is how often an object whose read failed with a transient
	// error (connection reset, body cut short, throttling) is fetched
	// again from the start (default 4). Partial reads are never used.
	Retries int
	// Shard and Shards split the objects between independent runs: this
	// run takes the keys whose hash modulo Shards is Shard.
	Shard, Shards int
	// Listener gets progress facts. Its methods are called from several
	// goroutines.
	Listener Listener
	// Tee, if set, is given each object's uncompressed bytes as they are
	// decoded (one read serves ingest and integrity). It is called from
	// worker goroutines; the returned writer is used by one goroutine.
	Tee func(obj Object) io.Writer
	// Observe, if set, is called once per read of an object, from a
	// worker goroutine, and the observer it returns sees every record of
	// that read (streaming detection) and then Done. Done(true) means the
	// object's records are used; Done(false) that the read failed (a retry
	// gets a new observer), so anything derived from it must be dropped.
	Observe func(obj Object) FileObserver
}

// FileObserver sees the records of one read of one object, in order, from
// one goroutine. raw is valid only during the call.
type FileObserver interface {
	Record(raw []byte, ev *Event)
	Done(ok bool)
}

// Validate lists every problem at once.
func (o Options) Validate() error {
	var errs []error
	if err := o.Range.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Workers < 0 || o.Retries < 0 || o.MaxRecordBytes < 0 || o.MaxDecompressedBytes < 0 {
		errs = append(errs, errors.New("workers, retries and size caps must not be negative"))
	}
	if o.Shards < 0 || (o.Shards > 0 && (o.Shard < 0 || o.Shard >= o.Shards)) {
		errs = append(errs, fmt.Errorf("shard %d/%d: want 0 <= shard < shards", o.Shard, o.Shards))
	}
	return errors.Join(errs...)
}

func (o *Options) defaults() {
	if o.Workers == 0 {
		o.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.MaxDecompressedBytes == 0 {
		o.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	if o.Retries == 0 {
		o.Retries = 4
	}
}

// Listener receives progress facts from Run. Any method may be nil-safe
// no-ops; NopListener implements all.
type Listener interface {
	FileDone(f FileResult)
	Bytes(n int64)
}

// NopListener ignores everything.
type NopListener struct{}

// FileDone does nothing.
func (NopListener) FileDone(FileResult) {}

// Bytes does nothing.
func (NopListener) Bytes(int64) {}

// FileStatus is what happened to one object.
type FileStatus string

// File statuses.
const (
	FileIngested FileStatus = "ingested" // decoded; its events reached the sink
	FileSkipped  FileStatus = "skipped"  // not ingested on purpose (already in the lake, digest, other shard)
	FileFailed   FileStatus = "failed"   // could not be read or decoded; none of its events were used
)

// FileResult is the outcome for one object.
type FileResult struct {
	Object   Object     `json:"object"`
	Status   FileStatus `json:"status"`
	Reason   string     `json:"reason,omitempty"` // why skipped or failed
	Format   Format     `json:"-"`
	Records  int64      `json:"records"`  // records seen in the file
	Rejected int64      `json:"rejected"` // malformed records (or all records of a failed file)
	// RecordErrors holds up to maxRecordErrors of the rejected records' errors.
	RecordErrors []string `json:"record_errors,omitempty"`
	Attempts     int      `json:"attempts"`
	SHA256       string   `json:"-"`
	Err          error    `json:"-"`
	// Transient is true when the failure may go away on a later run
	// (access denied, throttling, network); such files are not recorded
	// as failed in the lake's manifest.
	Transient bool `json:"transient,omitempty"`
}

const maxRecordErrors = 5

// Sink consumes decoded files. Run calls its methods from one goroutine.
type Sink interface {
	// Done reports whether obj was already consumed (incremental runs).
	Done(obj Object) bool
	// Write takes the events of one file (all of them, in file order) and
	// its result; it must account for every event as written, duplicate
	// or rejected. Failed and skipped files come with no events.
	Write(ctx context.Context, f FileResult, events []Event) error
}

// FileError names an object and why it could not be used.
type FileError struct {
	Op  string
	Key string
	Err error
}

func (e *FileError) Error() string { return e.Op + " " + e.Key + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Run lists src, fetches and decodes every selected object with bounded
// concurrency, and hands each completed file to sink. A problem with one
// object never stops the run: it is reported in that object's FileResult.
// Run returns an error only if listing fails or the sink fails, or ctx is
// cancelled.
func Run(ctx context.Context, src Source, sink Sink, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	opts.defaults()
	if opts.Listener == nil {
		opts.Listener = NopListener{}
	}
	g, ctx := errgroup.WithContext(ctx)
	objs := make(chan Object, 256)
	results := make(chan fileOut, 2)

	g.Go(func() error {
		defer close(objs)
		for p, err := range Prefixes(ctx, src, opts.Prefix, opts.Range) {
			if err != nil {
				return err
			}
			for o, err := range src.List(ctx, p, "") {
				if err != nil {
					if _, ok := src.(*FileSource); ok {
						// A named file that cannot be read is that file's failure.
						select {
						case objs <- Object{Key: o.Key, Size: -1}:
						case <-ctx.Done():
							return ctx.Err()
						}
						continue
					}
					return err
				}
				select {
				case objs <- o:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	})

	var workers errgroup.Group
	for range opts.Workers {
		workers.Go(func() error {
			d := &Decoder{}
			for o := range objs {
				out := process(ctx, src, sink, o, d, &opts)
				select {
				case results <- out:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		err := workers.Wait()
		close(results)
		return err
	})
	g.Go(func() error {
		for r := range results {
			if err := sink.Write(ctx, r.res, r.events); err != nil {
				return err
			}
			opts.Listener.FileDone(r.res)
		}
		return nil
	})
	return g.Wait()
}

type fileOut struct {
	res    FileResult
	events []Event
}

func shardOf(key string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

// process decides, fetches and decodes one object.
func process(ctx context.Context, src Source, sink Sink, o Object, d *Decoder, opts *Options) fileOut {
	res := FileResult{Object: o}
	if o.Size < 0 { // a named file that could not be listed
		o.Size = 0
		res.Object = o
		res.Status, res.Reason = FileFailed, "cannot stat file"
		_, _, err := src.Open(ctx, o.Key)
		res.Err = &FileError{Op: "open", Key: o.Key, Err: err}
		res.Reason = res.Err.Error()
		return fileOut{res: res}
	}
	if o.Bucket == "" {
		o.Bucket = src.Bucket()
		res.Object = o
	}
	if opts.Shards > 1 && shardOf(o.Key, opts.Shards) != opts.Shard {
		res.Status, res.Reason = FileSkipped, "other shard"
		return fileOut{res: res}
	}
	if k, err := keyname.Parse(o.Key); err == nil {
		switch k.Kind {
		case keyname.Digest:
			res.Status, res.Reason = FileSkipped, "digest file"
			return fileOut{res: res}
		case keyname.Insight:
			res.Status, res.Reason = FileSkipped, "CloudTrail Insights file"
			return fileOut{res: res}
		}
		if !opts.Range.Contains(k) {
			res.Status, res.Reason = FileSkipped, "outside the range"
			return fileOut{res: res}
		}
	}
	if sink.Done(o) {
		res.Status, res.Reason = FileSkipped, "already in the lake"
		return fileOut{res: res}
	}
	var events []Event
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		var err error
		events, err = decodeObject(ctx, src, &res, d, opts)
		if err == nil {
			res.Status = FileIngested
			return fileOut{res: res, events: events}
		}
		if ctx.Err() != nil || !transient(err) || attempt > opts.Retries {
			res.Status = FileFailed
			res.Err = err
			res.Reason = err.Error()
			res.Transient = transient(err) || isAccessError(err)
			res.Rejected = res.Records
			return fileOut{res: res}
		}
		select {
		case <-time.After(backoff(attempt)):
		case <-ctx.Done():
		}
	}
}

func backoff(attempt int) time.Duration {
	d := time.Duration(50<<min(attempt, 6)) * time.Millisecond
	return d/2 + time.Duration(time.Now().UnixNano()%int64(d/2+1))
}

// transient reports whether a fresh read may succeed.
func transient(err error) bool {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotCloudTrail) || errors.Is(err, ErrTooLarge) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var code interface{ ErrorCode() string }
	if errors.As(err, &code) {
		switch code.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable", "RequestTimeTooSkewed":
			return true
		}
	}
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) && hs.HTTPStatusCode() >= 500 {
		return true
	}
	return false
}

func isAccessError(err error) bool {
	var code interface{ ErrorCode() string }
	if errors.As(err, &code) {
		switch code.ErrorCode() {
		case "AccessDenied", "InvalidObjectState", "KMS.AccessDeniedException", "AccessDeniedException", "NoSuchKey":
			return true
		}
	}
	return errors.Is(err, syscall.EACCES)
}

// countingReader counts bytes read from the store and remembers a read
// error of the store itself, so that a body cut short by the network is
// told apart from a corrupt object.
type countingReader struct {
	r   io.Reader
	n   *atomic.Int64
	err *error
	eof *bool
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if err == io.EOF {
		*c.eof = true
	} else if err != nil && *c.err == nil {
		*c.err = err
	}
	return n, err
}

// decodeObject reads one object completely. Records become usable only if
// the whole stream (gzip trailer included) is good.
func decodeObject(ctx context.Context, src Source, res *FileResult, d *Decoder, opts *Options) ([]Event, error) {
	res.Records, res.Rejected, res.RecordErrors = 0, 0, nil
	key := res.Object.Key
	body, obj, err := src.Open(ctx, key)
	if err != nil {
		return nil, &FileError{Op: "open", Key: key, Err: err}
	}
	defer body.Close()
	if obj.ETag != "" {
		res.Object.ETag = obj.ETag
	}
	if obj.VersionID != "" {
		res.Object.VersionID = obj.VersionID
	}
	var read atomic.Int64
	var srcErr error
	var srcEOF bool
	// fail prefers the store's own error (a transient network problem) to
	// what the decoder made of the bytes that did arrive, and a short
	// body to a decode error.
	fail := func(op string, err error) error {
		if srcErr != nil {
			return &FileError{Op: "read", Key: key, Err: srcErr}
		}
		if want := res.Object.Size; srcEOF && want > 0 && read.Load() < want {
			return &FileError{Op: "read", Key: key, Err: fmt.Errorf("%w: got %d of %d bytes", io.ErrUnexpectedEOF, read.Load(), want)}
		}
		return &FileError{Op: op, Key: key, Err: err}
	}
	plain, err := plainReader(countingReader{body, &read, &srcErr, &srcEOF}, opts.MaxDecompressedBytes)
	if err != nil {
		return nil, fail("decode", err)
	}
	if opts.Tee != nil {
		if w := opts.Tee(res.Object); w != nil {
			plain = io.TeeReader(plain, w)
		}
	}
	d.Reset(plain, opts.MaxRecordBytes)
	var events []Event
	defer func() { opts.Listener.Bytes(read.Load()) }()
	var obs FileObserver
	if opts.Observe != nil {
		obs = opts.Observe(res.Object)
	}
	ok := false
	defer func() {
		if obs != nil {
			obs.Done(ok)
		}
	}()
	for {
		raw, err := d.Next()
		if err == io.EOF {
			break
		}
		var re *RecordError
		if errors.As(err, &re) {
			res.Records++
			res.Rejected++
			if len(res.RecordErrors) < maxRecordErrors {
				res.RecordErrors = append(res.RecordErrors, re.Error())
			}
			continue
		}
		if err != nil {
			return nil, fail("decode", err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Records++
		events = append(events, Event{})
		ev := &events[len(events)-1]
		if err := ParseEvent(raw, ev); err != nil {
			events = events[:len(events)-1]
			res.Rejected++
			if len(res.RecordErrors) < maxRecordErrors {
				res.RecordErrors = append(res.RecordErrors, fmt.Sprintf("record %d: %v", res.Records-1, err))
			}
			continue
		}
		ev.SourceBucket = res.Object.Bucket
		ev.SourceKey = key
		ev.RecordIndex = res.Records - 1
		if obs != nil {
			obs.Record(raw, ev)
		}
	}
	res.Format = d.Format()
	if res.Records == 0 && d.Format() == FormatUnknown {
		return nil, &FileError{Op: "decode", Key: key, Err: fmt.Errorf("%w: no records", ErrNotCloudTrail)}
	}
	ok = true
	return events, nil
}

// CountSink is a Sink that keeps nothing: it counts files and events, for
// runs that only observe the stream (detection or verification without a
// lake). Done is always false.
type CountSink struct {
	Files, Failed, Skipped int64
	Events, Rejected       int64
	Failures               []FileResult
}

// Done reports false: every object is read.
func (c *CountSink) Done(Object) bool { return false }

// Write counts one file.
func (c *CountSink) Write(_ context.Context, f FileResult, events []Event) error {
	c.Files++
	switch f.Status {
	case FileFailed:
		c.Failed++
		c.Rejected += f.Records
		if len(c.Failures) < 1000 {
			c.Failures = append(c.Failures, f)
		}
	case FileSkipped:
		c.Skipped++
	default:
		c.Events += int64(len(events))
		c.Rejected += f.Rejected
	}
	return nil
}
