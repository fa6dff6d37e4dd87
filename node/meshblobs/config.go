package meshblobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/placement"
	"respaldo/node/shard"
)

// Stream is one shard-protocol stream to a peer: what node/shard's client
// needs, plus Close (after an answered request) and Reset (after a failure).
// libp2p's network.Stream satisfies it.
type Stream interface {
	shard.Stream
	Close() error
	Reset() error
}

// OpenFunc opens a new shard-protocol stream to p (HostStreams does it on a
// libp2p host). It is called concurrently; the Blobs closes or resets every
// stream it gets.
type OpenFunc func(ctx context.Context, p peer.ID) (Stream, error)

// Hints is where the member keeps holder hints: one record per stripe with
// its descriptor and the holder of each shard (store.Records and backup.KV
// satisfy it). Get reports an absent key with any error: every Get error is
// taken as "no hint", since hints only save lookups. Put must be safe for
// concurrent use; values passed in are not retained.
type Hints interface {
	Get(ctx context.Context, key []byte) ([]byte, error)
	Put(ctx context.Context, key, val []byte) error
}

// Providers finds the peers that announced a stripe in the DHT (dht.DHT
// satisfies it). It returns up to n providers (n <= 0: as many as found).
type Providers interface {
	FindProviders(ctx context.Context, c cid.Cid, n int) ([]peer.AddrInfo, error)
}

// LocateFunc asks p, in one request, for the canonical descriptor of
// stripe id and the indexes of the stripe's shards p holds; an error (or no
// indexes) when p holds none. The Blobs checks the descriptor against id
// (erasure.OpenDescriptor) and every shard against its CID, so p need not
// be trusted. LocateVia makes one from the shard protocol's locate op; a
// restore from nothing cannot learn descriptors without it.
type LocateFunc func(ctx context.Context, p peer.ID, id erasure.StripeID) (desc []byte, held []int, err error)

// Config wires a Blobs. Start from DefaultConfig, set the required fields,
// and pass it to New (which calls Validate).
type Config struct {
	// Self is this node's peer ID; it never holds shards of the stripes it
	// puts.
	Self peer.ID
	// ReadSelf: lookups ask this node too (through Open with Self), which
	// may hold shards of the stripes it reads when it is not the node that
	// wrote them (a storage node restoring for a member from nothing).
	ReadSelf bool
	// Open opens shard-protocol streams. Required.
	Open OpenFunc
	// Peers returns the live peer table with the roster's zones and roles
	// (placement.FromMesh of mesh.Table.Peers). Called on every Put and on
	// lookups; it must be safe for concurrent use. Required.
	Peers func() []placement.Candidate
	// Params is the k+m of new stripes.
	Params erasure.Params
	// Keys are the member's keys, needed to read (prove the stripes' read
	// secrets). nil on a write-only node: Get fails with ErrNeedsRecoveryKey.
	Keys *crypto.MemberKeys
	// Hints keeps the holder hints; nil keeps them in memory only.
	Hints Hints
	// Providers, when set, is the last resort of lookups.
	Providers Providers
	// Locate, when set, fetches a stripe's descriptor from a holder when
	// the hints do not have it (a restore from nothing), and lets a lookup
	// ask a peer once for all it holds of a stripe instead of once per
	// shard with has.
	Locate LocateFunc
	// NotFound, when set, is wrapped too by errors of unknown stripes (the
	// daemon passes backup.ErrNotFound); ErrNotFound always is.
	NotFound error

	// PerPeer bounds this node's streams in flight to one peer; holders
	// answer more with busy (shard.Limits.PerPeer, default 4).
	PerPeer int
	// Probes is how many peers are probed at once in a lookup (default 4).
	Probes int
	// SweepBeforeDHT is how many peers of a stripe's rendezvous order a
	// lookup asks before it asks the DHT; the rest come after (default 24).
	SweepBeforeDHT int
	// MaxAttempts bounds the holders tried for one shard of a Put
	// (default 5).
	MaxAttempts int
	// ShardTimeout plus the shard's size at MinRate bounds one shard
	// transfer (defaults 15 s and 256 KiB/s).
	ShardTimeout time.Duration
	MinRate      int64
	// HedgeAfter plus the shard's size at HedgeRate is how long a Get
	// waits on one holder before it asks another for a shard as well
	// (defaults 2 s and 4 MiB/s).
	HedgeAfter time.Duration
	HedgeRate  int64
	// ProbeTimeout bounds one has or locate request (default 5 s).
	ProbeTimeout time.Duration
	// UploadLimit caps, in bytes per second, the shard bytes Put sends,
	// over all its shards and concurrent Puts of this Blobs (upload.go);
	// 0: no limit, else at least MinUploadLimit.
	UploadLimit int64
	// Journal, when set, is the folder of the put journal (journal.go):
	// PutJournaled keeps each blob there until it is placed, so that
	// ResumePuts finishes a put a crash cut off instead of sending its
	// acknowledged shards again. "": no journal.
	Journal string
	// Log receives debug lines; nil discards them.
	Log *slog.Logger
}

// DefaultConfig returns the defaults, with Params 4+2 and no wiring.
func DefaultConfig() Config {
	return Config{
		Params:         erasure.DefaultParams,
		PerPeer:        shard.DefaultLimits().PerPeer,
		Probes:         4,
		SweepBeforeDHT: 24,
		MaxAttempts:    5,
		ShardTimeout:   15 * time.Second,
		MinRate:        256 << 10,
		HedgeAfter:     2 * time.Second,
		HedgeRate:      4 << 20,
		ProbeTimeout:   5 * time.Second,
	}
}

// Validate reports the first problem, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(f, a...))
	}
	if err := c.Params.Validate(); err != nil {
		return bad("params: %v", err)
	}
	switch {
	case c.Self == "":
		return bad("no Self")
	case c.Open == nil:
		return bad("no Open")
	case c.Peers == nil:
		return bad("no Peers")
	case c.PerPeer < 1, c.Probes < 1, c.MaxAttempts < 1, c.SweepBeforeDHT < 1:
		return bad("PerPeer, Probes, MaxAttempts and SweepBeforeDHT must be positive")
	case c.ShardTimeout <= 0, c.ProbeTimeout <= 0, c.HedgeAfter <= 0:
		return bad("timeouts must be positive")
	case c.MinRate <= 0, c.HedgeRate <= 0:
		return bad("rates must be positive")
	case c.UploadLimit < 0, c.UploadLimit > 0 && c.UploadLimit < MinUploadLimit:
		return bad("UploadLimit %d B/s: 0 (none) or at least %d", c.UploadLimit, MinUploadLimit)
	}
	return nil
}

// transferTimeout bounds one put or get of a shard of size bytes.
func (c *Config) transferTimeout(size int64) time.Duration {
	return c.ShardTimeout + time.Duration(float64(size)/float64(c.MinRate)*float64(time.Second))
}

// hedgeAfter is when a Get asks a second holder for a shard of size bytes.
func (c *Config) hedgeAfter(size int64) time.Duration {
	return c.HedgeAfter + time.Duration(float64(size)/float64(c.HedgeRate)*float64(time.Second))
}
