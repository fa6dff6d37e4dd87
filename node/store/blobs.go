package store

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"respaldo/erasure"
)

// LocalBlobs stores whole blobs as stripes in one Store, for a node with no
// network (tests, demos, a single machine). It has the shape of the backup
// package's BlobStore. Safe for concurrent use.
type LocalBlobs struct {
	s Store
	p erasure.Params
}

// NewLocalBlobs returns a LocalBlobs that codes blobs with p into s.
func NewLocalBlobs(s Store, p erasure.Params) *LocalBlobs {
	return &LocalBlobs{s: s, p: p}
}

// encodedPutter and joinGetter are the stores' fast paths for LocalBlobs:
// shards that erasure.Encode made in this process are not hashed again on
// put, and shards read for erasure.Join are hashed once, by Join.
type encodedPutter interface {
	putEncoded(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error
}

type joinGetter interface {
	getForJoin(ctx context.Context, ref ShardRef) ([]byte, error)
}

// Put erasure-codes blob and stores every shard, in parallel. It returns the
// stripe ID once all shards are stored; on error some may be stored.
// Putting the same blob with the same secrets again is a no-op.
func (b *LocalBlobs) Put(ctx context.Context, blob []byte, s erasure.Secrets) (erasure.StripeID, error) {
	d, shards, err := erasure.Encode(blob, b.p, s)
	if err != nil {
		return erasure.StripeID{}, fmt.Errorf("store: blob: %w", err)
	}
	put := b.s.Put
	if ep, ok := b.s.(encodedPutter); ok {
		put = ep.putEncoded
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, shard := range shards {
		g.Go(func() error { return put(gctx, d, i, shard) })
	}
	if err := g.Wait(); err != nil {
		return erasure.StripeID{}, err
	}
	return d.ID(), nil
}

// Get returns the blob of stripe id, rebuilt from the shards that are intact:
// up to m shards may be missing or damaged. It reads the k data shards
// first and the parity shards only when one of those is missing or bad.
// ErrNotFound if the stripe is unknown; an error wrapping
// erasure.ErrTooFewShards if too many are lost. The returned slice belongs
// to the caller.
func (b *LocalBlobs) Get(ctx context.Context, id erasure.StripeID) ([]byte, error) {
	d, err := b.s.Descriptor(ctx, id)
	if err != nil {
		return nil, err
	}
	get := b.s.Get
	if jg, ok := b.s.(joinGetter); ok {
		get = jg.getForJoin
	}
	shards := make([][]byte, len(d.Shards))
	fetch := func(from, to int) error {
		g, gctx := errgroup.WithContext(ctx)
		for i := from; i < to; i++ {
			g.Go(func() error {
				data, err := get(gctx, ShardRef{Stripe: id, Index: i})
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
					return nil // left nil: Join rebuilds it
				}
				shards[i] = data
				return err
			})
		}
		return g.Wait()
	}
	if err := fetch(0, d.K); err != nil {
		return nil, err
	}
	blob, err := erasure.Join(d, shards)
	if errors.Is(err, erasure.ErrTooFewShards) && d.M > 0 {
		if err := fetch(d.K, len(shards)); err != nil {
			return nil, err
		}
		blob, err = erasure.Join(d, shards)
	}
	if err != nil {
		return nil, fmt.Errorf("store: blob %v: %w", id, err)
	}
	return blob, nil
}

// Has reports whether the blob can be read: its descriptor and at least k of
// its shards are held (the shards' bytes are not re-read).
func (b *LocalBlobs) Has(ctx context.Context, id erasure.StripeID) (bool, error) {
	d, err := b.s.Descriptor(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	held := 0
	for i := range d.Shards {
		ok, err := b.s.Has(ctx, ShardRef{Stripe: id, Index: i})
		if err != nil {
			return false, err
		}
		if ok {
			held++
		}
	}
	return held >= d.K, nil
}
