package erasure

import (
	"crypto/sha256"
	"sync"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// cidPrefix is the binary prefix of every shard CID: CIDv1 (0x01), raw codec
// (0x55), multihash sha2-256 (0x12) with a 32-byte digest (0x20).
const cidPrefix = "\x01\x55\x12\x20"

// cidLen is the length of a shard CID in binary form.
const cidLen = len(cidPrefix) + sha256.Size

// ShardCID is the content address of a shard: CIDv1, raw codec, sha2-256
// multihash of data. It equals cid.NewCidV1(cid.Raw, mh.Sum(data, mh.SHA2_256, -1)).
func ShardCID(data []byte) cid.Cid {
	sum := sha256.Sum256(data)
	return cidFromDigest(sum[:])
}

func cidFromDigest(d []byte) cid.Cid {
	buf := make([]byte, 0, 2+sha256.Size)
	buf = append(buf, mh.SHA2_256, sha256.Size)
	buf = append(buf, d...)
	return cid.NewCidV1(cid.Raw, mh.Multihash(buf))
}

// isShardCID reports whether c is a CIDv1, raw codec, sha2-256 CID.
func isShardCID(c cid.Cid) bool {
	s := c.KeyString()
	return len(s) == cidLen && s[:len(cidPrefix)] == cidPrefix
}

// HashShard returns a shard's CID and its Merkle root (see MerkleRoot),
// reading data once: each PieceSize piece is fed to the whole-shard hash and
// hashed as a leaf while it is still in cache. It is safe to call
// concurrently; data is only read.
func HashShard(data []byte) (cid.Cid, [32]byte) {
	whole := sha256.New()
	leaf := sha256.New()
	leaves := make([][32]byte, numPieces(len(data)))
	for j := range leaves {
		p := pieceOf(data, j)
		whole.Write(p)
		leaf.Reset()
		leaf.Write(leafPrefix[:])
		leaf.Write(p)
		leaf.Sum(leaves[j][:0])
	}
	return cidFromDigest(whole.Sum(nil)), reduce(leaves)
}

// parallel calls f(i) for every i in idx, one goroutine each, and waits.
// Hashing is the dominant cost of this package (about 1.5 GB/s per core),
// so shards are hashed side by side.
func parallel(idx []int, f func(i int)) {
	if len(idx) == 1 {
		f(idx[0])
		return
	}
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}
