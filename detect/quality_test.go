package detect_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/trailscope/trailscope/detect"
	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/synth"
)

// TestPlantedAttacksFound measures detection quality on generated
// archives with planted attacks and benign look-alikes (three seeds):
// every planted attack is found (denied ones as attempts), and no finding
// of medium severity or above touches a background event. Low findings
// (single failed logins) are allowed on the background.
func TestPlantedAttacksFound(t *testing.T) {
	e, err := detect.NewEngine(detect.Options{Group: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []uint64{42, 7, 99} {
		dir := t.TempDir()
		o := synth.SampleOptions(filepath.Join(dir, "bucket"))
		o.Seed = seed
		res, err := synth.Generate(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		src, _ := ingest.NewDirSource(o.Dir)
		fs := streamFindings(t, e, src)
		flagged := map[string]detect.Finding{}
		for _, f := range fs {
			for _, id := range f.EventIDs {
				if f.Severity >= detect.Medium {
					flagged[id] = f
				}
			}
		}
		planted := map[string]bool{}
		found := 0
		for _, p := range res.Planted {
			hit := false
			for _, id := range p.EventIDs {
				planted[id] = true
				if f, ok := flagged[id]; ok {
					hit = true
					if f.Attempt != p.Attempt {
						t.Errorf("seed %d: %s: attempt=%v; want %v", seed, p.Technique, f.Attempt, p.Attempt)
					}
				}
			}
			if hit {
				found++
			} else {
				t.Errorf("seed %d: planted %s (%s) not found", seed, p.Technique, p.EventName)
			}
		}
		fp := 0
		for id, f := range flagged {
			if !planted[id] {
				fp++
				t.Errorf("seed %d: finding %q on background event %s", seed, f.Title, id)
			}
		}
		t.Logf("seed %d: %d/%d planted attacks found, %d medium+ findings on %d background events", seed, found, len(res.Planted), fp, res.Events-len(planted))
	}
}
