package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/repair"
	"respaldo/node/shard"
	"respaldo/node/store"
)

// Carrying out a plan: the leader's rebuild, a holder's own drops, and
// telling a peer whose copy is surplus.

// lead rebuilds a stripe as its leader: fetch k shards (own copies first,
// then the plan's sources, then spares; every shard checked against its
// CID by the shard client), rebuild the rest with erasure.Reconstruct, and
// put each planned shard on its new holder with the new holder map. The
// stripe is planned again before each put: a put no longer wanted (the
// missing holder came back) is skipped. The work stops when the turn ends.
func (r *repairState) lead(ctx context.Context, p repair.Plan) {
	n := r.n
	id := p.Health.Stripe
	r.mu.Lock()
	st := r.stripes[id]
	r.mu.Unlock()
	if st == nil {
		return
	}
	d := st.desc
	// The turn's end, on the process's clock (Config.Now may be another).
	ctx, cancel := context.WithTimeout(ctx, p.TurnEnds.Sub(n.now()))
	defer cancel()
	shards := make([][]byte, len(d.Shards))
	if got := r.fetch(ctx, st, p, shards); got < d.K {
		n.log.Info("repair: too few shards fetched to rebuild", "stripe", id, "got", got, "k", d.K)
		return
	}
	if err := erasure.Reconstruct(d, shards); err != nil {
		n.log.Warn("repair: rebuild failed", "stripe", id, "err", err)
		return
	}
	crashHitNote(crashRepairFetched, func() string { return fmt.Sprintf("stripe=%s puts=%d", id, len(p.Put)) }) // test-only (crashpoint.go)
	holders := make([]string, len(d.Shards))
	for i, h := range p.After.Holders {
		holders[i] = string(h)
	}
	kept := slices.Clone(holders)
	var placed []repair.Put
	for _, put := range p.Put {
		fresh, err := r.replan(ctx, st)
		if err != nil || !slices.ContainsFunc(fresh.Put, func(q repair.Put) bool { return q.Index == put.Index }) {
			r.stats.cancelled.Add(1)
			n.log.Info("repair: put no longer needed", "stripe", id, "index", put.Index, "to", put.To)
			kept[put.Index] = string(p.Holders[put.Index])
			continue
		}
		if err := r.putShard(ctx, put.To, d, put.Index, shards[put.Index], holders); err != nil {
			r.stats.putFailures.Add(1)
			n.log.Info("repair: put failed; planning again without that peer", "stripe", id, "index", put.Index,
				"to", put.To, "err", err)
			r.mu.Lock()
			st.avoid[put.To] = n.now()
			r.mu.Unlock()
			kept[put.Index] = string(p.Holders[put.Index])
			r.wake()
			continue
		}
		r.stats.rebuilt.Add(1)
		r.stats.rebuiltBytes.Add(int64(len(shards[put.Index])))
		r.learn(st, put.To, put.Index)
		placed = append(placed, put)
		crashHitNote(crashRepairPut, func() string { return fmt.Sprintf("stripe=%s index=%d to=%s", id, put.Index, put.To) }) // test-only (crashpoint.go)
	}
	if len(placed) == 0 {
		return
	}
	if err := shard.SetHolderMap(ctx, n.store.Records(), id, kept); err != nil {
		n.log.Warn("repair: holder map not kept", "stripe", id, "err", err)
	}
	// A moved shard's old holder learns the new map with its own shard
	// (a no-op put), so that it finds its copy surplus and drops it.
	for _, put := range placed {
		if put.From != "" && put.From != mesh.PeerID(n.self.String()) {
			if err := r.putShard(ctx, put.From, d, put.Index, shards[put.Index], kept); err != nil {
				n.log.Info("repair: telling a moved shard's old holder", "peer", put.From, "err", err)
			}
		}
	}
	n.log.Info("repair: stripe rebuilt", "stripe", id, "placed", len(placed), "of", len(p.Put),
		"health_before", p.Health.State)
}

// fetch fills shards with at least k verified shards if it can and
// returns how many it has: the plan's sources at once, then its spares one
// by one for the indexes still missing. A holder that sends wrong bytes is
// marked failed.
func (r *repairState) fetch(ctx context.Context, st *stripeState, p repair.Plan, shards [][]byte) int {
	d := st.desc
	var mu sync.Mutex
	got := 0
	one := func(src repair.Source) {
		data, err := r.fetchOne(ctx, st, src)
		if err != nil {
			r.n.log.Debug("repair: fetch", "stripe", st.id, "index", src.Index, "peer", src.Peer, "err", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if shards[src.Index] == nil {
			shards[src.Index] = data
			got++
		}
	}
	var wg sync.WaitGroup
	for _, src := range p.Sources {
		wg.Go(func() { one(src) })
	}
	wg.Wait()
	for _, src := range p.Spares {
		if got >= d.K || ctx.Err() != nil {
			break
		}
		if shards[src.Index] == nil {
			one(src)
		}
	}
	return got
}

// fetchOne gets one shard: from this node's store, or from a co-holder as
// a repairing co-holder (its Authorizer decides).
func (r *repairState) fetchOne(ctx context.Context, st *stripeState, src repair.Source) ([]byte, error) {
	n := r.n
	if src.Peer == mesh.PeerID(n.self.String()) {
		return n.store.Get(ctx, store.ShardRef{Stripe: st.id, Index: src.Index})
	}
	if err := r.waitBytes(ctx, st.desc.ShardSize); err != nil {
		return nil, err
	}
	var data []byte
	err := n.withStream(ctx, src.Peer, func(s shard.Stream) error {
		var err error
		data, err = shard.GetAuthorized(ctx, s, st.desc, src.Index)
		return err
	})
	if errors.Is(err, shard.ErrWrongShard) || errors.Is(err, shard.ErrNotFound) {
		// Wrong bytes, or "not found" from a peer that claimed the shard.
		r.markFailed(st.id, src.Index, src.Peer)
	}
	if err == nil {
		r.stats.fetched.Add(1)
		r.stats.fetchedBytes.Add(int64(len(data)))
	}
	return data, err
}

// putShard puts shard i of d on p with the holder map holders.
func (r *repairState) putShard(ctx context.Context, p mesh.PeerID, d *erasure.Descriptor, i int, data []byte, holders []string) error {
	if err := r.waitBytes(ctx, int64(len(data))); err != nil {
		return err
	}
	return r.n.withStream(ctx, p, func(s shard.Stream) error {
		return shard.PutPlaced(ctx, s, d, i, data, holders)
	})
}

// markFailed records that p's copy of shard i failed a check, and asks for
// a pass.
func (r *repairState) markFailed(id erasure.StripeID, i int, p mesh.PeerID) {
	r.mu.Lock()
	r.failed[copyKey{id, i, p}] = r.n.now()
	r.mu.Unlock()
	r.wake()
}

// holdsCopy checks that p holds shard i of d: an audit of a random piece,
// or has when p does not let this node audit.
func (r *repairState) holdsCopy(ctx context.Context, d *erasure.Descriptor, i int, p mesh.PeerID) bool {
	n := r.n
	if p == mesh.PeerID(n.self.String()) {
		ok, err := n.store.Has(ctx, store.ShardRef{Stripe: d.ID(), Index: i})
		return err == nil && ok
	}
	ctx, cancel := context.WithTimeout(ctx, locateTimeout)
	defer cancel()
	err := n.withStream(ctx, p, func(s shard.Stream) error {
		return shard.Audit(ctx, s, d, i, rand.IntN(d.Pieces()))
	})
	if !errors.Is(err, shard.ErrDenied) {
		return err == nil
	}
	var held bool
	err = n.withStream(ctx, p, func(s shard.Stream) error {
		var err error
		held, err = shard.Has(ctx, s, d.ID(), i)
		return err
	})
	return err == nil && held
}

// drop removes this node's surplus copy once its keeper is checked to hold
// the shard, and points the holder map at the keeper.
func (r *repairState) drop(ctx context.Context, p repair.Plan, dr repair.Drop) {
	n := r.n
	id := p.Health.Stripe
	r.mu.Lock()
	st := r.stripes[id]
	r.mu.Unlock()
	if st == nil || !r.holdsCopy(ctx, st.desc, dr.Index, dr.Keeper) {
		return
	}
	hm := n.holderMap(ctx, st)
	if err := n.store.Delete(ctx, store.ShardRef{Stripe: id, Index: dr.Index}); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			n.log.Warn("repair: dropping a surplus copy", "stripe", id, "index", dr.Index, "err", err)
		}
		return
	}
	r.stats.drops.Add(1)
	n.log.Info("repair: surplus copy dropped", "stripe", id, "index", dr.Index, "keeper", dr.Keeper)
	crashHitNote(crashRepairDrop, func() string { return fmt.Sprintf("stripe=%s index=%d keeper=%s", id, dr.Index, dr.Keeper) }) // test-only (crashpoint.go)
	hm[dr.Index] = string(dr.Keeper)
	if _, err := n.store.Descriptor(ctx, id); errors.Is(err, store.ErrNotFound) {
		err = shard.DeleteHolderMap(ctx, n.store.Records(), id) // nothing of it held any more
		_ = err
		return
	}
	if err := shard.SetHolderMap(ctx, n.store.Records(), id, hm); err != nil {
		n.log.Warn("repair: holder map not kept", "stripe", id, "err", err)
	}
}

// pushEvery bounds how often one peer is told about one surplus copy;
// after a push that failed (the peer down, restarting, or busy) it is tried
// again pushRetry later, not pushEvery: otherwise one failed push left the
// surplus copy in place for an hour.
const (
	pushEvery = time.Hour
	pushRetry = time.Minute
)

// tellDropper tells the peer holding a surplus copy that this node keeps
// the shard: the peer may not know of this node's copy (holder maps are
// learnt lazily, and from its side the stripe looks healthy), so it would
// never drop its own. There is no op for a holder map alone: this node
// puts its copy there, which the peer already holds (a no-op), with its
// holder map naming this node at that index. The peer's next pass sees two
// copies, makes the same plan, checks that this node holds the shard and
// drops its copy. At most once per pushEvery per copy, or pushRetry after a
// push that failed.
func (r *repairState) tellDropper(ctx context.Context, p repair.Plan, dr repair.Drop) {
	n := r.n
	id := p.Health.Stripe
	key := copyKey{id, dr.Index, dr.Peer}
	r.mu.Lock()
	st := r.stripes[id]
	last := r.pushed[key]
	if st == nil || (!last.IsZero() && n.now().Sub(last) < pushEvery) {
		r.mu.Unlock()
		return
	}
	r.pushed[key] = n.now()
	r.mu.Unlock()
	data, err := n.store.Get(ctx, store.ShardRef{Stripe: id, Index: dr.Index})
	if err != nil {
		return
	}
	hm := n.holderMap(ctx, st)
	hm[dr.Index] = n.self.String()
	if err := r.putShard(ctx, dr.Peer, st.desc, dr.Index, data, hm); err != nil {
		n.log.Info("repair: telling a surplus copy's holder", "peer", dr.Peer, "stripe", id, "err", err)
		r.mu.Lock()
		r.pushed[key] = n.now().Add(pushRetry - pushEvery)
		r.mu.Unlock()
		return
	}
	r.stats.pushes.Add(1)
}
