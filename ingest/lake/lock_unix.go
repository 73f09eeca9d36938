//go:build unix

package lake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockLake takes the lake's exclusive lock (DIR/_state/lock), so two
// processes never write or compact one lake at once: each would delete
// the other's uncommitted files. The lock dies with its process.
func lockLake(dir string) (func(), error) {
	if err := os.MkdirAll(filepath.Join(dir, "_state"), 0o755); err != nil {
		return nil, fmt.Errorf("open lake: %w", err)
	}
	p := filepath.Join(dir, "_state", "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lake %s is not writable: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(p); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lake %s is in use by another trailscope process%s: %w", dir, holder, ErrLocked)
		}
		return nil, fmt.Errorf("lock lake %s: %w", dir, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
