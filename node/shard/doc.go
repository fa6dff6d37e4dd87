// Package shard owns the shard protocol /respaldo/shard/1.0.0 (ProtocolID):
// its codec, its server side (Handler) and its client side (Put, Get,
// GetAuthorized, Has, Delete, Audit, Locate), over any Stream — an io.Reader and
// io.Writer with deadlines and a half-close, as libp2p streams are. It never
// dials and imports no libp2p: the daemon (package node) opens and accepts
// streams, checks admission against the roster, and hands them in.
//
// # Messages
//
// One request per stream. A message is uvarint(len(header)) ‖ header ‖
// body: the header is one CBOR map with integer keys in core deterministic
// encoding with a version field, at most Limits.MaxHeader (64 KiB) long;
// the body, when there is one, has the length the header states. The
// formats are in docs/protocol-shard.md.
//
//   - put: any admitted peer sends a shard with its stripe's descriptor. The
//     holder opens the descriptor under the stripe ID, checks the size,
//     reads the bytes, lets the store check the CID and Merkle root and
//     fsync, and only then answers ok. A stripe with a deletion record
//     (DeletedPrefix) is refused.
//   - get: served to the stripe's owner, who signs a challenge naming the
//     stripe, the shard, the holder, the requester, the time and a nonce
//     with the stripe's read secret; or, without proof, to a requester the
//     Authorizer approves (a co-holder repairing the stripe). The client
//     verifies the bytes against the CID in its descriptor.
//   - has: any admitted peer learns whether a shard is held, and its size.
//   - delete: the owner proves the deletion secret the same way; the holder
//     writes a deletion record, then deletes every shard of the stripe.
//   - audit: a peer the Authorizer approves (a holder of the same stripe)
//     gets one 64 KiB piece of a shard with its Merkle proof and checks it
//     against the descriptor's root, without downloading the shard.
//   - locate: any admitted peer gets a stripe's canonical descriptor and the
//     indexes of the shards held of it, in one request; the client opens the
//     descriptor against the stripe ID. Descriptors are public and has tells
//     the same per shard, so nothing new is revealed. Added within 1.0.0: an
//     older holder refuses it bad-request, which Locate reports as
//     ErrUnsupported.
//
// # Why a holder cannot harvest
//
// A proof is a signature over a challenge that names the holder and the
// requester, so a holder that receives one cannot replay it at a co-holder
// to fetch the stripe's other shards, and nobody else can use it at the same
// holder (the requester must be the stream's remote peer). Proofs are fresh
// (±Limits.ClockSkew) and each is accepted once.
//
// # Robustness
//
// Both sides cut off a stream that moves fewer than Limits.MinRate ×
// Limits.StallTimeout bytes within StallTimeout (ErrStalled). A handler
// serves at most Limits.PerPeer streams per remote peer at once and answers
// ErrBusy beyond. Garbage is refused with ErrBadRequest and returned to the
// daemon to log; Serve never panics. Errors map to one-line wire codes and
// back (errors.go): ErrNotFound, ErrNoSpace, ErrDenied, ErrBadRequest,
// ErrWrongShard, ErrDeleted, ErrBusy, ErrStalled, ErrInternal; ErrUnsupported
// is the client's alone.
package shard
