package erasure

import (
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
)

// Secrets are set by the caller (the crypto layer); erasure only carries them
// in the descriptor, where they are covered by the stripe ID. Nonce is an
// ephemeral public value from which the owner re-derives the stripe's
// deletion and read secrets; DeleteKey and ReadKey are the Ed25519 proof
// keys of those secrets, with which holders check the owner's signed
// answers to their challenges (see docs/keys.md). All-zero values are allowed.
type Secrets struct {
	Nonce     [32]byte
	DeleteKey [32]byte
	ReadKey   [32]byte
}

// Descriptor holds the public, ciphertext-level facts of a stripe. It names
// no owner. Its canonical encoding (Marshal) hashes to the stripe ID (ID).
//
// A Descriptor is a plain value: methods only read it and are safe to call
// concurrently; whoever changes its fields changes its ID.
type Descriptor struct {
	Version   int
	K, M      int
	Size      int64     // blob length in bytes
	ShardSize int64     // length of every shard: ceil(Size/K), 0 for an empty blob
	Shards    []cid.Cid // K+M CIDs (ShardCID: each carries its shard's Merkle root), data shards first
	Secrets   Secrets
}

// Params returns the descriptor's k+m.
func (d *Descriptor) Params() Params { return Params{K: d.K, M: d.M} }

// ID is the stripe ID: SHA-256 of Marshal().
func (d *Descriptor) ID() StripeID { return StripeID(sum256(d.Marshal())) }

// Pieces is the number of PieceSize pieces per shard, the last one possibly
// shorter; at least 1 (an empty shard has one empty piece).
func (d *Descriptor) Pieces() int {
	if d.ShardSize <= PieceSize {
		return 1
	}
	n := d.ShardSize / PieceSize
	if d.ShardSize%PieceSize != 0 {
		n++
	}
	return int(min(n, math.MaxInt32))
}

// emptyCID is the CID of an empty shard.
var emptyCID = ShardCID(nil)

// Root returns the Merkle root of shard i, which its CID carries (the zero
// value when i is out of range or the CID is not a shard CID; Validate
// rejects both).
func (d *Descriptor) Root(i int) [32]byte {
	if i < 0 || i >= len(d.Shards) {
		return [32]byte{}
	}
	r, _ := rootOf(d.Shards[i])
	return r
}

// Validate checks that d is self-consistent: a known version; 1 <= K,
// 0 <= M, K+M <= MaxShards; K+M shard CIDs; 0 <= Size <= MaxBlobSize;
// ShardSize == ceil(Size/K); every CID a shard CID (CIDv1, raw codec,
// MerkleSHA256). The empty-blob rule: when Size == 0, ShardSize is 0 and
// every shard is the empty string, so every CID must be ShardCID(nil); such
// a stripe needs no shard to be read. Errors wrap ErrBadDescriptor.
func (d *Descriptor) Validate() error {
	if why := d.check(); why != "" {
		return fmt.Errorf("%w: %s", ErrBadDescriptor, why)
	}
	return nil
}

func (d *Descriptor) check() string {
	if d.Version != Version {
		return fmt.Sprintf("unknown version %d (this program reads version %d)", d.Version, Version)
	}
	if why := checkKM(d.K, d.M); why != "" {
		return why
	}
	n := d.K + d.M
	if len(d.Shards) != n {
		return fmt.Sprintf("%d shard CIDs for k+m=%d", len(d.Shards), n)
	}
	if d.Size < 0 || d.Size > MaxBlobSize {
		return fmt.Sprintf("size %d outside 0..%d", d.Size, MaxBlobSize)
	}
	if want := shardSize(d.Size, d.K); d.ShardSize != want {
		return fmt.Sprintf("shard size %d, want %d for %d bytes over k=%d", d.ShardSize, want, d.Size, d.K)
	}
	for i, c := range d.Shards {
		if !isShardCID(c) {
			return fmt.Sprintf("shard %d: CID %s is not a shard CID (CIDv1, raw, merkle-sha2-256)", i, cidString(c))
		}
		if d.Size == 0 && c != emptyCID {
			return fmt.Sprintf("shard %d of an empty blob is not empty", i)
		}
	}
	return ""
}

// shardSize is ceil(size/k), for 0 <= size <= MaxBlobSize and k >= 1.
func shardSize(size int64, k int) int64 { return (size + int64(k) - 1) / int64(k) }

// cidString prints any CID, even a malformed one, without panicking.
func cidString(c cid.Cid) string {
	if !c.Defined() {
		return "(undefined)"
	}
	if isShardCID(c) {
		return c.String()
	}
	return fmt.Sprintf("%x", c.KeyString())
}

// VerifyShard checks data against shard i of the stripe: its length must be
// ShardSize and its CID Shards[i]. As the CID is the shard's Merkle root, a
// shard that passes is one whose pieces its holder can prove in audits. The
// error is a *ShardError wrapping ErrShardMismatch.
func (d *Descriptor) VerifyShard(i int, data []byte) error {
	if err := d.checkLen(i, data); err != nil {
		return err
	}
	if c := ShardCID(data); c != d.Shards[i] {
		return shardErrorf(i, "content hashes to %s, want %s", cidString(c), cidString(d.Shards[i]))
	}
	return nil
}

func (d *Descriptor) checkLen(i int, data []byte) error {
	if i < 0 || i >= len(d.Shards) {
		return shardErrorf(i, "index out of range, the stripe has %d shards", len(d.Shards))
	}
	if int64(len(data)) != d.ShardSize {
		return shardErrorf(i, "%d bytes, want %d", len(data), d.ShardSize)
	}
	return nil
}

// ShardIndexes returns the positions of c in the stripe, in order. Several
// shards can share a CID (an empty blob, a blob of zeros), so a CID alone
// does not name a position.
func (d *Descriptor) ShardIndexes(c cid.Cid) []int {
	var idx []int
	for i, s := range d.Shards {
		if s == c {
			idx = append(idx, i)
		}
	}
	return idx
}
