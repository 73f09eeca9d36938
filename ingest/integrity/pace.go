package integrity

import (
	"context"
	"errors"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/trailscope/trailscope/ingest"
)

// pacer is the adaptive back-off shared by all readers of one run: a
// throttling answer (503 SlowDown and friends) doubles a global pause
// that every worker honours before its next request; successes shrink
// it again. On top of the SDK's own retries, a throttled or cut read is
// retried a few times before the file gets the status error.
type pacer struct {
	mu    sync.Mutex
	delay time.Duration
	until time.Time
}

const (
	minPause    = 50 * time.Millisecond
	maxPause    = 5 * time.Second
	maxAttempts = 6
)

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	d := time.Until(p.until)
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (p *pacer) throttled() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = min(max(2*p.delay, minPause), maxPause)
	u := time.Now().Add(p.delay/2 + rand.N(p.delay/2+1))
	if u.After(p.until) {
		p.until = u
	}
}

func (p *pacer) ok() {
	p.mu.Lock()
	if p.delay > 0 {
		p.delay /= 2
		if p.delay < minPause {
			p.delay = 0
		}
	}
	p.mu.Unlock()
}

// do runs fn until it succeeds, fails for a non-transient reason, or has
// been tried maxAttempts times.
func (p *pacer) do(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if werr := p.wait(ctx); werr != nil {
			return werr
		}
		err = fn()
		if err == nil {
			p.ok()
			return nil
		}
		if ctx.Err() != nil || !transient(err) {
			return err
		}
		p.throttled()
	}
	return err
}

// transient: throttling, 5xx, or a connection cut mid-way.
func transient(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
			"TooManyRequestsException", "ServiceUnavailable", "InternalError", "RequestTimeout":
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && (re.HTTPStatusCode() == 503 || re.HTTPStatusCode() == 500 || re.HTTPStatusCode() == 429) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	return strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "use of closed network connection")
}

// pacedSource retries listings of a source through the pacer: Dirs again,
// List resuming after the last key it yielded.
type pacedSource struct {
	ingest.Source
	p *pacer
}

func (s pacedSource) Dirs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := s.p.do(ctx, func() error {
		var err error
		out, err = s.Source.Dirs(ctx, prefix)
		return err
	})
	return out, err
}

func (s pacedSource) List(ctx context.Context, prefix, startAfter string) iter.Seq2[ingest.Object, error] {
	return func(yield func(ingest.Object, error) bool) {
		after := startAfter
		stopped := false
		err := s.p.do(ctx, func() error {
			for obj, err := range s.Source.List(ctx, prefix, after) {
				if err != nil {
					return err
				}
				after = obj.Key
				if !yield(obj, nil) {
					stopped = true
					return nil
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield(ingest.Object{}, err)
		}
	}
}
