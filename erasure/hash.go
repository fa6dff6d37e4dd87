package erasure

import (
	"crypto/sha256"
	"sync"

	"github.com/ipfs/go-cid"
)

// MerkleSHA256 is the multihash code of a shard CID: its digest is the root
// of the shard's Merkle tree (merkle.go: SHA-256 over 64 KiB pieces). The
// code is in the private-use range of the multicodec table (0x300000 to
// 0x3fffff), as the construction is this format's own. One pass of SHA-256
// over a shard gives both its address and the root its audits prove
// against.
const MerkleSHA256 = 0x300000

// cidPrefix is the binary prefix of every shard CID: CIDv1 (0x01), raw codec
// (0x55), multihash code MerkleSHA256 as a varint (80 80 c0 01) and a 32-byte
// digest (0x20).
const cidPrefix = "\x01\x55\x80\x80\xc0\x01\x20"

// cidLen is the length of a shard CID in binary form.
const cidLen = len(cidPrefix) + sha256.Size

// ShardCID is the content address of a shard: CIDv1, raw codec, multihash
// MerkleSHA256 with the shard's Merkle root (MerkleRoot) as digest. It is
// safe to call concurrently; data is only read.
func ShardCID(data []byte) cid.Cid { return cidFromRoot(MerkleRoot(data)) }

func cidFromRoot(root [32]byte) cid.Cid {
	c, err := cid.Cast(append([]byte(cidPrefix), root[:]...))
	if err != nil {
		panic("erasure: a shard CID does not parse: " + err.Error()) // fixed prefix and length
	}
	return c
}

// isShardCID reports whether c has the form of a shard CID (CIDv1, raw,
// MerkleSHA256, 32-byte digest).
func isShardCID(c cid.Cid) bool {
	s := c.KeyString()
	return len(s) == cidLen && s[:len(cidPrefix)] == cidPrefix
}

// rootOf returns the Merkle root a shard CID carries; ok is false when c is
// not a shard CID.
func rootOf(c cid.Cid) (root [32]byte, ok bool) {
	if !isShardCID(c) {
		return root, false
	}
	copy(root[:], c.KeyString()[len(cidPrefix):])
	return root, true
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
