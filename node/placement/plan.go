package placement

import "respaldo/node/mesh"

// Plan is where a stripe's shards go.
type Plan struct {
	// Holders[i] is the peer that holds shard i (data shards first, as in
	// erasure); len k+m. Newly allocated by Place and Fill.
	Holders []mesh.PeerID
	// Underplaced: some peer holds more than one shard, because fewer than
	// k+m storage peers were eligible. Repair spreads it out with Fill as
	// peers join.
	Underplaced bool
	// ToleratesLosses is ToleratesLosses(Holders, k): how many peers may
	// vanish, whichever they are, with the stripe still readable. 2 for a
	// 4+2 stripe on six distinct peers.
	ToleratesLosses int
	// ZoneSafe: a whole zone may vanish, whichever it is, with the stripe
	// still readable (ZoneTolerance >= 1): no zone holds more than m shards.
	// False when the mesh has too few zones (or too few peers outside one
	// zone) for that; the shards are then spread as evenly as possible.
	ZoneSafe bool
}

// PerPeer returns, for each holder, the shard indexes it holds in
// ascending order. The map is newly allocated.
func (p Plan) PerPeer() map[mesh.PeerID][]int {
	out := map[mesh.PeerID][]int{}
	for i, h := range p.Holders {
		if h != "" {
			out[h] = append(out[h], i)
		}
	}
	return out
}

// finish fills the plan's verdicts from its holders.
func finish(holders []mesh.PeerID, k int, zoneOf map[mesh.PeerID]mesh.Zone) Plan {
	p := Plan{Holders: holders}
	seen := map[mesh.PeerID]bool{}
	for _, h := range holders {
		if h != "" && seen[h] {
			p.Underplaced = true
		}
		seen[h] = true
	}
	p.ToleratesLosses = ToleratesLosses(holders, k)
	p.ZoneSafe = ZoneTolerance(holders, k, zoneOf) >= 1
	return p
}
