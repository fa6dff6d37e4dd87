package meshblobs

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
	"respaldo/node/shard"
)

// sweep asks each peer, Probes at a time and each only when the consumer
// asks for more, what it holds: with one locate request, or else with has
// about every shard not had yet, the wanted ones first, in the order
// indexOrder gives for its rank; with one, a peer that holds a shard is not
// asked about the others (a stripe over k+m peers or more puts one shard on
// each).
func (l *lookup) sweep(ctx context.Context, peers []peer.ID, one bool) {
	type job struct {
		p    peer.ID
		rank int
	}
	var jobs []job
	l.mu.Lock()
	for r, p := range peers {
		if !l.asked[p] && !l.b.skip(p) {
			l.asked[p] = true
			jobs = append(jobs, job{p, r})
		}
	}
	l.mu.Unlock()
	n := l.params.Total()
	each(ctx, jobs, l.b.cfg.Probes, func(j job) {
		if one && l.hasServed(j.p) || !l.wait(ctx) {
			return
		}
		l.probing.Add(1)
		defer func() {
			l.probing.Add(-1)
			select {
			case l.nudge <- struct{}{}:
			default:
			}
		}()
		if l.b.cfg.Locate != nil {
			if loc := l.b.locate(ctx, j.p, l.id); loc != nil {
				for _, i := range loc.held {
					if l.need(i) && l.mark(j.p, i) && !l.emit(ctx, cand{p: j.p, i: i, known: true}) {
						return
					}
				}
			}
			return
		}
		var first, then []int
		for _, i := range indexOrder(j.rank, n) {
			if l.want(i) {
				first = append(first, i)
			} else {
				then = append(then, i)
			}
		}
		for _, i := range append(first, then...) {
			if !l.need(i) || !l.mark(j.p, i) {
				continue
			}
			switch l.has(ctx, j.p, i) {
			case hasFailed:
				return // unreachable or broken: ask it nothing more
			case hasYes:
				if !l.emit(ctx, cand{p: j.p, i: i, known: true}) || one {
					return
				}
			}
		}
	})
}

// indexOrder is the order in which the peer of rendezvous rank r is asked
// for a stripe's n shards. Place gives shard i to the i-th peer it picks,
// mostly in rendezvous order; peers that joined since, or that zone limits
// skipped, push a holder down the ranks, so the shard it holds is likely
// r, else just below: r, r-1, ..., 0, then r+1, ..., n-1.
func indexOrder(r, n int) []int {
	out := make([]int, 0, n)
	for i := min(r, n-1); i >= 0; i-- {
		out = append(out, i)
	}
	for i := r + 1; i < n; i++ {
		out = append(out, i)
	}
	return out
}

type hasAnswer int

const (
	hasNo hasAnswer = iota
	hasYes
	hasFailed
)

// has asks p whether it holds shard i of the stripe.
func (l *lookup) has(ctx context.Context, p peer.ID, i int) hasAnswer {
	b := l.b
	b.stats.hasProbes.Add(1)
	var held bool
	err := b.call(ctx, p, b.cfg.ProbeTimeout, func(ctx context.Context, s Stream) error {
		var err error
		held, err = shard.Has(ctx, s, l.id, i)
		return err
	})
	switch {
	case err != nil:
		return hasFailed
	case held:
		return hasYes
	}
	return hasNo
}

// providers asks the DHT for the stripe's announced holders.
func (b *Blobs) providers(ctx context.Context, id erasure.StripeID) []peer.ID {
	b.stats.providerLookups.Add(1)
	ais, err := b.cfg.Providers.FindProviders(ctx, StripeCID(id), 0)
	if err != nil {
		b.log().Debug("meshblobs: no DHT providers", "stripe", id, "err", err)
		return nil
	}
	out := make([]peer.ID, 0, len(ais))
	for _, ai := range ais {
		if !b.skip(ai.ID) {
			out = append(out, ai.ID)
		}
	}
	return out
}

// each runs fn over items, n at a time, until all ran or ctx ended.
func each[T any](ctx context.Context, items []T, n int, fn func(T)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, n)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(it)
		})
	}
	wg.Wait()
}

// rendezvous orders peers by the stripe's rendezvous hash.
func rendezvous(id erasure.StripeID, peers []peer.ID) []peer.ID {
	ms := make([]mesh.PeerID, len(peers))
	byID := make(map[mesh.PeerID]peer.ID, len(peers))
	for i, p := range peers {
		ms[i] = mesh.PeerID(p.String())
		byID[ms[i]] = p
	}
	out := make([]peer.ID, 0, len(peers))
	for _, m := range placement.RendezvousOrder(id, ms) {
		out = append(out, byID[m])
	}
	return out
}

// decodeAll decodes peer table IDs; "" for one that does not decode.
func (b *Blobs) decodeAll(ids []mesh.PeerID) []peer.ID {
	out := make([]peer.ID, len(ids))
	for i, m := range ids {
		out[i], _ = b.peerID(m)
	}
	return out
}

// storagePeers counts the live storage peers other than self.
func storagePeers(cands []placement.Candidate, self mesh.PeerID) int {
	n := 0
	for _, c := range cands {
		if c.Live && c.Role == mesh.RoleStorage && c.ID != self {
			n++
		}
	}
	return n
}
