package placement

import "errors"

// Sentinel errors; every error this package returns wraps one of them.
// Messages are one line.
var (
	// ErrNoPeers: no live storage peer other than the member's own node.
	ErrNoPeers = errors.New("no live storage peers to place shards on")
	// ErrNoSpace: live storage peers exist, but they cannot take the
	// stripe's shards with at most ⌈(k+m)/N⌉ on each.
	ErrNoSpace = errors.New("not enough free space on live storage peers")
	// ErrBadInput: invalid parameters, a non-positive shard size, a peer
	// listed twice, or pinned holders of the wrong length. A bug in the
	// caller; permanent.
	ErrBadInput = errors.New("bad placement input")
)
