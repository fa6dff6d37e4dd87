package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/api"
	"respaldo/node/backup"
	"respaldo/node/meshblobs"
	"respaldo/node/roster"
	"respaldo/node/shard"
)

// respaldo check: over the stripes this member's node put (its holder
// hints), ask the holders now which shards they hold; with --read-data
// fetch every shard found, as the owner (read proof), and verify it
// against its CID.

// StripeHealth classifies a stripe by the distinct shards found.
type StripeHealth int

const (
	Healthy  StripeHealth = iota // all k+m shards found
	Degraded                     // more than k, fewer than k+m
	AtRisk                       // exactly k: one more loss and it is lost
	Lost                         // fewer than k
)

// stripeCheck is what check learnt of one stripe.
type stripeCheck struct {
	found      map[int][]peer.ID // shard index → peers holding it
	readErrors int
}

// classify returns the stripe's health, whether one peer holds two shards
// or more, and how many peer losses it tolerates now: the largest t such
// that losing any t of the peers that hold its shards leaves k distinct
// shards (the worst case loses the peers holding the most shards).
func classify(p erasure.Params, found map[int][]peer.ID) (h StripeHealth, underplaced bool, tolerates int) {
	n := len(found)
	switch {
	case n >= p.Total():
		h = Healthy
	case n > p.K:
		h = Degraded
	case n == p.K:
		h = AtRisk
	default:
		return Lost, false, 0
	}
	// Count shard indexes per peer; an index held by several peers goes to
	// the one that is lost last, so count each index once, at the peer
	// holding the fewest.
	per := map[peer.ID]int{}
	for _, ps := range found {
		best := ps[0]
		for _, q := range ps[1:] {
			if per[q] < per[best] {
				best = q
			}
		}
		per[best]++
	}
	counts := make([]int, 0, len(per))
	for _, c := range per {
		counts = append(counts, c)
		if c > 1 {
			underplaced = true
		}
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	left := n
	for _, c := range counts {
		if left-c < p.K {
			break
		}
		left -= c
		tolerates++
	}
	return h, underplaced, tolerates
}

// Check answers respaldo check.
func (b *backend) Check(ctx context.Context, req api.CheckRequest) (api.CheckResult, error) {
	n := b.n
	var keys *crypto.MemberKeys
	if req.ReadData {
		var err error
		if keys, _, err = n.memberKeys(req.RecoveryKey); err != nil {
			return api.CheckResult{}, err
		}
	}
	if _, err := n.writeKeys(); err != nil {
		return api.CheckResult{}, err
	}
	type stripe struct {
		id erasure.StripeID
		d  *erasure.Descriptor
		h  []peer.ID
	}
	// Stripes whose deletion a prune began are garbage: a prune cut off
	// half-way leaves some with shards on a few holders only, which is not
	// a loss. They are not asked about (the log counts them); the next
	// prune finishes deleting them.
	deleting, err := backup.DeletedPacks(ctx, n.kv())
	if err != nil {
		return api.CheckResult{}, err
	}
	var stripes []stripe
	var skipped int64
	err = n.store.Records().Iterate(ctx, []byte(meshblobs.HintPrefix), func(k, v []byte) error {
		id, d, hs, err := meshblobs.DecodeHint(k, v)
		if err != nil {
			n.log.Warn("check: a hint record does not decode", "key", string(k), "err", err)
			return nil
		}
		if deleting[id] {
			skipped++
			return nil
		}
		stripes = append(stripes, stripe{id, d, hs})
		return nil
	})
	if err != nil {
		return api.CheckResult{}, err
	}
	if skipped > 0 {
		n.log.Info("check: stripes a prune began deleting were not checked; the next prune finishes them", "deleting", skipped)
	}
	res := api.CheckResult{Stripes: int64(len(stripes)), ToleratesLosses: -1}
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, s := range stripes {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c := n.checkStripe(ctx, s.id, s.d, s.h, keys)
			h, under, tol := classify(s.d.Params(), c.found)
			mu.Lock()
			defer mu.Unlock()
			switch h {
			case Healthy:
				res.Healthy++
			case Degraded:
				res.Degraded++
			case AtRisk:
				res.AtRisk++
			case Lost:
				res.Lost++
			}
			if under {
				res.Underplaced++
			}
			res.ReadErrors += int64(c.readErrors)
			if res.ToleratesLosses < 0 || tol < res.ToleratesLosses {
				res.ToleratesLosses = tol
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return api.CheckResult{}, err
	}
	if res.ToleratesLosses < 0 { // no stripes
		p, err := n.ecParams()
		if err != nil {
			return api.CheckResult{}, err
		}
		res.ToleratesLosses = p.M
	}
	return res, nil
}

// checkStripe asks the hinted holders, then, if shards are missing, every
// other live storage peer, which shards of id they hold; with keys it
// fetches each shard found and verifies it.
func (n *Node) checkStripe(ctx context.Context, id erasure.StripeID, d *erasure.Descriptor, hinted []peer.ID, keys *crypto.MemberKeys) stripeCheck {
	open := n.openShard(meshblobs.HostStreams(n.host))
	locate := meshblobs.LocateVia(open)
	c := stripeCheck{found: map[int][]peer.ID{}}
	asked := map[peer.ID]bool{}
	ask := func(ps []peer.ID) {
		for _, p := range ps {
			if p == "" || asked[p] {
				continue
			}
			asked[p] = true
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, held, err := locate(cctx, p, id)
			cancel()
			if err != nil {
				continue
			}
			for _, i := range held {
				if i >= 0 && i < len(d.Shards) {
					c.found[i] = append(c.found[i], p)
				}
			}
		}
	}
	ask(hinted)
	if len(c.found) < len(d.Shards) {
		// This node first: repair may rebuild a shard onto the member's
		// own node when it is a storage node, since it cannot know the
		// owner (docs/repair.md, "Limits").
		others := []peer.ID{n.self}
		for _, cand := range n.candidates() {
			if !cand.Live || cand.Role != roster.RoleStorage {
				continue
			}
			if p, err := peer.Decode(string(cand.ID)); err == nil {
				others = append(others, p)
			}
		}
		ask(others)
	}
	if keys == nil {
		return c
	}
	secret, err := keys.ReadSecret(crypto.StripeNonce(d.Secrets.Nonce))
	if err != nil {
		c.readErrors += len(c.found)
		return c
	}
	for i, ps := range c.found {
		for _, p := range ps {
			if err := n.readShard(ctx, open, p, d, i, secret); err != nil {
				n.log.Info("check: shard unreadable", "stripe", id, "index", i, "peer", shortID(p), "err", err)
				c.readErrors++
			}
		}
	}
	return c
}

// readShard fetches shard i of d from p as its owner; shard.Get verifies
// the bytes against the shard's CID.
func (n *Node) readShard(ctx context.Context, open meshblobs.OpenFunc, p peer.ID, d *erasure.Descriptor, i int, secret crypto.ReadSecret) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+time.Duration(d.ShardSize/(256<<10))*time.Second)
	defer cancel()
	s, err := open(ctx, p)
	if err != nil {
		return err
	}
	_, err = shard.Get(ctx, s, n.self.String(), p.String(), d, i, secret, n.now())
	if err != nil {
		_ = s.Reset()
		return err
	}
	if err := s.Close(); err != nil && !errors.Is(err, errLoopReset) {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
