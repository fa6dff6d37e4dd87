package meshblobs

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/store"
)

// TestLookupCost measures the requests a read sends per stripe: with and
// without hints, with two holders down, and after the peer table changed
// (three storage nodes joined since the write, so placement's prediction is
// partly wrong and rendezvous probing finds the rest). docs/lookup.md
// quotes these figures; per GiB stored they are ×150, the stripes per GiB
// a backup of the benchmark mix makes (8 MiB packs and their metadata).
func TestLookupCost(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	m := newTestMesh(t, threeZones, nil)
	w := m.blobs(m.config(memberKeys()))
	wk := writeKeys(t)
	const stripes = 48
	ids := make([]erasure.StripeID, stripes)
	sizes := make([]int, stripes)
	for i := range ids {
		sizes[i] = 16<<10 + i
		var err error
		if ids[i], err = w.Put(ctx, randBlob(uint64(i), sizes[i]), secrets(t, wk)); err != nil {
			t.Fatal(err)
		}
	}
	put := w.Stats()
	t.Logf("put: %.2f shard puts per stripe, %d hint writes", per(put.ShardPuts, stripes), put.HintWrites)

	type row struct {
		name string
		b    *Blobs
	}
	measure := func(r row) Stats {
		before := r.b.Stats()
		readAll(t, ctx, r.b, ids, sizes, 0)
		after := r.b.Stats()
		d := Stats{
			HasProbes: after.HasProbes - before.HasProbes, Locates: after.Locates - before.Locates,
			ShardGets: after.ShardGets - before.ShardGets, ShardGetFailures: after.ShardGetFailures - before.ShardGetFailures,
			ProviderLookups: after.ProviderLookups - before.ProviderLookups,
		}
		t.Logf("%-36s per stripe: %5.2f has, %4.2f locate, %4.2f shard gets (%4.2f failed), %4.2f DHT lookups; %6.0f requests per GiB",
			r.name, per(d.HasProbes, stripes), per(d.Locates, stripes), per(d.ShardGets, stripes),
			per(d.ShardGetFailures, stripes), per(d.ProviderLookups, stripes),
			150*per(d.HasProbes+d.Locates+d.ShardGets+d.ProviderLookups, stripes))
		return d
	}
	if d := measure(row{"all up, hints", w}); d.HasProbes != 0 || d.ShardGets != 4*stripes {
		t.Errorf("with exact hints a read should take k gets and no probe: %+v", d)
	}
	if d := measure(row{"all up, no hints", m.blobs(m.config(memberKeys()))}); d.HasProbes != 0 || d.ShardGets != 4*stripes || d.Locates != stripes {
		t.Errorf("with an unchanged peer table the prediction should be exact: %+v", d)
	}
	// A reader that knows the descriptors but not where the shards are now
	// (stale hints), without a locate op: rendezvous probing with has.
	descOnly := func() *Blobs {
		c := m.config(memberKeys())
		c.Locate = nil
		r := m.blobs(c)
		for _, id := range ids {
			h := w.loadHint(ctx, id)
			h.holders = make([]peer.ID, len(h.holders))
			r.saveHint(ctx, id, h, nil)
		}
		return r
	}
	for _, z := range []mesh.Zone{"north", "south", "east"} {
		m.nodes = append(m.nodes, m.startNode(z, store.NewMemStore(0)))
	}
	measure(row{"3 joined, no hints (locate)", m.blobs(m.config(memberKeys()))})
	measure(row{"3 joined, descriptors only (has)", descOnly()})
	m.nodes[1].stop()
	m.nodes[4].stop()
	measure(row{"3 joined, 2 down, hints", w})
	measure(row{"3 joined, 2 down, no hints (locate)", m.blobs(m.config(memberKeys()))})
	measure(row{"3 joined, 2 down, descriptors (has)", descOnly()})
}
