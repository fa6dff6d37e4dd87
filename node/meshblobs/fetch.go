package meshblobs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/shard"
)

// fetch gathers k good shards of the stripe d from the candidates a lookup
// hands out, k transfers at a time. A transfer slower than
// Config.hedgeAfter is doubled by one to another holder (whichever answers
// first wins); a holder that fails or sends a wrong shard is replaced by the
// next candidate, and is not asked for that shard again.
type fetch struct {
	b      *Blobs
	d      *erasure.Descriptor
	secret crypto.ReadSecret

	// slab holds the blob (the caller's buffer when it is large enough,
	// GetInto): data shard i is read straight into slab's
	// slot i by the one transfer that has it on loan (lent[i]), so that
	// joining copies nothing. A hedged second transfer of the shard reads
	// into a buffer of its own. Once run has returned no transfer is left
	// writing, and erasure.JoinVerified copies a shard that came in another
	// buffer into its slot.
	slab []byte
	lent []bool

	mu     sync.Mutex
	shards [][]byte
	from   []peer.ID // who gave each shard
	fast   []int     // transfers of each shard in flight and not slow yet
	seen   []peer.ID // holders found by has probes (hint material)
	gone   []peer.ID // hinted holders that answered not-found
}

type attempt struct {
	c    cand
	slow bool
	slot bool // reads into f.slab's slot for c.i
}

// badCopy is a holder's copy of one shard that came wrong.
type badCopy struct {
	p peer.ID
	i int
}

type result struct {
	id   int
	data []byte
	err  error
}

// want: shard i is neither held nor on its way from a holder in good time.
func (f *fetch) want(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shards[i] == nil && f.fast[i] == 0
}

// run returns once k shards are in f.shards, or with the reason they are not.
// hinted are the hint's holders, loc what finding the descriptor found.
func (f *fetch) run(ctx context.Context, hinted []peer.ID, loc *located) error {
	b, d := f.b, f.d
	n := len(d.Shards)
	f.shards, f.from, f.fast = make([][]byte, n), make([]peer.ID, n), make([]int, n)
	f.seen, f.gone = make([]peer.ID, n), make([]peer.ID, n)
	if need := int64(d.K) * d.ShardSize; int64(cap(f.slab)) >= need {
		f.slab = f.slab[:need]
	} else {
		f.slab = make([]byte, need)
	}
	f.lent = make([]bool, d.K)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	l := b.newLookup(d.ID(), d.Params(), d.ShardSize, hinted, false, func(i int) bool { return !f.has(i) }, f.want)
	l.seed(loc)
	wg.Go(func() { l.run(ctx) })

	results := make(chan result)
	slowc := make(chan int)
	active := map[int]*attempt{}
	// bad: holders that sent wrong bytes for a shard, by shard; a holder
	// whose copy rotted looks the same as one that lies, and may hold
	// other shards of the stripe intact (fewer peers than shards).
	bad := map[badCopy]bool{}
	var backlog []cand
	got, fastActive, nextID, others := 0, 0, 0, 0
	in := l.out
	launch := func(c cand) {
		id := nextID
		nextID++
		a := &attempt{c: c}
		active[id] = a
		fastActive++
		f.mu.Lock()
		f.fast[c.i]++
		f.mu.Unlock()
		var dst []byte
		if c.i < d.K && !f.lent[c.i] {
			f.lent[c.i], a.slot = true, true
			ss := d.ShardSize
			dst = f.slab[int64(c.i)*ss : int64(c.i+1)*ss : int64(c.i+1)*ss]
		}
		wg.Go(func() {
			t := time.AfterFunc(b.cfg.hedgeAfter(d.ShardSize), func() {
				select {
				case slowc <- id:
				case <-ctx.Done():
				}
			})
			data, err := b.getShard(ctx, c.p, d, c.i, f.secret, dst)
			t.Stop()
			select {
			case results <- result{id, data, err}:
			case <-ctx.Done():
			}
		})
	}
	calm := func(a *attempt) { // a is no longer counted as coming in good time
		if !a.slow {
			a.slow = true
			fastActive--
			f.mu.Lock()
			f.fast[a.c.i]--
			f.mu.Unlock()
		}
	}
	var lastErr error
	for got < d.K {
		var next <-chan cand
		var wake chan<- struct{}
		if got+fastActive < d.K {
			if c, ok := f.popBacklog(&backlog, bad); ok {
				launch(c)
				continue
			}
			if next = in; in != nil && l.wanting(got+fastActive) {
				wake = l.wake
			}
		}
		if next == nil && len(active) == 0 {
			break
		}
		select {
		case wake <- struct{}{}:
		case <-l.nudge:
		case c, ok := <-next:
			switch {
			case !ok:
				in = nil
			case bad[badCopy{c.p, c.i}] || f.has(c.i):
			case !f.want(c.i):
				backlog = append(backlog, c)
			default:
				if c.known {
					f.mu.Lock()
					f.seen[c.i] = c.p
					f.mu.Unlock()
				}
				launch(c)
			}
		case id := <-slowc:
			if a := active[id]; a != nil && !a.slow {
				calm(a)
				b.stats.hedges.Add(1)
			}
		case r := <-results:
			a := active[r.id]
			delete(active, r.id)
			calm(a)
			if r.err != nil && a.slot {
				f.lent[a.c.i] = false // done with it: the next transfer may use it
			}
			if r.err == nil {
				f.mu.Lock()
				if f.shards[a.c.i] == nil {
					f.shards[a.c.i], f.from[a.c.i] = r.data, a.c.p
					got++
				}
				f.mu.Unlock()
				l.gave(a.c.p)
				continue
			}
			b.stats.shardGetFailures.Add(1)
			lastErr = r.err
			switch {
			case errors.Is(r.err, shard.ErrWrongShard):
				bad[badCopy{a.c.p, a.c.i}] = true
				b.stats.wrong.Add(1)
				b.log().Warn("meshblobs: a holder sent a wrong or damaged shard", "holder", a.c.p, "stripe", d.ID(), "index", a.c.i)
				f.mu.Lock()
				f.gone[a.c.i] = a.c.p // no good copy there: out of the hint
				f.mu.Unlock()
			case errors.Is(r.err, shard.ErrNotFound):
				f.mu.Lock()
				f.gone[a.c.i] = a.c.p
				f.mu.Unlock()
			default:
				others++ // it may hold the stripe: not a plain "not found"
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if got >= d.K {
		return nil
	}
	if got == 0 && others == 0 {
		return b.notFound(d.ID(), "no holder found")
	}
	return &tooFewError{id: d.ID(), got: got, k: d.K, last: lastErr}
}

func (f *fetch) has(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shards[i] != nil
}

// popBacklog returns a waiting candidate for a shard that is wanted again.
func (f *fetch) popBacklog(backlog *[]cand, bad map[badCopy]bool) (cand, bool) {
	q := *backlog
	for j, c := range q {
		if bad[badCopy{c.p, c.i}] || f.has(c.i) {
			continue
		}
		if f.want(c.i) {
			*backlog = append(q[:j:j], q[j+1:]...)
			return c, true
		}
	}
	return cand{}, false
}

// getShard fetches shard i of d from p as the stripe's owner, into dst
// when it has the shard's size (shard.GetInto).
func (b *Blobs) getShard(ctx context.Context, p peer.ID, d *erasure.Descriptor, i int, secret crypto.ReadSecret, dst []byte) ([]byte, error) {
	b.stats.shardGets.Add(1)
	var data []byte
	err := b.call(ctx, p, b.cfg.transferTimeout(d.ShardSize), func(ctx context.Context, s Stream) error {
		var err error
		data, err = shard.GetInto(ctx, s, b.cfg.Self.String(), p.String(), d, i, secret, time.Now(), dst)
		return err
	})
	return data, err
}

// holders merges what the fetch learnt into the hinted holders.
func (f *fetch) holders(old []peer.ID) []peer.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]peer.ID, len(f.shards))
	for i := range out {
		switch {
		case f.from[i] != "":
			out[i] = f.from[i]
		case f.seen[i] != "":
			out[i] = f.seen[i]
		case old != nil && old[i] != f.gone[i]:
			out[i] = old[i]
		}
	}
	return out
}
