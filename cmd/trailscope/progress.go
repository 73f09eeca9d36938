package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/trailscope/trailscope/ingest"
)

// progress draws one status line on a terminal. It is silent when the
// output is not a terminal or --quiet is set.
type progress struct {
	w       io.Writer
	label   string
	files   atomic.Int64
	failed  atomic.Int64
	events  atomic.Int64
	bytes   atomic.Int64
	start   time.Time
	stop    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
	on      bool
	parts   atomic.Int64 // compaction: partitions done
	ofParts atomic.Int64 // compaction: partitions to do
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (g *globalFlags) newProgress(label string) *progress {
	p := &progress{w: g.stderr, label: label, start: time.Now(), stop: make(chan struct{})}
	p.on = !g.quiet && isTerminal(g.stderr)
	if p.on {
		p.stopped.Add(1)
		go p.loop()
	}
	return p
}

func (p *progress) loop() {
	defer p.stopped.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
			p.draw()
		}
	}
}

// partitions is a lake.CompactOptions.Progress callback.
func (p *progress) partitions(done, total int) {
	p.parts.Store(int64(done))
	p.ofParts.Store(int64(total))
}

func (p *progress) draw() {
	if n := p.ofParts.Load(); n > 0 {
		fmt.Fprintf(p.w, "\r\033[K%s: compacting partitions %d/%d, %s", p.label, p.parts.Load(), n, time.Since(p.start).Round(time.Second))
		return
	}
	el := time.Since(p.start).Seconds()
	ev := p.events.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(ev) / el
	}
	fmt.Fprintf(p.w, "\r\033[K%s: %d files, %s events (%s/s), %s read, %d failed, %s",
		p.label, p.files.Load(), human(float64(ev)), human(rate), humanBytes(p.bytes.Load()), p.failed.Load(),
		time.Since(p.start).Round(time.Second))
}

// Done stops the line. It may be called more than once.
func (p *progress) Done() {
	if p.on {
		p.once.Do(func() {
			close(p.stop)
			p.stopped.Wait()
		})
	}
}

// FileDone implements ingest.Listener.
func (p *progress) FileDone(f ingest.FileResult) {
	p.files.Add(1)
	p.events.Add(f.Records)
	if f.Status == ingest.FileFailed {
		p.failed.Add(1)
	}
}

// Bytes implements ingest.Listener.
func (p *progress) Bytes(n int64) { p.bytes.Add(n) }

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// termWidth is the width of w if it is a terminal, else 0.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
			return wd
		}
	}
	return 0
}
