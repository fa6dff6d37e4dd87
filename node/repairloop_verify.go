package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/meshblobs"
	"respaldo/node/placement"
	"respaldo/node/roster"
	"respaldo/node/shard"
)

// Checking what the holder map says. A holder map is a hint: the writer's
// placement, then what repair changed as this node saw it. Other holders
// learn of a repair lazily: when a stripe does not look healthy (an index
// without a live copy), or when its turn in the rotation comes, the loop
// asks the map's live peers with locate (one small request each: the
// indexes held, no shard bytes). If an index still has no live copy, it
// sweeps the live storage peers in the stripe's rendezvous order, where
// placement.Fill puts rebuilt shards, as readers do (docs/lookup.md). What
// it finds goes into its own holder map.

const (
	locateTimeout = 10 * time.Second
	// locateParallel bounds the locate requests in flight per stripe.
	locateParallel = 4
)

// shardOpen opens shard-protocol streams (to this node too, in memory).
func (n *Node) shardOpen() meshblobs.OpenFunc { return n.openShard(meshblobs.HostStreams(n.host)) }

// withStream runs fn on a fresh shard stream to p, then closes it (resets
// it after a failure).
func (n *Node) withStream(ctx context.Context, p mesh.PeerID, fn func(shard.Stream) error) error {
	id, err := peer.Decode(string(p))
	if err != nil {
		return err
	}
	s, err := n.shardOpen()(ctx, id)
	if err != nil {
		return err
	}
	if err = fn(s); err != nil {
		s.Reset()
		return err
	}
	s.Close()
	n.table.Seen(p, n.now()) // an answer is evidence of life
	return nil
}

// locateAt asks p which shards of the stripe it holds: an empty list when
// it holds none (or the owner deleted the stripe there); an error when p
// did not answer.
func (n *Node) locateAt(ctx context.Context, p mesh.PeerID, id erasure.StripeID) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, locateTimeout)
	defer cancel()
	var held []int
	err := n.withStream(ctx, p, func(s shard.Stream) error {
		_, h, err := shard.Locate(ctx, s, id)
		held = h
		return err
	})
	if errors.Is(err, shard.ErrNotFound) || errors.Is(err, shard.ErrDeleted) {
		n.table.Seen(p, n.now())
		return []int{}, nil
	}
	return held, err
}

// verify asks the holder map's live peers (and those that answered
// before) with locate, sweeps for indexes still without a live copy, and
// with audit set audits every copy found (a co-holder's refused get asked
// for it). With wide set it also asks the first k+m live storage peers in
// the stripe's rendezvous order, where Fill puts rebuilt shards: once per
// stripe after this node starts, so that a holder back from away finds the
// copies rebuilt while it was gone, though the stripe looks healthy from
// its old holder map (its own copies are then surplus). The holder map is
// rewritten with what was found.
func (r *repairState) verify(ctx context.Context, st *stripeState, held []int, hm []string, peers []placement.Candidate, audit, wide bool) {
	n := r.n
	self := mesh.PeerID(n.self.String())
	now := n.now()
	liveStorage := map[mesh.PeerID]bool{}
	for _, c := range peers {
		if c.Live && c.Role == roster.RoleStorage && c.ID != self {
			liveStorage[c.ID] = true
		}
	}
	r.mu.Lock()
	var ask []mesh.PeerID
	for _, h := range hm {
		if p := mesh.PeerID(h); p != "" && p != self && liveStorage[p] && !slices.Contains(ask, p) {
			ask = append(ask, p)
		}
	}
	for p := range st.located {
		if p != self && liveStorage[p] && !slices.Contains(ask, p) {
			ask = append(ask, p)
		}
	}
	r.mu.Unlock()
	found := r.locateAll(ctx, st, ask)
	asked := map[mesh.PeerID]bool{}
	for _, p := range ask {
		asked[p] = true
	}
	// Sweep while an index has no live copy.
	missing := func() bool {
		have := make([]bool, len(st.desc.Shards))
		for _, i := range held {
			have[i] = true
		}
		for p, idx := range found {
			if liveStorage[p] {
				for _, i := range idx {
					if i < len(have) {
						have[i] = true
					}
				}
			}
		}
		return slices.Contains(have, false)
	}
	if missing() || wide {
		var order []mesh.PeerID
		for p := range liveStorage {
			order = append(order, p)
		}
		order = placement.RendezvousOrder(st.id, order)
		if wide {
			order = order[:min(len(order), len(st.desc.Shards))]
		}
		order = slices.DeleteFunc(order, func(p mesh.PeerID) bool { return asked[p] })
		limit := 2 * len(st.desc.Shards)
		for len(order) > 0 && limit > 0 && (missing() || wide) && ctx.Err() == nil {
			batch := order[:min(locateParallel, len(order), limit)]
			order, limit = order[len(batch):], limit-len(batch)
			for p, idx := range r.locateAll(ctx, st, batch) {
				found[p] = idx
			}
		}
	}
	r.mu.Lock()
	for p, idx := range found {
		st.located[p] = idx
		for i := range st.desc.Shards {
			if !slices.Contains(idx, i) {
				delete(r.failed, copyKey{st.id, i, p}) // no longer claimed: forget its failure
			}
		}
	}
	st.verified = now
	r.mu.Unlock()
	if audit {
		for p, idx := range found {
			for _, i := range idx {
				r.auditCopy(ctx, st.desc, i, p)
			}
		}
	}
	r.updateHolderMap(ctx, st, held, hm, liveStorage)
}

// locateAll asks peers with locate, locateParallel at a time; the result
// has the peers that answered.
func (r *repairState) locateAll(ctx context.Context, st *stripeState, peers []mesh.PeerID) map[mesh.PeerID][]int {
	var mu sync.Mutex
	out := map[mesh.PeerID][]int{}
	sem := make(chan struct{}, locateParallel)
	var wg sync.WaitGroup
	for _, p := range peers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			idx, err := r.n.locateAt(ctx, p, st.id)
			if err != nil {
				r.n.log.Debug("repair: locate", "peer", p, "stripe", st.id, "err", err)
				return
			}
			mu.Lock()
			out[p] = idx
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// updateHolderMap rewrites this node's holder map of the stripe where an
// entry names a peer known not to hold its shard, or an unseen one while a
// live holder was found: each such entry becomes a live holder found (this
// node first). Entries for which nobody live was found stay, so a holder
// within its grace keeps its place.
func (r *repairState) updateHolderMap(ctx context.Context, st *stripeState, held []int, hm []string, live map[mesh.PeerID]bool) {
	self := mesh.PeerID(r.n.self.String())
	out := slices.Clone(hm)
	r.mu.Lock()
	for i := range out {
		cur := mesh.PeerID(out[i])
		holds := func(p mesh.PeerID) bool {
			if p == self {
				return slices.Contains(held, i)
			}
			idx, ok := st.located[p]
			return ok && live[p] && slices.Contains(idx, i)
		}
		if cur != "" && holds(cur) {
			continue
		}
		var cands []mesh.PeerID
		if slices.Contains(held, i) {
			cands = append(cands, self)
		}
		for p, idx := range st.located {
			if live[p] && slices.Contains(idx, i) {
				cands = append(cands, p)
			}
		}
		if len(cands) == 0 {
			if cur == self {
				out[i] = "" // this node lost it (scrub), and nobody else has it
			}
			continue
		}
		if !slices.Contains(cands, self) {
			cands = placement.RendezvousOrder(st.id, cands)
		}
		out[i] = string(cands[0])
	}
	r.mu.Unlock()
	if !slices.Equal(out, hm) {
		if err := shard.SetHolderMap(ctx, r.n.store.Records(), st.id, out); err != nil {
			r.n.log.Warn("repair: holder map not kept", "stripe", st.id, "err", err)
		}
	}
}

// learn notes that p now holds shard i (a put this node made). A peer not
// located yet is left to the holder map, which the leader rewrites.
func (r *repairState) learn(st *stripeState, p mesh.PeerID, i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, ok := st.located[p]; ok && !slices.Contains(got, i) {
		idx := append(slices.Clone(st.located[p]), i)
		slices.Sort(idx)
		st.located[p] = idx
	}
}
