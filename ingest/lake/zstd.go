package lake

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	parquetzstd "github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// pageBytes is the size of a Parquet page before compression. Smaller
// pages than parquet-go's 256 KB default keep compaction's memory down:
// a merge holds one decompressed page of every column of every input row
// group at once.
const pageBytes = 64 << 10

// pageCodec is zstd at its fastest level with a window the size of a
// page. Parquet compresses each page on its own, so a longer window (and
// the 16 MB history buffer each of klauspost's encoders keeps for the
// default one) buys nothing. The output is a standard zstd frame; pages
// are read back with parquet-go's own codec.
type pageCodec struct {
	encoders sync.Pool
	decode   parquetzstd.Codec
}

var zstdPages = &pageCodec{}

func (c *pageCodec) String() string                            { return "ZSTD" }
func (c *pageCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *pageCodec) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.encoders.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		e, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithWindowSize(2*pageBytes))
		if err != nil {
			return nil, err
		}
	}
	defer c.encoders.Put(e)
	return e.EncodeAll(src, dst[:0]), nil
}

func (c *pageCodec) Decode(dst, src []byte) ([]byte, error) { return c.decode.Decode(dst, src) }
