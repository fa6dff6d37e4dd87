package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"respaldo/erasure"
	"respaldo/node/backup"
	"respaldo/node/store"
)

// spreadBlobs is the demo's stand-in for the mesh: it codes each blob into
// k+m shards and puts them on separate shard stores, as the mesh's placement
// will put them on separate peers (a stripe's shards are rotated by its ID
// so every store gets its share). A store that is "lost" is simply gone; Get
// rebuilds from whatever k shards remain.
type spreadBlobs struct {
	p erasure.Params

	mu     sync.RWMutex
	stores []store.Store // nil once lost
}

var _ backup.BlobStore = (*spreadBlobs)(nil)

func (s *spreadBlobs) holder(id erasure.StripeID, shard int) int {
	return (int(id[0]) + shard) % len(s.stores)
}

func (s *spreadBlobs) Put(ctx context.Context, blob []byte, sec erasure.Secrets) (erasure.StripeID, error) {
	d, shards, err := erasure.Encode(blob, s.p, sec)
	if err != nil {
		return erasure.StripeID{}, err
	}
	id := d.ID()
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, gctx := errgroup.WithContext(ctx)
	for i, sh := range shards {
		st := s.stores[s.holder(id, i)]
		if st == nil {
			return erasure.StripeID{}, fmt.Errorf("store %d is lost", s.holder(id, i))
		}
		g.Go(func() error { return st.Put(gctx, d, i, sh) })
	}
	return id, g.Wait()
}

func (s *spreadBlobs) Get(ctx context.Context, id erasure.StripeID) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.descriptor(ctx, id)
	if d == nil {
		return nil, fmt.Errorf("stripe %s: %w", id, backup.ErrNotFound)
	}
	shards := make([][]byte, d.Params().Total())
	g, gctx := errgroup.WithContext(ctx)
	for i := range shards {
		st := s.stores[s.holder(id, i)]
		if st == nil {
			continue
		}
		g.Go(func() error {
			b, err := st.Get(gctx, store.ShardRef{Stripe: id, Index: i})
			if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrCorrupt) {
				return err
			}
			shards[i] = b
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return erasure.Join(d, shards)
}

// Has reports whether at least k shards of the stripe are held, without
// reading them (as LocalBlobs does).
func (s *spreadBlobs) Has(ctx context.Context, id erasure.StripeID) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.descriptor(ctx, id)
	if d == nil {
		return false, nil
	}
	held := 0
	for i := range d.Shards {
		st := s.stores[s.holder(id, i)]
		if st == nil {
			continue
		}
		ok, err := st.Has(ctx, store.ShardRef{Stripe: id, Index: i})
		if err != nil {
			return false, err
		}
		if ok {
			held++
		}
	}
	return held >= d.K, nil
}

// descriptor returns the stripe's descriptor from any store still there,
// nil if none holds it. Call with s.mu held.
func (s *spreadBlobs) descriptor(ctx context.Context, id erasure.StripeID) *erasure.Descriptor {
	for _, st := range s.stores {
		if st == nil {
			continue
		}
		if d, err := st.Descriptor(ctx, id); err == nil {
			return d
		}
	}
	return nil
}

// lose closes store i and forgets it, as if its machine were gone for good.
func (s *spreadBlobs) lose(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stores[i]
	s.stores[i] = nil
	if st == nil {
		return nil
	}
	return st.Close()
}
