package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"time"

	"respaldo/crypto"
	"respaldo/dht"
	"respaldo/erasure"
	"respaldo/node/backup"
	"respaldo/node/meshblobs"
	"respaldo/node/placement"
	"respaldo/node/roster"
	"respaldo/node/store"
)

// The node's two sides of the mesh BlobStore (docs/daemon.md, "Blobs"):
//
//   - as a holder, its shard handler stores into heldStore, which tells the
//     Announcer of every shard taken, and Run republishes the provider
//     records of the stripes it holds (one announcement per stripe per 22 h
//     for the whole mesh: docs/lookup.md);
//   - as a member's node, blobs returns a meshblobs.Blobs over the host:
//     placement over the live peer table, holder hints in the node's
//     records, locate and the DHT's provider records for lookups.

// AnnounceEvery is how often Run hands the shards this node holds to the
// Announcer (which announces only the stripes whose slot has come).
var AnnounceEvery = time.Hour

// heldStore is the store as the shard handler sees it: a put that lands is
// announced in the background (the announcement must not delay the ack).
type heldStore struct {
	store.Store
	n *Node
}

// ReadLent passes the store's lending through (store.Lender).
func (s heldStore) ReadLent(ctx context.Context, ref store.ShardRef) ([]byte, func(), error) {
	return store.ReadLent(ctx, s.Store, ref)
}

func (s heldStore) Put(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	if err := s.Store.Put(ctx, d, index, data); err != nil {
		return err
	}
	hs := meshblobs.HeldShard{Stripe: d.ID(), Index: index, Total: len(d.Shards)}
	s.n.goBackground(func(ctx context.Context) {
		if _, err := s.n.announce.Stored(ctx, hs); err != nil {
			s.n.log.Debug("announce failed; the next round retries", "err", err)
		}
	})
	return nil
}

// goBackground runs fn in a goroutine that Close waits for; fn's ctx ends
// when the node closes. It does nothing once the node is closing.
func (n *Node) goBackground(fn func(ctx context.Context)) {
	n.smu.Lock()
	defer n.smu.Unlock()
	if n.closing {
		return
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		fn(n.life)
	}()
}

// ecParams is the geometry of this node's new stripes (Config.EC).
func (n *Node) ecParams() (erasure.Params, error) {
	k, m, err := roster.ParseEC(n.cfg.EC)
	if err != nil {
		return erasure.Params{}, err
	}
	p := erasure.Params{K: k, M: m}
	return p, p.Validate()
}

// candidates is the live peer table as placement takes it.
func (n *Node) candidates() []placement.Candidate {
	return placement.FromMesh(n.table.Peers(n.now()))
}

// blobs returns a mesh BlobStore for this node's member: with keys nil it
// can put, look up and check stripes, and its Get fails with
// meshblobs.ErrNeedsRecoveryKey; with the member's keys it reads too. Each
// call returns a new one, so its Stats count one operation's work; the
// holder hints are shared through the node's records.
func (n *Node) blobs(keys *crypto.MemberKeys) (*meshblobs.Blobs, error) {
	p, err := n.ecParams()
	if err != nil {
		return nil, err
	}
	open := n.openShard(meshblobs.HostStreams(n.host))
	c := meshblobs.DefaultConfig()
	c.Self, c.Open, c.Peers, c.Params, c.Keys = n.self, open, n.candidates, p, keys
	// A reader asks this node too: a storage node holds shards of stripes
	// that other nodes wrote (another device of the member, or the member's
	// lost machine when restoring from nothing).
	c.ReadSelf = keys != nil
	c.Hints, c.Providers, c.Locate = n.store.Records(), n.dht, meshblobs.LocateVia(open)
	c.NotFound, c.Log = backup.ErrNotFound, n.log
	c.UploadLimit = n.cfg.LimitUpload // --limit-upload: shard puts throttled (meshblobs/upload.go)
	// Packs in flight are kept here until recorded, so a backup a crash
	// cut off is finished rather than sent again (meshblobs/journal.go).
	c.Journal = n.journalDir()
	return meshblobs.New(c)
}

// journalDir is the folder of the member's put journal.
func (n *Node) journalDir() string { return filepath.Join(n.dir, "inflight") }

// heldShards lists the shards this node holds, as the Announcer takes them.
func (n *Node) heldShards(ctx context.Context) ([]meshblobs.HeldShard, error) {
	var out []meshblobs.HeldShard
	totals := map[erasure.StripeID]int{}
	err := n.store.List(ctx, func(si store.ShardInfo) error {
		id := si.Ref.Stripe
		t, ok := totals[id]
		if !ok {
			d, err := n.store.Descriptor(ctx, id)
			if err != nil {
				return nil // deleted meanwhile
			}
			t = len(d.Shards)
			totals[id] = t
		}
		out = append(out, meshblobs.HeldShard{Stripe: id, Index: si.Ref.Index, Total: t})
		return nil
	})
	return out, err
}

// maintain republishes, until ctx ends, the provider records of the stripes
// this node holds (every AnnounceEvery) and the head records it stores
// (every headRepublishEvery, jittered by ±10% so that nodes restarted
// together do not republish together). It starts with both, after a short
// delay for the first connections: a node that was down long must put its
// records back before their age runs out.
func (n *Node) maintain(ctx context.Context) {
	jitter := func(d time.Duration) time.Duration {
		return d + time.Duration((rand.Float64()-0.5)*0.2*float64(d))
	}
	announce := time.NewTimer(jitter(3 * n.cfg.Heartbeat))
	heads := time.NewTimer(jitter(5 * n.cfg.Heartbeat))
	defer announce.Stop()
	defer heads.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-announce.C:
			held, err := n.heldShards(ctx)
			if err == nil {
				var k int
				k, err = n.announce.Republish(ctx, held)
				n.log.Debug("stripes announced", "count", k, "held_shards", len(held))
			}
			if err != nil && ctx.Err() == nil {
				n.log.Info("announcing held stripes", "err", err)
			}
			announce.Reset(jitter(AnnounceEvery))
		case <-heads.C:
			k, err := n.dht.Republish(ctx)
			if err != nil && ctx.Err() == nil {
				n.log.Info("republishing head records", "count", k, "err", err)
			}
			heads.Reset(jitter(n.headRepublishEvery()))
		}
	}
}

// headRepublishEvery is how often the node puts back the head records it
// stores: Config.HeadRepublish, else an eighth of the record age, so a
// record survives several missed rounds.
func (n *Node) headRepublishEvery() time.Duration {
	if n.cfg.HeadRepublish > 0 {
		return n.cfg.HeadRepublish
	}
	return n.recordAge() / 8
}

func (n *Node) recordAge() time.Duration {
	if n.cfg.RecordAge > 0 {
		return n.cfg.RecordAge
	}
	return dht.DefaultConfig().MaxRecordAge
}

// errNoMember: this node has no member keys (set up without a member).
var errNoMember = errors.New("this node belongs to no member: set it up with respaldo mesh create or respaldo join")
