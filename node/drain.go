package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"respaldo/erasure"
	"respaldo/node/api"
	"respaldo/node/mesh"
	"respaldo/node/placement"
	"respaldo/node/shard"
	"respaldo/node/store"
)

// Draining (respaldo drain): before a storage node is taken down, it moves
// every shard it holds to other peers. From the moment a drain starts the
// node takes no new shards: its heartbeats offer 0 free bytes (heartbeat.go),
// so writers and other nodes' repair place nothing on it, and its own
// repair loop neither offers its store (repairPeers) nor keeps another
// peer's surplus copy in its place (execute). It stays so until the node
// stops: a restarted node offers its space again.
//
// For each held stripe, the shards it holds here get new holders from
// placement.Fill over the live peer table, this node excluded, every other
// index pinned to its holder in this node's holder map (an unknown one to a
// stand-in that is never live, each in a zone of its own, so nothing else
// moves). Each shard is put with shard.PutPlaced carrying the updated
// holder map (the new holder checks that the descriptor hashes to the
// stripe ID and the bytes to its CID), and the local copy is deleted only
// once the new holder has answered that the shard is stored durably. A
// shard that cannot be placed or put stays and counts in "remaining".
// Co-holders learn the new holder at their next locate round (the drained
// node answers without the shard, so they sweep the stripe's rendezvous
// order, where Fill put it).

const (
	// drainParallel is how many stripes a drain moves at once.
	drainParallel = 4
	// drainRounds bounds the passes over the store: a shard placed here
	// during a pass by a writer that had not heard of the drain yet is
	// moved in the next one.
	drainRounds = 4
	// drainPutTimeout bounds one put to a new holder.
	drainPutTimeout = 2 * time.Minute
)

// drainState is the node's drain: whether one started (so the node offers
// no space), and the lock that lets one run at a time.
type drainState struct {
	active  atomic.Bool
	running sync.Mutex
	moved   atomic.Int64 // shards moved by drains since the node opened
}

// DrainResult is what a drain did.
type DrainResult struct {
	Moved     int   // shards put on another peer and deleted here
	Remaining int   // shards still held here
	Failed    error // why some shards could not be moved (nil if none)
}

// Draining reports whether a drain started on this node.
func (n *Node) Draining() bool { return n.drain.active.Load() }

// Drain moves every shard this node holds to other peers (see above) and
// returns how many moved and how many remain. Only one drain runs at a
// time (api.ErrConflict). It waits one heartbeat period first, so that
// the mesh has heard that this node offers no space before it looks for
// holders.
func (n *Node) Drain(ctx context.Context) (DrainResult, error) {
	if !n.drain.running.TryLock() {
		return DrainResult{}, opErr(api.ErrConflict, "a drain is already running on this node")
	}
	defer n.drain.running.Unlock()
	if !n.drain.active.Swap(true) {
		n.log.Info("drain: this node takes no new shards from now on")
		select {
		case <-ctx.Done():
			return DrainResult{}, ctx.Err()
		case <-time.After(n.cfg.Heartbeat + n.cfg.Heartbeat/2):
		}
	}
	var res DrainResult
	var errs []error
	for round := 0; round < drainRounds; round++ {
		held, err := n.heldByStripe(ctx)
		if err != nil {
			return res, err
		}
		if len(held) == 0 {
			break
		}
		moved, err := n.drainPass(ctx, held)
		res.Moved += moved
		if err != nil {
			errs = append(errs, err)
		}
		if moved == 0 || ctx.Err() != nil {
			break
		}
		errs = nil // only the last pass's failures explain what remains
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	u, err := n.store.Usage(ctx)
	if err != nil {
		return res, err
	}
	res.Remaining = u.Shards
	if res.Remaining > 0 {
		res.Failed = errors.Join(errs...)
	}
	n.log.Info("drain done", "moved", res.Moved, "remaining", res.Remaining, "err", res.Failed)
	return res, nil
}

// drainPass moves the shards of held, drainParallel stripes at a time, and
// returns how many moved and the first few reasons others did not.
func (n *Node) drainPass(ctx context.Context, held map[erasure.StripeID][]int) (int, error) {
	ids := slices.SortedFunc(maps.Keys(held), compareID)
	var moved atomic.Int64
	var mu sync.Mutex
	why := map[string]int{} // reason → stripes
	var order []string
	sem := make(chan struct{}, drainParallel)
	var wg sync.WaitGroup
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			k, err := n.drainStripe(ctx, id, held[id])
			moved.Add(int64(k))
			if k > 0 {
				total := n.drain.moved.Add(int64(k))
				n.log.Debug("drain: stripe moved", "stripe", id, "shards", k, "moved_so_far", total)
			}
			if err != nil {
				n.log.Info("drain: shards not moved", "stripe", id, "err", err)
				mu.Lock()
				if why[err.Error()]++; why[err.Error()] == 1 {
					order = append(order, err.Error())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var errs []error
	for i, w := range order {
		if i == 3 {
			errs = append(errs, fmt.Errorf("and %d other reasons (see the node's log)", len(order)-i))
			break
		}
		errs = append(errs, fmt.Errorf("%s (stripes: %d)", w, why[w]))
	}
	return int(moved.Load()), errors.Join(errs...)
}

// drainStripe moves this node's shards idx of stripe id and returns how
// many moved.
func (n *Node) drainStripe(ctx context.Context, id erasure.StripeID, idx []int) (int, error) {
	rec := n.store.Records()
	if del, err := shard.IsDeleted(ctx, rec, id); err != nil {
		return 0, err
	} else if del {
		// Its owner deleted the stripe: nothing to move, the copy goes.
		for _, i := range idx {
			if err := n.store.Delete(ctx, store.ShardRef{Stripe: id, Index: i}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return 0, err
			}
		}
		return 0, nil
	}
	d, err := n.store.Descriptor(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // its last shard went meanwhile
	} else if err != nil {
		return 0, err
	}
	total := len(d.Shards)
	self := mesh.PeerID(n.self.String())
	hm, err := shard.HolderMap(ctx, rec, id)
	if err != nil || len(hm) != total {
		hm = make([]string, total)
	}
	peers := n.candidates()
	pinned := make([]mesh.PeerID, total)
	for j := range total {
		switch h := mesh.PeerID(hm[j]); {
		case slices.Contains(idx, j):
			pinned[j] = "" // to place
		case h == "" || h == self:
			// Unknown here: a stand-in that is never live, in a zone of its
			// own, so that Fill places nothing there and moves nothing.
			pinned[j] = mesh.PeerID(fmt.Sprintf("?unknown-%d", j))
			peers = append(peers, placement.Candidate{ID: pinned[j], Zone: mesh.Zone(pinned[j])})
		default:
			pinned[j] = h
		}
	}
	plan, err := placement.Fill(id, erasure.Params{K: d.K, M: d.M}, d.ShardSize, self, peers, pinned)
	if err != nil {
		return 0, err
	}
	next := slices.Clone(hm)
	for j := range next {
		if next[j] == string(self) {
			next[j] = "" // not held here after all (the loop below sets what is)
		}
	}
	for _, j := range idx {
		next[j] = string(plan.Holders[j])
	}
	moved := 0
	var errs []error
	for _, j := range idx {
		to := mesh.PeerID(next[j])
		if err := n.drainShard(ctx, d, j, to, next); err != nil {
			next[j] = string(self) // still here
			errs = append(errs, fmt.Errorf("shard %d to %s: %w", j, to, err))
			continue
		}
		moved++
	}
	if moved > 0 {
		if _, err := n.store.Descriptor(ctx, id); errors.Is(err, store.ErrNotFound) {
			_ = shard.DeleteHolderMap(ctx, rec, id) // nothing of it held here any more
		} else if err := shard.SetHolderMap(ctx, rec, id, next); err != nil {
			n.log.Warn("drain: holder map not kept", "stripe", id, "err", err)
		}
	}
	return moved, errors.Join(errs...)
}

// drainShard puts shard i of d on p with the holder map holders and, once
// p has acknowledged it, deletes the local copy.
func (n *Node) drainShard(ctx context.Context, d *erasure.Descriptor, i int, p mesh.PeerID, holders []string) error {
	ref := store.ShardRef{Stripe: d.ID(), Index: i}
	data, err := n.store.Get(ctx, ref)
	if err != nil {
		return err // a bad copy is the scrub's and the repair's business
	}
	if err := n.repair.waitBytes(ctx, int64(len(data))); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, drainPutTimeout)
	defer cancel()
	if err := n.withStream(pctx, p, func(s shard.Stream) error {
		return shard.PutPlaced(pctx, s, d, i, data, holders)
	}); err != nil {
		return err
	}
	if err := n.store.Delete(ctx, ref); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("moved, but the copy here stays: %w", err)
	}
	return nil
}

// drainAPI is the API's POST /v1/drain.
func (n *Node) drainAPI(ctx context.Context) (api.DrainResult, error) {
	res, err := n.Drain(ctx)
	if err != nil {
		return api.DrainResult{}, err
	}
	out := api.DrainResult{Moved: int64(res.Moved), Remaining: int64(res.Remaining)}
	if res.Remaining > 0 {
		out.Why = "no other peer could take them"
		if res.Failed != nil {
			out.Why = oneLineErr(res.Failed)
		}
	}
	return out, nil
}

// oneLineErr joins the lines of err (errors.Join makes several) with "; ".
func oneLineErr(err error) string {
	return strings.Join(strings.Split(strings.TrimSpace(err.Error()), "\n"), "; ")
}
