// Package cttest is a loopback stand-in for the CloudTrail API calls
// `aws cloudtrail validate-logs` (and trailscope verify) make, for tests
// and benchmarks. There is no local CloudTrail server to run, so this
// handler speaks the service's documented awsJson1_1 wire protocol
// (POST /, X-Amz-Target [com.amazonaws.cloudtrail.v20131101.]CloudTrail_20131101.<Operation>,
// SigV4-signed):
//
//   - ListPublicKeys serves Server.Keys whose validity overlaps the
//     requested [StartTime, EndTime] (a key with a Region only in that
//     region), paginated with NextToken;
//   - DescribeTrails answers Server.Trails (what validate-logs calls when
//     it is not given --s3-bucket);
//   - GetTrailStatus answers IsLogging with the minimum;
//   - anything else is an UnknownOperationException.
//
// Requests must carry a SigV4 Authorization header (the signature itself
// is not checked: any credentials do); its credential scope tells which
// region was asked, counted in Pages.
package cttest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailscope/trailscope/ingest/integrity"
)

// Trail is one DescribeTrails entry.
type Trail struct {
	Name, TrailARN, HomeRegion string
	S3BucketName, S3KeyPrefix  string
	IsMultiRegionTrail         bool
	IsOrganizationTrail        bool
}

// Server is the CloudTrail stand-in; use it as an http.Handler or Start it.
type Server struct {
	// Keys served by ListPublicKeys.
	Keys []integrity.PublicKey
	// PageSize is the number of keys per ListPublicKeys page (0: all on
	// one page; the AWS CLI reads only the first page).
	PageSize int
	// EmptyFirstPage makes the first page empty with a NextToken, as real
	// responses can be (tests pagination).
	EmptyFirstPage bool
	// BadFingerprint serves every key with a fingerprint that is not the
	// MD5 of its DER bytes.
	BadFingerprint bool
	// Trails answered by DescribeTrails.
	Trails []Trail

	// URL of the started server (Start, Listen).
	URL string

	mu    sync.Mutex
	pages map[string]int // ListPublicKeys pages asked, per region
	calls map[string]int // requests per operation
}

// Start serves s on 127.0.0.1 until the test ends and sets s.URL.
func Start(t testing.TB, s *Server) *Server {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Listen serves s on a loopback address ("127.0.0.1:0" for any port),
// outside tests; it sets s.URL and returns a function that stops it.
func (s *Server) Listen(addr string) (stop func(), err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	s.URL = srv.URL
	return srv.Close, nil
}

// Pages returns ListPublicKeys pages asked per region (from each request's
// SigV4 credential scope).
func (s *Server) Pages() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.pages {
		out[k] = v
	}
	return out
}

// Calls returns the number of requests per operation name.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

var credScope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/cloudtrail/aws4_request`)

const targetPrefix = "CloudTrail_20131101."

func fail(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// aws-sdk-go-v2 sends CloudTrail_20131101.<Op>, botocore the model's
	// full target prefix com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>.
	target := r.Header.Get("X-Amz-Target")
	i := strings.LastIndex(target, targetPrefix)
	if r.Method != http.MethodPost || i < 0 || (i > 0 && target[:i] != "com.amazonaws.cloudtrail.v20131101.") {
		fail(w, http.StatusBadRequest, "UnknownOperationException", "not a CloudTrail_20131101 request: "+target)
		return
	}
	op := target[i+len(targetPrefix):]
	m := credScope.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		fail(w, http.StatusForbidden, "MissingAuthenticationTokenException", "request is not SigV4-signed for cloudtrail")
		return
	}
	region := m[1]
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[op]++
	s.mu.Unlock()
	var out any
	switch op {
	case "ListPublicKeys":
		out, err = s.listPublicKeys(region, body)
	case "DescribeTrails":
		out = s.describeTrails()
	case "GetTrailStatus":
		out = map[string]any{"IsLogging": true}
	default:
		fail(w, http.StatusBadRequest, "UnknownOperationException", "the stand-in does not implement "+op)
		return
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "InvalidTimeRangeException", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// epoch reads an awsJson timestamp: epoch seconds (number or numeric
// string) or an RFC 3339 string.
func epoch(raw json.RawMessage) (time.Time, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, false, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, false, fmt.Errorf("bad timestamp %s", raw)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Unix(int64(f), 0).UTC(), true, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("bad timestamp %q", s)
	}
	return t.UTC(), true, nil
}

type wireKey struct {
	Value             string
	ValidityStartTime float64
	ValidityEndTime   float64
	Fingerprint       string
}

func (s *Server) listPublicKeys(region string, body []byte) (any, error) {
	var in struct {
		StartTime, EndTime json.RawMessage
		NextToken          string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	start, hasStart, err := epoch(in.StartTime)
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := epoch(in.EndTime)
	if err != nil {
		return nil, err
	}
	if hasStart && hasEnd && end.Before(start) {
		return nil, fmt.Errorf("start time %s is after end time %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	s.mu.Lock()
	if s.pages == nil {
		s.pages = map[string]int{}
	}
	s.pages[region]++
	s.mu.Unlock()
	var keys []wireKey
	for _, k := range s.Keys {
		if k.Region != "" && k.Region != region {
			continue
		}
		if hasStart && !k.End.IsZero() && k.End.Year() > 1 && k.End.Before(start) {
			continue
		}
		if hasEnd && !k.Start.IsZero() && k.Start.Year() > 1 && k.Start.After(end) {
			continue
		}
		fp := k.Fingerprint
		if s.BadFingerprint {
			fp = strings.Repeat("0", 32)
		}
		wk := wireKey{Value: base64.StdEncoding.EncodeToString(k.DER), Fingerprint: fp}
		if k.Start.Year() > 1 {
			wk.ValidityStartTime = float64(k.Start.Unix())
		}
		if k.End.Year() > 1 {
			wk.ValidityEndTime = float64(k.End.Unix())
		}
		keys = append(keys, wk)
	}
	// Pages: token "p<N>" is the offset of page N's first key; with
	// EmptyFirstPage the first page is empty and the token is "p0".
	out := struct {
		PublicKeyList []wireKey
		NextToken     string `json:",omitempty"`
	}{PublicKeyList: []wireKey{}}
	if in.NextToken == "" && s.EmptyFirstPage {
		out.NextToken = "p0"
		return out, nil
	}
	off := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "p"))
		if err != nil || n < 0 || n > len(keys) {
			return nil, fmt.Errorf("bad NextToken %q", in.NextToken)
		}
		off = n
	}
	size := s.PageSize
	if size <= 0 {
		size = len(keys)
	}
	stop := min(off+size, len(keys))
	out.PublicKeyList = append(out.PublicKeyList, keys[off:stop]...)
	if stop < len(keys) {
		out.NextToken = "p" + strconv.Itoa(stop)
	}
	return out, nil
}

func (s *Server) describeTrails() any {
	type trail struct {
		Name, TrailARN, HomeRegion, S3BucketName string
		S3KeyPrefix                              string `json:",omitempty"`
		IsMultiRegionTrail, IsOrganizationTrail  bool
		LogFileValidationEnabled                 bool
		IncludeGlobalServiceEvents               bool
	}
	list := []trail{}
	for _, t := range s.Trails {
		list = append(list, trail{Name: t.Name, TrailARN: t.TrailARN, HomeRegion: t.HomeRegion, S3BucketName: t.S3BucketName,
			S3KeyPrefix: t.S3KeyPrefix, IsMultiRegionTrail: t.IsMultiRegionTrail, IsOrganizationTrail: t.IsOrganizationTrail,
			LogFileValidationEnabled: true, IncludeGlobalServiceEvents: true})
	}
	return map[string]any{"trailList": list}
}
