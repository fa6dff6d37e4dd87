package meshblobs

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"respaldo/crypto"
	"respaldo/dht"
	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
	"respaldo/node/shard"
	"respaldo/node/store"
)

// scaled multiplies d by RESPALDO_TEST_TIMESCALE (a float, default 1).
func scaled(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv("RESPALDO_TEST_TIMESCALE"), 64); err == nil && f > 0 {
		return time.Duration(float64(d) * f)
	}
	return d
}

// testCtx is bounded by a scaled timeout and ends with the test.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), scaled(d))
	t.Cleanup(cancel)
	return ctx
}

// The member's keys, made once per test binary (the hybrid identity is
// slow to derive).
var testRK = func() crypto.RecoveryKey {
	k, err := crypto.GenerateRecoveryKey()
	if err != nil {
		panic(err)
	}
	return k
}()

var (
	memberKeysOnce sync.Once
	memberKeysVal  *crypto.MemberKeys
)

func memberKeys() *crypto.MemberKeys {
	memberKeysOnce.Do(func() { memberKeysVal = testRK.Member() })
	return memberKeysVal
}

func writeKeys(t testing.TB) *crypto.WriteKeys {
	t.Helper()
	w, err := testRK.WriteKeys("laptop")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// secrets draws fresh stripe secrets, as the backup code does.
func secrets(t testing.TB, w *crypto.WriteKeys) erasure.Secrets {
	t.Helper()
	s, err := w.NewStripeSecrets()
	if err != nil {
		t.Fatal(err)
	}
	return erasure.Secrets{Nonce: [32]byte(s.Nonce), DeleteKey: [32]byte(s.DeleteKey), ReadKey: [32]byte(s.ReadKey)}
}

// newHost starts a libp2p host on 127.0.0.1 (TCP only), ungated in effect,
// with no port mapping and no metrics; closed with the test.
func newHost(t testing.TB) host.Host {
	t.Helper()
	key, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dht.DefaultHostConfig()
	cfg.Key = key
	cfg.Gater = dht.NewAllowList(func(peer.ID) bool { return true }, nil)
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.NATPortMap = false
	cfg.Registerer = nil
	h, err := dht.NewHost(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// storageNode is one storage host serving the shard protocol.
type storageNode struct {
	h       host.Host
	zone    mesh.Zone
	st      store.Store
	stopped atomic.Bool
	// what the member's table says of it; zero: 1 TiB free, always up
	free  int64
	avail float64
}

func (n *storageNode) id() mesh.PeerID { return mesh.PeerID(n.h.ID().String()) }

// stop closes the host: its peers see connections drop and dials fail.
func (n *storageNode) stop() {
	n.stopped.Store(true)
	_ = n.h.Close()
}

// testMesh is a member's host and storage hosts, all on 127.0.0.1.
type testMesh struct {
	t      testing.TB
	member host.Host
	own    store.Store // the member's node stores shards too, of others' stripes
	nodes  []*storageNode
	// bytes the member's shard streams wrote and read
	sent, recv atomic.Int64
}

// newTestMesh starts the member and one storage node per zone entry, each
// over a MemStore, or over wrap(MemStore) when wrap is set.
func newTestMesh(t testing.TB, zones []mesh.Zone, wrap func(i int, s store.Store) store.Store) *testMesh {
	t.Helper()
	m := &testMesh{t: t, member: newHost(t), own: store.NewMemStore(0)}
	serve(m.member, m.own)
	for i, z := range zones {
		var st store.Store = store.NewMemStore(0)
		if wrap != nil {
			st = wrap(i, st)
		}
		m.nodes = append(m.nodes, m.startNode(z, st))
	}
	return m
}

func (m *testMesh) startNode(zone mesh.Zone, st store.Store) *storageNode {
	h := newHost(m.t)
	n := &storageNode{h: h, zone: zone, st: st}
	serve(h, st)
	m.member.Peerstore().AddAddrs(h.ID(), h.Addrs(), peerstore.PermanentAddrTTL)
	return n
}

// serve runs a shard handler over st on h.
func serve(h host.Host, st store.Store) {
	hd := &shard.Handler{Store: st, Self: h.ID().String()}
	h.SetStreamHandler(shard.ProtocolID, func(s network.Stream) {
		_ = hd.Serve(context.Background(), s.Conn().RemotePeer().String(), s)
		_ = s.Close()
	})
}

// peers is the member's peer table: every storage node, live as far as the
// member knows (a stopped node stays live until heartbeats say otherwise),
// and the member's own node, a storage node too, in the first zone.
func (m *testMesh) peers() []placement.Candidate {
	out := []placement.Candidate{{ID: mesh.PeerID(m.member.ID().String()), Zone: m.nodes[0].zone, Role: mesh.RoleStorage, Live: true, FreeBytes: 1 << 40, Availability: 1}}
	for _, n := range m.nodes {
		c := placement.Candidate{ID: n.id(), Zone: n.zone, Role: mesh.RoleStorage, Live: true, FreeBytes: 1 << 40, Availability: 1}
		if n.free > 0 {
			c.FreeBytes, c.Availability = n.free, n.avail
		}
		out = append(out, c)
	}
	return out
}

// neutralPeers is the table of a fresh machine: the same peers, each with
// the neutral availability prior and the same free space.
func (m *testMesh) neutralPeers() []placement.Candidate {
	out := m.peers()
	for i := range out {
		out[i].FreeBytes, out[i].Availability = 1<<40, 0.5
	}
	return out
}

// open opens shard streams from the member, counting their bytes.
func (m *testMesh) open(ctx context.Context, p peer.ID) (Stream, error) {
	s, err := HostStreams(m.member)(ctx, p)
	if err != nil {
		return nil, err
	}
	return &countingStream{Stream: s, sent: &m.sent, recv: &m.recv}, nil
}

// config is a Config for the member's Blobs over the mesh.
func (m *testMesh) config(keys *crypto.MemberKeys) Config {
	c := DefaultConfig()
	c.Self = m.member.ID()
	c.Open = m.open
	c.Peers = m.peers
	c.Keys = keys
	c.Hints = NewMemHints()
	c.Locate = LocateVia(m.open) // the shard protocol's locate op
	return c
}

func (m *testMesh) blobs(c Config) *Blobs {
	m.t.Helper()
	b, err := New(c)
	if err != nil {
		m.t.Fatal(err)
	}
	return b
}

// holdersOf lists, by shard index, the nodes whose stores hold the shard.
func (m *testMesh) holdersOf(ctx context.Context, id erasure.StripeID, n int) [][]*storageNode {
	out := make([][]*storageNode, n)
	for _, nd := range m.nodes {
		for i := range n {
			if ok, _ := nd.st.Has(ctx, store.ShardRef{Stripe: id, Index: i}); ok {
				out[i] = append(out[i], nd)
			}
		}
	}
	return out
}

// countingStream counts the bytes a Stream moves.
type countingStream struct {
	Stream
	sent, recv *atomic.Int64
}

func (c *countingStream) Write(p []byte) (int, error) {
	n, err := c.Stream.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

func (c *countingStream) Read(p []byte) (int, error) {
	n, err := c.Stream.Read(p)
	c.recv.Add(int64(n))
	return n, err
}

// randBlob returns n bytes from a seeded generator.
func randBlob(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		if i%8 == 0 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		b[i] = byte(x >> (8 * (i % 8)))
	}
	return b
}
