package sigma

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSigmaHQBackendsAgree runs all 57 SigmaHQ rules over every real
// event through both backends.
func TestSigmaHQBackendsAgree(t *testing.T) {
	events := allRealEvents(t)
	db := openDuck(t, events)
	files := sigmaHQRuleFiles(t, "rules")
	if len(files) != 57 {
		t.Fatalf("found %d rules; want 57", len(files))
	}
	total := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseRule(f, src)
		if err != nil {
			t.Errorf("ParseRule(%s): %v", f, err)
			continue
		}
		m, err := Compile(r, CompileOptions{})
		if err != nil {
			t.Errorf("Compile(%s): %v", f, err)
			continue
		}
		q, err := ToSQL(r, SQLOptions{})
		if err != nil {
			t.Errorf("ToSQL(%s): %v", f, err)
			continue
		}
		got := goIDs(t, m, events)
		want, err := queryIDs(t, db, q)
		if err != nil {
			t.Errorf("%s: query: %v\n%s", f, err, q)
			continue
		}
		total += len(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Go matcher vs DuckDB (-sql +go):\n%s", f, diff)
		}
	}
	t.Logf("%d matches in total", total)
	if total == 0 {
		t.Error("no rule matched any real event")
	}
}
