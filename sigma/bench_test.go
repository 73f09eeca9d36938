package sigma

import (
	"os"
	"testing"
)

func loadSigmaHQRuleSet(tb testing.TB) *RuleSet {
	tb.Helper()
	var docs []*Document
	for _, f := range sigmaHQRuleFiles(tb, "rules") {
		src, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		d, err := Parse(f, src)
		if err != nil {
			tb.Fatal(err)
		}
		docs = append(docs, d...)
	}
	rs, err := NewRuleSet(docs, CompileOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if rs.Len() != 57 {
		tb.Fatalf("RuleSet has %d rules; want 57", rs.Len())
	}
	return rs
}

// BenchmarkRuleSet57 matches all 57 SigmaHQ CloudTrail rules against the
// real events (Stratus Red Team and Invictus IR), parsing included.
func BenchmarkRuleSet57(b *testing.B) {
	rs := loadSigmaHQRuleSet(b)
	events := allRealEvents(b)
	var p EventParser
	dst := make([]int, 0, 64)
	matches := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := events[i%len(events)]
		ev, err := p.Parse(e.Raw)
		if err != nil {
			b.Fatal(err)
		}
		dst = rs.Match(ev, dst[:0])
		matches += len(dst)
	}
	b.StopTimer()
	if matches == 0 && b.N > len(events) {
		b.Fatal("no matches")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
}

// BenchmarkRuleSet57MatchOnly excludes JSON parsing: 64 events spread over
// the data sets are parsed once (they stay in cache) and matched in turn.
func BenchmarkRuleSet57MatchOnly(b *testing.B) {
	rs := loadSigmaHQRuleSet(b)
	all := allRealEvents(b)
	const n = 64
	parsers := make([]EventParser, n)
	evs := make([]Event, n)
	for i := range evs {
		ev, err := parsers[i].Parse(all[i*len(all)/n].Raw)
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = ev
	}
	dst := make([]int, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = rs.Match(evs[i%n], dst[:0])
	}
}

// TestRuleSetMatchDoesNotAllocate is the allocation budget of the hot
// path: parsing with a warm EventParser and matching all 57 rules.
func TestRuleSetMatchDoesNotAllocate(t *testing.T) {
	rs := loadSigmaHQRuleSet(t)
	events := allRealEvents(t)
	var p EventParser
	dst := make([]int, 0, 64)
	for _, e := range events { // warm up buffers
		ev, _ := p.Parse(e.Raw)
		dst = rs.Match(ev, dst[:0])
	}
	i := 0
	allocs := testing.AllocsPerRun(3*len(events), func() {
		ev, err := p.Parse(events[i%len(events)].Raw)
		if err != nil {
			t.Fatal(err)
		}
		dst = rs.Match(ev, dst[:0])
		i++
	})
	if allocs != 0 {
		t.Errorf("Parse+Match allocates %.3f times per event; want 0", allocs)
	}
}

// BenchmarkParseEvent is the parsing share of BenchmarkRuleSet57.
func BenchmarkParseEvent(b *testing.B) {
	events := allRealEvents(b)
	var p EventParser
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Parse(events[i%len(events)].Raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuleSet57Hot is BenchmarkRuleSet57 over 64 events that stay
// in cache, as when records are matched right after decompression; the
// full rotation above (4 MB of JSON) is bound by memory bandwidth.
func BenchmarkRuleSet57Hot(b *testing.B) {
	rs := loadSigmaHQRuleSet(b)
	all := allRealEvents(b)
	const n = 64
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = all[i*len(all)/n].Raw
	}
	var p EventParser
	dst := make([]int, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, err := p.Parse(raws[i%n])
		if err != nil {
			b.Fatal(err)
		}
		dst = rs.Match(ev, dst[:0])
	}
}
