package backup

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression is kept only when it saves at least 3% (keepPct); chunks
// larger than sampleOver are first tried on sampleN samples of sampleLen
// bytes spread over the chunk, and stored raw without compressing the rest
// when the samples do not compress (photos, archives, video).
const (
	keepPct    = 97
	sampleOver = 128 << 10
	sampleN    = 4
	sampleLen  = 16 << 10
)

// newEncoder returns a zstd encoder for one goroutine.
func newEncoder(level zstd.EncoderLevel) *zstd.Encoder {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // chunks are checked against their keyed ID
		zstd.WithLowerEncoderMem(true),
		// A 1 MiB window keeps each encoder's history at about 1 MiB
		// (4 MiB by default); chunks rarely repeat from further back.
		zstd.WithWindowSize(1<<20),
	)
	if err != nil {
		panic(err) // only bad options fail
	}
	return enc
}

// compressible guesses from samples whether d is worth compressing;
// scratch is reused for the samples' output.
func compressible(enc *zstd.Encoder, d *chunkData, scratch *[]byte) bool {
	if d.n <= sampleOver {
		return true
	}
	in, out := 0, 0
	for i := range sampleN {
		seg := d.segment(i * (len(d.pages) - 1) / (sampleN - 1))
		s := seg[:min(len(seg), sampleLen)]
		*scratch = enc.EncodeAll(s, (*scratch)[:0])
		in += len(s)
		out += len(*scratch)
	}
	return out*100 < in*keepPct
}

// compressPages compresses d into new pages of pp, streaming; ok is false
// (and nothing is kept) unless that saves at least 3%.
func compressPages(enc *zstd.Encoder, d *chunkData, pp *pagePool) (chunkData, bool) {
	w := pageWriter{pp: pp}
	enc.ResetContentSize(&w, int64(d.n))
	err := d.writeTo(enc)
	if err == nil {
		err = enc.Close()
	}
	if err != nil || w.d.n*100 >= d.n*keepPct {
		pp.release(&w.d)
		return chunkData{}, false
	}
	return w.d, true
}

// compress returns src zstd-compressed into dst when that saves at least
// 3%; ok says whether it did (else src is to be stored raw).
func compress(enc *zstd.Encoder, src, dst []byte) (body []byte, ok bool) {
	dst = enc.EncodeAll(src, dst[:0])
	if len(dst)*100 >= len(src)*keepPct {
		return nil, false
	}
	return dst, true
}

var decoderPool = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxChunkRaw),
		zstd.WithDecoderMaxWindow(maxChunkRaw),
		zstd.IgnoreChecksum(true),
	)
	if err != nil {
		panic(err)
	}
	return d
}}

// decodeBody returns the raw chunk for a stored body of an entry: body
// itself when stored raw, else its zstd decoding appended to dst[:0]. The
// result must be exactly raw bytes long.
func decodeBody(body []byte, raw int, dst []byte) ([]byte, error) {
	if len(body) == raw {
		return body, nil
	}
	d := decoderPool.Get().(*zstd.Decoder)
	defer decoderPool.Put(d)
	if cap(dst) < raw {
		dst = make([]byte, 0, raw)
	}
	out, err := d.DecodeAll(body, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	if len(out) != raw {
		return nil, corruptf("zstd gave %d bytes, want %d", len(out), raw)
	}
	return out, nil
}

// bufList keeps up to max buffers for reuse: the data packs' ciphertext
// while backing up (size set: every buffer has that capacity), the packs
// a restore fetches and decrypts in place (size 0: any capacity; a fresh
// pack-sized slice per pack cost zeroing and collecting every byte, and
// one buffer per pack in flight keeps a restore's heap well below the
// node's soft memory limit, near which the collector runs all the time).
// A nil *bufList lends nothing and keeps nothing.
type bufList struct {
	mu   sync.Mutex
	size int
	max  int
	free [][]byte
}

// get returns a kept buffer (length 0); when none is kept, a new one of
// capacity size, or nil when size is 0.
func (f *bufList) get() []byte {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.free); n > 0 {
		b := f.free[n-1]
		f.free = f.free[:n-1]
		return b[:0]
	}
	if f.size == 0 {
		return nil
	}
	return make([]byte, 0, f.size)
}

// put keeps b's storage for a later get (when it has capacity size, with
// size set); the caller no longer uses b.
func (f *bufList) put(b []byte) {
	if f == nil || cap(b) == 0 || (f.size != 0 && cap(b) != f.size) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.free) < f.max {
		f.free = append(f.free, b[:0])
	}
}
