package dht

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	record "github.com/libp2p/go-libp2p-record"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

type node struct {
	h host.Host
	d *DHT
}

// startNode starts a host on 127.0.0.1 and a DHT on it (ModeServer, the
// datastore given or one in memory), both closed with the test (or earlier
// by stop).
func startNode(t *testing.T, key p2pcrypto.PrivKey, edit func(*Config)) *node {
	t.Helper()
	if key == nil {
		key = newKey(t)
	}
	h := startHost(t, testHostConfig(t, key, NewAllowList(allowAll().Allowed, nil)))
	cfg := DefaultConfig()
	cfg.Timeout = scaled(10 * time.Second)
	if edit != nil {
		edit(&cfg)
	}
	d, err := New(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{h: h, d: d}
	t.Cleanup(n.stop)
	return n
}

// stop closes the DHT, then the host; idempotent.
func (n *node) stop() {
	_ = n.d.Close()
	_ = n.h.Close()
}

// mesh starts count server nodes; every node after the first bootstraps
// from the first only.
func mesh(t *testing.T, count int) []*node {
	t.Helper()
	ns := make([]*node, count)
	for i := range ns {
		ns[i] = startNode(t, nil, nil)
	}
	for _, n := range ns[1:] {
		c, err := n.d.Bootstrap(testCtx(t, 10*time.Second), []peer.AddrInfo{infoOf(ns[0].h)})
		if err != nil || c != 1 {
			t.Fatalf("bootstrap: %d, %v", c, err)
		}
	}
	return ns
}

func putHead(t *testing.T, n *node, rec HeadRecord) int {
	t.Helper()
	held, err := n.d.PutHead(testCtx(t, 10*time.Second), rec)
	if err != nil {
		t.Fatal(err)
	}
	return held
}

func TestMesh(t *testing.T) {
	ns := mesh(t, 5)
	for i, n := range ns {
		if n.d.RoutingTableSize() == 0 {
			t.Fatalf("node %d: empty routing table after bootstrap", i)
		}
	}
	eventually(t, 10*time.Second, "full routing tables", func() bool {
		for _, n := range ns {
			if n.d.RoutingTableSize() != len(ns)-1 {
				return false
			}
		}
		return true
	})
	signer := newSigner(t, "laptop")
	key := KeyFor(signer.Verifier())
	sign := func(seq uint64, payload string) HeadRecord {
		r, err := SignHead(signer, seq, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("put on one, get from another", func(t *testing.T) {
		if held := putHead(t, ns[1], sign(1, "one")); held != len(ns)-1 {
			t.Fatalf("seq 1 held by %d peers, want %d", held, len(ns)-1)
		}
		for _, n := range []*node{ns[0], ns[4]} {
			got, err := n.d.GetHead(testCtx(t, 10*time.Second), key)
			if err != nil || got.Seq != 1 || string(got.Payload) != "one" {
				t.Fatalf("GetHead: %+v, %v", got, err)
			}
		}
	})

	t.Run("seq 2 wins", func(t *testing.T) {
		putHead(t, ns[1], sign(2, "two"))
		got, err := ns[3].d.GetHead(testCtx(t, 10*time.Second), key)
		if err != nil || got.Seq != 2 {
			t.Fatalf("GetHead after seq 2: %+v, %v", got, err)
		}
		if _, err := ns[1].d.PutHead(testCtx(t, 10*time.Second), sign(1, "one again")); err == nil {
			t.Fatal("the writer put seq 1 over its own seq 2")
		}
		// Sent straight to a holder, seq 1 is refused there too.
		val := mustMarshal(t, sign(1, "stale"))
		if err := sendPut(t, ns[2], ns[0].h.ID(), string(key), val); err == nil {
			t.Fatal("a holder of seq 2 accepted seq 1")
		}
	})

	t.Run("bad records refused", func(t *testing.T) {
		other := newSigner(t, "desktop")
		forged := sign(9, "forged")
		forged.Sig[3] ^= 0x40
		if _, err := ns[2].d.PutHead(testCtx(t, 10*time.Second), forged); err == nil {
			t.Fatal("local put of a forged head accepted")
		}
		cases := map[string]struct {
			key string
			val []byte
		}{
			"bad signature":      {string(key), mustMarshal(t, forged)},
			"key of another key": {string(KeyFor(other.Verifier())), mustMarshal(t, sign(10, "misfiled"))},
			"not a head":         {string(key), []byte("hello")},
		}
		for name, c := range cases {
			if err := sendPut(t, ns[2], ns[0].h.ID(), c.key, c.val); err == nil {
				t.Errorf("%s: a peer accepted it", name)
			}
		}
		got, err := ns[4].d.SearchHead(testCtx(t, 10*time.Second), key)
		if err != nil || got.Seq != 2 {
			t.Fatalf("after refused puts: %+v, %v", got, err)
		}
		if _, err := ns[4].d.GetHead(testCtx(t, 10*time.Second), KeyFor(other.Verifier())); !errors.Is(err, ErrNotFound) {
			t.Fatalf("misfiled key: %v", err)
		}
	})

	t.Run("search finds the newest held by one node", func(t *testing.T) {
		// Every node holds seq 2; only node 0 gets seq 3.
		if err := sendPut(t, ns[2], ns[0].h.ID(), string(key), mustMarshal(t, sign(3, "three"))); err != nil {
			t.Fatal(err)
		}
		got, err := ns[4].d.SearchHead(testCtx(t, 10*time.Second), key)
		if err != nil || got.Seq != 3 {
			t.Fatalf("SearchHead: %+v, %v", got, err)
		}
		// The search sent seq 3 to the peers that held less.
		eventually(t, 10*time.Second, "read repair", func() bool {
			for _, n := range ns {
				r, err := n.d.GetHead(testCtx(t, 5*time.Second), key)
				if err != nil || r.Seq != 3 {
					return false
				}
			}
			return true
		})
	})

	t.Run("provide and find", func(t *testing.T) {
		c := cid.NewCidV1(cid.Raw, must(mh.Sum([]byte("a shard"), mh.SHA2_256, -1)))
		if err := ns[2].d.Provide(testCtx(t, 10*time.Second), c); err != nil {
			t.Fatal(err)
		}
		ps, err := ns[4].d.FindProviders(testCtx(t, 10*time.Second), c, 1)
		if err != nil || len(ps) != 1 || ps[0].ID != ns[2].h.ID() {
			t.Fatalf("FindProviders: %v, %v", ps, err)
		}
		none := cid.NewCidV1(cid.Raw, must(mh.Sum([]byte("nobody has it"), mh.SHA2_256, -1)))
		if _, err := ns[4].d.FindProviders(testCtx(t, 10*time.Second), none, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("FindProviders of an unknown CID: %v", err)
		}
	})
}

// sendPut sends a PUT_VALUE straight to p, bypassing from's own checks.
func sendPut(t *testing.T, from *node, p peer.ID, key string, val []byte) error {
	t.Helper()
	pm, err := kadpb.NewProtocolMessenger(from.d.Kad().MessageSender())
	if err != nil {
		t.Fatal(err)
	}
	return pm.PutValue(testCtx(t, 5*time.Second), p, record.MakePutRecord(key, val))
}

// newHeadSigner returns a func signing heads of a fresh device.
func newHeadSigner(t *testing.T) (HeadKey, func(seq uint64, payload string) HeadRecord) {
	s := newSigner(t, "laptop")
	return KeyFor(s.Verifier()), func(seq uint64, payload string) HeadRecord {
		r, err := SignHead(s, seq, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func TestRestartKeepsRecords(t *testing.T) {
	kv := newMemKV() // stands for the node's badger records
	keyA := newKey(t)
	persistent := func(c *Config) { c.Datastore = NewKVDatastore(kv, "dht", errMemNotFound) }
	a := startNode(t, keyA, persistent)
	w := startNode(t, nil, nil)
	if _, err := w.d.Bootstrap(testCtx(t, 10*time.Second), []peer.AddrInfo{infoOf(a.h)}); err != nil {
		t.Fatal(err)
	}
	key, sign := newHeadSigner(t)
	if held := putHead(t, w, sign(4, "four")); held != 1 {
		t.Fatalf("held by %d peers, want 1", held)
	}
	c := cid.NewCidV1(cid.Raw, must(mh.Sum([]byte("shard"), mh.SHA2_256, -1)))
	if err := w.d.Provide(testCtx(t, 10*time.Second), c); err != nil {
		t.Fatal(err)
	}
	wID := w.h.ID()
	// ADD_PROVIDER has no answer: wait until a has handled it.
	eventually(t, 5*time.Second, "a to record the provider", func() bool {
		ps, err := a.d.Kad().ProviderStore().GetProviders(t.Context(), c.Hash())
		return err == nil && len(ps) == 1
	})
	w.stop() // the writer is gone for good
	a.stop()

	a2 := startNode(t, keyA, persistent) // same identity, same records
	heads, err := a2.d.StoredHeads(t.Context())
	if err != nil || len(heads) != 1 || heads[0].Seq != 4 {
		t.Fatalf("StoredHeads after restart: %+v, %v", heads, err)
	}
	r := startNode(t, nil, nil)
	if _, err := r.d.Bootstrap(testCtx(t, 10*time.Second), []peer.AddrInfo{infoOf(a2.h)}); err != nil {
		t.Fatal(err)
	}
	got, err := r.d.GetHead(testCtx(t, 10*time.Second), key)
	if err != nil || got.Seq != 4 || string(got.Payload) != "four" {
		t.Fatalf("GetHead from the restarted node: %+v, %v", got, err)
	}
	ps, err := r.d.FindProviders(testCtx(t, 10*time.Second), c, 1)
	if err != nil || len(ps) != 1 || ps[0].ID != wID {
		t.Fatalf("provider record after restart: %v, %v", ps, err)
	}
}

func TestRecordAgeAndRepublish(t *testing.T) {
	age := scaled(time.Second)
	short := func(c *Config) { c.MaxRecordAge = age }
	a := startNode(t, nil, short)
	b := startNode(t, nil, short)
	if _, err := b.d.Bootstrap(testCtx(t, 10*time.Second), []peer.AddrInfo{infoOf(a.h)}); err != nil {
		t.Fatal(err)
	}
	key, sign := newHeadSigner(t)
	putHead(t, b, sign(1, "one"))

	// Republished within its age, the head stays.
	time.Sleep(age * 6 / 10)
	if n, err := a.d.Republish(t.Context()); err != nil || n != 1 {
		t.Fatalf("Republish: %d, %v", n, err)
	}
	time.Sleep(age * 6 / 10)
	if _, err := b.d.GetHead(testCtx(t, 10*time.Second), key); err != nil {
		t.Fatalf("head gone although republished: %v", err)
	}

	// Left alone past its age, it is dropped everywhere...
	time.Sleep(age + age/5)
	if _, err := b.d.GetHead(testCtx(t, 10*time.Second), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired head: %v", err)
	}
	if heads, _ := a.d.StoredHeads(t.Context()); len(heads) != 0 {
		t.Fatalf("a still stores %d heads after a read dropped them", len(heads))
	}
}

func TestMembersOnly(t *testing.T) {
	members := allowOnly()
	onlyMembers := func(c *Config) { c.Members = members.Allowed }
	a := startNode(t, nil, onlyMembers)
	b := startNode(t, nil, onlyMembers)
	g := startNode(t, nil, nil) // a guest the gater let in: not in the roster
	members.set(a.h.ID(), true)
	members.set(b.h.ID(), true)
	if _, err := b.d.Bootstrap(testCtx(t, 10*time.Second), []peer.AddrInfo{infoOf(a.h)}); err != nil {
		t.Fatal(err)
	}
	key, sign := newHeadSigner(t)
	putHead(t, b, sign(1, "one"))

	_, err := g.d.Bootstrap(testCtx(t, time.Second), []peer.AddrInfo{infoOf(a.h)})
	t.Logf("guest bootstrap: %v", err)
	if slices.Contains(a.d.Kad().RoutingTable().ListPeers(), g.h.ID()) {
		t.Fatal("a guest entered a member's routing table")
	}
	if _, err := g.d.GetHead(testCtx(t, 3*time.Second), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a guest read a head: %v", err)
	}
	if _, err := a.d.GetHead(testCtx(t, 10*time.Second), key); err != nil {
		t.Fatalf("a member: %v", err)
	}
}
