package repair

import (
	"time"

	"respaldo/node/mesh"
	"respaldo/node/placement"
)

// Plan is what should be done about one stripe, as seen by Input.Self.
// Every live holder given the same Input computes the same Plan except
// for IsLeader, which is true for exactly one of them while Due.
type Plan struct {
	Health Health
	// Shards[i] is what became of shard i; len k+m.
	Shards []ShardStatus
	// Holders[i] is the peer kept as shard i's holder before the puts: the
	// chosen live copy of a Present index, the best-ranked holder of a
	// Waiting one, "" for a Missing one. Surplus copies are not in it.
	Holders []mesh.PeerID

	// Put lists the shards to write to new holders, by index: the Missing
	// ones (From "") and, when peers allow, shards moved off a peer holding
	// more than its share (From that peer, which drops its copy once the
	// new one is in place). Empty when Lost or when nothing is to be done.
	Put []Put
	// Shortfall counts the Missing indexes that no peer can take now
	// (Put has Missing - Shortfall rebuilt entries); Blocked says why
	// (wrapping placement.ErrNoPeers or placement.ErrNoSpace).
	Shortfall int
	Blocked   error
	// After is the stripe's assignment once the puts are done, with
	// placement's verdicts (underplaced, tolerated losses, zone safety);
	// "" where a shard stays missing.
	After placement.Plan

	// Sources are the k shards the leader fetches to rebuild, one per
	// index, each from a live holder whose copy has not failed: this node's
	// own copies first, then data shards, then parity, by index. Spares
	// are the other live copies, to try when a source fails. Both empty
	// unless Due.
	Sources, Spares []Source

	// Due: there is something to put, so some holder must lead.
	Due bool
	// Leaders is the turn order: the live holders (peers with at least one
	// live copy that has not failed) in the stripe's rendezvous order
	// (placement.RendezvousOrder). Turn t (counted from Input.DueSince in
	// steps of Input.LeaderTimeout) is Leaders[t mod len]. Empty unless Due.
	Leaders []mesh.PeerID
	// Leader is whose turn it is now, and IsLeader whether that is
	// Input.Self; TurnEnds is when the next in order takes over (the
	// leader stops by then). Zero unless Due.
	Leader   mesh.PeerID
	IsLeader bool
	TurnEnds time.Time

	// Drop lists surplus copies: live, good copies of an index whose kept
	// holder is another live peer. Each is dropped by its own holder (the
	// peer named), not by the leader. Empty when Lost.
	Drop []Drop
	// WaitUntil is when the first Waiting index's holder runs out of grace
	// (and the stripe should be planned again); zero if none waits.
	WaitUntil time.Time
}

// Put is one shard to write to a new holder.
type Put struct {
	Index int
	To    mesh.PeerID
	// From is "" for a rebuilt shard; for a move, the live peer whose copy
	// it replaces and which drops that copy once To holds it.
	From mesh.PeerID
}

// Source is one shard to fetch: index and holder.
type Source struct {
	Index int
	Peer  mesh.PeerID
}

// Drop is a surplus copy to remove: Peer deletes its copy of Index, after
// checking that Keeper (the holder kept for that index) still has it.
type Drop struct {
	Index  int
	Peer   mesh.PeerID
	Keeper mesh.PeerID
}

// Work reports whether the plan asks anyone to do anything.
func (p Plan) Work() bool { return len(p.Put) > 0 || len(p.Drop) > 0 }

// MyDrops returns the drops that self carries out: its own surplus copies.
func (p Plan) MyDrops(self mesh.PeerID) []Drop {
	var out []Drop
	for _, d := range p.Drop {
		if d.Peer == self {
			out = append(out, d)
		}
	}
	return out
}
