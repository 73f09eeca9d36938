package integrity

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// How the engine walks a range (see Stream):
//
// Delivery time is cut into windows (a UTC day by default). Each step
// lists one window's day folders, checks its digests (links to the
// previous digest of each chain are checked with the state carried from
// the step before), adds the logs the digests list, and then settles
// every log delivered more than settleLag before the window's end: by
// then every digest that can list it has been read (CloudTrail lists a
// log in the digest of the hour it was delivered in). A valid digest is
// emitted once all the logs it lists are settled. What is carried from
// step to step is per chain (the previous digest's hash and signature,
// the newest digest time), plus the files of about one window: memory
// depends on a window's files, not on the range's length.
const (
	// settleLag: a log is settled when the engine has read the digests of
	// its delivery time plus this: CloudTrail lists a log in the digest of
	// the next hour; a digest that lists it again up to six hours later
	// (a tampered chain) is still compared with it.
	settleLag = 6 * time.Hour
	// digestLookahead: digests ending up to this long after the range's
	// end are read (they list logs delivered before the end: the CLI's
	// end+1h, and an hour for late delivery).
	digestLookahead = 2 * time.Hour
	// giveUp: a log delivered after its chain's newest digest waits this
	// long for a later digest (one would show a gap of deleted digests
	// covering it) before it is reported unverified.
	giveUp = 48 * time.Hour
	// DefaultWindow is the delivery time verified per step.
	DefaultWindow = 24 * time.Hour
)

var never = time.Unix(math.MaxInt32, 0).UTC()

// stepHook, if set (by tests), is told after each step how many files
// the engine still holds.
var stepHook func(held int)

// Verify checks every digest chain and log file of src in range and
// returns every file's result (see Stream for a run whose memory does not
// grow with the range).
func Verify(ctx context.Context, src ingest.Source, o Options) (*Result, error) {
	var files []FileResult
	res, err := Stream(ctx, src, o, func(fs []FileResult) error {
		files = append(files, fs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Digests first, then logs by key (the order renderers expect).
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.Kind != b.Kind {
			return a.Kind == "digest"
		}
		return a.Kind == "log" && a.Key < b.Key
	})
	res.Files = files
	return res, nil
}

// Stream verifies src like Verify, one window of delivery time
// (Options.Window, a day by default) after another, oldest first, and
// hands each step's final results to emit as soon as they are known, so
// that memory depends on the files of a window, not on the length of the
// range. A valid digest comes in the same call as, or a later call than,
// the logs it lists. The returned Result has the counts and no Files.
func Stream(ctx context.Context, src ingest.Source, o Options, emit func([]FileResult) error) (*Result, error) {
	if o.Workers <= 0 {
		o.Workers = 32
	}
	e := &engine{ctx: ctx, src: src, o: o, emit: emit, pc: &pacer{},
		res:     &Result{Bucket: src.Bucket(), Counts: map[Status]int{}, Chains: map[string]int{}},
		kr:      &keyRing{offline: o.Keys, region: map[string]KeySet{}, errs: map[string]error{}},
		prev:    map[chainKey]*digestInfo{},
		recent:  map[chainKey][]*digestInfo{},
		listed:  map[string]*logRef{},
		pending: map[string]keyname.Key{},
		lastEnd: map[logChain]time.Time{},
		late:    map[logChain]time.Time{},
		open:    map[string]*digestInfo{},
	}
	e.ps = pacedSource{src, e.pc}
	if err := e.plan(); err != nil {
		return nil, err
	}
	// One window is prepared (listed, digests checked) ahead of the one
	// being settled.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prep := func(i int) <-chan *window {
		ch := make(chan *window, 1)
		go func() { ch <- e.prepare(pctx, e.windows[i][0], e.windows[i][1]) }()
		return ch
	}
	var next <-chan *window
	if len(e.windows) > 0 {
		next = prep(0)
	}
	for i := range e.windows {
		w := <-next
		next = nil
		if i+1 < len(e.windows) && w.err == nil {
			next = prep(i + 1)
		}
		if err := e.step(w, i == len(e.windows)-1); err != nil {
			if next != nil {
				cancel()
				<-next // let it finish before returning
			}
			return nil, err
		}
	}
	return e.res, nil
}

type engine struct {
	ctx  context.Context
	src  ingest.Source
	ps   pacedSource
	o    Options
	emit func([]FileResult) error
	pc   *pacer
	kr   *keyRing
	res  *Result

	// flat: no CloudTrail tree below the prefix (a folder of copies): one
	// listing of everything, one step.
	flat    bool
	folders []string                // region folders of digests and logs
	spans   map[string][2]time.Time // open range: each folder's first and last day
	windows [][2]time.Time          // [start, end) of each step
	span    [2]time.Time            // of the whole run (the public-key window)

	prev     map[chainKey]*digestInfo   // each chain's newest digest so far
	recent   map[chainKey][]*digestInfo // digests of this step and the one before
	listed   map[string]*logRef         // logs listed by digests, not settled yet
	pending  map[string]keyname.Key     // logs in the bucket, not settled yet
	lastEnd  map[logChain]time.Time     // newest digest per log folder
	late     map[logChain]time.Time     // newest log given up on after its chain's newest digest
	open     map[string]*digestInfo     // valid digests waiting for their logs
	bad      []FileResult               // digests not valid, which may cover unsettled logs
	frontier time.Time                  // logs delivered before it are settled (zero: none yet)
}

// plan finds the folders and cuts the range into windows.
func (e *engine) plan() error {
	r := e.o.Range
	r.Kinds = []keyname.Kind{keyname.Digest, keyname.Log}
	folders, err := ingest.RegionFolders(e.ctx, e.ps, e.o.Prefix, r)
	if err != nil {
		return fmt.Errorf("listing %s: %w", e.src, err)
	}
	if folders == nil {
		e.flat = true
		e.windows = [][2]time.Time{{time.Time{}, never}}
		return nil
	}
	e.folders = folders
	start, end := r.Start.UTC().Truncate(24*time.Hour), time.Time{}
	if !r.End.IsZero() {
		end = r.End.UTC().Add(digestLookahead).Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if start.IsZero() || end.IsZero() {
		// An open range: the first and last day folders bound it, and
		// each folder is listed only over its own days.
		e.spans = map[string][2]time.Time{}
		var mu sync.Mutex
		var first, last time.Time
		g, gctx := errgroup.WithContext(e.ctx)
		g.SetLimit(e.o.Workers)
		for _, f := range folders {
			g.Go(func() error {
				a, b, ok, err := ingest.DaySpan(gctx, e.ps, f)
				if err != nil {
					return fmt.Errorf("listing %s: %w", f, err)
				}
				if !ok {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				e.spans[f] = [2]time.Time{a, b}
				if first.IsZero() || a.Before(first) {
					first = a
				}
				if b.After(last) {
					last = b
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if first.IsZero() {
			return nil // no day folders: nothing to verify
		}
		if start.IsZero() {
			start = first
		}
		if end.IsZero() {
			end = last.Add(24 * time.Hour)
		}
	}
	win := e.o.Window
	if win <= 0 {
		win = DefaultWindow
	}
	for t := start; t.Before(end); t = t.Add(win) {
		we := t.Add(win)
		if we.After(end) {
			we = end
		}
		e.windows = append(e.windows, [2]time.Time{t, we})
	}
	e.span = [2]time.Time{start, end}
	return nil
}

// list reads the keys of one window: every day folder it overlaps; a key
// belongs to the window its time falls in, or, if its time is not its
// folder's day (a misplaced file), to the window holding the folder's
// midnight.
func (e *engine) list(ctx context.Context, ws, we time.Time) ([]*digestInfo, map[string]keyname.Key, error) {
	var prefixes []string
	var days []time.Time
	if e.flat {
		prefixes, days = []string{e.o.Prefix}, []time.Time{{}}
	} else {
		for _, f := range e.folders {
			span, bounded := e.spans[f]
			if e.spans != nil && !bounded {
				continue // no day folders
			}
			for d := ws.Truncate(24 * time.Hour); d.Before(we); d = d.Add(24 * time.Hour) {
				if bounded && (d.Before(span[0]) || d.After(span[1])) {
					continue
				}
				prefixes, days = append(prefixes, ingest.DayFolder(f, d)), append(days, d)
			}
		}
	}
	var mu sync.Mutex
	var digs []*digestInfo
	logs := map[string]keyname.Key{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.o.Workers)
	for i, p := range prefixes {
		day := days[i]
		g.Go(func() error {
			for obj, err := range e.ps.List(gctx, p, "") {
				if err != nil {
					return fmt.Errorf("listing %s: %w", p, err)
				}
				k, perr := keyname.Parse(obj.Key)
				if perr != nil || !inRange(e.o.Range, k) {
					continue
				}
				if !e.flat {
					inWindow := !k.Time.Before(ws) && k.Time.Before(we)
					if !k.Time.Truncate(24 * time.Hour).Equal(day) { // misplaced
						inWindow = !day.Before(ws) && day.Before(we)
					}
					if !inWindow {
						continue
					}
				}
				mu.Lock()
				switch k.Kind {
				case keyname.Digest:
					if e.o.Trail == "" || k.Trail == e.o.Trail {
						digs = append(digs, &digestInfo{key: obj.Key, k: k})
					}
				case keyname.Log:
					logs[obj.Key] = k
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return digs, logs, nil
}

// keys makes sure the public keys of every source region of digs are
// fetched (once per region, for the whole run's span).
func (e *engine) keys(digs []*digestInfo) error {
	if e.o.KeyProvider == nil {
		return nil
	}
	windows := map[string][2]time.Time{}
	e.kr.mu.RLock()
	for _, di := range digs {
		region := di.k.Region
		if _, done := e.kr.region[region]; done || e.kr.errs[region] != nil {
			continue
		}
		w, ok := windows[region]
		if !e.flat {
			w = [2]time.Time{e.span[0], e.span[1].Add(digestLookahead)}
		} else {
			if !ok || di.k.Time.Before(w[0]) {
				w[0] = di.k.Time
			}
			if !ok || di.k.Time.After(w[1]) {
				w[1] = di.k.Time
			}
		}
		windows[region] = w
	}
	e.kr.mu.RUnlock()
	for region, w := range windows {
		ks, err := e.o.KeyProvider.PublicKeys(e.ctx, region, w[0], w[1])
		if err != nil && e.ctx.Err() != nil {
			return e.ctx.Err()
		}
		e.kr.mu.Lock()
		if err != nil {
			e.kr.errs[region] = err
		} else {
			e.kr.region[region] = NewKeySet(ks...)
		}
		e.kr.mu.Unlock()
	}
	return nil
}

// window is one step's listing, its digests already read and checked on
// their own (signature, hash, format); links and logs are the step's.
type window struct {
	end  time.Time
	digs []*digestInfo
	logs map[string]keyname.Key
	err  error
}

// prepare lists a window and checks its digests. Stream runs it for the
// next window while the current one's logs are hashed, so the listing
// and digest round trips of one day overlap the log reads of the day
// before.
func (e *engine) prepare(ctx context.Context, ws, we time.Time) *window {
	w := &window{end: we}
	w.digs, w.logs, w.err = e.list(ctx, ws, we)
	if w.err == nil {
		w.err = e.keys(w.digs)
	}
	if w.err != nil {
		return w
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.o.Workers)
	for _, di := range w.digs {
		g.Go(func() error {
			checkDigest(gctx, e.pc, e.src, di, e.kr, e.o.Compat)
			return nil
		})
	}
	g.Wait()
	w.err = ctx.Err()
	return w
}

// step verifies one window; final settles everything left.
func (e *engine) step(w *window, final bool) error {
	if w.err != nil {
		return w.err
	}
	digs, logs, we := w.digs, w.logs, w.end
	var out, decided []FileResult // decided: digests not valid and missing ones, final now
	byChain := map[chainKey][]*digestInfo{}
	for _, di := range digs {
		ck := chainKey{di.k.OrgID, di.k.Account, di.k.Region, di.k.Trail, di.k.Home, di.k.Backfill}
		byChain[ck] = append(byChain[ck], di)
	}
	chainKeys := make([]chainKey, 0, len(byChain))
	for ck := range byChain {
		chainKeys = append(chainKeys, ck)
	}
	sort.Slice(chainKeys, func(i, j int) bool { return fmt.Sprint(chainKeys[i]) < fmt.Sprint(chainKeys[j]) })
	before := e.recent // the out-of-order check looks one step back
	e.recent = map[chainKey][]*digestInfo{}
	for _, ck := range chainKeys {
		list := byChain[ck]
		sort.Slice(list, func(i, j int) bool { return list[i].k.Time.Before(list[j].k.Time) })
		e.res.Chains[ck.acct+"/"+ck.region] += len(list)
		nearby := slices.Concat(before[ck], list)
		prev := e.prev[ck]
		for _, di := range list {
			missing := linkChecks(e.src.Bucket(), di, prev, nearby, e.o.Compat)
			decided = append(decided, missing...)
			if prev != nil {
				di.res.older = prev.k.Time
				prev.d = nil // its links are checked and its logs listed
			}
			if di.res.Status == Valid {
				if e.res.FoundStart.IsZero() || di.res.Start.Before(e.res.FoundStart) {
					e.res.FoundStart = di.res.Start
				}
				if di.res.End.After(e.res.FoundEnd) {
					e.res.FoundEnd = di.res.End
				}
				e.open[di.key] = di
			} else {
				decided = append(decided, di.res)
			}
			e.addListings(di)
			prev = di
		}
		e.prev[ck] = prev
		e.recent[ck] = list
		if lc := (logChain{ck.org, ck.acct, ck.region}); !ck.backfill && prev.k.Time.After(e.lastEnd[lc]) {
			e.lastEnd[lc] = prev.k.Time
			if !e.late[lc].After(prev.k.Time) {
				delete(e.late, lc) // logs given up on before it were in a gap, not the tail
			}
		}
	}
	if !e.o.NoVersions {
		findOriginalDigests(e.ctx, e.src, decided, e.kr)
	}
	e.bad = append(e.bad, decided...)
	for key, k := range logs {
		e.pending[key] = k
	}
	frontier := we.Add(-settleLag)
	if final {
		frontier = never
	}
	out = append(out, e.settle(frontier, final)...)
	if final {
		out = append(out, e.tails()...)
	}
	out = append(out, decided...)
	// Valid digests whose logs are all settled.
	var ready []string
	for key, di := range e.open {
		if di.waiting == 0 || final {
			ready = append(ready, key)
		}
	}
	sort.Strings(ready)
	for _, key := range ready {
		out = append(out, e.open[key].res)
		delete(e.open, key)
	}
	// Digests not valid can no longer cover a log once it is settled.
	keep := e.bad[:0]
	for _, f := range e.bad {
		if f.End.After(frontier) {
			keep = append(keep, f)
		}
	}
	e.bad = keep
	e.frontier = frontier
	sort.SliceStable(out, func(i, j int) bool { // a stable order: digests, then logs, by key
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind == "digest"
		}
		return a.Key < b.Key
	})
	for _, f := range out {
		e.res.Counts[f.Status]++
	}
	e.res.Total += len(out)
	if stepHook != nil {
		stepHook(len(e.listed) + len(e.pending) + len(e.open) + len(e.bad))
	}
	if len(out) == 0 {
		return nil
	}
	return e.emit(out)
}

// addListings records the logs a digest lists (the first valid digest to
// list a log is the one it is checked against; later valid ones are
// compared with it). Logs settled in an earlier step are not listed
// again.
func (e *engine) addListings(di *digestInfo) {
	if di.d == nil {
		return
	}
	valid := di.res.Status == Valid
	for i, lf := range di.d.LogFiles {
		t := di.k.Time
		if k, err := keyname.Parse(lf.S3Object); err == nil {
			t = k.Time
		}
		if t.Before(e.frontier) {
			continue
		}
		cur, ok := e.listed[lf.S3Object]
		switch {
		case !ok || !cur.valid && valid:
			e.listed[lf.S3Object] = &logRef{ref: lf, digest: di.key, valid: valid, idx: i, t: t}
			if valid {
				di.waiting++
			}
		case cur.valid && valid:
			cur.also = append(cur.also, logListing{di.key, i, lf.HashValue})
			di.waiting++
		}
	}
}

// settle decides every log delivered before frontier: hashes the listed
// ones, and classifies the others (unreferenced, or unverified where the
// digest that should list it is missing or invalid). A log delivered
// after its chain's newest digest waits for a later digest (up to
// giveUp), unless final.
func (e *engine) settle(frontier time.Time, final bool) []FileResult {
	var out []FileResult
	var mu sync.Mutex
	lg, lctx := errgroup.WithContext(e.ctx)
	lg.SetLimit(e.o.Workers)
	var checked []string
	for key, lr := range e.listed {
		if !lr.t.Before(frontier) {
			continue
		}
		checked = append(checked, key)
		k, _ := keyname.Parse(key)
		fr := FileResult{Kind: "log", Bucket: lr.ref.S3Bucket, Key: key, Account: k.Account, Region: k.Region, via: lr.digest, viaIdx: lr.idx}
		if !lr.valid {
			fr.Status, fr.Reason = Unverified, "listed only by a digest that failed verification ("+lr.digest+")"
			mu.Lock()
			out = append(out, fr)
			mu.Unlock()
			continue
		}
		lg.Go(func() error {
			fr := checkLog(lctx, e.pc, e.src, fr, lr.ref.HashValue, e.o.LogHash)
			mu.Lock()
			out = append(out, fr)
			mu.Unlock()
			return nil
		})
	}
	lg.Wait()
	want := map[string]string{}
	for i := range out {
		lr := e.listed[out[i].Key]
		alsoListed(&out[i], lr.also)
		if lr.valid {
			want[out[i].Key] = lr.ref.HashValue
			if di := e.open[lr.digest]; di != nil {
				di.waiting--
			}
			for _, a := range lr.also {
				if di := e.open[a.digest]; di != nil {
					di.waiting--
				}
			}
		}
	}
	if !e.o.NoVersions {
		findOriginals(e.ctx, e.src, out, want, e.o.Workers)
	}
	for _, key := range checked {
		delete(e.listed, key)
		delete(e.pending, key)
	}
	for key, k := range e.pending {
		if !k.Time.Before(frontier) { // (frontier is never when final)
			continue
		}
		if fr, ok := e.classify(key, k, frontier, final); ok {
			out = append(out, fr)
			delete(e.pending, key)
		}
	}
	return out
}

// classify gives a log no digest lists its verdict; false: wait for a
// later digest of its chain.
func (e *engine) classify(key string, k keyname.Key, frontier time.Time, final bool) (FileResult, bool) {
	fr := FileResult{Kind: "log", Bucket: e.src.Bucket(), Key: key, Account: k.Account, Region: k.Region}
	lc := logChain{k.OrgID, k.Account, k.Region}
	end, ok := e.lastEnd[lc]
	switch {
	case e.inMissing(k):
		fr.Status, fr.Reason = Unverified, "the digest that should list it is missing, invalid or unreadable"
		return fr, true
	case ok && !k.Time.After(end):
		fr.Status, fr.Reason = Unreferenced, "no digest lists this log file, though digests cover its delivery time"
		return fr, true
	case !final && !k.Time.Before(frontier.Add(-giveUp)):
		return fr, false // a later digest may still come
	}
	if ok && k.Time.After(end.Add(90*time.Minute)) && k.Time.After(e.late[lc]) {
		e.late[lc] = k.Time
	}
	switch {
	case !final && ok:
		fr.Status, fr.Reason = Unverified, fmt.Sprintf("delivered after the newest digest (%s); no digest followed within %s", end.Format(time.RFC3339), giveUp)
	case !final:
		fr.Status, fr.Reason = Unverified, fmt.Sprintf("no digest for this account and region (none within %s of it)", giveUp)
	case ok && k.Time.Before(end.Add(90*time.Minute)) && time.Since(end) < 2*time.Hour:
		fr.Status, fr.Reason = Pending, fmt.Sprintf("delivered after the newest digest (%s); its digest is due within the hour", end.Format(time.RFC3339))
	case ok:
		fr.Status, fr.Reason = Unverified, fmt.Sprintf("delivered after the newest digest (%s)", end.Format(time.RFC3339))
	default:
		fr.Status, fr.Reason = Unverified, "no digest for this account and region"
	}
	return fr, true
}

// inMissing: a log delivered in the window of a digest that is missing,
// invalid or unreadable cannot be checked: unverified, not unreferenced.
func (e *engine) inMissing(k keyname.Key) bool {
	for _, f := range e.bad {
		if f.Account != k.Account || f.Region != k.Region || f.End.IsZero() {
			continue
		}
		if f.Status == Invalid && !f.Start.IsZero() {
			continue // parsed, and it does not list the log either: unreferenced
		}
		start := f.Start
		if start.IsZero() || f.Status != Missing && !start.Before(f.End) {
			start = f.End.Add(-time.Hour) // unparsed: CloudTrail's hourly cadence
		}
		if !k.Time.Before(start.Truncate(time.Minute)) && k.Time.Before(f.End) {
			return true
		}
	}
	return false
}

// tails reports, at the end of the run, the chains whose newest digests
// are missing: logs were delivered well after the chain's newest digest.
func (e *engine) tails() []FileResult {
	var out []FileResult
	for lc, last := range e.late {
		end := e.lastEnd[lc]
		out = append(out, FileResult{Kind: "digest", Bucket: e.src.Bucket(), Account: lc.acct, Region: lc.region, Status: Missing,
			Key:    fmt.Sprintf("(digests of %s %s after %s)", lc.acct, lc.region, end.Format(time.RFC3339)),
			Reason: fmt.Sprintf("the newest digests are missing: logs were delivered until %s but the chain ends at %s", last.Format(time.RFC3339), end.Format(time.RFC3339)),
			Start:  end, End: last})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
