// Package roster owns a mesh's membership: the roster, a hash-chained,
// append-only log of entries signed by operator keys (Ed25519), which every
// node holds and syncs on every connection, and the admission decisions
// drawn from it. docs/roster.md describes the format and the threat model.
//
// # Entries
//
// An [Entry] is genesis (the mesh: its first operators and pinned erasure
// geometry; its hash is the [MeshID]), admit (a peer ID with its zone, role,
// optional expiry and the invite token it consumed), revoke (final: the
// peer ID is never admitted again), invite (an optional record of an issued
// invite), withdraw-invite (a recorded invite withdrawn before its expiry:
// no admit may consume its token), add-operator or remove-operator. Each
// names its seq, the hash of its predecessor, its time and its signer, and
// is signed over its deterministic CBOR encoding under the domain
// "respaldo/v1/roster".
//
// # The log
//
// A [Log] comes from [Genesis] or [Decode] and only grows: [Log.Append] and
// [Log.Merge] verify entries (signature, chain, signer a current operator,
// the rules of each kind) before taking them, all or nothing. The builders
// [Log.Admit], [Log.Revoke], [Log.Invite], [Log.WithdrawInvite],
// [Log.AddOperator] and [Log.RemoveOperator] sign and append in one step. Sync compares
// [Log.Head]s and ships [Log.Since]; two different entries at one seq are a
// fork, reported as a [*ForkError].
//
// # Decisions
//
// [Log.Allowed] is what the connection gater and every protocol handler ask;
// [Log.Member] and [Log.Members] give zone and role (which come from here,
// never from what a node says of itself); [Log.RevocationsSince] lets the
// revoke command notice mass revocations.
//
// # Purity
//
// No network, no disk, no clock: functions that need the time take now.
// Validity never depends on now, so every node reaches the same verdict on
// the same entries. A Log is safe for concurrent use; entries it returns
// are copies.
//
// # Errors
//
// Sentinels [ErrBadSignature], [ErrNotOperator], [ErrBrokenChain],
// [ErrFork], [ErrRevoked], [ErrTokenUsed], [ErrTokenWithdrawn] and
// [ErrBadEntry], or errors wrapping them (test with errors.Is); one line
// each.
package roster
