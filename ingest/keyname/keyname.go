// Package keyname parses the S3 key grammar that CloudTrail uses when it
// delivers log files and digest files, and builds the listing prefixes that
// let a reader visit only the date folders a query range can touch.
//
// The grammar (see docs/architecture.md and DIGEST.md §1.1):
//
//	log:     {P}AWSLogs/{O}{A}/CloudTrail/{R}/YYYY/MM/DD/{A}_CloudTrail_{R}_YYYYMMDDTHHmmZ_{U}.json.gz
//	digest:  {P}AWSLogs/{O}{A}/CloudTrail-Digest/{R}/YYYY/MM/DD/{A}_CloudTrail-Digest_{R}_{T}_{H}_YYYYMMDDTHHMMSSZ[_backfill].json.gz
//	insight: {P}AWSLogs/{O}{A}/CloudTrail-Insight/{R}/YYYY/MM/DD/...
//
// {P} is an optional trail prefix, {O} an optional organization ID
// (o-xxxxxxxxxx/), {A} a 12-digit account, {R} the delivering region,
// {T} the trail name and {H} the trail's home region.
package keyname

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what a key holds.
type Kind int

// Kinds of object found in a CloudTrail bucket.
const (
	Other   Kind = iota // not part of the CloudTrail grammar
	Log                 // a CloudTrail log file
	Digest              // an hourly digest file
	Insight             // a CloudTrail Insights log file
)

func (k Kind) String() string {
	switch k {
	case Log:
		return "log"
	case Digest:
		return "digest"
	case Insight:
		return "insight"
	}
	return "other"
}

// Key is a parsed CloudTrail object key.
type Key struct {
	Kind     Kind
	Prefix   string    // trail prefix including its trailing "/", or ""
	OrgID    string    // organization ID for organization trails, or ""
	Account  string    // 12-digit account ID
	Region   string    // delivering (source) region
	Date     time.Time // the YYYY/MM/DD folder, UTC midnight
	Time     time.Time // delivery time (log) or digest end time (digest), UTC
	Trail    string    // digest only: trail name
	Home     string    // digest only: home region of the trail
	Backfill bool      // digest only: a backfill digest
	Name     string    // the last path element
}

// ErrNotCloudTrail says a key does not follow the CloudTrail grammar.
var ErrNotCloudTrail = errors.New("not a CloudTrail key")

// Parse parses key. A key outside the grammar returns a Key of Kind Other
// and an error wrapping ErrNotCloudTrail.
func Parse(key string) (Key, error) {
	k := Key{Name: key[strings.LastIndexByte(key, '/')+1:]}
	i := strings.Index(key, "AWSLogs/")
	for i > 0 && key[i-1] != '/' { // "AWSLogs/" must start a path element
		j := strings.Index(key[i+1:], "AWSLogs/")
		if j < 0 {
			i = -1
			break
		}
		i += 1 + j
	}
	if i < 0 {
		return Key{Name: k.Name}, fmt.Errorf("%q: %w: no AWSLogs/ element", key, ErrNotCloudTrail)
	}
	k.Prefix = key[:i]
	parts := strings.Split(key[i+len("AWSLogs/"):], "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "o-") {
		k.OrgID = parts[0]
		parts = parts[1:]
	}
	bad := func(why string) (Key, error) {
		return Key{Name: k.Name}, fmt.Errorf("%q: %w: %s", key, ErrNotCloudTrail, why)
	}
	if len(parts) != 7 {
		return bad("want ACCOUNT/CloudTrail*/REGION/YYYY/MM/DD/NAME")
	}
	if !IsAccount(parts[0]) {
		return bad("account is not 12 digits")
	}
	k.Account = parts[0]
	switch parts[1] {
	case "CloudTrail":
		k.Kind = Log
	case "CloudTrail-Digest":
		k.Kind = Digest
	case "CloudTrail-Insight":
		k.Kind = Insight
	default:
		return bad("unknown folder " + parts[1])
	}
	if !IsRegion(parts[2]) {
		return bad("bad region " + parts[2])
	}
	k.Region = parts[2]
	d, err := time.Parse("2006/01/02", parts[3]+"/"+parts[4]+"/"+parts[5])
	if err != nil {
		return bad("bad date folder")
	}
	k.Date = d
	name := parts[6]
	if !strings.HasPrefix(name, k.Account+"_") {
		return bad("file name does not start with the account")
	}
	switch k.Kind {
	case Log, Insight:
		// {A}_CloudTrail_{R}_YYYYMMDDTHHmmZ_{U}.json.gz (Insight: CloudTrail-Insight)
		rest := strings.TrimPrefix(name, k.Account+"_")
		f := strings.Split(rest, "_")
		if len(f) != 4 || f[1] != k.Region || !strings.HasPrefix(f[3], "") {
			return bad("log file name")
		}
		t, err := time.Parse("20060102T1504Z", f[2])
		if err != nil {
			return bad("log file time")
		}
		k.Time = t
	case Digest:
		rest := strings.TrimPrefix(name, k.Account+"_CloudTrail-Digest_"+k.Region+"_")
		if rest == name {
			return bad("digest file name")
		}
		if !strings.HasSuffix(rest, ".json.gz") {
			return bad("digest file extension")
		}
		rest = strings.TrimSuffix(rest, ".json.gz")
		if strings.HasSuffix(rest, "_backfill") {
			k.Backfill = true
			rest = strings.TrimSuffix(rest, "_backfill")
		}
		// parse from the right: {T}_{H}_{ts}
		j := strings.LastIndexByte(rest, '_')
		if j < 0 {
			return bad("digest file name")
		}
		t, err := time.Parse("20060102T150405Z", rest[j+1:])
		if err != nil {
			return bad("digest time")
		}
		k.Time = t
		rest = rest[:j]
		j = strings.LastIndexByte(rest, '_')
		if j <= 0 || !IsRegion(rest[j+1:]) {
			return bad("digest home region")
		}
		k.Home, k.Trail = rest[j+1:], rest[:j]
	}
	return k, nil
}

// IsAccount reports whether s is a 12-digit AWS account ID.
func IsAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsRegion reports whether s looks like an AWS region name (us-east-1,
// us-gov-west-1, cn-north-1, eu-central-2 ...): lower-case letters and
// digits separated by single dashes, ending in a digit.
func IsRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	dashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || s[i-1] == '-' {
				return false
			}
			dashes++
		default:
			return false
		}
	}
	last := s[len(s)-1]
	return dashes >= 2 && last >= '0' && last <= '9'
}

// LogKey builds the key of a log file.
func LogKey(prefix, org, account, region string, t time.Time, unique string) string {
	t = t.UTC()
	return fmt.Sprintf("%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		accountRoot(prefix, org), account, region, t.Format("2006/01/02"), account, region, t.Format("20060102T1504Z"), unique)
}

// DigestKey builds the key of a digest file.
func DigestKey(prefix, org, account, region, trail, home string, end time.Time, backfill bool) string {
	end = end.UTC()
	bf := ""
	if backfill {
		bf = "_backfill"
	}
	return fmt.Sprintf("%s%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s%s.json.gz",
		accountRoot(prefix, org), account, region, end.Format("2006/01/02"), account, region, trail, home, end.Format("20060102T150405Z"), bf)
}

func accountRoot(prefix, org string) string {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	s := prefix + "AWSLogs/"
	if org != "" {
		s += org + "/"
	}
	return s
}
