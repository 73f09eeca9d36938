package synth

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/keyname"
)

// Options describe an archive. Only Dir, Regions, Hours and one account
// are required.
type Options struct {
	Dir    string // output folder: the bucket's tree
	Bucket string // recorded in Dir/.trailscope/bucket and in digests (default "trailscope-synth")
	Prefix string // trail S3 key prefix, or ""
	// OrgID is the organization ID; OrgAccounts deliver under
	// AWSLogs/OrgID/ACCOUNT/ (an organization trail).
	OrgID       string
	OrgAccounts []string
	// Accounts are standalone accounts (AWSLogs/ACCOUNT/).
	Accounts []string
	Regions  []string
	// Trail and Home name the trail and its home region (digest keys);
	// defaults "org-trail" and the first region.
	Trail, Home string
	Start       time.Time // truncated to the hour
	Hours       int
	// FilesPerHour is the number of log files per hour per account and
	// region (default 12: one about every five minutes; some share a slot).
	FilesPerHour int
	// EventsPerFile is the mean number of events per file (each file holds
	// 50–150% of it). If 0, EventsPerHour/FilesPerHour.
	EventsPerFile int
	// EventsPerHour per account and region, used when EventsPerFile is 0
	// (default 60).
	EventsPerHour int
	Seed          uint64
	// Attacks plants the attack scenario (see Planted and attacks.go).
	Attacks bool
	// StopGapHours, if > 0, stops the trail in the first chain (an
	// organization account's first region) with a StopLogging event in the
	// middle of the archive; no logs and no digests follow for about that
	// many hours, then StartLogging and a new starting digest.
	StopGapHours int
	// GapHour, if >= 0 and < Hours, leaves that hour of the last chain
	// without any log file (its digest is delivered, empty). Set -1 for
	// none; 0 is a valid hour.
	GapHour int
	// TamperLog, if set, changes one byte of a benign event in the first
	// log file delivered at or after this time in the second chain, after
	// the digest recorded its hash.
	TamperLog time.Time
	// DeleteLogAt, if set, deletes the first log file delivered at or after
	// this time in the fourth chain (after it was signed).
	DeleteLogAt time.Time
	// DeleteDigestAt, if set, deletes the digest of the third chain whose
	// window ends at (or contains) this time.
	DeleteDigestAt time.Time
	// NoDigests turns log file validation off: no digest chain, no keys.
	NoDigests bool
	// SigningKey, if set, signs every region's digests. Otherwise each
	// region gets its own RSA key of KeyBits bits (default 2048), derived
	// from Seed, so the whole archive is reproducible.
	SigningKey *rsa.PrivateKey
	KeyBits    int
	// KeysDir receives public-keys.json (list-public-keys shape), one
	// private key PEM per region and planted.json. Default: "keys" next to
	// Dir. Keys never go inside the bucket tree. "-" writes nothing.
	KeysDir string
	// GzipLevel of the log files (default gzip.DefaultCompression, as
	// CloudTrail; gzip.BestSpeed for large corpora).
	GzipLevel int
	// Workers generating files in parallel (default and maximum 2).
	Workers int
}

// Planted is one planted attack, the ground truth for detection tests.
type Planted struct {
	Technique string    `json:"technique"` // what it is
	Attack    string    `json:"attack"`    // ATT&CK technique ID
	EventName string    `json:"event_name"`
	EventIDs  []string  `json:"event_ids"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	Time      time.Time `json:"time"`
	Attempt   bool      `json:"attempt"` // denied
}

// LogFile is one log file of the archive (deleted ones included: the
// digest lists them).
type LogFile struct {
	Key     string `json:"key"`
	Events  int    `json:"events"`
	SHA256  string `json:"sha256"` // of the uncompressed bytes as delivered
	Bytes   int    `json:"bytes"`  // uncompressed size
	Account string `json:"account"`
	Region  string `json:"region"`
	Deleted bool   `json:"deleted,omitempty"`
}

// Tampered records what Generate altered or left out.
type Tampered struct {
	Kind    string    `json:"kind"` // log-modified, log-deleted, digest-deleted, logging-stopped, silent-hour
	Key     string    `json:"key,omitempty"`
	What    string    `json:"what"`
	Account string    `json:"account,omitempty"`
	Region  string    `json:"region,omitempty"`
	From    time.Time `json:"from,omitzero"`
	To      time.Time `json:"to,omitzero"`
}

// KeyFiles are the files written to KeysDir.
type KeyFiles struct {
	Dir        string            `json:"dir"`
	PublicKeys string            `json:"public_keys"`
	Private    map[string]string `json:"private"` // region → PEM file
	Planted    string            `json:"planted"`
}

// Result describes the written archive.
type Result struct {
	Logs     []LogFile  `json:"logs"`    // sorted by key
	Digests  []string   `json:"digests"` // written digests, sorted
	Events   int        `json:"events"`  // including those of deleted logs
	Bytes    int64      `json:"bytes"`   // uncompressed log bytes
	Planted  []Planted  `json:"planted"`
	Tampered []Tampered `json:"tampered,omitempty"`
	Keys     KeyFiles   `json:"keys"`
}

type chain struct {
	org, acct, region string
	idx               int
	global            bool // receives global-service events (IAM, sign-in)
}

// file is one planned log file.
type file struct {
	chain   int
	at      time.Time // delivery
	n       int       // background events
	seed    uint64
	unique  string
	planted []*event
	tamper  bool
	deleted bool
	// filled by the worker
	res      LogFile
	oldest   string
	newest   string
	skipped  bool // nothing to deliver
	finished bool
}

type stopGap struct {
	chain             int
	stopAt, restartAt time.Time
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		return errors.New("synth: Options.Dir is required")
	}
	if len(o.Regions) == 0 || o.Hours <= 0 || (len(o.Accounts)+len(o.OrgAccounts)) == 0 {
		return errors.New("synth: need accounts, regions and hours")
	}
	if len(o.OrgAccounts) > 0 && o.OrgID == "" {
		return errors.New("synth: OrgAccounts need an OrgID")
	}
	if o.Bucket == "" {
		o.Bucket = "trailscope-synth"
	}
	if o.Trail == "" {
		o.Trail = "org-trail"
	}
	if o.Home == "" {
		o.Home = o.Regions[0]
	}
	if o.FilesPerHour <= 0 {
		o.FilesPerHour = 12
	}
	if o.EventsPerHour <= 0 {
		o.EventsPerHour = 60
	}
	if o.KeyBits <= 0 {
		o.KeyBits = 2048
	}
	if o.GzipLevel == 0 {
		o.GzipLevel = gzip.DefaultCompression
	}
	if o.Workers <= 0 || o.Workers > 2 {
		o.Workers = 2
	}
	if o.KeysDir == "" {
		o.KeysDir = filepath.Join(filepath.Dir(filepath.Clean(o.Dir)), "keys")
	}
	return nil
}

// Generate writes the archive: log files, the signed digest chain with
// its sidecars, Dir/.trailscope/bucket, and the key files. Only file
// metadata stays in memory, so it scales to corpora of millions of events.
func Generate(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	start := o.Start.UTC().Truncate(time.Hour)
	end := start.Add(time.Duration(o.Hours) * time.Hour)
	globalRegion := o.Regions[0]
	for _, r := range o.Regions {
		if r == "us-east-1" {
			globalRegion = r
		}
	}
	var chains []chain
	for _, a := range o.OrgAccounts {
		for _, g := range o.Regions {
			chains = append(chains, chain{o.OrgID, a, g, len(chains), g == globalRegion})
		}
	}
	for _, a := range o.Accounts {
		for _, g := range o.Regions {
			chains = append(chains, chain{"", a, g, len(chains), g == globalRegion})
		}
	}
	res := &Result{}
	pg := &gen{r: rand.New(rand.NewPCG(o.Seed, 0x9a7e))}
	var planted []plantedEvent
	if o.Attacks {
		planted, res.Planted = plant(pg, chains, start, end.Sub(start))
	}
	var stop *stopGap
	if o.StopGapHours > 0 {
		s := &stopGap{chain: 0}
		s.stopAt = start.Add(time.Duration(o.Hours/2)*time.Hour + 17*time.Minute)
		s.restartAt = s.stopAt.Add(time.Duration(o.StopGapHours) * time.Hour).Truncate(time.Hour).Add(40 * time.Minute)
		if s.restartAt.After(end) {
			s.restartAt = end
		}
		stop = s
		c := chains[0]
		ev, ev2 := stopLogging(pg, c, o.Trail, s.stopAt, s.restartAt)
		ev.planted = true
		planted = append(planted, plantedEvent{0, ev})
		res.Planted = append(res.Planted, Planted{Technique: "CloudTrail logging stopped", Attack: "T1562.008", EventName: "StopLogging", EventIDs: []string{ev.eventID}, Account: c.acct, Region: c.region, Time: s.stopAt})
		if s.restartAt.Before(end) {
			planted = append(planted, plantedEvent{0, ev2})
		}
		res.Tampered = append(res.Tampered, Tampered{Kind: "logging-stopped", What: "StopLogging, then no log files and no digests until StartLogging; the next digest is a starting digest",
			Account: c.acct, Region: c.region, From: s.stopAt, To: s.restartAt})
	}
	files := planFiles(&o, chains, start, end, planted, stop)
	if o.GapHour >= 0 && o.GapHour < o.Hours {
		c := chains[len(chains)-1]
		from := start.Add(time.Duration(o.GapHour) * time.Hour)
		res.Tampered = append(res.Tampered, Tampered{Kind: "silent-hour", What: "no log file delivered in this hour (its digest lists none)", Account: c.acct, Region: c.region, From: from, To: from.Add(time.Hour)})
	}
	markTamper(&o, chains, files)
	if err := produce(ctx, &o, chains, files, stop); err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.skipped {
			continue
		}
		res.Logs = append(res.Logs, f.res)
		res.Events += f.res.Events
		res.Bytes += int64(f.res.Bytes)
		switch {
		case f.tamper:
			res.Tampered = append(res.Tampered, Tampered{Kind: "log-modified", Key: f.res.Key, What: "log modified after delivery (one digit of a source IP changed)", Account: f.res.Account, Region: f.res.Region})
		case f.deleted:
			res.Tampered = append(res.Tampered, Tampered{Kind: "log-deleted", Key: f.res.Key, What: "log deleted after delivery", Account: f.res.Account, Region: f.res.Region})
		}
	}
	keys := map[string]*rsa.PrivateKey{}
	if !o.NoDigests {
		for _, r := range o.Regions {
			k := o.SigningKey
			if k == nil {
				var err error
				if k, err = DeriveKey(o.Seed, r, o.KeyBits); err != nil {
					return nil, err
				}
			}
			keys[r] = k
		}
		byChain := make([][]*file, len(chains))
		for _, f := range files {
			if !f.skipped {
				byChain[f.chain] = append(byChain[f.chain], f)
			}
		}
		for ci, c := range chains {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := writeDigests(&o, c, start, end, byChain[ci], keys[c.region], stop, res); err != nil {
				return nil, err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(o.Dir, ingest.SidecarDir), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, ingest.SidecarDir, "bucket"), []byte(o.Bucket+"\n"), 0o644); err != nil {
		return nil, err
	}
	sort.Slice(res.Logs, func(i, j int) bool { return res.Logs[i].Key < res.Logs[j].Key })
	sort.Strings(res.Digests)
	if o.KeysDir != "-" {
		if err := writeKeyFiles(&o, start, end, keys, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// planFiles lays out every chain's deliveries: FilesPerHour files an
// hour, about every 60/FilesPerHour minutes, some sharing a slot, none
// while logging is stopped or in the silent hour; planted events join the
// first file delivered after them.
func planFiles(o *Options, chains []chain, start, end time.Time, planted []plantedEvent, stop *stopGap) []*file {
	perFile := float64(o.EventsPerFile)
	if perFile <= 0 {
		perFile = float64(o.EventsPerHour) / float64(o.FilesPerHour)
	}
	var all []*file
	for ci := range chains {
		r := rand.New(rand.NewPCG(o.Seed, 0xc4a1+uint64(ci)))
		g := &gen{r: r}
		blocked := func(at time.Time) bool {
			if stop != nil && stop.chain == ci && at.After(stop.stopAt.Add(3*time.Minute)) && at.Before(stop.restartAt.Add(time.Minute)) {
				return true
			}
			if o.GapHour >= 0 && o.GapHour < o.Hours && ci == len(chains)-1 {
				from := start.Add(time.Duration(o.GapHour) * time.Hour)
				return !at.Before(from) && at.Before(from.Add(time.Hour))
			}
			return false
		}
		var fs []*file
		step := time.Hour / time.Duration(o.FilesPerHour)
		for h := start; h.Before(end); h = h.Add(time.Hour) {
			var prev time.Time
			for i := 0; i < o.FilesPerHour; i++ {
				at := h.Add(time.Duration(i)*step + time.Duration(r.Int64N(int64(step))))
				if i > 0 && r.IntN(5) == 0 {
					at = prev.Add(time.Duration(r.IntN(50)) * time.Second) // two files in one slot
				}
				at = at.Truncate(time.Second)
				prev = at
				if !at.Before(end) {
					at = end.Add(-time.Duration(1+r.IntN(50)) * time.Second)
				}
				n := int(math.Round(perFile * (0.5 + r.Float64())))
				if n < 1 {
					n = 1
				}
				seed, unique := r.Uint64(), g.unique()
				if blocked(at) {
					continue
				}
				fs = append(fs, &file{chain: ci, at: at, n: n, seed: seed, unique: unique})
			}
		}
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].at.Before(fs[j].at) })
		for _, pe := range planted {
			if pe.chain != ci {
				continue
			}
			var dst *file
			for _, f := range fs {
				if !f.at.Before(pe.ev.t.Add(30*time.Second)) && f.at.Sub(pe.ev.t) <= 10*time.Minute {
					dst = f
					break
				}
			}
			if dst == nil {
				at := pe.ev.t.Add(time.Duration(60+r.IntN(90)) * time.Second).Truncate(time.Second)
				if !at.Before(end) {
					at = end.Add(-time.Second)
				}
				dst = &file{chain: ci, at: at, seed: r.Uint64(), unique: g.unique()}
				fs = append(fs, dst)
				sort.SliceStable(fs, func(i, j int) bool { return fs[i].at.Before(fs[j].at) })
			}
			dst.planted = append(dst.planted, pe.ev)
		}
		all = append(all, fs...)
	}
	return all
}

// markTamper picks the files to modify and delete: the first file at or
// after the set time in the chosen chain that holds no planted event.
func markTamper(o *Options, chains []chain, files []*file) {
	pickAt := func(ci int, at time.Time) *file {
		for _, f := range files {
			if f.chain == ci && !f.at.Before(at) && len(f.planted) == 0 && !f.tamper && !f.deleted {
				return f
			}
		}
		return nil
	}
	if !o.TamperLog.IsZero() {
		if f := pickAt(1%len(chains), o.TamperLog); f != nil {
			f.tamper = true
		}
	}
	if !o.DeleteLogAt.IsZero() {
		if f := pickAt(3%len(chains), o.DeleteLogAt); f != nil {
			f.deleted = true
		}
	}
}

// produce writes the log files with at most o.Workers goroutines. Every
// file has its own random stream, so the output does not depend on
// scheduling.
func produce(ctx context.Context, o *Options, chains []chain, files []*file, stop *stopGap) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *file)
	errc := make(chan error, o.Workers)
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := newWriter(o.GzipLevel)
			for f := range jobs {
				if err := wr.write(o, chains[f.chain], f, stop); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, f := range files {
		select {
		case jobs <- f:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case e := <-errc:
		return e
	default:
	}
	return err
}

type writer struct {
	raw  []byte
	zw   *gzip.Writer
	bw   *bufio.Writer
	evs  []*event
	tims []time.Time
	dirs map[string]bool // folders known to exist
}

func newWriter(level int) *writer {
	zw, err := gzip.NewWriterLevel(nil, level)
	if err != nil {
		zw = gzip.NewWriter(nil)
	}
	return &writer{zw: zw, bw: bufio.NewWriterSize(nil, 1<<20), dirs: map[string]bool{}}
}

// write generates one log file: background events in the five minutes
// before delivery (a few up to 15 minutes late), the planted ones, in time
// order.
func (w *writer) write(o *Options, c chain, f *file, stop *stopGap) error {
	g := &gen{r: rand.New(rand.NewPCG(f.seed, 0x10f))}
	w.tims = w.tims[:0]
	for i := 0; i < f.n; i++ {
		lag := 20*time.Second + time.Duration(g.r.Int64N(int64(5*time.Minute)))
		if g.r.IntN(40) == 0 {
			lag = 5*time.Minute + time.Duration(g.r.Int64N(int64(10*time.Minute)))
		}
		t := f.at.Add(-lag).Truncate(time.Second)
		if stop != nil && stop.chain == c.idx && t.After(stop.stopAt) && t.Before(stop.restartAt) {
			continue // nothing is logged while the trail is stopped
		}
		w.tims = append(w.tims, t)
	}
	sort.Slice(w.tims, func(i, j int) bool { return w.tims[i].Before(w.tims[j]) })
	w.evs = w.evs[:0]
	for _, t := range w.tims {
		w.evs = append(w.evs, g.benign(c, t, c.global))
	}
	if len(f.planted) > 0 {
		w.evs = append(w.evs, f.planted...)
		sort.SliceStable(w.evs, func(i, j int) bool { return w.evs[i].t.Before(w.evs[j].t) })
	}
	if len(w.evs) == 0 {
		f.skipped = true
		return nil
	}
	key := keyname.LogKey(o.Prefix, c.org, c.acct, c.region, f.at, f.unique)
	raw := append(w.raw[:0], `{"Records":[`...)
	tamperAt := -1
	for i, e := range w.evs {
		if i > 0 {
			raw = append(raw, ',')
		}
		if f.tamper && tamperAt < 0 && !e.planted {
			tamperAt = len(raw)
		}
		raw = e.appendTo(raw)
		ts := e.t.UTC().Format(time.RFC3339)
		if f.oldest == "" || ts < f.oldest {
			f.oldest = ts
		}
		if ts > f.newest {
			f.newest = ts
		}
	}
	raw = append(raw, "]}"...)
	w.raw = raw
	sum := sha256.Sum256(raw)
	f.res = LogFile{Key: key, Events: len(w.evs), SHA256: hex.EncodeToString(sum[:]), Bytes: len(raw), Account: c.acct, Region: c.region, Deleted: f.deleted}
	f.finished = true
	if f.deleted {
		return nil
	}
	body := raw
	if f.tamper && tamperAt >= 0 {
		body = append([]byte(nil), raw...)
		tamperIP(body[tamperAt:])
	}
	return w.gzipTo(filepath.Join(o.Dir, filepath.FromSlash(key)), body)
}

// tamperIP changes one digit of the first source IP address in b: the
// kind of edit an intruder makes to hide where they came from.
func tamperIP(b []byte) {
	const field = `"sourceIPAddress":"`
	for i := 0; i+len(field) < len(b); i++ {
		if string(b[i:i+len(field)]) != field || b[i+len(field)] < '0' || b[i+len(field)] > '9' {
			continue // not an IP address (an AWS service name)
		}
		for j := i + len(field); j < len(b) && b[j] != '"'; j++ {
			if b[j] >= '0' && b[j] <= '9' {
				b[j] = '0' + (b[j]-'0'+1)%10
				return
			}
		}
	}
}

func (w *writer) gzipTo(path string, raw []byte) error {
	if dir := filepath.Dir(path); !w.dirs[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		w.dirs[dir] = true
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	w.bw.Reset(out)
	w.zw.Reset(w.bw)
	_, err = w.zw.Write(raw)
	if err == nil {
		err = w.zw.Close()
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	return nil
}
