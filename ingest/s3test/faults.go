package s3test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Faults says what a FaultProxy does to requests. Rates are
// probabilities in [0, 1], drawn per request from a seeded source so a
// run is repeatable.
type Faults struct {
	Seed uint64
	// SlowDown answers 503 SlowDown (S3 throttling) without forwarding.
	SlowDown float64
	// ServerError answers 500 InternalError.
	ServerError float64
	// ResetMidBody forwards the request but closes the connection after
	// part of the response body.
	ResetMidBody float64
	// TruncateBody sends the full Content-Length header but only part of
	// the body, then closes (a body cut short with a correct length lie).
	TruncateBody float64
	// Slow delays the response by Delay.
	Slow  float64
	Delay time.Duration
	// FailList makes listing requests (GET /bucket?list-type=2) fail with
	// 500 at this rate.
	FailList float64
	// Burst: after a fault, the next Burst-1 requests fault too (503s come
	// in bursts in real life).
	Burst int
}

// FaultProxy is an HTTP proxy on 127.0.0.1 in front of a Server that
// injects faults. Signatures stay valid: the proxy forwards requests
// untouched (the Host header is kept), so the real server checks SigV4.
type FaultProxy struct {
	URL    string
	faults Faults
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	mu     sync.Mutex
	rnd    *rand.Rand
	burst  int
	// Injected counts the faults injected, by kind.
	injected sync.Map
	Requests atomic.Int64
}

// StartFaultProxy starts a proxy to srv with faults f, stopped when the
// test ends.
func StartFaultProxy(t testing.TB, srv *Server, f Faults) *FaultProxy {
	t.Helper()
	target, _ := url.Parse(srv.Endpoint)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{URL: "http://" + ln.Addr().String(), faults: f, target: target, ln: ln, rnd: rand.New(rand.NewPCG(f.Seed, 99))}
	rp := httputil.NewSingleHostReverseProxy(target)
	orig := rp.Director
	rp.Director = func(r *http.Request) {
		host := r.Host
		orig(r)
		r.Host = host // keep the signed Host header
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		p.serve(w, r, rp)
	})}
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// Injected returns how many faults of a kind were injected.
func (p *FaultProxy) Injected(kind string) int64 {
	v, ok := p.injected.Load(kind)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (p *FaultProxy) count(kind string) {
	v, _ := p.injected.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// pick decides the fault for one request.
func (p *FaultProxy) pick(r *http.Request) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	isList := r.Method == http.MethodGet && r.URL.Query().Has("list-type")
	isGet := r.Method == http.MethodGet && !isList && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
	x := p.rnd.Float64()
	kind := ""
	switch {
	case p.burst > 0:
		p.burst--
		return "slowdown"
	case isList && x < f.FailList:
		kind = "list"
	case x < f.SlowDown:
		kind = "slowdown"
	case x < f.SlowDown+f.ServerError:
		kind = "500"
	case isGet && x < f.SlowDown+f.ServerError+f.ResetMidBody:
		kind = "reset"
	case isGet && x < f.SlowDown+f.ServerError+f.ResetMidBody+f.TruncateBody:
		kind = "truncate"
	case x < f.SlowDown+f.ServerError+f.ResetMidBody+f.TruncateBody+f.Slow:
		kind = "slow"
	}
	if kind == "slowdown" && f.Burst > 1 {
		p.burst = f.Burst - 1
	}
	return kind
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
	kind := p.pick(r)
	if kind != "" {
		p.count(kind)
	}
	switch kind {
	case "slowdown":
		s3Error(w, 503, "SlowDown", "Please reduce your request rate.")
		return
	case "500", "list":
		s3Error(w, 500, "InternalError", "We encountered an internal error. Please try again.")
		return
	case "slow":
		time.Sleep(p.faults.Delay)
	case "reset", "truncate":
		p.cut(w, r, kind)
		return
	}
	rp.ServeHTTP(w, r)
}

// cut forwards the request itself and sends only part of the body.
func (p *FaultProxy) cut(w http.ResponseWriter, r *http.Request, kind string) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.RequestURI = ""
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		s3Error(w, 500, "InternalError", err.Error())
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	hj, ok := w.(http.Hijacker)
	if !ok || resp.StatusCode != 200 || len(body) < 2 {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
		return
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\n")
	for k, v := range resp.Header {
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Connection") {
			continue
		}
		for _, x := range v {
			fmt.Fprintf(bw, "%s: %s\r\n", k, x)
		}
	}
	fmt.Fprintf(bw, "Content-Length: %s\r\nConnection: close\r\n\r\n", strconv.Itoa(len(body)))
	n := len(body) / 2
	if kind == "truncate" {
		n = len(body) - 1
	}
	bw.Write(body[:n])
	bw.Flush()
	if kind == "reset" {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST instead of FIN
		}
	}
	_ = bufio.ErrBufferFull
}

func s3Error(w http.ResponseWriter, code int, s3code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>fault</RequestId></Error>`, s3code, msg)
}

// ClientVia returns an S3 client that talks to the proxy.
func (s *Server) ClientVia(endpoint string, maxAttempts int) *s3clientWithRetry {
	return newClientVia(s, endpoint, maxAttempts)
}
