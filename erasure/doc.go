// Package erasure owns stripes: it splits a blob (0 bytes to 64 MiB of age
// ciphertext) into k data and m parity shards with Reed-Solomon coding
// (github.com/klauspost/reedsolomon), names each shard by its CID, describes
// the stripe in a descriptor whose hash is the stripe ID, joins and rebuilds
// stripes from any k good shards, and proves possession of 64 KiB pieces of a
// shard with Merkle proofs. It is pure: no disk, no network, no clock, and it
// imports nothing of respaldo's.
//
// # Shards
//
// A blob of Size bytes at k+m gives k+m shards of ShardSize = ceil(Size/k)
// bytes each: data shard i holds blob bytes [i*ShardSize, (i+1)*ShardSize),
// the last one zero-padded; parity shards follow. An empty blob gives k+m
// empty shards (ShardSize 0). A shard's CID is CIDv1, raw codec (0x55), with
// a multihash of code MerkleSHA256 (private use, 0x300000) whose digest is the
// shard's Merkle root (ShardCID): one SHA-256 pass over a shard gives its
// address and the root its audits prove against. Every shard is checked against
// its CID before it is used (Join, Reconstruct, VerifyShard), and rebuilt
// shards are checked again, because the decoder does not verify its output.
//
// # Descriptor and stripe ID
//
// A Descriptor holds the public facts of a stripe: version, k, m, size,
// shard size, the k+m shard CIDs and the owner's Secrets (a public nonce and the proof keys of the deletion and read secrets); it
// names no owner. Marshal encodes it as a CBOR map with integer keys in core
// deterministic encoding:
//
//	0 version (uint, 2)     5 shard CIDs (array of k+m byte strings, 39 bytes: 01 55 80 80 c0 01 20 ‖ root)
//	1 k (uint)              6 nonce (32-byte byte string)
//	2 m (uint)              7 deletion proof key (32-byte byte string)
//	3 size (uint)           8 read proof key (32-byte byte string)
//	4 shard size (uint)
//
// All nine keys are always present. The stripe ID (StripeID) is the SHA-256 of
// that encoding. DecodeDescriptor accepts only the canonical encoding of a
// valid descriptor, so one stripe has one byte form and one ID, and a
// descriptor fetched under an ID is checked with OpenDescriptor.
//
// # Merkle tree and proofs
//
// Each shard is cut into PieceSize (64 KiB) pieces, the last one shorter (an
// empty shard has one empty piece). leaf = SHA-256(0x00 ‖ piece); node =
// SHA-256(0x01 ‖ left ‖ right); levels pair nodes left to right and promote
// an odd last node unchanged; the root is the last node standing. A proof of
// piece j is the list of siblings from the leaf up, skipping levels where the
// node is promoted (PieceProof, Descriptor.VerifyPiece).
//
// # Errors
//
// Errors wrap the sentinels ErrBadParams, ErrBlobTooLarge, ErrTooFewShards
// (as *TooFewShardsError), ErrShardMismatch (inside *ShardError),
// ErrBadDescriptor, ErrStripeIDMismatch, ErrBadProof and ErrBadStripeID.
// Nothing here panics on outside input.
//
// # Concurrency and memory
//
// All functions are safe for concurrent use. Encode hashes shards in
// parallel, one goroutine per shard; Join and Reconstruct verify in parallel.
// Shards returned by Encode may share memory with the blob; Join and
// Reconstruct never write into the caller's shard bytes.
//
// The format is written down in docs/format-erasure.md; testdata/ holds a
// known-answer stripe ID that pins it.
package erasure
