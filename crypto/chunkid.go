package crypto

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// ChunkIDKey keys the chunk IDs of one member (write side). Chunk IDs are
// keyed so that a holder of the member's index cannot test whether a known
// file is in a backup.
type ChunkIDKey [32]byte

// ChunkID identifies a chunk: keyed BLAKE3-256 of its plaintext. Frozen by
// testdata/vectors.json; the index and trees store it.
type ChunkID [32]byte

// Sum returns the chunk ID of data. Safe for concurrent use.
func (k ChunkIDKey) Sum(data []byte) ChunkID {
	h, err := blake3.NewKeyed(k[:])
	if err != nil {
		panic("crypto: blake3: " + err.Error()) // only for keys that are not 32 bytes
	}
	h.Write(data)
	var id ChunkID
	h.Sum(id[:0])
	return id
}

func (k ChunkIDKey) String() string   { return "crypto.ChunkIDKey(redacted)" }
func (k ChunkIDKey) GoString() string { return k.String() }

// String is the lower-case hex form of the ID (64 characters).
func (id ChunkID) String() string { return hex.EncodeToString(id[:]) }

// ParseChunkID reads the String form.
func ParseChunkID(s string) (ChunkID, error) {
	b, err := parseHex32(s)
	if err != nil {
		return ChunkID{}, fmt.Errorf("crypto: chunk ID: %w", err)
	}
	return ChunkID(b), nil
}

// ChunkerKey keys the gear table of the content-defined chunker (pass it as
// go-cdc-chunkers' ChunkerOpts.Key = k[:]), so that chunk boundaries do not
// fingerprint known files.
type ChunkerKey [32]byte

func (k ChunkerKey) String() string   { return "crypto.ChunkerKey(redacted)" }
func (k ChunkerKey) GoString() string { return k.String() }

func parseHex32(s string) ([32]byte, error) {
	var out [32]byte
	if len(s) != 64 {
		return out, fmt.Errorf("want 64 hex characters, got %d", len(s))
	}
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return out, err
	}
	return out, nil
}
