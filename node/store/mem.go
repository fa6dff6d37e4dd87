package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"respaldo/erasure"
)

// MemStore is a Store in memory, for tests and for nodes that keep nothing.
// It checks CIDs exactly as a DiskStore does.
type MemStore struct {
	capacity int64

	mu      sync.Mutex
	closed  bool
	shards  map[ShardRef][]byte
	descs   map[erasure.StripeID]*descEntry
	used    int64
	records memRecords
}

type descEntry struct {
	raw  []byte // d.Marshal()
	refs int    // shards held of this stripe
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore holding at most capacity shard bytes
// (0: unlimited).
func NewMemStore(capacity int64) *MemStore {
	m := &MemStore{
		capacity: capacity,
		shards:   make(map[ShardRef][]byte),
		descs:    make(map[erasure.StripeID]*descEntry),
	}
	m.records.m = make(map[string][]byte)
	return m
}

func (m *MemStore) check(ctx context.Context) error {
	if m.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// Put implements Store.
func (m *MemStore) Put(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	return m.put(ctx, d, index, data, false)
}

// putEncoded is Put for shards that erasure.Encode has just made from d in
// this process (LocalBlobs): they are not hashed a second time.
func (m *MemStore) putEncoded(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	return m.put(ctx, d, index, data, true)
}

// getForJoin returns the shard's bytes unverified: the caller (LocalBlobs)
// hands them to erasure.Join, which checks them against their CIDs.
func (m *MemStore) getForJoin(ctx context.Context, ref ShardRef) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	data, ok := m.shards[ref]
	if !ok {
		return nil, notFound(ref)
	}
	return bytes.Clone(data), nil
}

func (m *MemStore) put(ctx context.Context, d *erasure.Descriptor, index int, data []byte, encoded bool) error {
	ref, err := checkPut(d, index, data, encoded)
	if err != nil {
		return err
	}
	raw := d.Marshal()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	if _, ok := m.shards[ref]; ok {
		return nil
	}
	n := int64(len(data))
	if m.capacity > 0 && m.used+n > m.capacity {
		return fmt.Errorf("store: put %v: %d bytes, %d free: %w", ref, n, m.capacity-m.used, ErrNoSpace)
	}
	m.shards[ref] = bytes.Clone(data)
	m.used += n
	e := m.descs[ref.Stripe]
	if e == nil {
		e = &descEntry{raw: raw}
		m.descs[ref.Stripe] = e
	}
	e.refs++
	return nil
}

// Get implements Store.
func (m *MemStore) Get(ctx context.Context, ref ShardRef) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(ctx, ref)
}

func (m *MemStore) get(ctx context.Context, ref ShardRef) ([]byte, error) {
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	data, ok := m.shards[ref]
	if !ok {
		return nil, notFound(ref)
	}
	if err := m.verify(ref, data); err != nil {
		return nil, err
	}
	return bytes.Clone(data), nil
}

// verify checks a held shard against its descriptor. Call with m.mu held.
func (m *MemStore) verify(ref ShardRef, data []byte) error {
	d, err := erasure.OpenDescriptor(m.descs[ref.Stripe].raw, ref.Stripe)
	if err != nil {
		return corrupt(ref, err)
	}
	if err := d.VerifyShard(ref.Index, data); err != nil {
		return corrupt(ref, err)
	}
	return nil
}

// GetByCID implements Store.
func (m *MemStore) GetByCID(ctx context.Context, c cid.Cid) (ShardRef, []byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var firstErr error
	for _, ref := range m.sortedRefs() {
		d, err := erasure.DecodeDescriptor(m.descs[ref.Stripe].raw)
		if err != nil || !d.Shards[ref.Index].Equals(c) {
			continue
		}
		data, err := m.get(ctx, ref)
		if err == nil {
			return ref, data, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return ShardRef{}, nil, firstErr
	}
	return ShardRef{}, nil, fmt.Errorf("store: cid %v: %w", c, ErrNotFound)
}

// Has implements Store.
func (m *MemStore) Has(ctx context.Context, ref ShardRef) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return false, err
	}
	_, ok := m.shards[ref]
	return ok, nil
}

// Delete implements Store.
func (m *MemStore) Delete(ctx context.Context, ref ShardRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	return m.remove(ref)
}

func (m *MemStore) remove(ref ShardRef) error {
	data, ok := m.shards[ref]
	if !ok {
		return notFound(ref)
	}
	delete(m.shards, ref)
	m.used -= int64(len(data))
	e := m.descs[ref.Stripe]
	if e.refs--; e.refs == 0 {
		delete(m.descs, ref.Stripe)
	}
	return nil
}

// Descriptor implements Store.
func (m *MemStore) Descriptor(ctx context.Context, id erasure.StripeID) (*erasure.Descriptor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	e, ok := m.descs[id]
	if !ok {
		return nil, fmt.Errorf("store: descriptor %v: %w", id, ErrNotFound)
	}
	d, err := erasure.OpenDescriptor(e.raw, id)
	if err != nil {
		return nil, fmt.Errorf("store: descriptor %v: %w: %w", id, ErrCorrupt, err)
	}
	return d, nil
}

// List implements Store. It works on a snapshot taken at the start.
func (m *MemStore) List(ctx context.Context, fn func(ShardInfo) error) error {
	m.mu.Lock()
	if err := m.check(ctx); err != nil {
		m.mu.Unlock()
		return err
	}
	var infos []ShardInfo
	for _, ref := range m.sortedRefs() {
		d, err := erasure.DecodeDescriptor(m.descs[ref.Stripe].raw)
		if err != nil {
			continue
		}
		infos = append(infos, ShardInfo{Ref: ref, CID: d.Shards[ref.Index], Size: d.ShardSize})
	}
	m.mu.Unlock()
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// sortedRefs returns the held refs in ref order. Call with m.mu held.
func (m *MemStore) sortedRefs() []ShardRef {
	return slices.SortedFunc(maps.Keys(m.shards), compareRefs)
}

func compareRefs(a, b ShardRef) int {
	if c := bytes.Compare(a.Stripe[:], b.Stripe[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Index, b.Index)
}

// Usage implements Store.
func (m *MemStore) Usage(ctx context.Context) (Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return Usage{}, err
	}
	u := Usage{Shards: len(m.shards), UsedBytes: m.used, CapacityBytes: m.capacity, FreeBytes: math.MaxInt64}
	if m.capacity > 0 {
		u.FreeBytes = max(0, m.capacity-m.used)
	}
	return u, nil
}

// Scrub implements Store.
func (m *MemStore) Scrub(ctx context.Context, opts ScrubOptions, bad func(ShardRef, error)) (ScrubStats, error) {
	var st ScrubStats
	start := time.Now()
	defer func() { st.Duration = time.Since(start) }()
	m.mu.Lock()
	refs := m.sortedRefs()
	m.mu.Unlock()
	p := newPacer(opts.BytesPerSec)
	for _, ref := range refs {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return st, ErrClosed
		}
		data, held := m.shards[ref]
		if !held {
			m.mu.Unlock()
			continue // deleted meanwhile
		}
		err := m.verify(ref, data)
		if err != nil && opts.Quarantine && m.remove(ref) == nil {
			st.Quarantined++
		}
		m.mu.Unlock()
		st.Shards++
		st.Bytes += int64(len(data))
		if err != nil {
			st.Bad++
			if bad != nil {
				bad(ref, err)
			}
		}
		if err := p.wait(ctx, int64(len(data))); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Records implements Store.
func (m *MemStore) Records() Records { return &m.records }

// Close implements Store.
func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.records.close()
	return nil
}
