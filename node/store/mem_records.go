package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

var errEmptyKey = errors.New("store: empty record key")

// memRecords is the Records of a MemStore.
type memRecords struct {
	mu     sync.Mutex
	closed bool
	m      map[string][]byte
}

func (r *memRecords) check(ctx context.Context) error {
	if r.closed {
		return ErrClosed
	}
	return ctx.Err()
}

func (r *memRecords) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

func (r *memRecords) Get(ctx context.Context, key []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	v, ok := r.m[string(key)]
	if !ok {
		return nil, fmt.Errorf("store: record %q: %w", key, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (r *memRecords) Put(ctx context.Context, key, val []byte) error {
	if len(key) == 0 {
		return errEmptyKey
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return err
	}
	r.m[string(key)] = append([]byte{}, val...)
	return nil
}

func (r *memRecords) Delete(ctx context.Context, key []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.check(ctx); err != nil {
		return err
	}
	delete(r.m, string(key))
	return nil
}

func (r *memRecords) Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	r.mu.Lock()
	if err := r.check(ctx); err != nil {
		r.mu.Unlock()
		return err
	}
	type kv struct{ k, v []byte }
	var kvs []kv
	for _, k := range slices.Sorted(maps.Keys(r.m)) {
		if strings.HasPrefix(k, string(prefix)) {
			kvs = append(kvs, kv{[]byte(k), bytes.Clone(r.m[k])})
		}
	}
	r.mu.Unlock()
	for _, e := range kvs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}
