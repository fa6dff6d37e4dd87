package node

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"respaldo/node/meshblobs"
)

// The member side's shard counters: what this node's backups sent to
// holders since the process started, summed over each backup's
// meshblobs.Blobs (watchedBlobs adds as Puts return). They are served at
// GET /metrics (node/api: a Backend with a Metrics method) and let
// scripts/test-crash.sh measure that a resumed backup does not send again
// what an interrupted one placed (docs/crash.md).
type shardCounters struct {
	blobPuts, blobBytes     atomic.Int64 // blobs stored (every shard acknowledged)
	shardPuts, shardRetries atomic.Int64 // shard put requests, of which sent again
	shardBytes              atomic.Int64 // shard bytes acknowledged by holders
}

// add adds now − before.
func (c *shardCounters) add(now, before meshblobs.Stats) {
	c.blobPuts.Add(now.Puts - before.Puts)
	c.blobBytes.Add(now.BlobBytesPut - before.BlobBytesPut)
	c.shardPuts.Add(now.ShardPuts - before.ShardPuts)
	c.shardRetries.Add(now.ShardPutRetries - before.ShardPutRetries)
	c.shardBytes.Add(now.ShardBytesPut - before.ShardBytesPut)
}

// Metrics gathers the node's own counters (node/api.MetricsSource).
func (b *backend) Metrics() prometheus.Gatherer {
	c := &b.n.member.sent
	reg := prometheus.NewRegistry()
	counter := func(name, help string, v *atomic.Int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v.Load()) }))
	}
	counter("respaldo_backup_blob_puts_total", "Blobs (packs, trees, index, snapshots, catalogs) this node's backups stored in the mesh.", &c.blobPuts)
	counter("respaldo_backup_blob_bytes_total", "Bytes of the blobs this node's backups stored in the mesh.", &c.blobBytes)
	counter("respaldo_backup_shard_puts_total", "Shard put requests this node's backups sent to holders.", &c.shardPuts)
	counter("respaldo_backup_shard_put_retries_total", "Shard puts this node's backups sent again (another holder, or after busy).", &c.shardRetries)
	counter("respaldo_backup_shard_bytes_total", "Shard bytes of this node's backups acknowledged by holders.", &c.shardBytes)
	b.n.registerRepairMetrics(reg) // repairloop_metrics.go
	return reg
}
