package repair

import (
	"errors"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
)

const (
	// DefaultGrace is how long a storage node may be unseen before its
	// shards count as missing (--repair-grace): a reboot or a power cut is
	// not a loss.
	DefaultGrace = 24 * time.Hour
	// DefaultLeaderTimeout is how long one leader has to finish a stripe's
	// repair before the next live holder in rendezvous order takes over.
	// Fetching k shards of at most 16 MiB, rebuilding and putting m of them
	// takes seconds to a few minutes on a slow uplink.
	DefaultLeaderTimeout = 15 * time.Minute
)

// ErrBadInput: invalid parameters, a holder view of the wrong length, an
// empty peer ID, a negative shard size or a peer listed twice in the peer
// table. A bug in the caller; permanent.
var ErrBadInput = errors.New("bad repair input")

// Stripe is the part of a descriptor the planner needs.
type Stripe struct {
	ID     erasure.StripeID
	Params erasure.Params
	// ShardSize is the length of every shard (Descriptor.ShardSize); 0 for
	// an empty blob, whose shards still need a holder each.
	ShardSize int64
}

// StripeOf takes the planner's view of a stripe from its descriptor.
func StripeOf(d *erasure.Descriptor) Stripe {
	return Stripe{ID: d.ID(), Params: d.Params(), ShardSize: d.ShardSize}
}

// Copy is one peer believed to hold one shard index of the stripe: named
// by the holder map, or answering has/locate. The peer's liveness and last
// sighting come from the mesh table, Revoked from the roster, FailedAudit
// from this node's audits and checks.
type Copy struct {
	Peer mesh.PeerID
	// Live: seen within the mesh table's live window (mesh.PeerState.Live).
	// The caller reports its own copies live: it is running.
	Live bool
	// LastSeen is the latest evidence of life (mesh.PeerState.LastSeen);
	// the zero time if none since this node began watching.
	LastSeen time.Time
	// Revoked: the roster revoked the peer. Its copies count as missing at
	// once, live or not, grace or not.
	Revoked bool
	// FailedAudit: this copy failed its last audit or check (wrong bytes,
	// a bad piece proof, "not found" where the peer claimed it). It counts
	// as missing at once, and its peer receives no shard of this stripe.
	FailedAudit bool
}

// Input is everything PlanStripe looks at. Only Now tells the time.
type Input struct {
	Stripe Stripe
	// Shards[i] lists the copies of shard i believed to exist, from the
	// holder map and has/locate answers; len k+m. A peer listed twice for
	// one index is merged (live if either says so, the later LastSeen,
	// revoked or failed if either says so). Order does not matter.
	Shards [][]Copy
	// Peers is the peer table as placement sees it
	// (placement.FromMesh(table.Peers(now))), this node included. New
	// holders come from here; zones for the zone cap too. A peer may be
	// listed once.
	Peers []placement.Candidate
	// Self is this node. It leads when its turn comes, fetches its own
	// copies first, and drops its own surplus copies.
	Self mesh.PeerID
	// Now is the time the plan is made for.
	Now time.Time
	// Grace is how long a holder may be unseen before its copies count as
	// missing; <= 0 means DefaultGrace.
	Grace time.Duration
	// WatchingSince is when this node began watching the mesh (its start).
	// A holder counts as seen no earlier than that, so a restarted node,
	// whose table is empty, waits a full grace before it rebuilds anything
	// because of absence alone. The zero time: no such floor.
	WatchingSince time.Time
	// DueSince is when this node first found the stripe's repair due
	// (Plan.Due) and has found it due ever since, as the loop remembers it;
	// the zero time, or a time after Now, means it became due now. Leader
	// turns are counted from it.
	DueSince time.Time
	// LeaderTimeout is the length of one leader's turn; <= 0 means
	// DefaultLeaderTimeout.
	LeaderTimeout time.Duration
	// Avoid lists peers that must not receive a rebuilt shard this time
	// (for example one whose put just failed). They still count as holders
	// of what they hold.
	Avoid []mesh.PeerID
}
