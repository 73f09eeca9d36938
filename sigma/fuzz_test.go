package sigma

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that Parse, Check and both backends never panic or hang
// on any input, and that every result is either documents or an error.
func FuzzParse(f *testing.F) {
	for _, sub := range []string{"rules", "rules-placeholder", "unsupported"} {
		for _, p := range sigmaHQRuleFiles(f, sub) {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("title: t\nlogsource: {product: aws}\ndetection:\n  s: [a, b]\n  condition: s | count() by x > 3\n  timeframe: 5m\n"))
	f.Add([]byte("a: &a [x]\nb: *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		docs, err := Parse("fuzz.yml", src)
		if err == nil && len(docs) == 0 {
			t.Fatal("Parse returned neither documents nor an error")
		}
		_ = Check(docs, CompileOptions{})
		for _, d := range docs {
			if d.Kind == KindRule {
				if m, err := Compile(d.Rule, CompileOptions{AnyLogsource: true}); err == nil {
					ev, _ := ParseEvent([]byte(`{"eventName":"x","userIdentity":{"type":"Root"}}`))
					m.Match(ev)
				}
				_, _ = ToSQL(d.Rule, SQLOptions{})
			}
		}
	})
}

var fuzzFields = []string{
	"eventName", "eventSource", "userAgent", "sourceIPAddress", "errorCode", "errorMessage",
	"readOnly", "eventTime", "userIdentity.type", "userIdentity.arn", "userIdentity.userName",
	"userIdentity.sessionContext.attributes.mfaAuthenticated", "resources.ARN",
	"requestParameters", "requestParameters.bucketName", "requestParameters.userName",
	"requestParameters.instancesSet.items.instanceId", "responseElements.ConsoleLogin",
	"additionalEventData.MFAUsed", "additionalEventData.bytesTransferredOut", "status", "tlsDetails.tlsVersion",
}

var fuzzMods = []string{"", "", "|contains", "|startswith", "|endswith", "|contains|all", "|cased", "|contains|cased",
	"|re", "|re|i", "|cidr", "|gt", "|lte", "|exists", "|base64offset|contains", "|windash|contains", "|fieldref", "|fieldref|contains"}

var fuzzWords = []string{"a", "*", "?", "\\", "\\*", "%", "_", "'", "\"", "--", ";", "é", "É", "Root", "IAMUser",
	"Get", "List", "Bucket", "amazonaws.com", "iam", "s3", ".", "/", "10.", "192.168.", "0", "1", "true", "false",
	"Success", "No", "aws-cli", "Mozilla", "arn:aws:", ":user/", "stratus", "-", " ", "x\ny", ".*", "[a-z]+", "^", "$", "(", ")"}

var fuzzValues = []string{"ListBuckets", "GetBucketAcl", "AssumedRole", "AWSService", "IAMUser", "Success", "Root",
	"cloudtrail.amazonaws.com", "ec2.amazonaws.com", "sts.amazonaws.com", "s3.amazonaws.com", "iam.amazonaws.com",
	"aws-sdk-go", "console.amazonaws.com", "AWS Internal", "TLSv1.2", "TLSv1.3", "ConsoleLogin", "stratus-red-team",
	"arn:aws:iam::", "GetBucketPolicy", "true", "false", "No", "a", "*", "Boto3", "192.168.10.20"}

var fuzzRegexps = []string{"^Get", "Bucket", "(?i)root", "^[A-Z][a-z]+$", "amazonaws\\.com$", "^$", "a|b", ".*", "^1[0-9]\\.", "[0-9]{3}"}

// fuzzRule builds a syntactically valid rule from fuzz bytes.
func fuzzRule(data []byte) string {
	i := 0
	next := func(n int) int {
		if n <= 0 {
			return 0
		}
		if i >= len(data) {
			return 0
		}
		b := int(data[i])
		i++
		return b % n
	}
	var b strings.Builder
	b.WriteString("title: fuzz\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n")
	nsel := 1 + next(3)
	for s := 0; s < nsel; s++ {
		fmt.Fprintf(&b, "  sel%d:\n", s)
		nf := 1 + next(3)
		for k := 0; k < nf; k++ {
			field := fuzzFields[next(len(fuzzFields))]
			mod := fuzzMods[next(len(fuzzMods))]
			fmt.Fprintf(&b, "    '%s%s':\n", field, mod)
			nv := 1 + next(3)
			if mod == "|exists" {
				nv = 1
			}
			for v := 0; v < nv; v++ {
				var val string
				switch {
				case mod == "|exists":
					val = []string{"true", "false"}[next(2)]
				case mod == "|gt" || mod == "|lte":
					val = fmt.Sprint(next(2000) - 10)
				case mod == "|cidr":
					val = []string{"'10.0.0.0/8'", "'192.168.0.0/16'", "'0.0.0.0/0'", "'203.0.113.0/24'"}[next(4)]
				case strings.HasPrefix(mod, "|fieldref"):
					val = "'" + fuzzFields[next(len(fuzzFields))] + "'"
				case next(8) == 0 && (mod == "" || next(8) == 0):
					val = "null"
				case strings.HasPrefix(mod, "|re"):
					val = "'" + fuzzRegexps[next(len(fuzzRegexps))] + "'"
				case next(2) == 0:
					w := fuzzValues[next(len(fuzzValues))]
					if next(3) == 0 {
						w = strings.ToUpper(w)
					}
					if next(3) == 0 {
						w = "*" + w[next(len(w)):]
					}
					if next(3) == 0 {
						w = w[:next(len(w)+1)] + "*"
					}
					val = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
				default:
					var w strings.Builder
					for n := 1 + next(4); n > 0; n-- {
						w.WriteString(fuzzWords[next(len(fuzzWords))])
					}
					val = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(w.String()) + `"`
				}
				fmt.Fprintf(&b, "      - %s\n", val)
			}
		}
	}
	conds := []string{"sel0", "not sel0", "1 of sel*", "all of sel*", "1 of them", "sel0 and not sel1", "sel0 or (sel1 and not sel2)", "2 of sel*"}
	fmt.Fprintf(&b, "  condition: %s\n", conds[next(len(conds))])
	return b.String()
}

var (
	fuzzDBOnce   sync.Once
	fuzzDB       *sql.DB
	fuzzEvents   []rawEvent
	fuzzDBCloser func()
)

// fuzzEventSet is a fixed mix of real events and edge cases.
func fuzzEventSet(t testing.TB) []rawEvent {
	all := allRealEvents(t)
	var evs []rawEvent
	for i := 0; i < len(all); i += 80 {
		evs = append(evs, all[i])
	}
	for i, raw := range []string{
		`{"eventID":"edge-1","eventTime":"2024-01-01T00:00:00Z","eventName":"GetBucketPolicy","eventSource":"s3.amazonaws.com","userAgent":"100%_off 'quoted' \"dq\" back\\slash -- ; é","sourceIPAddress":"10.1.2.3","readOnly":true,"userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root","userName":"Root"},"requestParameters":{"bucketName":"GET","userName":"root","instancesSet":{"items":[{"instanceId":"a"},{"instanceId":"*"}]}},"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No","bytesTransferredOut":12.50},"status":"x\ny"}`,
		`{"eventID":"edge-2","eventTime":"2024-01-01T00:00:01Z","eventName":"list","eventSource":"iam","userAgent":"","sourceIPAddress":"192.168.001.1","readOnly":false,"errorCode":null,"userIdentity":{"type":"IAMUser","userName":"É"},"requestParameters":null,"resources":[{"ARN":"arn:aws:s3:::x"},{"ARN":"10.0.0.1"}],"additionalEventData":{"bytesTransferredOut":"1000"}}`,
		`{"eventID":"edge-3","eventTime":"2024-01-01T00:00:02Z","eventName":"?","userAgent":"aws-cli Mozilla","userIdentity":{},"requestParameters":{"bucketName":["a","b"],"instancesSet":[{"items":{"instanceId":"IAMUser"}}]},"responseElements":{"ConsoleLogin":true}}`,
		`{"eventID":"edge-4","eventTime":"2024-01-01T00:00:03Z","eventName":"GetRole","sourceIPAddress":"203.0.113.9","errorMessage":"a","userIdentity":{"type":"AssumedRole","sessionContext":{"attributes":{"mfaAuthenticated":"true"}}},"requestParameters":{"bucketName":1e3,"userName":{"nested":"Root"}}}`,
	} {
		_ = i
		evs = append(evs, rawEvent{ID: fmt.Sprintf("edge-%d", i+1), Raw: []byte(raw)})
	}
	return evs
}

// FuzzDifferential builds random rules and checks that the Go matcher and
// DuckDB agree on a fixed event set, and that they fail together.
func FuzzDifferential(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0, 0, 0, 0, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {2, 1, 13, 2, 1, 1, 0, 5},
		{0, 2, 8, 2, 1, 2, 3, 4, 5, 6, 7}, {1, 1, 2, 9, 1, 1, 4}, {0, 0, 5, 10, 2, 0, 7, 3},
		{2, 2, 16, 16, 1, 3, 5, 2, 1, 4, 4, 4}, {1, 0, 14, 14, 1, 0, 11, 22, 9}, {0, 1, 12, 12, 1, 0, 1},
		{0, 0, 19, 11, 2, 5, 6, 0, 0, 7}, {2, 1, 4, 3, 1, 0, 2, 8, 7, 6, 5, 4, 3, 2, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDBOnce.Do(func() {
			fuzzEvents = fuzzEventSet(t)
			// The database outlives this fuzz input; it is closed with the
			// process.
			fuzzDB = openDuckNoCleanup(t, fuzzEvents)
		})
		src := fuzzRule(data)
		r, err := ParseRule("fuzz.yml", []byte(src))
		if err != nil {
			return // e.g. an empty regexp value; Parse errors are FuzzParse's job
		}
		m, cerr := Compile(r, CompileOptions{})
		q, serr := ToSQL(r, SQLOptions{})
		if (cerr == nil) != (serr == nil) {
			t.Fatalf("Compile = %v but ToSQL = %v\n%s", cerr, serr, src)
		}
		if cerr != nil {
			return
		}
		got := goIDs(t, m, fuzzEvents)
		want, err := queryIDs(t, fuzzDB, q)
		if err != nil {
			t.Fatalf("DuckDB: %v\nrule:\n%s\nquery:\n%s", err, src, q)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("backends disagree (-sql +go):\n%s\nrule:\n%s\nquery:\n%s", diff, src, q)
		}
		checkValuesRewrite(t, r, fuzzDB, fuzzDistinct(t), got, src)
	})
}

// TestDifferentialRandomRules runs the differential check of
// FuzzDifferential on 600 deterministic pseudo-random rules in every
// ordinary test run, and checks the generator yields rules that compile
// and match.
func TestDifferentialRandomRules(t *testing.T) {
	events := fuzzEventSet(t)
	db := openDuck(t, events)
	values := distinctValues(t, db, valueColumns)
	state := uint64(42)
	rnd := func() byte {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return byte(state)
	}
	compiled, matchedSome := 0, 0
	for n := 0; n < 600; n++ {
		data := make([]byte, 40)
		for i := range data {
			data[i] = rnd()
		}
		src := fuzzRule(data)
		r, err := ParseRule("gen.yml", []byte(src))
		if err != nil {
			continue
		}
		m, cerr := Compile(r, CompileOptions{})
		q, serr := ToSQL(r, SQLOptions{})
		if (cerr == nil) != (serr == nil) {
			t.Fatalf("Compile = %v but ToSQL = %v\n%s", cerr, serr, src)
		}
		if cerr != nil {
			continue
		}
		compiled++
		got := goIDs(t, m, events)
		want, err := queryIDs(t, db, q)
		if err != nil {
			t.Fatalf("DuckDB: %v\nrule:\n%s\nquery:\n%s", err, src, q)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("backends disagree (-sql +go):\n%s\nrule:\n%s", diff, src)
		}
		checkValuesRewrite(t, r, db, values, got, src)
		if len(got) > 0 {
			matchedSome++
		}
	}
	t.Logf("%d rules compiled, %d matched at least one event", compiled, matchedSome)
	if compiled < 300 || matchedSome < 60 {
		t.Errorf("generator too weak: %d compiled, %d matched", compiled, matchedSome)
	}
}

var (
	fuzzValuesOnce sync.Once
	fuzzValueMap   map[string][]string
)

func fuzzDistinct(t testing.TB) map[string][]string {
	fuzzValuesOnce.Do(func() { fuzzValueMap = distinctValues(t, fuzzDB, valueColumns) })
	return fuzzValueMap
}

// checkValuesRewrite: the same rule compiled with SQLOptions.Values (IN
// lists decided by the Go matcher's comparison) selects the same events.
func checkValuesRewrite(t testing.TB, r *Rule, db *sql.DB, values map[string][]string, want []string, src string) {
	t.Helper()
	q, err := ToSQL(r, SQLOptions{Values: values})
	if err != nil {
		t.Fatalf("ToSQL with values: %v\n%s", err, src)
	}
	got, err := queryIDs(t, db, q)
	if err != nil {
		t.Fatalf("DuckDB (values): %v\nrule:\n%s\nquery:\n%s", err, src, q)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("values rewrite disagrees (-go +sql):\n%s\nrule:\n%s\nquery:\n%s", diff, src, q)
	}
}
