package meshblobs

import (
	"context"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
)

// Has reports whether k holders of distinct shards of the stripe answer
// that they hold them (has requests; no shard is read), found as Get finds
// them. Without a hint, the stripe's k+m come from its descriptor, fetched
// from a holder when Config.Locate is set, else from Config.Params.
// Only ctx's end is an error: unreachable holders count as not holding.
// It needs no member keys. Safe for concurrent use.
func (b *Blobs) Has(ctx context.Context, id erasure.StripeID) (bool, error) {
	h := b.loadHint(ctx, id)
	params, size := b.cfg.Params, int64(1)
	var hinted []peer.ID
	var loc *located
	switch {
	case h != nil:
		b.stats.hintHits.Add(1)
		params, size, hinted = h.d.Params(), h.d.ShardSize, h.holders
	case b.cfg.Locate != nil:
		var err error
		if loc, err = b.findDescriptor(ctx, id); err != nil {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			b.stats.hases.Add(1)
			return false, nil
		}
		params, size = loc.d.Params(), loc.d.ShardSize
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	held := make([]peer.ID, params.Total())
	want := func(i int) bool {
		mu.Lock()
		defer mu.Unlock()
		return held[i] == ""
	}
	l := b.newLookup(id, params, size, hinted, true, want, want)
	l.seed(loc)
	var wg sync.WaitGroup
	wg.Go(func() { l.run(lctx) })
	count := 0
	for count < params.K {
		var c cand
		var ok bool
		var wake chan<- struct{}
		if l.wanting(count) {
			wake = l.wake
		}
		select {
		case wake <- struct{}{}:
			continue
		case <-l.nudge:
			continue
		case c, ok = <-l.out:
		}
		if !ok {
			break
		}
		mu.Lock()
		if held[c.i] == "" {
			held[c.i] = c.p
			count++
		}
		mu.Unlock()
	}
	cancel()
	for range l.out { // run ends at once: lctx is done
	}
	wg.Wait()
	if count < params.K {
		if err := ctx.Err(); err != nil {
			return false, err
		}
	}
	if h != nil {
		merged := slices.Clone(h.holders)
		for i, p := range held {
			if p != "" {
				merged[i] = p
			}
		}
		b.saveHint(ctx, id, &hint{d: h.d, holders: merged}, h)
	}
	b.stats.hases.Add(1)
	return count >= params.K, nil
}

// placeFor predicts the holders of a stripe with Config.Params from the
// current peer table.
func (b *Blobs) placeFor(id erasure.StripeID, cands []placement.Candidate) ([]mesh.PeerID, error) {
	plan, err := placement.Place(id, b.cfg.Params, 1, b.self, cands)
	return plan.Holders, err
}
