package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"respaldo/erasure"
)

// MemBlobs is an in-memory BlobStore for tests (of this package and of
// others). A stripe's ID is the SHA-256 of the blob and its secrets. Safe for
// concurrent use.
type MemBlobs struct {
	mu    sync.Mutex
	blobs map[erasure.StripeID][]byte
	puts  int
}

// NewMemBlobs returns an empty MemBlobs.
func NewMemBlobs() *MemBlobs { return &MemBlobs{blobs: make(map[erasure.StripeID][]byte)} }

// Put implements BlobStore; it copies blob.
func (m *MemBlobs) Put(ctx context.Context, blob []byte, s erasure.Secrets) (erasure.StripeID, error) {
	if err := ctx.Err(); err != nil {
		return erasure.StripeID{}, err
	}
	if len(blob) > erasure.MaxBlobSize {
		return erasure.StripeID{}, fmt.Errorf("memblobs: %d bytes: %w", len(blob), erasure.ErrBlobTooLarge)
	}
	h := sha256.New()
	h.Write(blob)
	h.Write(s.Nonce[:])
	h.Write(s.DeleteKey[:])
	h.Write(s.ReadKey[:])
	var id erasure.StripeID
	h.Sum(id[:0])
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[id] = bytes.Clone(blob)
	m.puts++
	return id, nil
}

// Get implements BlobStore; it returns a copy.
func (m *MemBlobs) Get(ctx context.Context, id erasure.StripeID) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[id]
	if !ok {
		return nil, fmt.Errorf("memblobs: stripe %v: %w", id, ErrNotFound)
	}
	return bytes.Clone(b), nil
}

// Has implements BlobStore.
func (m *MemBlobs) Has(ctx context.Context, id erasure.StripeID) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.blobs[id]
	return ok, ctx.Err()
}

// Len is the number of stripes held; Puts the number of Put calls so far.
func (m *MemBlobs) Len() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.blobs) }

// Puts is the number of successful Put calls so far.
func (m *MemBlobs) Puts() int { m.mu.Lock(); defer m.mu.Unlock(); return m.puts }

// IDs lists the stripes held, in byte order.
func (m *MemBlobs) IDs() []erasure.StripeID {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]erasure.StripeID, 0, len(m.blobs))
	for id := range m.blobs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b erasure.StripeID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// Mutate lets a test change a stored blob in place (flip a bit, truncate):
// fn gets the stored bytes and returns the new ones.
func (m *MemBlobs) Mutate(id erasure.StripeID, fn func([]byte) []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.blobs[id]; ok {
		m.blobs[id] = fn(b)
	}
}

// Delete drops a stripe, as a lost stripe would be.
func (m *MemBlobs) Delete(id erasure.StripeID) { m.mu.Lock(); defer m.mu.Unlock(); delete(m.blobs, id) }

// MemKV is an in-memory KV for tests. Safe for concurrent use.
type MemKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemKV returns an empty MemKV.
func NewMemKV() *MemKV { return &MemKV{m: make(map[string][]byte)} }

// Get implements KV.
func (kv *MemKV) Get(ctx context.Context, key []byte) ([]byte, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	v, ok := kv.m[string(key)]
	if !ok {
		return nil, fmt.Errorf("memkv: %q: %w", key, ErrNotFound)
	}
	return bytes.Clone(v), ctx.Err()
}

// Put implements KV.
func (kv *MemKV) Put(ctx context.Context, key, val []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("memkv: empty key")
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.m[string(key)] = bytes.Clone(val)
	return ctx.Err()
}

// Delete implements KV.
func (kv *MemKV) Delete(ctx context.Context, key []byte) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	delete(kv.m, string(key))
	return ctx.Err()
}

// Iterate implements KV. It works on a snapshot of the matching pairs.
func (kv *MemKV) Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	kv.mu.Lock()
	var keys []string
	for k := range kv.m {
		if strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = kv.m[k]
	}
	kv.mu.Unlock()
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn([]byte(k), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of keys held.
func (kv *MemKV) Len() int { kv.mu.Lock(); defer kv.mu.Unlock(); return len(kv.m) }
