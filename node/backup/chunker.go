package backup

import (
	"io"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers fastcdc-v1.0.0

	"respaldo/crypto"
)

// Content-defined chunking: FastCDC as versioned by go-cdc-chunkers
// ("fastcdc-v1.0.0", whose masks follow NormalSize; the legacy "fastcdc" and
// "kfastcdc" are fixed for 8 KiB chunks), with the gear table derived from
// the member's chunker key so that chunk boundaries do not fingerprint
// known files.
const (
	chunkAlgorithm = "fastcdc-v1.0.0"
	ChunkMin       = 512 << 10
	ChunkAvg       = 1 << 20
	ChunkMax       = 8 << 20
	// chunkBufSize is the chunker's scan buffer: twice the largest chunk,
	// so the buffer is compacted about once per 8 MiB, not once per chunk.
	chunkBufSize = 2 * ChunkMax
)

// chunker splits streams into chunks; one per goroutine, reused across files.
type chunker struct {
	c *chunkers.Chunker
}

// newChunker returns a chunker keyed with key. buf, if not nil, must be at
// least ChunkMax bytes and is used as the scan buffer.
func newChunker(key crypto.ChunkerKey, buf []byte) (*chunker, error) {
	if buf == nil {
		buf = make([]byte, chunkBufSize)
	}
	opts := &chunkers.ChunkerOpts{MinSize: ChunkMin, NormalSize: ChunkAvg, MaxSize: ChunkMax, Key: key[:]}
	c, err := chunkers.NewChunkerBuffer(chunkAlgorithm, nil, opts, buf)
	if err != nil {
		return nil, err
	}
	return &chunker{c: c}, nil
}

// reset starts a new stream.
func (c *chunker) reset(r io.Reader) { c.c.Reset(r) }

// next returns the next chunk, or io.EOF after the last. The slice is valid
// only until the next call: copy what you keep. A read error of the stream
// is returned as is.
func (c *chunker) next() ([]byte, error) {
	for {
		data, err := c.c.Next()
		if len(data) > 0 {
			// A final chunk may come with io.EOF; give it now and report
			// EOF on the next call (which returns nothing more).
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
