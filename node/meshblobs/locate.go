package meshblobs

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/placement"
)

// cand is a peer that may hold shard i; known when a has probe said so.
type cand struct {
	p     peer.ID
	i     int
	known bool
}

type pair struct {
	p peer.ID
	i int
}

// lookup hands out candidate holders of a stripe's shards on out, cheapest
// first, until it runs out (then it closes out) or ctx ends:
//
//  0. the holder that gave the descriptor, for the shards it said it holds;
//  1. the hint's holders (free: the member's own records);
//  2. the holders placement.Place picks from the current peer table, which
//     are the actual holders unless the table or repair moved them (and
//     not when step 0 showed that they did);
//  3. the first Config.SweepBeforeDHT peers in the stripe's rendezvous
//     order (live storage peers first), asked with one locate request
//     (Config.Locate) or else with has for each shard, Config.Probes peers
//     at a time;
//  4. the stripe's DHT providers not asked yet, the same way;
//  5. the rest of the rendezvous order.
//
// Guesses (1, 2) go out unchecked, for Get to fetch straight away, unless
// verify is set (Has). need(i) reports that shard i is not had yet, want(i)
// that it is not on its way either: a peer is asked about wanted shards
// first, and candidates of shards had are dropped. Each peer of steps 3 and
// 4 is asked only when the consumer asks for more, by a send on wake while
// it waits on out, so a read that the guesses satisfy sends no probe, and a
// sweep stops as soon as the reader has what it needs.
type lookup struct {
	b      *Blobs
	id     erasure.StripeID
	params erasure.Params
	size   int64     // shard size, for the prediction
	hinted []peer.ID // the hint's holders by index, or nil
	known  []cand    // holders a locate request already found
	provs  []peer.ID // the DHT's providers if already asked, else nil
	verify bool
	need   func(i int) bool
	want   func(i int) bool
	out    chan cand
	wake   chan struct{}
	// probing counts the peers being asked on the consumer's behalf, so
	// that it asks for no more than it needs; nudge tells it when one of
	// them is done.
	probing atomic.Int32
	nudge   chan struct{}

	mu     sync.Mutex
	tried  map[pair]bool
	asked  map[peer.ID]bool // peers swept
	served map[peer.ID]bool // peers that gave the consumer a shard
}

func (b *Blobs) newLookup(id erasure.StripeID, params erasure.Params, size int64, hinted []peer.ID, verify bool, need, want func(int) bool) *lookup {
	return &lookup{b: b, id: id, params: params, size: max(size, 1), hinted: hinted, verify: verify,
		need: need, want: want, out: make(chan cand), wake: make(chan struct{}), nudge: make(chan struct{}, 1),
		tried: map[pair]bool{}, asked: map[peer.ID]bool{}, served: map[peer.ID]bool{}}
}

// gave tells the lookup that p gave the consumer a shard: in a stripe with
// one shard per peer, the sweep need not ask p what it holds.
func (l *lookup) gave(p peer.ID) {
	l.mu.Lock()
	l.served[p] = true
	l.mu.Unlock()
}

func (l *lookup) hasServed(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.served[p]
}

// seed adds what finding the descriptor found.
func (l *lookup) seed(loc *located) {
	if loc == nil {
		return
	}
	l.provs = loc.provs
	l.asked[loc.from] = true
	for _, i := range loc.held {
		l.known = append(l.known, cand{p: loc.from, i: i, known: true})
		l.tried[pair{loc.from, i}] = true
	}
}

func (l *lookup) run(ctx context.Context) {
	defer close(l.out)
	b := l.b
	for _, c := range l.known {
		if l.need(c.i) && !l.emit(ctx, c) {
			return
		}
	}
	cands, live, other := b.peerList() // live: live storage peers
	isLive := make(map[peer.ID]bool, len(live))
	for _, p := range live {
		isLive[p] = true
	}
	l.guesses(ctx, l.hinted, isLive)
	if plan, err := placement.Place(l.id, l.params, l.size, b.self, cands); err == nil {
		if pred := b.decodeAll(plan.Holders); l.trusts(pred) {
			l.guesses(ctx, pred, isLive)
		}
	}
	one := storagePeers(cands, b.self) >= l.params.Total()
	order := append(rendezvous(l.id, live), rendezvous(l.id, other)...)
	cut := min(len(order), b.cfg.SweepBeforeDHT)
	l.sweep(ctx, order[:cut], one)
	if b.cfg.Providers != nil {
		provs := l.provs
		if provs == nil {
			if !l.wait(ctx) {
				return
			}
			provs = b.providers(ctx, l.id)
		}
		// A provider record names a holder: with k+m of them, each holds one.
		l.sweep(ctx, provs, one || len(provs) >= l.params.Total())
	}
	l.sweep(ctx, order[cut:], one)
}

// wanting reports whether a consumer that has got shards, with more on
// their way, should ask for more: it needs k, and keeps one peer's probe
// in hand beyond that. The consumer also waits on nudge, to ask again
// when a probe ends.
func (l *lookup) wanting(got int) bool {
	return got+int(l.probing.Load()) <= l.params.K
}

// wait blocks until the consumer asks for more; false if ctx ended.
func (l *lookup) wait(ctx context.Context) bool {
	select {
	case <-l.wake:
		return true
	case <-ctx.Done():
		return false
	}
}

// trusts reports whether the prediction agrees with what the holders
// already located said: when one holds another shard than predicted, the
// peer table changed since the write (peers joined, or repair moved
// shards), so most guesses would miss, and asking peers is cheaper.
func (l *lookup) trusts(pred []peer.ID) bool {
	for _, c := range l.known {
		if c.i >= len(pred) || pred[c.i] != c.p {
			return false
		}
	}
	return true
}

// guesses hands out holders[i] for shard i, those the peer table says are
// live first, data shards first; with verify it asks them with has first.
func (l *lookup) guesses(ctx context.Context, holders []peer.ID, live map[peer.ID]bool) {
	var todo, later []pair
	for i, p := range holders {
		if p != "" && !l.b.skip(p) && l.need(i) && l.mark(p, i) {
			if live[p] {
				todo = append(todo, pair{p, i})
			} else {
				later = append(later, pair{p, i})
			}
		}
	}
	todo = append(todo, later...)
	if !l.verify {
		for _, t := range todo {
			if l.need(t.i) && !l.emit(ctx, cand{p: t.p, i: t.i}) {
				return
			}
		}
		return
	}
	each(ctx, todo, l.b.cfg.Probes, func(t pair) {
		if l.need(t.i) && l.has(ctx, t.p, t.i) == hasYes {
			l.emit(ctx, cand{p: t.p, i: t.i, known: true})
		}
	})
}

// mark records that p is asked about shard i; false if it was already.
func (l *lookup) mark(p peer.ID, i int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tried[pair{p, i}] {
		return false
	}
	l.tried[pair{p, i}] = true
	return true
}

func (l *lookup) emit(ctx context.Context, c cand) bool {
	select {
	case l.out <- c:
		return true
	case <-ctx.Done():
		return false
	}
}
