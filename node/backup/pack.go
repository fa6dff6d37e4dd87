package backup

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"filippo.io/age"

	"respaldo/crypto"
)

// ChunkType says what a chunk holds.
type ChunkType uint8

const (
	ChunkData  ChunkType = 1 // a piece of a file
	ChunkTree  ChunkType = 2 // a directory (treeRecord)
	ChunkIndex ChunkType = 3 // part of the index (indexRecord)
)

func (t ChunkType) valid() bool { return t >= ChunkData && t <= ChunkIndex }

// Pack plaintext layout (then padded and sealed with age as one blob):
//
//	"rpk1" | body 0 | body 1 | ... | header (CBOR) | zeros | u32 H | u32 L
//
// H is the header's offset and L its length (little-endian); the whole is
// a padding class long. Each body is a chunk, zstd-compressed when its
// stored length is smaller than its raw length, raw otherwise.
const (
	packMagic      = "rpk1"
	packTrailerLen = 8
	packVersion    = 1
	// maxChunkRaw bounds any chunk: data chunks are at most 8 MiB, trees
	// at most maxTreeSize.
	maxChunkRaw = 32 << 20
)

// packEntry locates one chunk in a pack. Len < Raw means zstd, Len == Raw
// means stored raw (compression is kept only when it saves at least 3%).
type packEntry struct {
	_    struct{} `cbor:",toarray"`
	ID   crypto.ChunkID
	Type ChunkType
	Off  uint32 // offset of the body in the pack plaintext
	Len  uint32 // stored length
	Raw  uint32 // length once decompressed
}

type packHeader struct {
	V       uint        `cbor:"1,keyasint"`
	Entries []packEntry `cbor:"2,keyasint"`
}

// packBuilder writes a pack: into a plaintext buffer (newPlainPack) or,
// as it goes, through age into a ciphertext buffer (newSealedPack), so a
// pack being built costs one buffer, not two. Not safe for concurrent use.
type packBuilder struct {
	out     appendWriter   // the result: plaintext or ciphertext
	w       io.Writer      // where plaintext goes: &out or the age writer
	enc     io.WriteCloser // the age writer, if sealed
	off     int            // plaintext written so far
	entries []packEntry
	err     error
}

// newPlainPack builds a plaintext pack in buf's storage.
func newPlainPack(buf []byte) *packBuilder {
	b := &packBuilder{out: appendWriter{buf[:0]}}
	b.w = &b.out
	b.write([]byte(packMagic))
	return b
}

// newSealedPack builds a pack encrypted to r in buf's storage.
func newSealedPack(buf []byte, r age.Recipient) (*packBuilder, error) {
	b := &packBuilder{out: appendWriter{buf[:0]}}
	enc, err := crypto.Encrypt(&b.out, r)
	if err != nil {
		return nil, err
	}
	b.w, b.enc = enc, enc
	b.write([]byte(packMagic))
	return b, nil
}

func (b *packBuilder) write(p []byte) {
	if b.err == nil {
		_, b.err = b.w.Write(p)
		b.off += len(p)
	}
}

// add appends a stored chunk body (copied). raw is its decompressed length.
func (b *packBuilder) add(id crypto.ChunkID, t ChunkType, body []byte, raw int) {
	b.entries = append(b.entries, packEntry{ID: id, Type: t, Off: uint32(b.off), Len: uint32(len(body)), Raw: uint32(raw)})
	b.write(body)
}

// addPages is add for a body in pages.
func (b *packBuilder) addPages(id crypto.ChunkID, t ChunkType, body *chunkData, raw int) {
	b.entries = append(b.entries, packEntry{ID: id, Type: t, Off: uint32(b.off), Len: uint32(body.n), Raw: uint32(raw)})
	for i := range body.pages {
		b.write(body.segment(i))
	}
}

// maxEntryCBOR bounds the encoding of one entry in the header: array
// head, 34-byte ID, and four integers.
const maxEntryCBOR = 1 + 34 + 2 + 3*5

// fits reports whether a body of n bytes can be added without the pack's
// plaintext (header and trailer included, padding not) exceeding size. An
// empty pack takes any body.
func (b *packBuilder) fits(n, size int) bool {
	return len(b.entries) == 0 || b.off+n+(len(b.entries)+1)*maxEntryCBOR+16+packTrailerLen <= size
}

func (b *packBuilder) empty() bool { return len(b.entries) == 0 }

var zeros [64 << 10]byte

// finish writes header, padding and trailer (and closes the encryption)
// and returns the blob (in the builder's buffer), the entries and the
// plaintext length. The builder must not be used afterwards.
func (b *packBuilder) finish() ([]byte, []packEntry, int, error) {
	hdr, err := marshal(packHeader{V: packVersion, Entries: b.entries})
	if err != nil {
		return nil, nil, 0, err
	}
	h := b.off
	b.write(hdr)
	total := padClass(b.off + packTrailerLen)
	if total > maxPlaintext {
		return nil, nil, 0, fmt.Errorf("backup: pack of %d bytes is too large", total)
	}
	for n := total - packTrailerLen - b.off; n > 0; n -= min(n, len(zeros)) {
		b.write(zeros[:min(n, len(zeros))])
	}
	var t [packTrailerLen]byte
	binary.LittleEndian.PutUint32(t[:], uint32(h))
	binary.LittleEndian.PutUint32(t[4:], uint32(len(hdr)))
	b.write(t[:])
	if b.enc != nil && b.err == nil {
		b.err = b.enc.Close()
	}
	if b.err != nil {
		return nil, nil, 0, b.err
	}
	return b.out.b, b.entries, b.off, nil
}

// appendWriter appends to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func appendZeros(b []byte, n int) []byte {
	b = slices.Grow(b, n)
	b = b[:len(b)+n]
	clear(b[len(b)-n:])
	return b
}

// parsePack checks a pack plaintext and returns its entries and where the
// bodies end (the header's offset); every entry's body lies within the
// bodies. It never panics on any input.
func parsePack(p []byte) ([]packEntry, uint64, error) {
	if len(p) < len(packMagic)+packTrailerLen || string(p[:len(packMagic)]) != packMagic {
		return nil, 0, corruptf("pack: bad magic or too short (%d bytes)", len(p))
	}
	t := len(p) - packTrailerLen
	h := uint64(binary.LittleEndian.Uint32(p[t:]))
	l := uint64(binary.LittleEndian.Uint32(p[t+4:]))
	if h < uint64(len(packMagic)) || h+l > uint64(t) {
		return nil, 0, corruptf("pack: header at %d+%d outside %d bytes", h, l, t)
	}
	var hdr packHeader
	if err := unmarshal("pack header", p[h:h+l], &hdr); err != nil {
		return nil, 0, err
	}
	if hdr.V != packVersion {
		return nil, 0, corruptf("pack: version %d, want %d", hdr.V, packVersion)
	}
	for i, e := range hdr.Entries {
		if err := e.check(h); err != nil {
			return nil, 0, fmt.Errorf("pack entry %d: %w", i, err)
		}
	}
	return hdr.Entries, h, nil
}

// check validates an entry against a pack whose bodies end at end.
func (e packEntry) check(end uint64) error {
	switch {
	case !e.Type.valid():
		return corruptf("chunk %x: type %d", e.ID[:4], e.Type)
	case e.Len == 0 || e.Len > e.Raw || e.Raw > maxChunkRaw:
		return corruptf("chunk %x: stored %d bytes for %d", e.ID[:4], e.Len, e.Raw)
	case uint64(e.Off) < uint64(len(packMagic)) || uint64(e.Off)+uint64(e.Len) > end:
		return corruptf("chunk %x: body at %d+%d outside the pack", e.ID[:4], e.Off, e.Len)
	}
	return nil
}
