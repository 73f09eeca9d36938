// Command gunzip is the floor for ingest: inflate every .json.gz file under
// a folder with klauspost/compress on all cores and throw the bytes away.
// Usage: gunzip DIR
package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gunzip DIR")
		os.Exit(3)
	}
	var files []string
	filepath.WalkDir(os.Args[1], func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json.gz") && !strings.Contains(p, "CloudTrail-Digest") {
			files = append(files, p)
		}
		return nil
	})
	start := time.Now()
	var total atomic.Int64
	ch := make(chan string)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			var zr gzip.Reader
			for p := range ch {
				f, err := os.Open(p)
				if err != nil {
					panic(err)
				}
				if err := zr.Reset(f); err != nil {
					panic(err)
				}
				n, err := io.CopyBuffer(io.Discard, &zr, buf)
				if err != nil {
					panic(err)
				}
				total.Add(n)
				f.Close()
			}
		}()
	}
	for _, p := range files {
		ch <- p
	}
	close(ch)
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("gunzip: %d files, %d MB in %.2fs (%.0f MB/s)\n", len(files), total.Load()>>20, el, float64(total.Load())/1e6/el)
}
