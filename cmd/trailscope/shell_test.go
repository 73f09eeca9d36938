package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyShell is the real trailscope binary running `shell` under a
// pseudo-terminal.
type ptyShell struct {
	t   *testing.T
	cmd *exec.Cmd
	tty *os.File
	out *lockedBuffer
	// mark is where the next waitFor starts looking.
	mark int
}

func startShell(t *testing.T, ctx context.Context, bin string, args ...string) *ptyShell {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"shell"}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	s := &ptyShell{t: t, cmd: cmd, tty: tty, out: &lockedBuffer{}}
	go io.Copy(s.out, tty)
	t.Cleanup(func() {
		tty.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return s
}

func (s *ptyShell) typ(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.tty, keys); err != nil {
		s.t.Fatal(err)
	}
}

// waitFor waits until the output since the last waitFor contains want.
func (s *ptyShell) waitFor(want string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		all := s.out.String()
		if i := strings.Index(all[s.mark:], want); i >= 0 {
			s.mark += i + len(want)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("the shell never printed %q; output since the last check:\n%q", want, s.out.String()[s.mark:])
}

// seen is waitFor with a timeout: whether want appeared within d.
func (s *ptyShell) seen(want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if i := strings.Index(s.out.String()[s.mark:], want); i >= 0 {
			s.mark += i + len(want)
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (s *ptyShell) wait() {
	s.t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("shell exited with %v:\n%s", err, s.out.String())
		}
	case <-time.After(30 * time.Second):
		s.t.Fatalf("the shell did not exit:\n%q", s.out.String()[s.mark:])
	}
}

// TestShellInPseudoTerminal drives the real binary's shell through a
// pseudo-terminal (github.com/creack/pty), as a person would: a
// multi-line statement, TAB completion of a column and a table, Ctrl-C
// at the prompt and during a long query (the shell stays), and the
// history recalled with the Up arrow in a second session.
func TestShellInPseudoTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "trailscope")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	lake := filepath.Join(dir, "lake")
	if _, stderr, code := trailscope(t, "ingest", "../../testdata/sample/bucket", "--lake", lake, "-q"); code != exitOK {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	n, stderr, code := trailscope(t, "query", "--lake", lake, "--format", "csv", "SELECT count(*) AS n FROM events")
	if code != exitOK {
		t.Fatalf("query: %d %s", code, stderr)
	}
	count := strings.TrimSpace(strings.TrimPrefix(n, "n\n"))
	hist := filepath.Join(dir, "state", "history")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	sh := startShell(t, ctx, bin, "--lake", lake, "--history", hist)
	sh.waitFor("trailscope> ")
	// A statement over two lines.
	sh.typ("SELECT count(*) AS n\r")
	sh.waitFor("...> ")
	sh.typ("FROM events;\r")
	sh.waitFor("│ " + count + " ")
	sh.waitFor("trailscope> ")
	// TAB completes a column and a table: the statement only runs if
	// both completed.
	sh.typ("SELECT upper(eventNa\t")
	sh.waitFor("eventName")
	sh.typ(") AS u FROM even\t")
	sh.waitFor("events")
	sh.typ(" WHERE eventName = 'StopLogging' LIMIT 1;\r")
	sh.waitFor("STOPLOGGING")
	sh.waitFor("trailscope> ")
	// Nested fields complete too.
	sh.typ("SELECT count(DISTINCT userIdentity.sessionContext.sessionIss\t")
	sh.waitFor("sessionIssuer")
	sh.typ(".ar\t")
	sh.waitFor("arn")
	sh.typ(") AS issuers FROM events;\r")
	sh.waitFor("issuers")
	sh.waitFor("trailscope> ")
	// Ctrl-C at the prompt drops the line, not the shell.
	sh.typ("SELECT 'never run'\x03")
	sh.waitFor("trailscope> ")
	// Ctrl-C during a long query cancels it.
	sh.typ("SELECT count(*) FROM range(10000000000) a, range(10) b;\r")
	time.Sleep(800 * time.Millisecond)
	sh.typ("\x03")
	// A Ctrl-C that reached the terminal before the line editor gave it
	// back is only a byte; press again until the query is cancelled.
	for i := 0; !sh.seen("query cancelled", 5*time.Second); i++ {
		if i == 5 {
			t.Fatalf("Ctrl-C did not cancel the query:\n%q", sh.out.String()[sh.mark:])
		}
		sh.typ("\x03")
	}
	sh.typ("SELECT 'still ' || 'here' AS alive;\r")
	sh.waitFor("still here")
	sh.waitFor("trailscope> ")
	sh.typ(".quit\r")
	sh.wait()
	if strings.Contains(sh.out.String(), "never run │") {
		t.Error("the statement cancelled at the prompt ran")
	}

	h, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SELECT count(*) AS n FROM events;\n", "SELECT upper(eventName) AS u FROM events WHERE eventName = 'StopLogging' LIMIT 1;\n", ".quit\n"} {
		if !strings.Contains(string(h), want) {
			t.Errorf("history lacks %q:\n%s", want, h)
		}
	}

	// A new session recalls the history: Up twice is the 'still here'
	// statement (the last entry is .quit).
	sh2 := startShell(t, ctx, bin, "--lake", lake, "--history", hist)
	sh2.waitFor("trailscope> ")
	sh2.typ("\x1b[A\x1b[A")
	sh2.waitFor("'here' AS alive;")
	sh2.typ("\r")
	sh2.waitFor("still here")
	sh2.waitFor("trailscope> ")
	sh2.typ("\x04") // Ctrl-D leaves
	sh2.wait()
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
