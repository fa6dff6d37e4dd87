package meshblobs

import "sync/atomic"

// Stats counts what a Blobs did since New: the figures behind the cost of
// lookups per GiB (docs/lookup.md). Requests count every attempt, answered
// or not.
type Stats struct {
	Puts, Gets, Hases   int64 // calls that succeeded (Has: answered, true or false)
	BlobBytesPut        int64 // blob bytes of successful Puts
	BlobBytesGot        int64 // blob bytes of successful Gets
	ShardPuts           int64 // shard put requests
	ShardPutRetries     int64 // shard puts sent again, to another holder or after busy
	ShardBytesPut       int64 // shard bytes acknowledged by holders
	ShardGets           int64 // shard get requests
	ShardGetFailures    int64 // of which failed (not held, wrong bytes, slow, unreachable)
	WrongShards         int64 // holders that sent bytes not matching the CID
	Hedges              int64 // holders asked because another was slow
	HasProbes           int64 // has requests (lookups by rendezvous probing)
	Locates             int64 // locate requests (descriptor and held shards of a stripe)
	ProviderLookups     int64 // DHT FindProviders calls
	HintHits            int64 // Gets and Hases that started from a hint record
	HintWrites          int64 // hint records written (new stripes, moved holders)
	Underplaced         int64 // stripes put with some peer holding two shards or more
	MinToleratesLosses  int   // fewest peer losses a stripe put so far tolerates; -1 before the first Put
	StripesPlacedSafely int64 // stripes put that survive the loss of a whole zone
}

type counters struct {
	puts, gets, hases                     atomic.Int64
	blobBytesPut, blobBytesGot            atomic.Int64
	shardPuts, shardPutRetries, shardPutB atomic.Int64
	shardGets, shardGetFailures, wrong    atomic.Int64
	hedges, hasProbes, locates            atomic.Int64
	providerLookups, hintHits, hintWrites atomic.Int64
	underplaced, zoneSafe                 atomic.Int64
	minTolerance                          atomic.Int64
}

// Stats returns the counters so far.
func (b *Blobs) Stats() Stats {
	c := &b.stats
	return Stats{
		Puts: c.puts.Load(), Gets: c.gets.Load(), Hases: c.hases.Load(),
		BlobBytesPut: c.blobBytesPut.Load(), BlobBytesGot: c.blobBytesGot.Load(),
		ShardPuts: c.shardPuts.Load(), ShardPutRetries: c.shardPutRetries.Load(), ShardBytesPut: c.shardPutB.Load(),
		ShardGets: c.shardGets.Load(), ShardGetFailures: c.shardGetFailures.Load(), WrongShards: c.wrong.Load(),
		Hedges: c.hedges.Load(), HasProbes: c.hasProbes.Load(), Locates: c.locates.Load(),
		ProviderLookups: c.providerLookups.Load(), HintHits: c.hintHits.Load(), HintWrites: c.hintWrites.Load(),
		Underplaced: c.underplaced.Load(), MinToleratesLosses: int(c.minTolerance.Load()),
		StripesPlacedSafely: c.zoneSafe.Load(),
	}
}

// noteTolerance lowers the minimum tolerance to t.
func (c *counters) noteTolerance(t int) {
	for {
		old := c.minTolerance.Load()
		if old >= 0 && old <= int64(t) {
			return
		}
		if c.minTolerance.CompareAndSwap(old, int64(t)) {
			return
		}
	}
}
