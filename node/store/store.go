package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"respaldo/erasure"
)

// Errors returned by every Store. Test them with errors.Is; they arrive wrapped
// with the shard reference or the key concerned.
var (
	// ErrNotFound: the shard, descriptor or record is not held (or its file
	// has vanished). Permanent for this store until something is put again.
	ErrNotFound = errors.New("store: not found")
	// ErrCorrupt: the stored bytes no longer match their CID, their header or
	// their descriptor. The error also wraps the erasure error that found it
	// (erasure.ErrShardMismatch, erasure.ErrBadDescriptor). The damaged
	// bytes are never returned; delete the shard or let Scrub quarantine it,
	// then fetch it again.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrNoSpace: a Put would exceed the configured capacity or the free
	// space of the filesystem. Nothing was written.
	ErrNoSpace = errors.New("store: no space")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store: closed")
)

// ShardRef names one shard: shard Index of the stripe whose descriptor hashes
// to Stripe. It is the key of a shard in every store; a CID alone is not,
// because one node may hold two shards of a stripe and two stripes may in
// degenerate cases contain byte-identical shards.
type ShardRef struct {
	Stripe erasure.StripeID
	Index  int
}

// String returns "<stripe hex>/<index>".
func (r ShardRef) String() string { return fmt.Sprintf("%s/%d", r.Stripe, r.Index) }

// ShardInfo is what List reports about a held shard.
type ShardInfo struct {
	Ref  ShardRef
	CID  cid.Cid
	Size int64 // shard bytes, without any file header
}

// Usage is a store's space accounting.
type Usage struct {
	Shards int
	// UsedBytes is what the shards occupy: for a DiskStore the size of the
	// shard files (headers included), for a MemStore the shard bytes.
	UsedBytes int64
	// FreeBytes is what Puts may still use: min(capacity − used, free space
	// of the filesystem − reserve), never negative; math.MaxInt64 when
	// nothing limits it (no capacity configured and no filesystem figure).
	FreeBytes int64
	// CapacityBytes is the configured capacity, 0 when none.
	CapacityBytes int64
}

// ScrubOptions tunes a Scrub.
type ScrubOptions struct {
	// BytesPerSec limits the read rate; 0 or less means unthrottled.
	BytesPerSec int64
	// Quarantine removes each bad shard from the store (a DiskStore moves
	// its file to DIR/quarantine), freeing its space, so a repair can put
	// it again.
	Quarantine bool
}

// ScrubStats sums up a Scrub.
type ScrubStats struct {
	Shards      int   // shards checked
	Bytes       int64 // shard bytes read
	Bad         int   // shards reported to the callback
	Quarantined int   // bad shards removed (ScrubOptions.Quarantine)
	Duration    time.Duration
}

// Store holds shards of stripes with their descriptors, plus generic records.
//
// Every method is safe for concurrent use. Byte slices passed in are not
// retained after the call returns; byte slices returned belong to the caller.
// Every shard is checked against its CID when put and again when read: a
// damaged shard yields ErrCorrupt, never data.
type Store interface {
	// Put stores shard index of the stripe described by d after checking
	// d and data against the shard's CID and Merkle root (a mismatch wraps
	// erasure.ErrShardMismatch; a bad descriptor or index wraps
	// erasure.ErrBadDescriptor). Putting a shard already held is a no-op,
	// also when two Puts of one ref run at once (a DiskStore does write it
	// again if its file has gone or has the wrong size). ErrNoSpace if it
	// does not fit. The descriptor is kept while any shard of its stripe is.
	Put(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error
	// Get returns the shard's bytes, verified against its CID.
	// ErrNotFound or ErrCorrupt otherwise.
	Get(ctx context.Context, ref ShardRef) ([]byte, error)
	// GetByCID returns a held shard whose CID is c, with its ref. When
	// several refs share the CID, any intact one is returned.
	GetByCID(ctx context.Context, c cid.Cid) (ShardRef, []byte, error)
	// Has reports whether the shard is held. It does not read the bytes.
	Has(ctx context.Context, ref ShardRef) (bool, error)
	// Delete removes the shard and frees its space at once. ErrNotFound if
	// it was not held. The descriptor goes with the stripe's last shard.
	Delete(ctx context.Context, ref ShardRef) error
	// Descriptor returns the descriptor of a stripe of which a shard is
	// held, ErrNotFound otherwise.
	Descriptor(ctx context.Context, id erasure.StripeID) (*erasure.Descriptor, error)
	// List calls fn for every held shard in ref order (stripe bytes, then
	// index) and stops at fn's first error, which it returns. fn may call
	// the store; shards put or deleted meanwhile may or may not be seen.
	List(ctx context.Context, fn func(ShardInfo) error) error
	// Usage reports space accounting.
	Usage(ctx context.Context) (Usage, error)
	// Scrub re-reads and re-hashes every shard, calling bad (serially) for
	// each one that is damaged or missing. It returns ctx's error if
	// cancelled, with the stats so far.
	Scrub(ctx context.Context, opts ScrubOptions, bad func(ShardRef, error)) (ScrubStats, error)
	// Records returns the store's generic key-value records.
	Records() Records
	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// Lender is a Store that can lend a shard's bytes, for a holder serving
// them to a peer, from a buffer it reuses (a fresh buffer per shard sent
// cost zeroing and garbage collection of every byte served) and without
// hashing them: the file's header, descriptor and length are checked, the
// bytes' CID is not. Every reader checks each shard against its CID on
// arrival, as it must since a holder may lie (shard.Client), so a hash
// here would only turn damaged bytes into a refusal: the reader asks
// another holder either way, and scrub finds the damage. Get, which
// hashes, serves the node's own uses (audits, repair's local reads).
type Lender interface {
	// ReadLent returns the shard's bytes as stored (not hashed) in a
	// buffer of the store's. The caller calls release exactly once, when
	// it no longer uses data; release is nil when err is not.
	ReadLent(ctx context.Context, ref ShardRef) (data []byte, release func(), err error)
}

// ReadLent is s's ReadLent when s is a Lender, else its Get (release then
// does nothing).
func ReadLent(ctx context.Context, s Store, ref ShardRef) ([]byte, func(), error) {
	if l, ok := s.(Lender); ok {
		return l.ReadLent(ctx, ref)
	}
	data, err := s.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	return data, func() {}, nil
}

// Records is a small ordered key-value store kept beside the shards, for the
// node's other state (index cache, heads, roster). Keys and values are opaque;
// callers namespace their keys with a prefix of their own. Safe for
// concurrent use; a single Put or Delete is atomic, and in a DiskStore
// durable on return. Records survive restarts but not the loss of DIR/db
// (shards do): keep nothing there that cannot be fetched or rebuilt again.
type Records interface {
	// Get returns a copy of the value, ErrNotFound if absent.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Put sets key to val. An empty key is refused.
	Put(ctx context.Context, key, val []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Iterate calls fn for each key with the prefix, in byte order, and
	// stops at fn's first error, which it returns. key and val are only
	// valid during the call. fn must not call the Records it iterates.
	Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error
}

// corrupt builds an error that is both ErrCorrupt and err.
func corrupt(ref ShardRef, err error) error {
	return fmt.Errorf("store: shard %v: %w: %w", ref, ErrCorrupt, err)
}

// notFound builds an ErrNotFound about ref.
func notFound(ref ShardRef) error {
	return fmt.Errorf("store: shard %v: %w", ref, ErrNotFound)
}

// checkPut validates a Put's arguments and returns the shard's ref. With
// encoded set, the caller has just produced data and d together with
// erasure.Encode in this process, so the bytes are not hashed again (only
// LocalBlobs does that; the public Put always verifies).
func checkPut(d *erasure.Descriptor, index int, data []byte, encoded bool) (ShardRef, error) {
	if d == nil {
		return ShardRef{}, fmt.Errorf("store: put: nil descriptor: %w", erasure.ErrBadDescriptor)
	}
	if err := d.Validate(); err != nil {
		return ShardRef{}, fmt.Errorf("store: put: %w", err)
	}
	ref := ShardRef{Stripe: d.ID(), Index: index}
	if index < 0 || index >= len(d.Shards) {
		return ref, fmt.Errorf("store: put %v: index out of range: %w", ref, erasure.ErrBadDescriptor)
	}
	if encoded {
		if int64(len(data)) != d.ShardSize {
			return ref, fmt.Errorf("store: put %v: %d bytes, want %d: %w", ref, len(data), d.ShardSize, erasure.ErrShardMismatch)
		}
		return ref, nil
	}
	// The Merkle root too: a holder answers audits with piece proofs.
	if err := d.VerifyShard(index, data); err != nil {
		return ref, fmt.Errorf("store: put %v: %w", ref, err)
	}
	return ref, nil
}
