package backup

import (
	"context"
	"errors"
	"fmt"

	"respaldo/erasure"
)

// ErrNotFound is what a KV returns (wrapped) for an absent key, and what
// a BlobStore's Get should wrap for an unknown stripe. It is permanent: the
// key or stripe does not exist until something puts it.
var ErrNotFound = errors.New("backup: not found")

// BlobStore stores whole blobs (age ciphertext) as erasure-coded stripes.
// Implemented by node/store.LocalBlobs now (one machine) and by the mesh
// later. It must be safe for concurrent use: a backup runs several Puts at
// once.
type BlobStore interface {
	// Put stores blob as one stripe whose descriptor carries s, and returns
	// the stripe's ID. Put does not retain blob after it returns: the caller
	// reuses the buffer. A blob is at most erasure.MaxBlobSize bytes. An
	// error means the stripe may or may not exist; a backup that gets one
	// fails and publishes nothing that refers to it.
	Put(ctx context.Context, blob []byte, s erasure.Secrets) (erasure.StripeID, error)
	// Get returns the whole blob; the slice belongs to the caller. A stripe
	// that is unknown, or that cannot be rebuilt from the shards found, is an
	// error (an unknown one should wrap ErrNotFound). The bytes need not be
	// authenticated by the store: every blob is age ciphertext, checked when
	// it is opened.
	Get(ctx context.Context, id erasure.StripeID) ([]byte, error)
	// Has reports whether the stripe is stored (enough shards to rebuild).
	Has(ctx context.Context, id erasure.StripeID) (bool, error)
}

// KV is the node-local state of the backup code: the member's index cache,
// the catalog entries this node knows, and the local stand-in for the head
// pointer. It is satisfied by an adapter over the node's badger records
// (see RecordsKV) and, in tests, by MemKV.
//
// It must be safe for concurrent use; a single Put or Delete must be atomic
// and durable when it returns (the head is written last and relies on it).
// Slices passed in are not retained; slices returned belong to the caller.
// Keys written by this package all begin with "backup/".
type KV interface {
	// Get returns the value of key, or an error wrapping ErrNotFound.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Put sets key to val.
	Put(ctx context.Context, key, val []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Iterate calls fn for each key beginning with prefix, in byte order,
	// and stops at fn's first error, which it returns. key and val are valid
	// only during the call; fn must not call the KV.
	Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error
}

// Records is the shape of node/store's Records: a KV whose Get reports an
// absent key with an error of its own.
type Records interface {
	Get(ctx context.Context, key []byte) ([]byte, error)
	Put(ctx context.Context, key, val []byte) error
	Delete(ctx context.Context, key []byte) error
	Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error
}

// RecordsKV adapts Records to KV: it maps errors matching NotFound (e.g.
// store.ErrNotFound) to ErrNotFound, e.g.
// backup.RecordsKV{R: st.Records(), NotFound: store.ErrNotFound}.
type RecordsKV struct {
	R        Records
	NotFound error
}

// Get implements KV.
func (a RecordsKV) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := a.R.Get(ctx, key)
	if err != nil && a.NotFound != nil && errors.Is(err, a.NotFound) {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return v, err
}

// Put implements KV.
func (a RecordsKV) Put(ctx context.Context, key, val []byte) error { return a.R.Put(ctx, key, val) }

// Delete implements KV.
func (a RecordsKV) Delete(ctx context.Context, key []byte) error { return a.R.Delete(ctx, key) }

// Iterate implements KV.
func (a RecordsKV) Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	return a.R.Iterate(ctx, prefix, fn)
}
