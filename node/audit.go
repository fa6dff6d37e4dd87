package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/shard"
)

// Audits: every AuditInterval the node asks up to auditPerRound shards of
// its co-holders, chosen at random among the live copies it knows of, for
// one random 64 KiB piece with its Merkle proof (shard.Audit), checked
// against the root in the descriptor it holds. A holder that answers has
// but lost or damaged the bytes fails ("not-found" or a wrong piece): the
// copy is marked FailedAudit for the planner, which rebuilds it at once
// elsewhere. A later good audit, or a locate answer that no longer claims
// the shard, clears the mark.

const (
	// DefaultAuditInterval is how often the node audits a sample of the
	// copies its co-holders keep.
	DefaultAuditInterval = time.Hour
	// auditPerRound bounds the audits of one round (64 KiB each).
	auditPerRound = 64
)

func (n *Node) auditInterval() time.Duration {
	if n.cfg.AuditInterval > 0 {
		return n.cfg.AuditInterval
	}
	return DefaultAuditInterval
}

// auditLoop audits until ctx ends.
func (n *Node) auditLoop(ctx context.Context) {
	t := time.NewTimer(n.auditInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.repair.auditRound(ctx)
		t.Reset(n.auditInterval())
	}
}

// auditRound audits a random sample of the live co-holders' copies.
func (r *repairState) auditRound(ctx context.Context) {
	n := r.n
	self := mesh.PeerID(n.self.String())
	now := n.now()
	type target struct {
		d *erasure.Descriptor
		i int
		p mesh.PeerID
	}
	var all []target
	r.mu.Lock()
	states := make([]*stripeState, 0, len(r.stripes))
	for _, st := range r.stripes {
		states = append(states, st)
	}
	r.mu.Unlock()
	for _, st := range states {
		hm := n.holderMap(ctx, st)
		r.mu.Lock()
		claims := map[copyKey]bool{}
		for i, h := range hm {
			p := mesh.PeerID(h)
			if got, ok := st.located[p]; p != "" && (!ok || slices.Contains(got, i)) {
				claims[copyKey{st.id, i, p}] = true
			}
		}
		for p, idx := range st.located {
			for _, i := range idx {
				claims[copyKey{st.id, i, p}] = true
			}
		}
		r.mu.Unlock()
		for k := range claims {
			if ps, _ := n.table.Peer(k.peer, now); k.peer != self && ps.Live {
				all = append(all, target{st.desc, k.index, k.peer})
			}
		}
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, t := range all[:min(len(all), auditPerRound)] {
		if ctx.Err() != nil {
			return
		}
		r.auditCopy(ctx, t.d, t.i, t.p)
	}
}

// auditCopy audits p's copy of shard i of d and records the outcome.
func (r *repairState) auditCopy(ctx context.Context, d *erasure.Descriptor, i int, p mesh.PeerID) {
	n := r.n
	if p == mesh.PeerID(n.self.String()) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, locateTimeout)
	defer cancel()
	err := n.withStream(ctx, p, func(s shard.Stream) error {
		return shard.Audit(ctx, s, d, i, rand.IntN(d.Pieces()))
	})
	r.stats.audits.Add(1)
	key := copyKey{d.ID(), i, p}
	switch {
	case err == nil:
		r.mu.Lock()
		delete(r.failed, key)
		r.mu.Unlock()
	case errors.Is(err, shard.ErrWrongShard), errors.Is(err, shard.ErrNotFound):
		r.stats.auditFailures.Add(1)
		n.log.Warn("repair: a co-holder failed its audit", "peer", p, "stripe", key.stripe, "index", i, "err", err)
		r.markFailed(key.stripe, i, p)
	default:
		n.log.Debug("repair: audit not answered", "peer", p, "stripe", key.stripe, "index", i, "err", err)
	}
}
