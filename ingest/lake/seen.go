package lake

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// seenSets remembers which event identities the lake holds, per event
// date. Committed sets live on disk as sorted uint64 files; a date's set
// is loaded on first use. The pending batch's additions are kept apart so
// an aborted batch leaves no trace.
type seenSets struct {
	dir     string
	dates   map[string]*dateSet
	loaded  int // hashes held in memory
	maxHeld int
	tick    int
}

type dateSet struct {
	sorted  []uint64            // committed
	frozen  []uint64            // the batch being committed, sorted (read-only while it is)
	pending map[uint64]struct{} // this batch
	used    int
}

// maxSeenHeld bounds the committed hashes kept in memory (8 bytes each:
// 16 MB); a day's set dropped to stay under it is read back from its
// .ids files when that day gets events again.
const maxSeenHeld = 2 << 20

func newSeenSets(dir string) *seenSets {
	return &seenSets{dir: dir, dates: map[string]*dateSet{}, maxHeld: maxSeenHeld}
}

func (s *seenSets) get(date string) (*dateSet, error) {
	s.tick++
	if d, ok := s.dates[date]; ok {
		d.used = s.tick
		return d, nil
	}
	s.evict()
	d := &dateSet{pending: map[uint64]struct{}{}, used: s.tick}
	folder := filepath.Join(s.dir, "event_date="+date)
	ents, err := os.ReadDir(folder)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read seen ids %s: %w", date, err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ids") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(folder, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read seen ids: %w", err)
		}
		for i := 0; i+8 <= len(b); i += 8 {
			d.sorted = append(d.sorted, binary.LittleEndian.Uint64(b[i:]))
		}
	}
	slices.Sort(d.sorted)
	s.loaded += len(d.sorted)
	s.dates[date] = d
	return d, nil
}

// evict drops the least recently used committed sets without pending
// additions while more than maxHeld hashes are in memory.
func (s *seenSets) evict() {
	for s.loaded > s.maxHeld {
		victim, oldest := "", int(^uint(0)>>1)
		for k, d := range s.dates {
			if len(d.pending) == 0 && len(d.frozen) == 0 && d.used < oldest {
				victim, oldest = k, d.used
			}
		}
		if victim == "" {
			return
		}
		s.loaded -= len(s.dates[victim].sorted)
		delete(s.dates, victim)
	}
}

// add records h for date and reports whether it was new.
func (s *seenSets) add(date string, h uint64) (bool, error) {
	d, err := s.get(date)
	if err != nil {
		return false, err
	}
	if _, ok := d.pending[h]; ok {
		return false, nil
	}
	if _, ok := slices.BinarySearch(d.sorted, h); ok {
		return false, nil
	}
	if _, ok := slices.BinarySearch(d.frozen, h); ok {
		return false, nil
	}
	d.pending[h] = struct{}{}
	return true, nil
}

// freeze moves every date's pending hashes aside, sorted, for a batch
// being committed. The returned map is read-only for the committer; thaw
// (after the commit) merges it into the committed sets. New additions go
// to fresh pending sets meanwhile.
func (s *seenSets) freeze() map[string][]uint64 {
	out := map[string][]uint64{}
	for date, d := range s.dates {
		if len(d.pending) == 0 {
			continue
		}
		add := make([]uint64, 0, len(d.pending))
		for h := range d.pending {
			add = append(add, h)
		}
		slices.Sort(add)
		d.frozen = add
		d.pending = map[uint64]struct{}{}
		out[date] = add
	}
	return out
}

// freezeExcept is freeze, but the hashes in keep (per date: rows held
// for the next batch) stay pending.
func (s *seenSets) freezeExcept(keep map[string][]uint64) map[string][]uint64 {
	for date, hs := range keep {
		d := s.dates[date]
		for _, h := range hs {
			delete(d.pending, h)
		}
	}
	out := s.freeze()
	for date, hs := range keep {
		d := s.dates[date]
		for _, h := range hs {
			d.pending[h] = struct{}{}
		}
	}
	return out
}

// thaw merges the frozen sets into the committed ones, then drops the
// least recently used sets if more than maxHeld hashes are held (sets
// grow here, not only when a day is first loaded: once every day of an
// archive has been seen, nothing else would ever shrink them).
func (s *seenSets) thaw() {
	for _, d := range s.dates {
		if len(d.frozen) > 0 {
			d.sorted = mergeSorted(d.sorted, d.frozen)
			s.loaded += len(d.frozen)
			d.frozen = nil
		}
	}
	s.evict()
}

// unfreeze drops the frozen sets (their batch was not committed).
func (s *seenSets) unfreeze() {
	for _, d := range s.dates {
		d.frozen = nil
	}
}

// writeIDs writes one batch's frozen hashes as its .ids files.
func writeIDs(dir, batch string, frozen map[string][]uint64) error {
	for date, add := range frozen {
		buf := make([]byte, 8*len(add))
		for i, h := range add {
			binary.LittleEndian.PutUint64(buf[8*i:], h)
		}
		folder := filepath.Join(dir, "event_date="+date)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(folder, batch+".ids"), buf); err != nil {
			return fmt.Errorf("write seen ids: %w", err)
		}
	}
	return nil
}

func (s *seenSets) abort() {
	for _, d := range s.dates {
		d.pending = map[uint64]struct{}{}
	}
}

// mergeSorted merges b into a, in a's storage when it has room (a day's
// set is merged into once per batch: a fresh copy each time held two
// copies of a busy day's set, 13 MB each at 1.7M events a day), growing
// it as append does otherwise. Both must be sorted; a is reused.
func mergeSorted(a, b []uint64) []uint64 {
	n := len(a)
	a = slices.Grow(a, len(b))[:n+len(b)]
	i, j := n-1, len(b)-1
	for k := len(a) - 1; j >= 0; k-- {
		if i >= 0 && a[i] > b[j] {
			a[k] = a[i]
			i--
		} else {
			a[k] = b[j]
			j--
		}
	}
	return a
}
