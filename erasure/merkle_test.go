package erasure

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"
)

// naiveRoot is an independent model of the tree: build each level as a new
// slice, promoting an odd last node.
func naiveRoot(shard []byte) [32]byte {
	var level [][32]byte
	for off := 0; off < len(shard) || off == 0; off += PieceSize {
		end := min(off+PieceSize, len(shard))
		level = append(level, sha256.Sum256(append([]byte{0}, shard[off:end]...)))
		if end == len(shard) {
			break
		}
	}
	for len(level) > 1 {
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			buf := append([]byte{1}, level[i][:]...)
			next = append(next, sha256.Sum256(append(buf, level[i+1][:]...)))
		}
		level = next
	}
	return level[0]
}

func TestMerkleAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	sizes := []int{0, 1, PieceSize - 1, PieceSize, PieceSize + 1, 2 * PieceSize, 3 * PieceSize, 3*PieceSize + 1, 5*PieceSize - 1, 7 * PieceSize, 9*PieceSize + 3}
	for range 10 {
		sizes = append(sizes, r.IntN(40*PieceSize))
	}
	for _, n := range sizes {
		shard := randBlob(r, n)
		root := MerkleRoot(shard)
		if root != naiveRoot(shard) {
			t.Fatalf("%d bytes: root differs from the model", n)
		}
		if n == 0 && root != sha256.Sum256([]byte{0}) {
			t.Fatal("empty shard root is not SHA-256(0x00)")
		}
	}
	// Domain separation: a one-piece shard made of the two leaf hashes of a
	// two-piece shard does not share its root.
	two := randBlob(r, PieceSize+10)
	l0 := sha256.Sum256(append([]byte{0}, two[:PieceSize]...))
	l1 := sha256.Sum256(append([]byte{0}, two[PieceSize:]...))
	if MerkleRoot(append(l0[:], l1[:]...)) == MerkleRoot(two) {
		t.Fatal("leaf and node hashes are not separated")
	}
}

// TestPieceProofs: every piece of shards of many sizes proves against the
// descriptor, and every tampering is refused.
func TestPieceProofs(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, size := range []int{1, 5000, 4 * PieceSize, 4*7*PieceSize + 3, 4 * 13 * PieceSize} {
		blob := randBlob(r, size)
		d, shards := mustEncode(t, blob, Params{4, 2})
		for i, s := range shards {
			for j := range d.Pieces() {
				data, proof, err := PieceProof(s, j)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.VerifyPiece(i, j, data, proof); err != nil {
					t.Fatalf("size %d shard %d piece %d: %v", size, i, j, err)
				}
				if i != 0 || len(data) == 0 {
					continue
				}
				// Tamper in every way.
				bad := append([]byte(nil), data...)
				bad[r.IntN(len(bad))] ^= 1
				cases := map[string]error{
					"flipped byte":   d.VerifyPiece(i, j, bad, proof),
					"short data":     d.VerifyPiece(i, j, data[:len(data)-1], proof),
					"other shard":    d.VerifyPiece(1, j, data, proof),
					"shard -1":       d.VerifyPiece(-1, j, data, proof),
					"shard 6":        d.VerifyPiece(6, j, data, proof),
					"piece -1":       d.VerifyPiece(i, -1, data, proof),
					"piece too far":  d.VerifyPiece(i, d.Pieces(), data, proof),
					"proof too long": d.VerifyPiece(i, j, data, append(proof, [32]byte{})),
				}
				if len(proof) > 0 {
					p2 := append([][32]byte(nil), proof...)
					p2[len(p2)-1][0] ^= 1
					cases["bad sibling"] = d.VerifyPiece(i, j, data, p2)
					cases["proof too short"] = d.VerifyPiece(i, j, data, proof[:len(proof)-1])
				}
				if d.Pieces() > 1 {
					other := (j + 1) % d.Pieces()
					cases["wrong index"] = d.VerifyPiece(i, other, data, proof)
				}
				for name, err := range cases {
					if !errors.Is(err, ErrBadProof) {
						t.Fatalf("size %d piece %d %s: %v", size, j, name, err)
					}
				}
			}
			if _, _, err := PieceProof(s, d.Pieces()); !errors.Is(err, ErrBadProof) {
				t.Fatalf("PieceProof out of range: %v", err)
			}
			if _, _, err := PieceProof(s, -1); !errors.Is(err, ErrBadProof) {
				t.Fatalf("PieceProof -1: %v", err)
			}
		}
	}
}

// Proof lengths follow the tree shape: ceil(log2(n)) at most, fewer where a
// node is promoted.
func TestProofLength(t *testing.T) {
	shard := make([]byte, 5*PieceSize) // 5 leaves: levels 5, 3, 2, 1
	for j, want := range []int{3, 3, 3, 3, 1} {
		_, proof, err := PieceProof(shard, j)
		if err != nil || len(proof) != want {
			t.Fatalf("piece %d: %d hashes, want %d (%v)", j, len(proof), want, err)
		}
	}
}
