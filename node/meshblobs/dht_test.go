package meshblobs

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/dht"
	"respaldo/erasure"
	"respaldo/node/placement"
	"respaldo/node/store"
)

// announcingStore tells the node's Announcer of every shard it takes, as
// the daemon would.
type announcingStore struct {
	store.Store
	a  *Announcer
	wg *sync.WaitGroup
}

func (s announcingStore) Put(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	if err := s.Store.Put(ctx, d, index, data); err != nil {
		return err
	}
	hs := HeldShard{Stripe: d.ID(), Index: index, Total: len(d.Shards)}
	s.wg.Go(func() { _, _ = s.a.Stored(context.Background(), hs) })
	return nil
}

func startDHT(t *testing.T, h host.Host, mode dht.Mode) *dht.DHT {
	t.Helper()
	cfg := dht.DefaultConfig()
	cfg.Mode = mode
	cfg.Timeout = scaled(10 * time.Second)
	d, err := dht.New(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// A reader whose peer table knows none of the holders finds them through
// the stripes' provider records. Each holder announces a new stripe as its
// store takes a shard; here every holder does (PerSlot = k+m), which a
// reader with nothing but the DHT needs, since a provider record names only
// the holder that made it.
func TestDHTFallback(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	var wg sync.WaitGroup
	anns := make([]*Announcer, len(sixZones))
	m := newTestMesh(t, sixZones, func(i int, s store.Store) store.Store {
		anns[i] = &Announcer{PerSlot: erasure.DefaultParams.Total()}
		return announcingStore{Store: s, a: anns[i], wg: &wg}
	})
	boot := peer.AddrInfo{ID: m.nodes[0].h.ID(), Addrs: m.nodes[0].h.Addrs()}
	for i, n := range m.nodes {
		d := startDHT(t, n.h, dht.ModeServer)
		anns[i].Provider = d
		if i > 0 {
			if _, err := d.Bootstrap(ctx, []peer.AddrInfo{boot}); err != nil {
				t.Fatal(err)
			}
		}
	}
	md := startDHT(t, m.member, dht.ModeClient)
	if _, err := md.Bootstrap(ctx, []peer.AddrInfo{boot}); err != nil {
		t.Fatal(err)
	}

	w := m.blobs(m.config(memberKeys()))
	wk := writeKeys(t)
	var ids []erasure.StripeID
	var blobs [][]byte
	for i := range 3 {
		blob := randBlob(uint64(i), 300_000+i)
		id, err := w.Put(ctx, blob, secrets(t, wk))
		if err != nil {
			t.Fatal(err)
		}
		ids, blobs = append(ids, id), append(blobs, blob)
	}
	wg.Wait()
	var n int64
	for _, a := range anns {
		n += a.Announced()
	}
	if want := int64(len(ids) * erasure.DefaultParams.Total()); n != want {
		t.Fatalf("%d announcements, want %d", n, want)
	}

	c := m.config(memberKeys())
	c.Providers = md
	c.Peers = func() []placement.Candidate { return m.peers()[:1] } // only itself
	r := m.blobs(c)
	for i, id := range ids {
		got, err := r.Get(ctx, id)
		if err != nil || !bytes.Equal(got, blobs[i]) {
			t.Fatalf("Get through the DHT: %v", err)
		}
	}
	st := r.Stats()
	t.Logf("reads through the DHT: %d provider lookups, %d locates, %d has probes, %d shard gets for %d blobs",
		st.ProviderLookups, st.Locates, st.HasProbes, st.ShardGets, st.Gets)
	if st.ProviderLookups == 0 {
		t.Error("no provider lookup")
	}
	// A second read uses the hints the first one left: no DHT lookup.
	before := r.Stats().ProviderLookups
	if _, err := r.Get(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if r.Stats().ProviderLookups != before {
		t.Error("a read with hints asked the DHT")
	}
}
