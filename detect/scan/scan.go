// Package scan is the one-pass investigation behind `trailscope scan`:
// one read of each object serves integrity verification (its bytes are
// hashed as they are decoded), ingest into the lake, and streaming
// detection; then it lays everything on the coverage map and builds the
// report. It composes the other packages and re-implements none of them.
package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/detect/report"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/keyname"
	"github.com/trailscope/trailscope/ingest/lake"
)

// Verdict is one file's integrity result.
type Verdict struct {
	Kind            string // digest or log
	Key             string
	Account, Region string
	Status          string // valid, invalid, missing, unverified, unreferenced, error
	Reason          string
	// For digests: the delivery window they cover and how many logs they list.
	Start, End time.Time
	Logs       int
}

// Verifier is what scan needs of integrity verification. A Verifier may
// also have Complete(key string, ok bool), called when ingest finished
// reading an object (ok: completely), so that it uses only whole hashes.
type Verifier interface {
	// Tee returns a writer for the uncompressed bytes of a log object as
	// ingest decodes them, or nil. It is called from worker goroutines.
	Tee(obj ingest.Object) io.Writer
	// Finish reads the digests and returns every file's verdict, using the
	// hashes the tees computed (and reading any log that was not teed).
	Finish(ctx context.Context) ([]Verdict, error)
}

// Options configure a scan.
type Options struct {
	Prefix   string
	Range    ingest.Range
	Lake     string
	LakeOpts lake.Options
	Engine   *detect.Engine
	// Verifier may be nil (no public keys): the report says "not verified".
	Verifier Verifier
	Listener ingest.Listener
	// Suppress is applied to the findings.
	Suppress *detect.Suppressions
	// OpenDB opens the lake in DuckDB; used when an earlier run already
	// ingested part of the source, so detection covers the whole lake.
	OpenDB func(ctx context.Context, lakeDir string) (DB, error)
}

// DB is the part of *sql.DB RunSQL needs, plus Close.
type DB = detect.DB

// Result is the outcome of a scan.
type Result struct {
	Report      *report.Report
	Ingest      *lake.Report
	ObjectsRead int64 // GETs of log objects during the pass
}

// Run scans src.
func Run(ctx context.Context, src ingest.Source, opts Options) (*Result, error) {
	if opts.Engine == nil {
		return nil, errors.New("scan: no detection engine")
	}
	w, err := lake.Open(ctx, opts.Lake, opts.LakeOpts)
	if err != nil {
		return nil, err
	}
	stream := opts.Engine.NewStream()
	col := &collector{inner: opts.Listener}
	var reads atomic.Int64
	completer, _ := opts.Verifier.(interface{ Complete(key string, ok bool) })
	iopts := ingest.Options{Prefix: opts.Prefix, Range: opts.Range, Listener: col,
		Observe: func(obj ingest.Object) ingest.FileObserver {
			reads.Add(1)
			m := multiObs{stream.Observe(obj), col.observe(obj)}
			if completer != nil {
				m = append(m, doneFunc(func(ok bool) { completer.Complete(obj.Key, ok) }))
			}
			return m
		}}
	if opts.Verifier != nil {
		iopts.Tee = opts.Verifier.Tee
	}
	if err := ingest.Run(ctx, src, w, iopts); err != nil {
		w.Abort()
		return nil, fmt.Errorf("scan: %w", err)
	}
	irep, err := w.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	res := &Result{Ingest: irep, ObjectsRead: reads.Load()}
	var verdicts []Verdict
	if opts.Verifier != nil {
		if verdicts, err = opts.Verifier.Finish(ctx); err != nil {
			return nil, fmt.Errorf("scan: verify: %w", err)
		}
	}
	var findings []detect.Finding
	if irep.SkipReasons["already in the lake"] > 0 && opts.OpenDB != nil {
		// A resumed scan: part of the source was ingested by an earlier run
		// and not read now, so detection runs over the whole lake.
		db, err := opts.OpenDB(ctx, opts.Lake)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		if findings, err = opts.Engine.RunSQL(ctx, db, "events"); err != nil {
			return nil, err
		}
	} else if findings, err = stream.Findings(); err != nil {
		return nil, err
	}
	opts.Suppress.Apply(findings)
	res.Report = build(src.String(), opts.Lake, col, verdicts, opts.Verifier != nil, findings, irep)
	res.Report.ObjectsRead = res.ObjectsRead
	return res, nil
}

// collector keeps what the coverage map needs: every log file and every
// logging start/stop.
type collector struct {
	inner   ingest.Listener
	mu      sync.Mutex
	logs    []report.LogFile
	changes []report.LoggingChange
}

func (c *collector) FileDone(f ingest.FileResult) {
	if c.inner != nil {
		c.inner.FileDone(f)
	}
	k, err := keyname.Parse(f.Object.Key)
	if err != nil || k.Kind != keyname.Log {
		return
	}
	c.mu.Lock()
	c.logs = append(c.logs, report.LogFile{Account: k.Account, Region: k.Region, Delivered: k.Time, Key: f.Object.Key})
	c.mu.Unlock()
}

func (c *collector) Bytes(n int64) {
	if c.inner != nil {
		c.inner.Bytes(n)
	}
}

var loggingEvents = map[string]bool{"StopLogging": true, "DeleteTrail": true, "StartLogging": false, "CreateTrail": false}

func (c *collector) observe(obj ingest.Object) ingest.FileObserver {
	return &changeObs{c: c}
}

type changeObs struct {
	c       *collector
	changes []report.LoggingChange
}

func (o *changeObs) Record(raw []byte, ev *ingest.Event) {
	stopped, ok := loggingEvents[ev.EventName]
	if !ok || ev.ErrorCode != "" || ev.EventSource != "cloudtrail.amazonaws.com" {
		return
	}
	o.changes = append(o.changes, report.LoggingChange{Account: ev.RecipientAccountID, Region: ev.AWSRegion, Time: ev.EventTime,
		Stopped: stopped, EventID: ev.EventID, Trail: trailName(ev.RequestParameters)})
}

func (o *changeObs) Done(ok bool) {
	if ok && len(o.changes) > 0 {
		o.c.mu.Lock()
		o.c.changes = append(o.c.changes, o.changes...)
		o.c.mu.Unlock()
	}
}

// trailName is the trail a CloudTrail call names: requestParameters.name,
// a name or an ARN (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME).
func trailName(params []byte) string {
	var p struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(params, &p) != nil {
		return ""
	}
	if i := strings.LastIndex(p.Name, ":trail/"); i >= 0 {
		return p.Name[i+len(":trail/"):]
	}
	return p.Name
}

// doneFunc is an observer that only wants to know how a read ended.
type doneFunc func(ok bool)

func (d doneFunc) Record([]byte, *ingest.Event) {}
func (d doneFunc) Done(ok bool)                 { d(ok) }

type multiObs []ingest.FileObserver

func (m multiObs) Record(raw []byte, ev *ingest.Event) {
	for _, o := range m {
		o.Record(raw, ev)
	}
}

func (m multiObs) Done(ok bool) {
	for _, o := range m {
		o.Done(ok)
	}
}

// build assembles the report.
func build(source, lakeDir string, col *collector, verdicts []Verdict, verified bool, findings []detect.Finding, irep *lake.Report) *report.Report {
	r := &report.Report{Source: source, Lake: lakeDir, Generated: time.Now().UTC(), Verified: verified,
		Integrity: map[string]int{}, Findings: findings}
	logs := col.logs
	status := map[string]string{}
	var digests []report.DigestHour
	for _, v := range verdicts {
		r.Integrity[v.Status]++
		if v.Status != "valid" {
			r.Problems = append(r.Problems, report.IntegrityFile{Kind: v.Kind, Key: v.Key, Status: v.Status, Reason: v.Reason})
		}
		if v.Kind == "digest" {
			dh := report.DigestHour{Account: v.Account, Region: v.Region, Start: v.Start, End: v.End, Status: v.Status, Logs: v.Logs}
			if k, err := keyname.Parse(v.Key); err == nil {
				dh.Trail, dh.OrgID = k.Trail, k.OrgID
			}
			digests = append(digests, dh)
			continue
		}
		status[v.Key] = v.Status
		if v.Status == "missing" { // a deleted log is not in the listing
			if k, err := keyname.Parse(v.Key); err == nil {
				logs = append(logs, report.LogFile{Account: k.Account, Region: k.Region, Delivered: k.Time, Key: v.Key})
			}
		}
	}
	for i := range logs {
		logs[i].Status = status[logs[i].Key]
	}
	r.Coverage = report.BuildCoverage(logs, digests, col.changes, time.Time{}, time.Time{})
	r.Ingest = map[string]any{"files_total": irep.FilesTotal, "files_ingested": irep.FilesIngested, "files_skipped": irep.FilesSkipped,
		"files_failed": irep.FilesFailed, "events_in": irep.EventsIn, "events_written": irep.EventsWritten,
		"events_duplicate": irep.EventsDuplicate, "events_rejected": irep.EventsRejected}
	r.Finish()
	return r
}
