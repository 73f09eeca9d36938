package detect

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Formats lists the output formats Write accepts.
var Formats = []string{"table", "jsonl", "json", "asff", "ocsf", "sarif"}

// WriteOptions tune rendering.
type WriteOptions struct {
	// Width is the terminal width for the table (0: 120).
	Width int
	// ShowSuppressed includes suppressed findings in the output.
	ShowSuppressed bool
	// AWSAccount and Region fill ASFF's ProductArn and AwsAccountId when a
	// finding lacks an account.
	Region string
	// Now stamps CreatedAt/UpdatedAt (default time.Now).
	Now time.Time
	// ToolVersion is reported in SARIF and OCSF.
	ToolVersion string
}

// Write renders findings in format.
func Write(w io.Writer, format string, fs []Finding, o WriteOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	if o.ToolVersion == "" {
		o.ToolVersion = "0.1.0"
	}
	var shown []Finding
	for _, f := range fs {
		if f.Suppressed == "" || o.ShowSuppressed {
			shown = append(shown, f)
		}
	}
	switch format {
	case "table", "":
		return writeTable(w, shown, fs, o)
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, f := range shown {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if shown == nil {
			shown = []Finding{}
		}
		return enc.Encode(shown)
	case "asff":
		return writeJSON(w, map[string]any{"Findings": toASFF(shown, o)})
	case "ocsf":
		return writeJSON(w, toOCSF(shown, o))
	case "sarif":
		return writeJSON(w, toSARIF(shown, o))
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func clip(s string, n int) string {
	if n <= 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func writeTable(w io.Writer, shown, all []Finding, o WriteOptions) error {
	width := o.Width
	if width <= 0 {
		width = 120
	}
	if len(shown) == 0 {
		fmt.Fprintln(w, "no findings")
	}
	principalW := max(20, width-86)
	for _, f := range shown {
		who := f.Principal.Label()
		if who == "" {
			who = f.Principal.Type
		}
		if len(f.Group) > 0 && who == "" {
			var parts []string
			for k, v := range f.Group {
				parts = append(parts, k+"="+v)
			}
			who = strings.Join(parts, " ")
		}
		outcome := ""
		if f.Attempt {
			outcome = " (attempt: " + f.ErrorCode + ")"
		}
		if f.Suppressed != "" {
			outcome += " [suppressed: " + f.Suppressed + "]"
		}
		fmt.Fprintf(w, "%-8s %s  %-12s %-14s %-15s %s\n",
			strings.ToUpper(f.Severity.String()), f.First.UTC().Format("2006-01-02 15:04:05"), f.Account, f.Region,
			clip(f.SourceIP, 15), clip(who, principalW))
		fmt.Fprintf(w, "         %s%s", clip(f.Title, width-9), outcome)
		if f.Count > 1 {
			fmt.Fprintf(w, " ×%d", f.Count)
		}
		fmt.Fprintln(w)
		if len(f.Techniques) > 0 {
			fmt.Fprintf(w, "         ATT&CK %s %s; rule %s\n", strings.Join(f.Techniques, ","), strings.Join(f.Tactics, ","), f.RuleID)
		}
	}
	counts := map[Severity]int{}
	supp := 0
	for _, f := range all {
		if f.Suppressed != "" {
			supp++
			continue
		}
		counts[f.Severity]++
	}
	var parts []string
	for s := Critical; s >= Informational; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		parts = []string{"0"}
	}
	fmt.Fprintf(w, "\n%d findings: %s", len(all)-supp, strings.Join(parts, ", "))
	if supp > 0 {
		fmt.Fprintf(w, "; %d suppressed", supp)
	}
	fmt.Fprintln(w)
	return nil
}

// ASFF severity labels and normalized scores.
func asffSeverity(s Severity) (string, int) {
	switch s {
	case Critical:
		return "CRITICAL", 90
	case High:
		return "HIGH", 70
	case Medium:
		return "MEDIUM", 40
	case Low:
		return "LOW", 1
	}
	return "INFORMATIONAL", 0
}

// toASFF maps findings to the AWS Security Finding Format, ready for
// securityhub BatchImportFindings (every required field is set, within
// the lengths and formats the API enforces).
func toASFF(fs []Finding, o WriteOptions) []map[string]any {
	out := []map[string]any{}
	for _, f := range fs {
		// ProductArn needs a real region: records with a garbled one fall
		// back to the default region.
		region := f.Region
		if !asffRegion.MatchString(region) {
			region = o.Region
		}
		if !asffRegion.MatchString(region) {
			region = "us-east-1"
		}
		partition := asffPartition(region)
		acct := f.Account
		if !asffAccount.MatchString(acct) {
			acct = "000000000000"
		}
		label, norm := asffSeverity(f.Severity)
		created := f.First.UTC().Format(time.RFC3339)
		res := map[string]any{"Type": "Other", "Id": "AWS::::Account:" + acct, "Region": region, "Partition": partition}
		if f.Principal.ARN != "" {
			res = map[string]any{"Type": "AwsIamRole", "Id": clip(f.Principal.ARN, 512), "Region": region, "Partition": partition}
			if strings.Contains(f.Principal.ARN, ":user/") {
				res["Type"] = "AwsIamUser"
			} else if !strings.Contains(f.Principal.ARN, "role/") {
				res["Type"] = "Other"
			}
		}
		title := f.Title
		if f.Attempt {
			title = "Attempt: " + title
		}
		desc := fmt.Sprintf("%s by %s from %s (%d event(s), %s)", f.EventName, orDash(f.Principal.ARN), orDash(f.SourceIP), f.Count, strings.Join(f.EventIDs, ", "))
		// ProductFields values are 1 to 2048 characters: leave out empty ones.
		fields := map[string]string{}
		for k, v := range map[string]string{
			"trailscope/RuleId": clip(f.RuleID, 2048), "trailscope/EventIds": clip(strings.Join(f.EventIDs, ","), 2048),
			"trailscope/Attempt": fmt.Sprint(f.Attempt), "trailscope/RuleAuthor": clip(f.Author, 2048),
		} {
			if v != "" {
				fields[k] = v
			}
		}
		m := map[string]any{
			"SchemaVersion":   "2018-10-08",
			"Id":              clip("trailscope/"+f.ID, 512),
			"ProductArn":      fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", partition, region, acct, acct),
			"GeneratorId":     clip("trailscope/"+f.RuleID, 512),
			"AwsAccountId":    acct,
			"Types":           asffTypes(f.Tactics),
			"CreatedAt":       created,
			"UpdatedAt":       o.Now.UTC().Format(time.RFC3339),
			"FirstObservedAt": f.First.UTC().Format(time.RFC3339),
			"LastObservedAt":  f.Last.UTC().Format(time.RFC3339),
			"Severity":        map[string]any{"Label": label, "Normalized": norm},
			"Title":           clip(title, 256),
			"Description":     clip(desc, 1024),
			"Resources":       []any{res},
			"ProductFields":   fields,
			"RecordState":     "ACTIVE",
			"Workflow":        map[string]string{"Status": "NEW"},
		}
		// Only a well-formed address without a zone: CloudTrail's
		// sourceIPAddress also holds service names, and anonymised
		// datasets hold addresses such as 035.249.253.232.
		if a, err := netip.ParseAddr(f.SourceIP); err == nil && a.Zone() == "" {
			if a.Is4() {
				m["Network"] = map[string]any{"Direction": "IN", "SourceIpV4": a.String()}
			} else {
				m["Network"] = map[string]any{"Direction": "IN", "SourceIpV6": a.String()}
			}
		}
		out = append(out, m)
	}
	return out
}

var (
	asffRegion  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	asffAccount = regexp.MustCompile(`^[0-9]{12}$`)
)

// asffPartition is the ARN partition of a region.
func asffPartition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// asffTactics maps ATT&CK tactics to ASFF finding types: the TTPs
// categories ASFF defines (spelled as ASFF does), exfiltration and impact
// under Effects, the other tactics as TTPs categories of their own.
var asffTactics = map[string]string{
	"reconnaissance": "TTPs/Reconnaissance", "resource-development": "TTPs/Resource Development",
	"initial-access": "TTPs/Initial Access", "execution": "TTPs/Execution", "persistence": "TTPs/Persistence",
	"privilege-escalation": "TTPs/Privilege Escalation", "defense-evasion": "TTPs/Defense Evasion",
	"credential-access": "TTPs/Credential Access", "discovery": "TTPs/Discovery", "lateral-movement": "TTPs/Lateral Movement",
	"collection": "TTPs/Collection", "command-and-control": "TTPs/Command and Control",
	"exfiltration": "Effects/Data Exfiltration", "impact": "Effects",
}

// asffTypes gives a finding's ASFF Types: one per ATT&CK tactic, or
// Unusual Behaviors when it has none.
func asffTypes(tactics []string) []string {
	types := []string{}
	for _, t := range tactics {
		typ, ok := asffTactics[strings.ReplaceAll(strings.ToLower(t), "_", "-")]
		if ok && !slices.Contains(types, typ) && len(types) < 50 {
			types = append(types, typ)
		}
	}
	if len(types) == 0 {
		types = append(types, "Unusual Behaviors")
	}
	return types
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// asffTTP maps an ATT&CK tactic tag to ASFF's TTP namespace category.
func asffTTP(t string) string {
	words := strings.Split(t, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// OCSF Detection Finding (class 2004).
func toOCSF(fs []Finding, o WriteOptions) []map[string]any {
	out := []map[string]any{}
	for _, f := range fs {
		sevID := map[Severity]int{Informational: 1, Low: 2, Medium: 3, High: 4, Critical: 5}[f.Severity]
		var attacks []map[string]any
		for _, tech := range f.Techniques {
			a := map[string]any{"technique": map[string]any{"uid": tech}, "version": "14"}
			if len(f.Tactics) > 0 {
				a["tactic"] = map[string]any{"name": asffTTP(f.Tactics[0])}
			}
			attacks = append(attacks, a)
		}
		m := map[string]any{
			"class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "category_name": "Findings",
			"activity_id": 1, "activity_name": "Create", "type_uid": 200401,
			"severity_id": sevID, "severity": strings.Title(f.Severity.String()),
			"status_id": 1, "status": "New",
			"time":     f.First.UnixMilli(),
			"metadata": map[string]any{"version": "1.3.0", "product": map[string]any{"name": "trailscope", "vendor_name": "trailscope", "version": o.ToolVersion}},
			"finding_info": map[string]any{
				"uid": f.ID, "title": f.Title, "first_seen_time": f.First.UnixMilli(), "last_seen_time": f.Last.UnixMilli(),
				"analytic":       map[string]any{"uid": f.RuleID, "name": f.Title, "type_id": 1, "type": "Rule"},
				"attacks":        attacks,
				"related_events": relatedEvents(f),
			},
			"cloud":        map[string]any{"provider": "AWS", "region": f.Region, "account": map[string]any{"uid": f.Account}},
			"actor":        map[string]any{"user": map[string]any{"uid": f.Principal.ARN, "type": f.Principal.Type, "name": f.Principal.UserName}},
			"src_endpoint": map[string]any{"ip": f.SourceIP},
			"unmapped":     map[string]any{"attempt": f.Attempt, "error_code": f.ErrorCode, "source_keys": f.SourceKeys, "rule_author": f.Author, "rule_license": f.License},
		}
		out = append(out, m)
	}
	return out
}

func relatedEvents(f Finding) []map[string]any {
	out := []map[string]any{}
	for _, id := range f.EventIDs {
		out = append(out, map[string]any{"uid": id, "product_uid": "cloudtrail"})
	}
	return out
}

// toSARIF writes a SARIF 2.1.0 log: one run, one rule per Sigma rule, one
// result per finding located at its source object.
func toSARIF(fs []Finding, o WriteOptions) map[string]any {
	rules := []map[string]any{}
	ruleIndex := map[string]int{}
	results := []map[string]any{}
	for _, f := range fs {
		i, ok := ruleIndex[f.RuleID]
		if !ok {
			i = len(rules)
			ruleIndex[f.RuleID] = i
			// SARIF tags are a set (uniqueItems).
			var tags []string
			for _, tag := range append(append([]string{}, f.Tactics...), f.Techniques...) {
				if !slices.Contains(tags, tag) {
					tags = append(tags, tag)
				}
			}
			r := map[string]any{
				"id": f.RuleID, "name": sarifName(f.Title),
				"shortDescription":     map[string]string{"text": f.Title},
				"defaultConfiguration": map[string]string{"level": sarifLevel(f.Severity)},
				"properties":           map[string]any{"tags": tags, "security-severity": fmt.Sprint(map[Severity]float64{Informational: 0.0, Low: 3.0, Medium: 5.5, High: 8.0, Critical: 9.5}[f.Severity])},
			}
			// helpUri must be an absolute URI: take the first reference
			// that is one (Sigma references are free text).
			for _, ref := range f.References {
				if u, err := url.Parse(strings.TrimSpace(ref)); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
					r["helpUri"] = u.String()
					break
				}
			}
			rules = append(rules, r)
		}
		msg := fmt.Sprintf("%s: %s by %s from %s", f.Title, f.EventName, orDash(f.Principal.ARN), orDash(f.SourceIP))
		if f.Attempt {
			msg += " (denied attempt: " + f.ErrorCode + ")"
		}
		var locs []map[string]any
		for _, k := range f.SourceKeys {
			locs = append(locs, map[string]any{"physicalLocation": map[string]any{"artifactLocation": map[string]string{"uri": sarifURI(k)}}})
		}
		res := map[string]any{
			"ruleId": f.RuleID, "ruleIndex": i, "level": sarifLevel(f.Severity),
			"message":             map[string]string{"text": msg},
			"partialFingerprints": map[string]string{"trailscope/v1": f.ID},
			"properties":          map[string]any{"event_ids": f.EventIDs, "account": f.Account, "region": f.Region, "first_event_time": f.First, "last_event_time": f.Last, "attempt": f.Attempt},
		}
		if len(locs) > 0 {
			res["locations"] = locs
		}
		if f.Suppressed != "" {
			res["suppressions"] = []map[string]string{{"kind": "external", "justification": f.Suppressed}}
		}
		results = append(results, res)
	}
	return map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": map[string]any{"name": "trailscope", "version": o.ToolVersion, "informationUri": "https://github.com/trailscope/trailscope", "rules": rules}},
			"results": results,
		}},
	}
}

// sarifURI turns a source key (s3://bucket/key or a file path) into the
// URI reference SARIF wants, escaping what a URI cannot hold (spaces, %,
// backslashes, non-ASCII).
func sarifURI(k string) string {
	if rest, ok := strings.CutPrefix(k, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		return (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + key}).String()
	}
	return (&url.URL{Path: filepath.ToSlash(k)}).String()
}

func sarifName(title string) string {
	var b strings.Builder
	up := true
	for _, r := range title {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		} else {
			up = true
		}
	}
	return b.String()
}

func sarifLevel(s Severity) string {
	switch s {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}
