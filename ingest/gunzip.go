package ingest

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// DefaultMaxDecompressedBytes caps what one object may inflate to (a gzip
// bomb guard). Options.MaxDecompressedBytes overrides it.
const DefaultMaxDecompressedBytes = 4 << 30

// plainReader returns the uncompressed bytes of r: it inflates gzip (by
// its magic number, whatever the key's extension) and passes anything
// else through. At most max bytes are returned; past that the reader
// fails with ErrTooLarge.
func plainReader(r io.Reader, max int64) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// A fresh inflater per object (~30 µs): klauspost's Reset keeps
		// Huffman state of the previous stream, so a pooled one made a
		// corrupt object's error depend on the object read before it.
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		return &capReader{r: gzipErrs{zr}, left: max, max: max}, nil
	}
	return &capReader{r: br, left: max, max: max}, nil
}

// gzipErrs marks inflate failures as corruption.
type gzipErrs struct{ r io.Reader }

func (g gzipErrs) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: gzip: truncated stream: %v", ErrCorrupt, err)
		} else if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			err = fmt.Errorf("%w: %v", ErrCorrupt, err)
		} else if _, ok := err.(interface{ Temporary() bool }); !ok && isFlateError(err) {
			err = fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
	}
	return n, err
}

func isFlateError(err error) bool {
	s := err.Error()
	return len(s) > 5 && (s[:5] == "flate" || s[:4] == "gzip")
}

// capReader fails once more than max bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
	max  int64
	n    int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Allow a clean EOF exactly at the cap.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: decompressed size over %d bytes", ErrTooLarge, c.max)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.n += int64(n)
	return n, err
}
