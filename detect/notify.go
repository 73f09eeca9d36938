package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Notifier posts findings to a Slack-compatible webhook in the background:
// Send never blocks detection (a full queue drops and counts), delivery is
// retried with exponential back-off, and Close waits for what is queued.
type Notifier struct {
	url     string
	client  *http.Client
	queue   chan Finding
	wg      sync.WaitGroup
	mu      sync.Mutex
	sent    int
	failed  []error
	dropped int
	retries int
	backoff time.Duration
}

// NotifierOptions tune a Notifier.
type NotifierOptions struct {
	Queue   int           // findings waiting at most (default 1000)
	Retries int           // tries per finding after the first (default 4)
	Backoff time.Duration // first back-off (default 500ms), doubled each retry
	Timeout time.Duration // per request (default 10s)
}

// NewNotifier starts a notifier posting to url.
func NewNotifier(url string, o NotifierOptions) *Notifier {
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Retries <= 0 {
		o.Retries = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	n := &Notifier{url: url, client: &http.Client{Timeout: o.Timeout}, queue: make(chan Finding, o.Queue), retries: o.Retries, backoff: o.Backoff}
	n.wg.Add(1)
	go n.loop()
	return n
}

// Send queues a finding; it never blocks.
func (n *Notifier) Send(f Finding) {
	select {
	case n.queue <- f:
	default:
		n.mu.Lock()
		n.dropped++
		n.mu.Unlock()
	}
}

// Close waits up to ctx for queued findings to be delivered and returns
// a summary error if any were not.
func (n *Notifier) Close(ctx context.Context) error {
	close(n.queue)
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("webhook: gave up waiting: %w", ctx.Err())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.failed) > 0 || n.dropped > 0 {
		return fmt.Errorf("webhook: %d sent, %d failed, %d dropped (queue full); first error: %v", n.sent, len(n.failed), n.dropped, firstErr(n.failed))
	}
	return nil
}

// Sent is how many findings were delivered.
func (n *Notifier) Sent() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent
}

func firstErr(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

func (n *Notifier) loop() {
	defer n.wg.Done()
	for f := range n.queue {
		err := n.deliver(f)
		n.mu.Lock()
		if err != nil {
			n.failed = append(n.failed, err)
		} else {
			n.sent++
		}
		n.mu.Unlock()
	}
}

func (n *Notifier) deliver(f Finding) error {
	body, _ := json.Marshal(SlackMessage(f))
	wait := n.backoff
	var last error
	for attempt := 0; attempt <= n.retries; attempt++ {
		if attempt > 0 {
			time.Sleep(wait)
			wait *= 2
		}
		resp, err := n.client.Post(n.url, "application/json", bytes.NewReader(body))
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("finding %s: HTTP %d", f.ID, resp.StatusCode)
		if resp.StatusCode/100 == 4 && resp.StatusCode != 429 {
			return last // the request itself is wrong: retrying will not help
		}
	}
	return last
}

var severityEmoji = map[Severity]string{Critical: ":red_circle:", High: ":large_orange_circle:", Medium: ":large_yellow_circle:", Low: ":large_blue_circle:", Informational: ":white_circle:"}

// SlackMessage is the webhook payload for a finding: Slack-compatible
// (text plus blocks), with the severity shown first.
func SlackMessage(f Finding) map[string]any {
	sev := strings.ToUpper(f.Severity.String())
	attempt := ""
	if f.Attempt {
		attempt = " (denied attempt: " + f.ErrorCode + ")"
	}
	text := fmt.Sprintf("%s [%s] %s%s — %s by %s from %s in %s/%s at %s", severityEmoji[f.Severity], sev, f.Title, attempt,
		orDash(f.EventName), orDash(f.Principal.ARN), orDash(f.SourceIP), orDash(f.Account), orDash(f.Region), f.First.UTC().Format(time.RFC3339))
	detail := fmt.Sprintf("*Rule* `%s`  *Events* %d  *ATT&CK* %s\n*Event IDs* %s", f.RuleID, f.Count, strings.Join(f.Techniques, ", "), clip(strings.Join(f.EventIDs, ", "), 1500))
	return map[string]any{
		"text": text,
		"blocks": []any{
			map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": clip(text, 2900)}},
			map[string]any{"type": "context", "elements": []any{map[string]string{"type": "mrkdwn", "text": clip(detail, 2900)}}},
		},
		"severity": f.Severity.String(),
		"finding":  f,
	}
}
