package shard

import (
	"sync"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

// Limits bound what one stream may cost. A zero field takes its default
// (DefaultLimits); tests shorten the timeouts.
type Limits struct {
	// MaxHeader bounds one message header in bytes, descriptor included
	// (default 64 KiB; a descriptor is at most erasure.MaxDescriptorSize).
	MaxHeader int
	// MaxShard bounds the shard bytes of a put or a get (default
	// erasure.MaxBlobSize).
	MaxShard int64
	// MinRate and StallTimeout: a stream that moves fewer than
	// MinRate×StallTimeout bytes (both directions together) within
	// StallTimeout is stalled and cut off (defaults 64 KiB/s and 10 s). A
	// new window starts at each change of phase, so a holder's slow fsync
	// does not count against the requester's upload.
	MinRate      int64
	StallTimeout time.Duration
	// PerPeer bounds a handler's concurrent streams from one remote peer;
	// a stream over it is answered ErrBusy at once (default 4).
	PerPeer int
	// ClockSkew is how far a proof's time may be from the holder's clock
	// (default 5 min).
	ClockSkew time.Duration
	// MaxProofs bounds the proofs a handler remembers to refuse replays
	// (default 65536); when full of unexpired proofs, new ones get ErrBusy.
	MaxProofs int
}

// DefaultLimits returns the limits a node runs with.
func DefaultLimits() Limits {
	return Limits{
		MaxHeader:    64 << 10,
		MaxShard:     erasure.MaxBlobSize,
		MinRate:      64 << 10,
		StallTimeout: 10 * time.Second,
		PerPeer:      4,
		ClockSkew:    5 * time.Minute,
		MaxProofs:    1 << 16,
	}
}

// orDefaults fills zero (or negative) fields with the defaults.
func (l Limits) orDefaults() Limits {
	d := DefaultLimits()
	if l.MaxHeader <= 0 {
		l.MaxHeader = d.MaxHeader
	}
	if l.MaxShard <= 0 {
		l.MaxShard = d.MaxShard
	}
	if l.MinRate <= 0 {
		l.MinRate = d.MinRate
	}
	if l.StallTimeout <= 0 {
		l.StallTimeout = d.StallTimeout
	}
	if l.PerPeer <= 0 {
		l.PerPeer = d.PerPeer
	}
	if l.ClockSkew <= 0 {
		l.ClockSkew = d.ClockSkew
	}
	if l.MaxProofs <= 0 {
		l.MaxProofs = d.MaxProofs
	}
	return l
}

// Shard buffers of puts are reused: a holder takes many shards of the same
// few sizes, and a fresh buffer per put made most of a busy holder's
// garbage. The store does not keep the bytes it is given. They are aligned
// (store.AlignedBuffer) so that a DiskStore writes them to disk without
// copying them into the page cache.
var shardBufs sync.Pool // of *[]byte

// maxPooledShard bounds the buffers kept for reuse.
const maxPooledShard = 16 << 20

func getShardBuf(n int64) *[]byte {
	if p, ok := shardBufs.Get().(*[]byte); ok {
		if int64(cap(*p)) >= n {
			*p = (*p)[:n]
			return p
		}
		shardBufs.Put(p)
	}
	b := store.AlignedBuffer(int(n))
	return &b
}

func putShardBuf(p *[]byte) {
	if cap(*p) <= maxPooledShard {
		shardBufs.Put(p)
	}
}
