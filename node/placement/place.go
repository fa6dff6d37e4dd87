package placement

import (
	"fmt"
	"slices"

	"respaldo/erasure"
	"respaldo/node/mesh"
)

// Place chooses the holders of a new stripe's k+m shards of shardSize
// bytes among peers; self is the member's own node. The rules, in order of
// precedence (docs/placement.md):
//
//   - eligible are the peers that are live, have the roster role storage,
//     are not self, and have room for at least one shard (FreeBytes >=
//     shardSize);
//   - with N >= k+m eligible peers each holds at most one shard; with
//     fewer, at most ⌈(k+m)/N⌉ (and no more than fit in its free space),
//     spread round-robin, and the plan is Underplaced; none eligible gives
//     ErrNoPeers (or ErrNoSpace if live storage peers exist but all are
//     full), and too little room for ⌈(k+m)/N⌉ per peer gives ErrNoSpace;
//   - at most m shards in one zone when the peers allow it; otherwise the
//     smallest per-zone maximum they allow (ZoneSafe false);
//   - among what the rules allow, peers are taken in weighted rendezvous
//     order: weight = min(free, 2·median free) · availability² (clamped),
//     score = -weight/ln(u), u from SHA-256(stripe || peer).
//
// Shards are assigned in the order the peers are picked: shard 0 to the
// first. The result depends only on the set of candidates, not on their
// order. Peers listed twice, invalid params or a non-positive shard size
// wrap ErrBadInput.
func Place(stripe erasure.StripeID, p erasure.Params, shardSize int64, self mesh.PeerID, peers []Candidate) (Plan, error) {
	return Fill(stripe, p, shardSize, self, peers, nil)
}

// Fill is Place around shards already placed: pinned[i] is the peer that
// holds shard i and keeps it, or "" for a shard to place (nil: place all).
// Pinned shards stay where they are whatever their peers' state (the caller
// decides which holders are lost and leaves their shards ""), count towards
// the per-peer and zone limits, and a pinned peer that is still eligible
// may receive more up to the per-peer limit. Here N counts the eligible
// peers and the pinned ones. Repair uses Fill, so a lost holder's shards
// move and no other shard does. pinned is not modified.
func Fill(stripe erasure.StripeID, p erasure.Params, shardSize int64, self mesh.PeerID, peers []Candidate, pinned []mesh.PeerID) (Plan, error) {
	if err := p.Validate(); err != nil {
		return Plan{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	n := p.Total()
	switch {
	case shardSize <= 0:
		return Plan{}, fmt.Errorf("%w: shard size %d", ErrBadInput, shardSize)
	case pinned != nil && len(pinned) != n:
		return Plan{}, fmt.Errorf("%w: %d pinned holders for %s", ErrBadInput, len(pinned), p)
	}
	zoneOf := make(map[mesh.PeerID]mesh.Zone, len(peers))
	for _, c := range peers {
		if _, dup := zoneOf[c.ID]; dup {
			return Plan{}, fmt.Errorf("%w: peer %q listed twice", ErrBadInput, c.ID)
		}
		zoneOf[c.ID] = c.Zone
	}
	s := newState(n, zoneOf, pinned)
	if s.missing > 0 {
		elig := eligible(stripe, shardSize, self, peers)
		if len(elig) == 0 {
			if anyLiveStorage(peers, self) {
				return Plan{}, fmt.Errorf("%w: every live storage peer has less than %d bytes free", ErrNoSpace, shardSize)
			}
			return Plan{}, ErrNoPeers
		}
		if err := s.place(elig, p.M); err != nil {
			return Plan{}, err
		}
	}
	return finish(s.holders, p.K, zoneOf), nil
}

// anyLiveStorage: some peer other than self is live with role storage.
func anyLiveStorage(peers []Candidate, self mesh.PeerID) bool {
	return slices.ContainsFunc(peers, func(c Candidate) bool {
		return c.Live && c.Role == mesh.RoleStorage && c.ID != self && c.ID != ""
	})
}
