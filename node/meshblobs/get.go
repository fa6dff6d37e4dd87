package meshblobs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Get returns the blob of stripe id, rebuilt from any k of its shards. It
// starts from the member's hint (descriptor and holders); without one it
// fetches the descriptor from a holder (Config.Locate) found the same way
// the shards are: the holders placement predicts, then peers in the
// stripe's rendezvous order, then the stripe's DHT providers. Every shard is
// checked against its CID, and a slow or lying holder is replaced by
// another. Get records where it found the shards as the new hint.
//
// It fails with ErrNeedsRecoveryKey on a write-only node, with an error
// wrapping ErrNotFound (and Config.NotFound) when no holder has the stripe,
// and with ErrTooFewShards when fewer than k good shards were found. The
// returned slice belongs to the caller. Safe for concurrent use.
func (b *Blobs) Get(ctx context.Context, id erasure.StripeID) ([]byte, error) {
	return b.GetInto(ctx, id, nil)
}

// GetInto is Get rebuilding the blob in buf's storage when its capacity
// holds k shards (the result is then a prefix of buf[:cap(buf)]), else in a
// fresh slice. No transfer writes into buf once GetInto has returned; on
// error buf's contents are undefined.
func (b *Blobs) GetInto(ctx context.Context, id erasure.StripeID, buf []byte) ([]byte, error) {
	if b.cfg.Keys == nil {
		return nil, fmt.Errorf("meshblobs: get stripe %v: %w", id, ErrNeedsRecoveryKey)
	}
	h := b.loadHint(ctx, id)
	var d *erasure.Descriptor
	var hinted []peer.ID
	var loc *located
	if h != nil {
		b.stats.hintHits.Add(1)
		d, hinted = h.d, h.holders
	} else {
		var err error
		if loc, err = b.findDescriptor(ctx, id); err != nil {
			return nil, err
		}
		d = loc.d
	}
	secret, err := b.cfg.Keys.ReadSecret(crypto.StripeNonce(d.Secrets.Nonce))
	if err != nil {
		return nil, fmt.Errorf("meshblobs: get stripe %v: %w", id, err)
	}
	var blob []byte
	if d.Size == 0 {
		blob = []byte{}
	} else {
		f := &fetch{b: b, d: d, secret: secret, slab: buf}
		if err := f.run(ctx, hinted, loc); err != nil {
			return nil, err
		}
		// Every shard in f.shards passed VerifyShard in shard.GetInto; the
		// data shards mostly lie in their slots of f.slab already.
		if blob, err = erasure.JoinVerified(d, f.shards, f.slab); err != nil {
			return nil, fmt.Errorf("meshblobs: get stripe %v: %w", id, err)
		}
		b.saveHint(ctx, id, &hint{d: d, holders: f.holders(hinted)}, h)
	}
	b.stats.gets.Add(1)
	b.stats.blobBytesGot.Add(int64(len(blob)))
	return blob, nil
}

// located is what a locate request found: a stripe's descriptor, the peer
// that gave it and the shards that peer holds, and the DHT's providers if
// the DHT was asked.
type located struct {
	d     *erasure.Descriptor
	from  peer.ID
	held  []int
	provs []peer.ID
}

// findDescriptor asks holders for the descriptor of id: the peers placement
// predicts for it, then the first Config.SweepBeforeDHT in rendezvous order,
// then the DHT's providers, then the rest, until one gives bytes that hash
// to id.
func (b *Blobs) findDescriptor(ctx context.Context, id erasure.StripeID) (*located, error) {
	if b.cfg.Locate == nil {
		return nil, b.notFound(id, "no hint, and no way to ask holders for its descriptor")
	}
	cands, storage, other := b.peerList()
	var order []peer.ID
	seen := map[peer.ID]bool{b.cfg.Self: !b.cfg.ReadSelf}
	add := func(ps []peer.ID) {
		for _, p := range ps {
			if p != "" && !seen[p] {
				seen[p] = true
				order = append(order, p)
			}
		}
	}
	if plan, err := b.placeFor(id, cands); err == nil {
		add(b.decodeAll(plan))
	}
	ranked := append(rendezvous(id, storage), rendezvous(id, other)...)
	cut := min(len(ranked), b.cfg.SweepBeforeDHT)
	add(ranked[:cut])
	if loc := b.askLocate(ctx, id, order); loc != nil {
		return loc, nil
	}
	var provs []peer.ID
	if b.cfg.Providers != nil && ctx.Err() == nil {
		provs = b.providers(ctx, id)
		order = order[:0]
		add(provs)
		if loc := b.askLocate(ctx, id, order); loc != nil {
			loc.provs = provs
			return loc, nil
		}
	}
	order = order[:0]
	add(ranked[cut:])
	if loc := b.askLocate(ctx, id, order); loc != nil {
		loc.provs = provs
		return loc, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, b.notFound(id, "no holder has its descriptor")
}

// locate asks p for the descriptor of id and the shards it holds; nil if
// p holds none or answers wrong.
func (b *Blobs) locate(ctx context.Context, p peer.ID, id erasure.StripeID) *located {
	b.stats.locates.Add(1)
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ProbeTimeout)
	defer cancel()
	raw, held, err := b.cfg.Locate(ctx, p, id)
	if err != nil || len(held) == 0 {
		return nil
	}
	d, err := erasure.OpenDescriptor(raw, id)
	if err != nil {
		b.log().Warn("meshblobs: a peer sent a wrong descriptor", "peer", p, "stripe", id, "err", err)
		return nil
	}
	held = slices.DeleteFunc(slices.Clone(held), func(i int) bool { return i < 0 || i >= len(d.Shards) })
	return &located{d: d, from: p, held: held}
}

// askLocate asks peers in turn and returns the first good answer (or nil).
// The next peer is asked when one fails or has not answered within
// locateStagger, with at most Config.Probes requests in flight.
func (b *Blobs) askLocate(ctx context.Context, id erasure.StripeID, peers []peer.ID) *located {
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel: askers still in flight give up
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan *located)
	ask := func(p peer.ID) {
		loc := b.locate(ctx, p, id)
		select {
		case answers <- loc:
		case <-ctx.Done():
		}
	}
	inflight := 0
	for next := 0; next < len(peers) || inflight > 0; {
		var tick <-chan time.Time
		if next < len(peers) && inflight < b.cfg.Probes {
			if inflight == 0 {
				inflight++
				p := peers[next]
				next++
				wg.Go(func() { ask(p) })
				continue
			}
			t := time.NewTimer(locateStagger)
			defer t.Stop()
			tick = t.C
		}
		select {
		case loc := <-answers:
			inflight--
			if loc != nil {
				return loc
			}
		case <-tick:
			inflight++
			p := peers[next]
			next++
			wg.Go(func() { ask(p) })
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// locateStagger is how long a locate request may take before the next
// peer is asked as well.
const locateStagger = 250 * time.Millisecond
