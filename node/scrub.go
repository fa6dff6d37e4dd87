package node

import (
	"context"
	"strconv"
	"time"

	"respaldo/node/store"
)

// Scrub: every ScrubInterval the node re-reads and re-hashes every shard it
// holds (store.DiskStore.Scrub, at scrubRate at most). A shard that fails
// is quarantined (moved to DIR/store/quarantine and dropped from the
// index), so this node no longer claims it: its own next pass finds the
// index without a holder if it still holds another shard of the stripe,
// and the co-holders find it when they next ask this node with locate
// (their rotation, or at once when the stripe does not look healthy to
// them). Either way the shard is rebuilt elsewhere, or here.

const (
	// DefaultScrubInterval: a full re-read of the store every three days.
	DefaultScrubInterval = 72 * time.Hour
	// scrubRate bounds the scrub's reads (16 MiB/s: a TiB in about 18 h).
	scrubRate = 16 << 20
)

func (n *Node) scrubInterval() time.Duration {
	if n.cfg.ScrubInterval > 0 {
		return n.cfg.ScrubInterval
	}
	return DefaultScrubInterval
}

// scrubLastKey is the record of when the last scrub finished (unix
// seconds, decimal), so a node restarted more often than ScrubInterval
// still scrubs.
var scrubLastKey = []byte("repair/scrub-last")

// scrubLoop scrubs the store until ctx ends: ScrubInterval after the last
// scrub (recorded), but not in the first few minutes after a start.
func (n *Node) scrubLoop(ctx context.Context) {
	every := n.scrubInterval()
	wait := every
	if b, err := n.store.Records().Get(ctx, scrubLastKey); err == nil {
		if sec, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			wait = time.Unix(sec, 0).Add(every).Sub(n.now())
		}
	}
	wait = max(wait, min(every, 5*time.Minute))
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.scrub(ctx)
		if ctx.Err() == nil {
			if err := n.store.Records().Put(ctx, scrubLastKey, []byte(strconv.FormatInt(n.now().Unix(), 10))); err != nil {
				n.log.Debug("scrub: time not recorded", "err", err)
			}
		}
		t.Reset(every)
	}
}

// scrub checks every held shard once, dropping the bad ones.
func (n *Node) scrub(ctx context.Context) {
	r := n.repair
	st, err := n.store.Scrub(ctx, store.ScrubOptions{BytesPerSec: scrubRate, Quarantine: true},
		func(ref store.ShardRef, err error) {
			n.log.Warn("scrub: shard dropped; it will be rebuilt", "shard", ref, "err", err)
		})
	r.stats.scrubbed.Add(int64(st.Shards))
	r.stats.scrubBad.Add(int64(st.Bad))
	if err != nil && ctx.Err() == nil {
		n.log.Warn("scrub", "err", err)
	}
	n.log.Debug("scrub done", "shards", st.Shards, "bytes", st.Bytes, "bad", st.Bad, "took", st.Duration)
	if st.Bad > 0 {
		r.wake()
	}
}
