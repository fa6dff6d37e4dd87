package meshblobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/errgroup"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
	"respaldo/node/shard"
)

// Put erasure-codes blob with Config.Params, places the shards on distinct
// storage peers (placement.Place over Config.Peers), sends them all at once
// and returns the stripe ID once every holder has acknowledged its shard
// (stored it durably). A holder that refuses or fails is replaced
// (placement.Fill with the others pinned), up to Config.MaxAttempts holders
// per shard. Put then records the holders as hints. It does not retain
// blob. An error means the stripe may be partly stored; a retry puts a new
// stripe (new secrets give a new ID), and the holders' leftovers are
// garbage for repair and scrub to collect. Safe for concurrent use.
func (b *Blobs) Put(ctx context.Context, blob []byte, s erasure.Secrets) (erasure.StripeID, error) {
	d, shards, release, err := encode(blob, b.cfg.Params, s)
	if err != nil {
		return erasure.StripeID{}, fmt.Errorf("meshblobs: put: %w", err)
	}
	defer release()
	if err := b.putShards(ctx, d, shards, nil, nil); err != nil {
		return erasure.StripeID{}, err
	}
	b.stats.blobBytesPut.Add(int64(len(blob)))
	return d.ID(), nil
}

// putShards places and sends a stripe's shards. pinned, if not nil, names
// the holders that already acknowledged some shards (a resumed put,
// journal.go): those are not sent again and stay where they are; "" marks
// a shard still to send. acked, if not nil, is called after each holder's
// acknowledgement.
func (b *Blobs) putShards(ctx context.Context, d *erasure.Descriptor, shards [][]byte, pinned []mesh.PeerID, acked func(i int, holder mesh.PeerID)) error {
	id := d.ID()
	cands := b.cfg.Peers()
	var plan placement.Plan
	var err error
	if pinned == nil {
		plan, err = placement.Place(id, b.cfg.Params, placeSize(d), b.self, cands)
	} else {
		plan, err = placement.Fill(id, d.Params(), placeSize(d), b.self, cands, pinned)
	}
	if err != nil {
		return fmt.Errorf("meshblobs: put stripe %v: %w", id, err)
	}
	p := &putter{b: b, d: d, id: id, shards: shards, cands: cands,
		holders: plan.Holders, failed: map[mesh.PeerID]bool{}}
	g, gctx := errgroup.WithContext(ctx)
	for i := range shards {
		if pinned != nil && pinned[i] != "" {
			continue
		}
		g.Go(func() error {
			if err := p.send(gctx, i); err != nil {
				return err
			}
			if acked != nil {
				p.mu.Lock()
				h := p.holders[i]
				p.mu.Unlock()
				acked(i, h)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	b.placed(id, p.holders, cands)
	h := &hint{d: d, holders: make([]peer.ID, len(p.holders))}
	for i, m := range p.holders {
		h.holders[i], _ = b.peerID(m)
	}
	b.saveHint(ctx, id, h, nil)
	b.stats.puts.Add(1)
	return nil
}

// parityBufs keeps the memory of parity shards (and of a last partial data
// shard) from one put to the next: a backup puts about 128 packs per GiB,
// each 4 MiB of parity at 4+2, which would otherwise be garbage each time.
var parityBufs sync.Pool

// encode is erasure.EncodeInto over a pooled buffer; release hands the
// buffer back once the shards are no longer used.
func encode(blob []byte, p erasure.Params, s erasure.Secrets) (*erasure.Descriptor, [][]byte, func(), error) {
	var scratch []byte
	if bp, ok := parityBufs.Get().(*[]byte); ok {
		scratch = *bp
	}
	d, shards, used, err := erasure.EncodeInto(blob, p, s, scratch)
	release := func() { parityBufs.Put(&used) }
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return d, shards, release, nil
}

// placeSize is the shard size placement sees: an empty blob's shards are
// empty, and placement wants a positive size.
func placeSize(d *erasure.Descriptor) int64 { return max(d.ShardSize, 1) }

// putter sends one stripe's shards.
type putter struct {
	b      *Blobs
	d      *erasure.Descriptor
	id     erasure.StripeID
	shards [][]byte
	cands  []placement.Candidate

	mu      sync.Mutex
	holders []mesh.PeerID        // current holder of each shard
	failed  map[mesh.PeerID]bool // peers that refused or failed a shard
}

// send puts shard i at its holder, replacing the holder when it fails.
func (p *putter) send(ctx context.Context, i int) error {
	b := p.b
	for attempt := 1; ; attempt++ {
		p.mu.Lock()
		holder := p.holders[i]
		p.mu.Unlock()
		err := p.putAt(ctx, holder, i)
		if err == nil {
			b.stats.shardPutB.Add(int64(len(p.shards[i])))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = fmt.Errorf("meshblobs: put shard %d of stripe %v at %s: %w", i, p.id, holder, err)
		if errors.Is(err, shard.ErrBadRequest) || errors.Is(err, shard.ErrWrongShard) {
			return err // our request is at fault: no holder takes it
		}
		if errors.Is(err, shard.ErrDeleted) {
			return err // its owner deleted the stripe (a resumed put, journal.go)
		}
		if attempt >= b.cfg.MaxAttempts {
			return fmt.Errorf("%w (after %d holders)", err, attempt)
		}
		b.log().Debug("meshblobs: shard put failed, placing it elsewhere", "err", err)
		if rerr := p.replace(i, holder); rerr != nil {
			return fmt.Errorf("%w; no other holder: %w", err, rerr)
		}
		b.stats.shardPutRetries.Add(1)
	}
}

func (p *putter) putAt(ctx context.Context, holder mesh.PeerID, i int) error {
	pid, ok := p.b.peerID(holder)
	if !ok {
		return fmt.Errorf("%w: %q is not a peer ID", shard.ErrInternal, holder)
	}
	p.b.stats.shardPuts.Add(1)
	p.mu.Lock()
	plan := make([]string, len(p.holders))
	for j, h := range p.holders {
		plan[j] = string(h)
	}
	p.mu.Unlock()
	release, err := p.b.up.acquire(ctx) // the upload limit's turn (upload.go)
	if err != nil {
		return err
	}
	defer release()
	return p.b.call(ctx, pid, p.b.putTimeout(p.d.ShardSize), func(ctx context.Context, s Stream) error {
		return shard.PutPlaced(ctx, p.b.up.wrap(ctx, s), p.d, i, p.shards[i], plan)
	})
}

// replace gives shard i, which failed at holder, to another peer: the one
// placement.Fill picks among the peers that have not failed, with every
// other shard pinned where it is.
func (p *putter) replace(i int, holder mesh.PeerID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed[holder] = true
	cands := slices.DeleteFunc(slices.Clone(p.cands), func(c placement.Candidate) bool { return p.failed[c.ID] })
	pinned := slices.Clone(p.holders)
	pinned[i] = ""
	plan, err := placement.Fill(p.id, p.d.Params(), placeSize(p.d), p.b.self, cands, pinned)
	if err != nil {
		return err
	}
	p.holders[i] = plan.Holders[i]
	return nil
}

// placed records the final placement of a stripe.
func (b *Blobs) placed(id erasure.StripeID, holders []mesh.PeerID, cands []placement.Candidate) {
	zoneOf := make(map[mesh.PeerID]mesh.Zone, len(cands))
	for _, c := range cands {
		zoneOf[c.ID] = c.Zone
	}
	k := b.cfg.Params.K
	plan := placement.Plan{
		Holders:         slices.Clone(holders),
		ToleratesLosses: placement.ToleratesLosses(holders, k),
		ZoneSafe:        placement.ZoneTolerance(holders, k, zoneOf) >= 1,
	}
	seen := map[mesh.PeerID]bool{}
	for _, h := range holders {
		plan.Underplaced = plan.Underplaced || seen[h]
		seen[h] = true
	}
	if plan.Underplaced {
		b.stats.underplaced.Add(1)
	}
	if plan.ZoneSafe {
		b.stats.zoneSafe.Add(1)
	}
	b.stats.noteTolerance(plan.ToleratesLosses)
	b.mu.Lock()
	b.last = Placement{Stripe: id, Plan: plan}
	b.mu.Unlock()
}
