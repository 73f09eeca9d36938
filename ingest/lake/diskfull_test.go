package lake_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/trailscope/trailscope/ingest"
	"github.com/trailscope/trailscope/ingest/lake"
)

// smallDisk mounts a tmpfs of size on a fresh folder (root only; CI runs
// as root) and unmounts it when the test ends.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("needs root to mount a small tmpfs (CI runs it): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v %s", opts, err, out)
	}
}

// TestDiskFullThenResume: a lake on a disk that fills up fails with a
// clear error naming the cause, keeps only whole committed batches, and a
// re-run with room converges to the full lake.
func TestDiskFullThenResume(t *testing.T) {
	corpus := t.TempDir()
	total := makeCorpus(t, corpus, 40, 500)
	disk := smallDisk(t, "600k")
	lk := filepath.Join(disk, "lake")
	ctx := context.Background()
	w, err := lake.Open(ctx, lk, lake.Options{BatchEvents: 1500})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := ingest.NewDirSource(corpus)
	err = ingest.Run(ctx, src, w, ingest.Options{Workers: 2})
	if err == nil {
		_, err = w.Close(ctx)
	} else {
		w.Abort()
	}
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("ingest onto a full disk: %v; want a no-space error", err)
	}
	// What is in the lake is whole and consistent: every row readable.
	partial := readLake(t, lk)
	if len(partial) >= total {
		t.Fatalf("%d rows on a disk too small for %d", len(partial), total)
	}
	// Room again: the re-run converges.
	remount(t, disk, "size=64m")
	rep := ingestInto(t, src, lk, lake.Options{BatchEvents: 1500}, ingest.Options{})
	rows := readLake(t, lk)
	if _, dups := eventIDs(rows); len(rows) != total || dups != 0 {
		t.Fatalf("after the re-run: %d rows, %d duplicates; want %d, 0 (report %+v)", len(rows), dups, total, rep)
	}
}

// TestReadOnlyLake: a read-only lake gives a clear error and stays
// readable.
func TestReadOnlyLake(t *testing.T) {
	corpus := t.TempDir()
	total := makeCorpus(t, corpus, 4, 100)
	disk := smallDisk(t, "16m")
	lk := filepath.Join(disk, "lake")
	src, _ := ingest.NewDirSource(corpus)
	ingestInto(t, src, lk, lake.Options{}, ingest.Options{})
	remount(t, disk, "ro")
	_, err := lake.Open(context.Background(), lk, lake.Options{})
	if err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("Open of a read-only lake: %v; want a read-only error", err)
	}
	if n := len(readLake(t, lk)); n != total {
		t.Fatalf("read-only lake has %d rows; want %d", n, total)
	}
}
