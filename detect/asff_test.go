package detect_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trailscope/trailscope/detect"
)

// ASFF constraints, from the AWS Security Hub user guide ("Required
// top-level ASFF attributes", "Types taxonomy for ASFF") and the
// AwsSecurityFinding API reference.
var (
	asffRequired = []string{"AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn",
		"Resources", "SchemaVersion", "Severity", "Title", "Types", "UpdatedAt"}
	// ProductArn of a custom integration: the account's own "default" product.
	asffProductArn = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):securityhub:[a-z]{2}(-[a-z]+)+-\d:(\d{12}):product/(\d{12})/default$`)
	asffAccount    = regexp.MustCompile(`^\d{12}$`)
	asffNamespaces = map[string]bool{"Software and Configuration Checks": true, "TTPs": true, "Effects": true,
		"Unusual Behaviors": true, "Sensitive Data Identifications": true}
	// Severity.Label and the Normalized range each label stands for.
	asffLabels = map[string][2]float64{"INFORMATIONAL": {0, 0}, "LOW": {1, 39}, "MEDIUM": {40, 69}, "HIGH": {70, 89}, "CRITICAL": {90, 100}}
	// RFC 3339 section 5.6 date-time, as ASFF timestamps must be.
	asffTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
)

// checkASFF returns every way f breaks the ASFF rules Security Hub's
// BatchImportFindings enforces.
func checkASFF(f map[string]any) []string {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	str := func(k string) string { s, _ := f[k].(string); return s }
	maxLen := func(k string, n int) {
		if l := utf8.RuneCountInString(str(k)); l > n {
			bad("%s is %d characters; at most %d", k, l, n)
		}
	}
	for _, k := range asffRequired {
		v, ok := f[k]
		if !ok || v == nil || v == "" {
			bad("required %s is missing", k)
		}
	}
	if v := str("SchemaVersion"); v != "2018-10-08" {
		bad("SchemaVersion %q; want 2018-10-08", v)
	}
	maxLen("Id", 512)
	maxLen("GeneratorId", 512)
	maxLen("Title", 256)
	maxLen("Description", 1024)
	maxLen("ProductArn", 2048)
	acct := str("AwsAccountId")
	if !asffAccount.MatchString(acct) {
		bad("AwsAccountId %q is not 12 digits", acct)
	}
	partition := ""
	if m := asffProductArn.FindStringSubmatch(str("ProductArn")); m == nil || m[3] != acct || m[4] != acct {
		bad("ProductArn %q is not arn:<partition>:securityhub:<region>:%s:product/%s/default", str("ProductArn"), acct, acct)
	} else {
		partition = m[1]
		region := strings.Split(str("ProductArn"), ":")[3]
		if want := map[bool]string{true: "aws-us-gov"}[strings.HasPrefix(region, "us-gov-")]; want != "" && partition != want {
			bad("ProductArn partition %s in region %s; want %s", partition, region, want)
		}
		if strings.HasPrefix(region, "cn-") && partition != "aws-cn" {
			bad("ProductArn partition %s in region %s; want aws-cn", partition, region)
		}
	}
	for _, k := range []string{"CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"} {
		if _, ok := f[k]; !ok && k != "CreatedAt" && k != "UpdatedAt" {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, str(k)); err != nil || !asffTime.MatchString(str(k)) {
			bad("%s %q is not an RFC 3339 date-time", k, str(k))
		}
	}
	if first, err := time.Parse(time.RFC3339, str("FirstObservedAt")); err == nil {
		if last, err := time.Parse(time.RFC3339, str("LastObservedAt")); err == nil && last.Before(first) {
			bad("LastObservedAt %v is before FirstObservedAt %v", last, first)
		}
	}
	types, _ := f["Types"].([]any)
	if len(types) == 0 || len(types) > 50 {
		bad("%d Types; want 1 to 50", len(types))
	}
	seen := map[string]bool{}
	for _, t := range types {
		s, _ := t.(string)
		parts := strings.Split(s, "/")
		if len(parts) > 3 || !asffNamespaces[parts[0]] || slices.Contains(parts, "") {
			bad("Type %q is not namespace[/category[/classifier]] with a defined namespace", s)
		}
		if seen[s] {
			bad("Type %q twice", s)
		}
		seen[s] = true
	}
	sev, _ := f["Severity"].(map[string]any)
	label, _ := sev["Label"].(string)
	if r, ok := asffLabels[label]; !ok {
		bad("Severity.Label %q", label)
	} else if n, ok := sev["Normalized"].(float64); ok && (n < r[0] || n > r[1]) {
		bad("Severity.Normalized %v is outside %v for %s", n, r, label)
	}
	res, _ := f["Resources"].([]any)
	if len(res) == 0 || len(res) > 32 {
		bad("%d Resources; want 1 to 32", len(res))
	}
	for _, r := range res {
		m, _ := r.(map[string]any)
		typ, _ := m["Type"].(string)
		id, _ := m["Id"].(string)
		if typ == "" || id == "" || len(typ) > 256 || len(id) > 512 {
			bad("Resource Type %q Id %q", typ, id)
		}
		switch m["Partition"] {
		case nil, "aws", "aws-cn", "aws-us-gov":
			if p, ok := m["Partition"].(string); ok && partition != "" && p != partition {
				bad("Resource Partition %s; ProductArn's is %s", p, partition)
			}
		default:
			bad("Resource Partition %v", m["Partition"])
		}
	}
	if pf, ok := f["ProductFields"].(map[string]any); ok {
		if len(pf) > 50 {
			bad("%d ProductFields; at most 50", len(pf))
		}
		for k, v := range pf {
			s, _ := v.(string)
			if utf8.RuneCountInString(k) > 128 || utf8.RuneCountInString(s) > 2048 || s == "" {
				bad("ProductFields %q: %d characters; want 1 to 2048 and a key of at most 128", k, utf8.RuneCountInString(s))
			}
		}
	}
	if n, ok := f["Network"].(map[string]any); ok {
		for k, want := range map[string]bool{"SourceIpV4": true, "SourceIpV6": false} {
			if s, ok := n[k].(string); ok {
				a, err := netip.ParseAddr(s)
				if err != nil || a.Is4() != want || a.Zone() != "" {
					bad("Network.%s %q is not an IPv%s address", k, s, map[bool]string{true: "4", false: "6"}[want])
				}
			}
		}
	}
	return errs
}

// TestASFFRequiredFields renders the findings of a realistic run, and
// findings with awkward values, as ASFF and checks every finding against
// the ASFF required fields and their formats.
func TestASFFRequiredFields(t *testing.T) {
	long := strings.Repeat("ab ", 400)
	var manyIDs []string
	for i := range 300 {
		manyIDs = append(manyIDs, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i))
	}
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	odd := []detect.Finding{
		{ID: "a", RuleID: "r", Title: long, Severity: detect.Critical, Tactics: []string{"exfiltration", "impact", "command-and-control", "defense_evasion", "defense-evasion"},
			EventIDs: manyIDs, Count: len(manyIDs), First: at, Last: at.Add(time.Hour), EventName: long, SourceIP: "1.2.3.999"},
		{ID: "b", RuleID: "r2", Title: "t", Severity: detect.Low, SourceIP: "2001:db8::1", Account: "111122223333", Region: "eu-west-1",
			Principal: detect.Principal{ARN: "arn:aws:iam::111122223333:user/alice"}, First: at, Last: at},
		{ID: "c", RuleID: "r3", Title: "t", Severity: detect.Medium, SourceIP: "fe80::1%eth0", Tactics: []string{"reconnaissance"},
			Principal: detect.Principal{ARN: "arn:aws-us-gov:sts::111122223333:assumed-role/x/y"}, Account: "111122223333", Region: "us-gov-west-1"},
		{ID: "d", RuleID: "r4", Title: "t", Severity: detect.Informational, SourceIP: "ec2.amazonaws.com", Group: map[string]string{"sourceIPAddress": "10.0.0.1"}, Correlated: true},
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		fs   []detect.Finding
	}{
		{"realistic run", realisticFindings(t)},
		{"awkward values", odd},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := detect.Write(&b, "asff", c.fs, detect.WriteOptions{Now: now, ShowSuppressed: true}); err != nil {
				t.Fatal(err)
			}
			var doc struct{ Findings []map[string]any }
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Findings) != len(c.fs) {
				t.Fatalf("%d ASFF findings for %d findings", len(doc.Findings), len(c.fs))
			}
			ids := map[string]bool{}
			for i, f := range doc.Findings {
				for _, e := range checkASFF(f) {
					t.Errorf("finding %d (%s): %s", i, c.fs[i].RuleID, e)
				}
				id, _ := f["Id"].(string)
				if ids[id] {
					t.Errorf("finding %d: Id %q is not unique", i, id)
				}
				ids[id] = true
			}
		})
	}
	// The checker itself rejects a finding without a required field or
	// with a bad timestamp, label or type.
	var b bytes.Buffer
	detect.Write(&b, "asff", odd[1:2], detect.WriteOptions{Now: now})
	for k, v := range map[string]any{"Title": nil, "CreatedAt": "2024-03-01 12:00:00", "Types": []any{"Bad Namespace/x"},
		"Severity": map[string]any{"Label": "SEVERE"}, "AwsAccountId": "1234", "Resources": []any{map[string]any{"Type": "Other"}}} {
		var doc struct{ Findings []map[string]any }
		json.Unmarshal(b.Bytes(), &doc)
		if v == nil {
			delete(doc.Findings[0], k)
		} else {
			doc.Findings[0][k] = v
		}
		if errs := checkASFF(doc.Findings[0]); len(errs) == 0 {
			t.Errorf("checkASFF accepts a finding with %s = %v", k, v)
		}
	}
}
