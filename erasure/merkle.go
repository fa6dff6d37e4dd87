package erasure

import (
	"crypto/sha256"
	"fmt"
	"hash"
)

// The Merkle tree of a shard (one per shard; its root is the digest of the
// shard's CID, Descriptor.Root):
//
//   - The shard is cut into PieceSize (64 KiB) pieces; the last one may be
//     shorter. An empty shard has one empty piece, so there is always at
//     least one leaf.
//   - leaf  = SHA-256(0x00 || piece)
//   - node  = SHA-256(0x01 || left || right)
//   - Each level pairs nodes left to right; when a level has an odd number of
//     nodes, the last one is promoted unchanged to the next level.
//   - The root is the single node left; with one piece the root is its leaf.
//
// A proof for piece j lists, from the leaf upwards, the sibling of the
// current node at every level where it has one (levels where it is promoted
// contribute nothing). The verifier knows the number of pieces from the
// descriptor, so it knows which levels have a sibling and on which side.

var (
	leafPrefix = [1]byte{0x00}
	nodePrefix = [1]byte{0x01}
)

// numPieces is the number of leaves of a shard of n bytes (at least 1).
func numPieces(n int) int {
	if n <= PieceSize {
		return 1
	}
	return (n + PieceSize - 1) / PieceSize
}

// pieceOf returns piece j of data (aliasing it).
func pieceOf(data []byte, j int) []byte {
	lo := min(j*PieceSize, len(data))
	hi := min(lo+PieceSize, len(data))
	return data[lo:hi:hi]
}

func leafHash(p []byte) [32]byte {
	var out [32]byte
	leafInto(sha256.New(), p, &out)
	return out
}

// leafInto hashes piece p as a leaf with h (reset first) into out.
func leafInto(h hash.Hash, p []byte, out *[32]byte) {
	h.Reset()
	h.Write(leafPrefix[:])
	h.Write(p)
	h.Sum(out[:0])
}

func nodeHash(l, r *[32]byte) [32]byte {
	var buf [1 + 64]byte
	buf[0] = nodePrefix[0]
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

// up computes the next level of the tree in place and returns it.
func up(level [][32]byte) [][32]byte {
	n := len(level)
	for i := 0; i+1 < n; i += 2 {
		level[i/2] = nodeHash(&level[i], &level[i+1])
	}
	if n%2 == 1 {
		level[n/2] = level[n-1]
	}
	return level[:(n+1)/2]
}

// reduce returns the root over leaves, overwriting leaves. len(leaves) >= 1.
func reduce(leaves [][32]byte) [32]byte {
	for len(leaves) > 1 {
		leaves = up(leaves)
	}
	return leaves[0]
}

func hashLeaves(shard []byte) [][32]byte {
	leaves := make([][32]byte, numPieces(len(shard)))
	h := sha256.New()
	for j := range leaves {
		leafInto(h, pieceOf(shard, j), &leaves[j])
	}
	return leaves
}

// MerkleRoot is the root of shard's Merkle tree (construction above). Any
// length is accepted; an empty shard's root is SHA-256(0x00).
func MerkleRoot(shard []byte) [32]byte { return reduce(hashLeaves(shard)) }

// PieceProof returns the given piece of shard and the sibling hashes that
// lead from its leaf to the shard's Merkle root, bottom up. data aliases
// shard; proof is newly allocated. A piece out of range gives an error
// wrapping ErrBadProof.
func PieceProof(shard []byte, piece int) (data []byte, proof [][32]byte, err error) {
	level := hashLeaves(shard)
	if piece < 0 || piece >= len(level) {
		return nil, nil, fmt.Errorf("%w: piece %d out of range, the shard has %d pieces", ErrBadProof, piece, len(level))
	}
	for i := piece; len(level) > 1; i /= 2 {
		if s := i ^ 1; s < len(level) {
			proof = append(proof, level[s])
		}
		level = up(level)
	}
	return pieceOf(shard, piece), proof, nil
}

// VerifyPiece checks that data is the given piece of shard shardIndex of this
// stripe, with the proof from PieceProof: its length must be that of the
// piece and the proof must lead from its leaf to Root(shardIndex). Errors
// wrap ErrBadProof. d should be valid (from Encode or DecodeDescriptor); any
// d is safe.
func (d *Descriptor) VerifyPiece(shardIndex, piece int, data []byte, proof [][32]byte) error {
	i, j := shardIndex, piece
	if i < 0 || i >= len(d.Shards) {
		return fmt.Errorf("%w: shard %d out of range, the stripe has %d shards", ErrBadProof, i, len(d.Shards))
	}
	n := d.Pieces()
	if j < 0 || j >= n {
		return fmt.Errorf("%w: shard %d piece %d out of range, a shard has %d pieces", ErrBadProof, i, j, n)
	}
	want := min(max(d.ShardSize-int64(j)*PieceSize, 0), PieceSize)
	if int64(len(data)) != want {
		return fmt.Errorf("%w: shard %d piece %d has %d bytes, want %d", ErrBadProof, i, j, len(data), want)
	}
	h := leafHash(data)
	used := 0
	for idx, width := j, n; width > 1; idx, width = idx/2, (width+1)/2 {
		if idx^1 >= width {
			continue // promoted: no sibling at this level
		}
		if used == len(proof) {
			return fmt.Errorf("%w: shard %d piece %d: proof too short (%d hashes)", ErrBadProof, i, j, len(proof))
		}
		if idx%2 == 0 {
			h = nodeHash(&h, &proof[used])
		} else {
			h = nodeHash(&proof[used], &h)
		}
		used++
	}
	if used != len(proof) {
		return fmt.Errorf("%w: shard %d piece %d: proof too long (%d hashes, want %d)", ErrBadProof, i, j, len(proof), used)
	}
	if root, ok := rootOf(d.Shards[i]); !ok || h != root {
		return fmt.Errorf("%w: shard %d piece %d does not lead to the shard's Merkle root", ErrBadProof, i, j)
	}
	return nil
}
