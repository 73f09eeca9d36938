package lake

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeSorted: the in-place merge of a batch's hashes into a day's
// set keeps every value, in order, whatever the interleaving and capacity.
func TestMergeSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 200; trial++ {
		na, nb := r.IntN(50), r.IntN(50)
		a := make([]uint64, na, na+r.IntN(60))
		b := make([]uint64, nb)
		var want []uint64
		for i := range a {
			a[i] = uint64(r.IntN(100))
			want = append(want, a[i])
		}
		for i := range b {
			b[i] = uint64(r.IntN(100))
			want = append(want, b[i])
		}
		slices.Sort(a)
		slices.Sort(b)
		slices.Sort(want)
		if got := mergeSorted(a, b); !slices.Equal(got, want) {
			t.Fatalf("merge(%v, %v) = %v; want %v", a, b, got, want)
		}
	}
}

// TestSeenSetsStayBounded: days seen again and again (every account and
// region of an archive goes through the same days) are dropped from
// memory when more than maxHeld hashes are held, and read back from
// their files when needed, still catching duplicates.
func TestSeenSetsStayBounded(t *testing.T) {
	dir := t.TempDir()
	s := newSeenSets(dir)
	s.maxHeld = 1000
	days := []string{"2026-01-01", "2026-01-02", "2026-01-03"}
	h := uint64(0)
	for pass := 0; pass < 6; pass++ { // six "chains", each over the three days
		for _, day := range days {
			for i := 0; i < 300; i++ {
				h++
				if isNew, err := s.add(day, h*2654435761); err != nil || !isNew {
					t.Fatalf("hash %d: new=%v err=%v", h, isNew, err)
				}
			}
			if err := writeIDs(dir, fmt.Sprintf("batch-%d-%s", pass, day), s.freeze()); err != nil {
				t.Fatal(err)
			}
			s.thaw()
			if s.loaded > s.maxHeld+300 {
				t.Fatalf("pass %d %s: %d hashes held; want at most %d", pass, day, s.loaded, s.maxHeld+300)
			}
		}
	}
	// Every hash is still known, whether its day is in memory or not.
	for x := uint64(1); x <= h; x += 97 {
		day := days[int((x-1)/300)%3]
		if isNew, err := s.add(day, x*2654435761); err != nil || isNew {
			t.Fatalf("hash %d on %s seen as new (err %v)", x, day, err)
		}
	}
}
