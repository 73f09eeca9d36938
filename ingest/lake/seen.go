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

func newSeenSets(dir string) *seenSets {
	return &seenSets{dir: dir, dates: map[string]*dateSet{}, maxHeld: 8 << 20}
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

// thaw merges the frozen sets into the committed ones.
func (s *seenSets) thaw() {
	for _, d := range s.dates {
		if len(d.frozen) > 0 {
			d.sorted = mergeSorted(d.sorted, d.frozen)
			s.loaded += len(d.frozen)
			d.frozen = nil
		}
	}
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

func mergeSorted(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
