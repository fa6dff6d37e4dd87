package backup

import (
	"github.com/zeebo/blake3"

	"respaldo/crypto"
)

// idHasher computes chunk IDs like crypto.ChunkIDKey.Sum (keyed BLAKE3-256;
// a test checks that they agree) but reuses one hasher, which is 10 KiB of
// state: one per goroutine, not safe for concurrent use.
type idHasher struct{ h *blake3.Hasher }

func newIDHasher(k crypto.ChunkIDKey) *idHasher {
	h, err := blake3.NewKeyed(k[:])
	if err != nil {
		panic(err) // only for keys that are not 32 bytes
	}
	return &idHasher{h: h}
}

func (x *idHasher) sum(b []byte) (id crypto.ChunkID) {
	x.h.Reset()
	x.h.Write(b)
	x.h.Sum(id[:0])
	return id
}
