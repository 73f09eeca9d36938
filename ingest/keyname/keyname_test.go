package keyname

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ts := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	cases := []struct {
		key  string
		want Key
		err  bool
	}{
		{key: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_AbCdEfGh12345678.json.gz",
			want: Key{Kind: Log, Account: "111122223333", Region: "us-east-1", Date: ts("2024-01-02T00:00:00Z"), Time: ts("2024-01-02T03:05:00Z")}},
		{key: "my/prefix/AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1/2024/01/02/111122223333_CloudTrail_eu-west-1_20240102T0305Z_x.json.gz",
			want: Key{Kind: Log, Prefix: "my/prefix/", OrgID: "o-abc123def4", Account: "111122223333", Region: "eu-west-1", Date: ts("2024-01-02T00:00:00Z"), Time: ts("2024-01-02T03:05:00Z")}},
		{key: "AWSLogs/111122223333/CloudTrail-Digest/ap-northeast-1/2023/10/15/111122223333_CloudTrail-Digest_ap-northeast-1_llm-guard_trail.v2_us-west-2_20231015T230404Z.json.gz",
			want: Key{Kind: Digest, Account: "111122223333", Region: "ap-northeast-1", Date: ts("2023-10-15T00:00:00Z"), Time: ts("2023-10-15T23:04:04Z"), Trail: "llm-guard_trail.v2", Home: "us-west-2"}},
		{key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2023/10/15/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20231015T230404Z_backfill.json.gz",
			want: Key{Kind: Digest, Account: "111122223333", Region: "us-east-1", Date: ts("2023-10-15T00:00:00Z"), Time: ts("2023-10-15T23:04:04Z"), Trail: "t", Home: "us-east-1", Backfill: true}},
		{key: "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/01/02/111122223333_CloudTrail-Insight_us-east-1_20240102T0305Z_x.json.gz",
			want: Key{Kind: Insight, Account: "111122223333", Region: "us-east-1", Date: ts("2024-01-02T00:00:00Z"), Time: ts("2024-01-02T03:05:00Z")}},
		{key: "README.md", err: true},
		{key: "xAWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/f.json.gz", err: true},
		{key: "AWSLogs/1111/CloudTrail/us-east-1/2024/01/02/1111_CloudTrail_us-east-1_20240102T0305Z_x.json.gz", err: true},
		{key: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/13/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_x.json.gz", err: true},
		{key: "AWSLogs/111122223333/CloudTrail/../2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_x.json.gz", err: true},
	}
	for _, c := range cases {
		got, err := Parse(c.key)
		if c.err {
			if err == nil || !errors.Is(err, ErrNotCloudTrail) {
				t.Errorf("Parse(%q) error = %v; want ErrNotCloudTrail", c.key, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.key, err)
			continue
		}
		c.want.Name = c.key[len(c.key)-len(got.Name):]
		if got != c.want {
			t.Errorf("Parse(%q) = %+v; want %+v", c.key, got, c.want)
		}
	}
}

func TestBuildersRoundTrip(t *testing.T) {
	at := time.Date(2024, 2, 29, 23, 55, 7, 0, time.UTC)
	lk := LogKey("pre", "o-abc1234567", "111122223333", "us-gov-west-1", at, "ABCDEFGH12345678")
	k, err := Parse(lk)
	if err != nil || k.Kind != Log || k.Prefix != "pre/" || k.OrgID != "o-abc1234567" || !k.Time.Equal(at.Truncate(time.Minute)) {
		t.Fatalf("Parse(LogKey) = %+v, %v", k, err)
	}
	dk := DigestKey("", "", "111122223333", "eu-west-1", "my_trail-1", "us-east-1", at, true)
	k, err = Parse(dk)
	if err != nil || k.Kind != Digest || k.Trail != "my_trail-1" || k.Home != "us-east-1" || !k.Backfill || !k.Time.Equal(at) {
		t.Fatalf("Parse(DigestKey) = %+v, %v", k, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_x.json.gz")
	f.Add("AWSLogs/o-x/111122223333/CloudTrail-Digest/us-east-1/2023/10/15/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20231015T230404Z_backfill.json.gz")
	f.Add("AWSLogs/")
	f.Fuzz(func(t *testing.T, key string) {
		k, err := Parse(key)
		if err != nil {
			if k.Kind != Other {
				t.Fatalf("error with kind %v", k.Kind)
			}
			return
		}
		if !IsAccount(k.Account) || !IsRegion(k.Region) {
			t.Fatalf("accepted bad account/region: %+v", k)
		}
		if k.Name != key[strings.LastIndexByte(key, '/')+1:] {
			t.Fatalf("Name %q is not the last element of %q", k.Name, key)
		}
		// Keys that parse can be rebuilt from their fields: the rebuilt
		// key parses to the same fields (its date folder is the date of
		// the file's time), and equals the key when the key is canonical.
		var again string
		switch k.Kind {
		case Digest:
			again = DigestKey(k.Prefix, k.OrgID, k.Account, k.Region, k.Trail, k.Home, k.Time, k.Backfill)
		case Log:
			// {A}_CloudTrail_{R}_{T}_{U}.json.gz: U is what follows the
			// fourth underscore.
			f := strings.SplitN(k.Name, "_", 5)
			u, ok := strings.CutSuffix(f[4], ".json.gz")
			if !ok {
				return
			}
			again = LogKey(k.Prefix, k.OrgID, k.Account, k.Region, k.Time, u)
		default:
			return
		}
		k2, err := Parse(again)
		if err != nil {
			t.Fatalf("rebuilt key %q does not parse: %v", again, err)
		}
		want := k
		want.Date = k.Time.UTC().Truncate(24 * time.Hour)
		want.Name = k2.Name
		if k2 != want {
			t.Fatalf("rebuilt key %q parses to %+v; want %+v", again, k2, want)
		}
		if k.Date.Equal(want.Date) && k.Name == k2.Name && again != key {
			t.Fatalf("round trip of a canonical key: %q != %q", again, key)
		}
	})
}
