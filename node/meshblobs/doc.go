// Package meshblobs stores blobs on the mesh: Blobs is node/backup's
// BlobStore (Put, Get, Has) over the shard protocol, and Announcer keeps the
// stripes' DHT provider records alive from the holders' side. It never
// dials by itself: the daemon hands in a stream opener (HostStreams), the
// peer table (placement candidates from mesh and roster), the member's keys
// and a place for holder hints. How holders are found, and what it costs,
// is in docs/lookup.md.
//
// # Put
//
// erasure.Encode, then placement.Place over the live peer table (never
// this node; at most m shards per zone; one per peer when there are k+m
// storage peers). The k+m shards go out at once, at most Config.PerPeer
// streams per peer, and only the shards go on the wire (plus one header
// with the descriptor each: 1.500 bytes per blob byte at 4+2 for 8 MiB
// packs). A holder that refuses (full, deleted, busy past retries) or
// fails is replaced with placement.Fill, the other shards pinned, up to
// Config.MaxAttempts holders per shard. Put returns after every holder
// acknowledged (stored durably), then records a hint: the descriptor and
// the holder of each shard, under HintPrefix in Config.Hints. LastPlacement
// and Stats report how many losses the stripes tolerate.
//
// # Get
//
// Candidates come from a lookup, cheapest first: the hint's holders; the
// holders Place predicts from the current table; the peers in the stripe's
// rendezvous order, asked with one locate request each (Config.Locate) or
// with has per shard; the stripe's DHT providers (Config.Providers). Get
// fetches k shards at once with read proofs (crypto.MemberKeys.ReadSecret of
// the descriptor's nonce), asks another holder when one is slower than
// Config.HedgeAfter (plus size at HedgeRate) or sends a wrong shard (never
// asking that liar again), joins with erasure.JoinVerified (each shard was
// checked against its CID as it arrived, once) and writes back where it
// found the shards. Costly steps begin only when the guesses do not suffice.
// Without a hint the descriptor comes from a holder through Config.Locate;
// the shard protocol lacks that op today (docs/lookup.md).
//
// # Errors
//
// ErrNeedsRecoveryKey (Get on a write-only node), ErrNotFound (also
// wrapping Config.NotFound, e.g. backup.ErrNotFound) when no holder has the
// stripe, ErrTooFewShards when fewer than k good shards were found,
// ErrInvalidConfig; shard, placement and erasure errors pass through
// wrapped.
//
// # Concurrency
//
// Blobs and Announcer are safe for concurrent use. Put does not retain the
// blob; Get's result belongs to the caller; no goroutine outlives a call,
// but for a hedge timer that ends as the call returns.
package meshblobs
