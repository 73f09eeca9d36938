package integrity

import (
	"context"
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PublicKey is one CloudTrail public key.
type PublicKey struct {
	Fingerprint string
	Key         *rsa.PublicKey
	DER         []byte
	PKCS1       bool
	Start, End  time.Time
	Region      string // where it came from, if known
}

// Fingerprint is CloudTrail's key fingerprint: hex MD5 of the DER bytes.
func Fingerprint(der []byte) string {
	s := md5.Sum(der)
	return hex.EncodeToString(s[:])
}

// ParsePublicKeyDER reads a PKCS#1 RSAPublicKey or an SPKI
// SubjectPublicKeyInfo.
func ParsePublicKeyDER(der []byte) (*rsa.PublicKey, bool, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, true, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, false, fmt.Errorf("not a PKCS#1 or SPKI RSA public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, false, fmt.Errorf("not an RSA key")
	}
	return rk, false, nil
}

// ParsePublicKeys reads `aws cloudtrail list-public-keys` output in any of
// the shapes AWS tools print: CLI v1 (epoch numbers), CLI v2 (ISO-8601
// strings), and the documentation's lower-case publicKeyList with epoch
// strings. Every key's fingerprint must be the MD5 of its DER bytes.
func ParsePublicKeys(r io.Reader, region string) ([]PublicKey, error) {
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	raw, ok := doc["PublicKeyList"]
	if !ok {
		raw, ok = doc["publicKeyList"]
	}
	if !ok {
		return nil, fmt.Errorf("public keys: no PublicKeyList")
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("public keys: %w", err)
	}
	var out []PublicKey
	for i, e := range list {
		get := func(names ...string) json.RawMessage {
			for _, n := range names {
				if v, ok := e[n]; ok {
					return v
				}
			}
			return nil
		}
		var val, fp string
		json.Unmarshal(get("Value", "value"), &val)
		json.Unmarshal(get("Fingerprint", "fingerprint"), &fp)
		der, err := base64.StdEncoding.DecodeString(val)
		if err != nil {
			return nil, fmt.Errorf("public key %d: value is not base64: %w", i, err)
		}
		fp = strings.ToLower(fp)
		if got := Fingerprint(der); got != fp {
			return nil, fmt.Errorf("public key %d: fingerprint %s is not the MD5 of its key (%s): the key file was altered", i, fp, got)
		}
		k, pkcs1, err := ParsePublicKeyDER(der)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", fp, err)
		}
		start, err1 := parseKeyTime(get("ValidityStartTime", "validityStartTime"))
		end, err2 := parseKeyTime(get("ValidityEndTime", "validityEndTime"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("public key %s: bad validity time", fp)
		}
		out = append(out, PublicKey{Fingerprint: fp, Key: k, DER: der, PKCS1: pkcs1, Start: start, End: end, Region: region})
	}
	return out, nil
}

// parseKeyTime accepts an epoch number, an epoch string or ISO-8601.
func parseKeyTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return epochTime(f)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, err
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return epochTime(f)
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999-07:00", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// epochTime converts epoch seconds, refusing times outside years 0 to
// 9999: int64(f) of a huge f is undefined, and such a time could not be
// written back as ISO-8601 by WritePublicKeysJSON.
func epochTime(f float64) (time.Time, error) {
	const minEpoch, maxEpoch = -62167219200, 253402300799 // 0000-01-01T00:00:00Z, 9999-12-31T23:59:59Z
	if math.IsNaN(f) || f < minEpoch || f >= maxEpoch+1 {
		return time.Time{}, fmt.Errorf("epoch time %g is out of range", f)
	}
	return time.Unix(int64(f), 0).UTC(), nil
}

// WritePublicKeysJSON writes keys in the CLI v2 list-public-keys shape.
func WritePublicKeysJSON(w io.Writer, keys []PublicKey) error {
	type entry struct {
		Value             string `json:"Value"`
		ValidityStartTime string `json:"ValidityStartTime"`
		ValidityEndTime   string `json:"ValidityEndTime"`
		Fingerprint       string `json:"Fingerprint"`
	}
	var list []entry
	for _, k := range keys {
		list = append(list, entry{base64.StdEncoding.EncodeToString(k.DER), k.Start.UTC().Format("2006-01-02T15:04:05+00:00"),
			k.End.UTC().Format("2006-01-02T15:04:05+00:00"), k.Fingerprint})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(map[string]any{"PublicKeyList": list})
}

// NewPublicKey describes pub for a key file.
func NewPublicKey(pub *rsa.PublicKey, start, end time.Time) PublicKey {
	der := x509.MarshalPKCS1PublicKey(pub)
	return PublicKey{Fingerprint: Fingerprint(der), Key: pub, DER: der, PKCS1: true, Start: start, End: end}
}

// KeySet finds keys by fingerprint.
type KeySet map[string]PublicKey

// NewKeySet indexes keys.
func NewKeySet(keys ...PublicKey) KeySet {
	ks := KeySet{}
	for _, k := range keys {
		ks[k.Fingerprint] = k
	}
	return ks
}

// KeyProvider fetches the public keys CloudTrail used in one source
// region over [start, end] (online: ListPublicKeys in that region).
type KeyProvider interface {
	PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error)
}

// RawPublicKey is one entry of a ListPublicKeys response.
type RawPublicKey struct {
	Value                              []byte
	ValidityStartTime, ValidityEndTime time.Time
	Fingerprint                        string
}

// ListPublicKeysFunc is one ListPublicKeys call in a region (next is the
// NextToken, "" at first). CloudTrailKeys adapts it; the aws-sdk-go-v2
// cloudtrail client fits it in a few lines (see cloudtrail_sdk.go).
type ListPublicKeysFunc func(ctx context.Context, region string, start, end *time.Time, next string) ([]RawPublicKey, string, error)

// CloudTrailKeys is the online KeyProvider: ListPublicKeys(start−1h,
// end+2h) in the digest's own source region, following NextToken, with
// every key's fingerprint checked against MD5 of its DER.
type CloudTrailKeys struct {
	List ListPublicKeysFunc
}

// PublicKeys implements KeyProvider.
func (c CloudTrailKeys) PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error) {
	var sp, ep *time.Time
	if !start.IsZero() {
		s := start.Add(-time.Hour)
		sp = &s
	}
	if !end.IsZero() {
		e := end.Add(2 * time.Hour)
		if now := time.Now(); e.After(now) {
			e = now
		}
		ep = &e
	}
	var out []PublicKey
	next := ""
	for page := 0; page < 100; page++ {
		list, tok, err := c.List(ctx, region, sp, ep, next)
		if err != nil {
			return nil, fmt.Errorf("ListPublicKeys in %s: %w", region, err)
		}
		for _, k := range list {
			fp := strings.ToLower(k.Fingerprint)
			if got := Fingerprint(k.Value); got != fp {
				return nil, fmt.Errorf("ListPublicKeys in %s: fingerprint %s is not the MD5 of its key (%s)", region, fp, got)
			}
			rk, pkcs1, err := ParsePublicKeyDER(k.Value)
			if err != nil {
				return nil, fmt.Errorf("ListPublicKeys in %s: key %s: %w", region, fp, err)
			}
			out = append(out, PublicKey{Fingerprint: fp, Key: rk, DER: k.Value, PKCS1: pkcs1,
				Start: k.ValidityStartTime.UTC(), End: k.ValidityEndTime.UTC(), Region: region})
		}
		if tok == "" {
			break
		}
		next = tok
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no public keys found in %s between %s and %s", region, fmtTime(sp), fmtTime(ep))
	}
	return out, nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "(open)"
	}
	return t.UTC().Format(time.RFC3339)
}

// keyRing holds the offline keys and each region's online keys.
type keyRing struct {
	mu      sync.RWMutex // the next window's digests are checked while keys may be added
	offline KeySet
	region  map[string]KeySet
	errs    map[string]error // a region whose keys could not be fetched
}

// err is the error that kept region's keys from being fetched, if any.
func (kr *keyRing) err(region string) error {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.errs[region]
}

// lookup finds the key with fingerprint fp for a digest delivered in
// region: an online key of that region, or an offline key that names
// that region or no region.
func (kr *keyRing) lookup(region, fp string) (PublicKey, bool) {
	fp = strings.ToLower(fp)
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if k, ok := kr.region[region][fp]; ok {
		return k, true
	}
	if k, ok := kr.offline[fp]; ok && (k.Region == "" || k.Region == region) {
		return k, true
	}
	return PublicKey{}, false
}

// validAt reports whether t is inside the key's validity window, with an
// hour's tolerance either side (a digest is signed shortly after its end
// time; CloudTrail's windows overlap). Unknown bounds are open.
func (k PublicKey) validAt(t time.Time) bool {
	const slack = time.Hour
	if !k.Start.IsZero() && k.Start.Year() > 1 && t.Before(k.Start.Add(-slack)) {
		return false
	}
	if !k.End.IsZero() && k.End.Year() > 1 && t.After(k.End.Add(slack)) {
		return false
	}
	return true
}
