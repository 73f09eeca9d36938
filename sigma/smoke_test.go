package sigma

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

// valueColumns are the columns TestValuesRewriteAgrees gives SQLOptions.Values.
var valueColumns = []string{"eventName", "eventSource", "eventType", "errorCode", "awsRegion", "eventCategory",
	"recipientAccountId", "userAgent", "sourceIPAddress", "userIdentity.type", "userIdentity.arn",
	"userIdentity.userName", "userIdentity.invokedBy"}

func distinctValues(t testing.TB, db *sql.DB, cols []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, c := range cols {
		expr := "t"
		for _, p := range strings.Split(c, ".") {
			expr += "." + quoteIdent(p)
		}
		rows, err := db.Query("SELECT DISTINCT " + expr + " FROM events AS t WHERE " + expr + " IS NOT NULL")
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		out[c] = []string{}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out[c] = append(out[c], v)
		}
		rows.Close()
	}
	return out
}

// TestValuesRewriteAgrees: with SQLOptions.Values, string predicates on
// known columns become IN lists; every SigmaHQ rule still selects exactly
// the events the Go matcher matches, and the rewrite does happen.
func TestValuesRewriteAgrees(t *testing.T) {
	events := allRealEvents(t)
	db := openDuck(t, events)
	values := distinctValues(t, db, valueColumns)
	rewritten := 0
	for _, f := range sigmaHQRuleFiles(t, "rules") {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseRule(f, src)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Compile(r, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := ToSQL(r, SQLOptions{})
		if err != nil {
			t.Fatal(err)
		}
		q, err := ToSQL(r, SQLOptions{Values: values})
		if err != nil {
			t.Fatal(err)
		}
		if q != plain {
			rewritten++
		}
		got, err := queryIDs(t, db, q)
		if err != nil {
			t.Fatalf("%s: %v\n%s", f, err, q)
		}
		if diff := cmp.Diff(goIDs(t, m, events), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: Go matcher vs rewritten SQL (-go +sql):\n%s\n%s", f, diff, q)
		}
	}
	if rewritten < 40 {
		t.Errorf("only %d of 57 rules rewritten; want most (eventName and eventSource are in nearly every rule)", rewritten)
	}
}
