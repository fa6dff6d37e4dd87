package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"

	"respaldo/dht"
	"respaldo/node/mesh"
	"respaldo/node/roster"
	"respaldo/node/shard"
)

// livePeers checks that n's peer table shows want (peer → zone) live.
func livePeers(n *Node, want map[peer.ID]roster.Zone) error {
	got := map[mesh.PeerID]PeerInfo{}
	for _, p := range n.Peers() {
		got[p.ID] = p
	}
	for id, zone := range want {
		p, ok := got[mesh.PeerID(id.String())]
		switch {
		case !ok:
			return fmt.Errorf("%s: %s not in the table", shortID(n.ID()), shortID(id))
		case !p.Live || p.Zone != zone || p.Role != roster.RoleStorage || p.Seq == 0:
			return fmt.Errorf("%s: %s is %+v", shortID(n.ID()), shortID(id), p)
		}
	}
	return nil
}

// outsider is a host that is not in the roster (its own gater lets
// everyone in, so only the mesh's gaters decide).
func outsider(t *testing.T) host.Host {
	k, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hc := dht.DefaultHostConfig()
	hc.Key, hc.NATPortMap = k, false
	hc.ListenAddrs = testConfig().Listen
	hc.Gater = dht.NewAllowList(func(peer.ID) bool { return true }, nil)
	h, err := dht.NewHost(context.Background(), hc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestMesh(t *testing.T) {
	ctx := context.Background()
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	created, err := CreateMesh(ctx, dirA, testConfig(), "z0")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{IdentityFile, OperatorFile, ConfigFile} {
		if fi, err := os.Stat(filepath.Join(dirA, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	if _, err := CreateMesh(ctx, dirA, testConfig(), ""); err == nil {
		t.Fatal("CreateMesh over an existing mesh succeeded")
	}
	op, err := LoadOperatorKey(dirA)
	if err != nil || op.Public().Fingerprint() != created.Operator {
		t.Fatalf("operator key: %v", err)
	}
	if _, err := Open(ctx, dirB, testConfig(), nil); err == nil {
		t.Fatal("Open without a roster succeeded")
	}

	a := start(t, dirA)
	if a.ID() != created.PeerID || a.Roster().MeshID() != created.MeshID {
		t.Fatalf("A is %s of %s, created %+v", a.ID(), a.Roster().MeshID(), created)
	}
	idB, _ := PeerIDOf(dirB)
	idC, _ := PeerIDOf(dirC)
	for id, z := range map[peer.ID]roster.Zone{idB: "z1", idC: "z2"} {
		if _, err := a.AdmitPeer(op, id, z, roster.RoleStorage); err != nil {
			t.Fatal(err)
		}
	}
	// Stand-in for the join protocol (next): B and C get A's roster on disk.
	for _, d := range []string{dirB, dirC} {
		if err := WriteRoster(ctx, d, a.Roster()); err != nil {
			t.Fatal(err)
		}
	}
	b, c := start(t, dirB), start(t, dirC)
	for _, n := range []*Node{b, c} {
		if err := n.Connect(ctx, a.AddrInfo()); err != nil {
			t.Fatal(err)
		}
	}
	zones := map[peer.ID]roster.Zone{a.ID(): "z0", b.ID(): "z1", c.ID(): "z2"}
	for _, n := range []*Node{a, b, c} {
		want := map[peer.ID]roster.Zone{}
		for id, z := range zones {
			if id != n.ID() {
				want[id] = z
			}
		}
		eventually(t, 10*time.Second, "peer table of "+shortID(n.ID()), func() error { return livePeers(n, want) })
	}
	st, err := b.Status(ctx)
	if err != nil || st.PeersTotal != 2 || st.PeersOnline != 2 || st.Zone != "z1" || st.PeerID != b.ID().String() {
		t.Fatalf("status of B: %+v %v", st, err)
	}

	t.Run("outsider refused", func(t *testing.T) {
		d := outsider(t)
		d.Peerstore().AddAddrs(a.ID(), a.Host().Addrs(), peerstore.TempAddrTTL)
		for _, proto := range []string{shard.ProtocolID, RosterProtocol} {
			sctx, cancel := context.WithTimeout(ctx, scale(5*time.Second))
			s, err := d.NewStream(sctx, a.ID(), protocol.ID(proto))
			if err == nil {
				// The stream may open before the gater's verdict lands;
				// then it must die unanswered.
				_ = s.SetDeadline(time.Now().Add(scale(2 * time.Second)))
				_, _ = s.Write([]byte{1, 0})
				var buf [1]byte
				if _, rerr := s.Read(buf[:]); rerr == nil {
					t.Errorf("%s: an outsider got an answer", proto)
				}
				s.Reset()
			}
			cancel()
		}
		// Its heartbeats, were they relayed, are rejected: not a member,
		// and a heartbeat must name its signer.
		hb, _ := b.heartbeat(ctx, 1)
		data, _ := hb.Marshal()
		if _, ok := a.checkHeartbeat(b.ID(), b.ID(), data); !ok {
			t.Error("a member's heartbeat refused")
		}
		if _, ok := a.checkHeartbeat(b.ID(), d.ID(), data); ok {
			t.Error("a heartbeat naming another peer accepted")
		}
		hb.Peer = mesh.PeerID(d.ID().String())
		data, _ = hb.Marshal()
		if _, ok := a.checkHeartbeat(b.ID(), d.ID(), data); ok {
			t.Error("an outsider's heartbeat accepted")
		}
		if _, ok := a.table.Peer(hb.Peer, a.now()); ok {
			t.Error("the outsider is in the table")
		}

		// Admitted afterwards: B and C learn it by roster sync.
		if _, err := a.AdmitPeer(op, d.ID(), "z3", roster.RoleStorage); err != nil {
			t.Fatal(err)
		}
		head, _ := a.Roster().Head()
		for _, n := range []*Node{b, c} {
			eventually(t, 5*time.Second, "admit reaches "+shortID(n.ID()), func() error {
				if s, _ := n.Roster().Head(); s != head || !n.allowed(d.ID()) {
					return fmt.Errorf("head %d, want %d", s, head)
				}
				return nil
			})
		}
	})

	t.Run("revoke", func(t *testing.T) {
		if _, err := a.RevokePeer(op, c.ID(), "test"); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*Node{a, b} {
			eventually(t, 5*time.Second, shortID(n.ID())+" drops C", func() error {
				if n.Host().Network().Connectedness(c.ID()) == network.Connected {
					return fmt.Errorf("still connected")
				}
				if n.allowed(c.ID()) {
					return fmt.Errorf("roster still allows C")
				}
				for _, p := range n.Peers() {
					if p.ID == mesh.PeerID(c.ID().String()) && (p.Live || p.Member) {
						return fmt.Errorf("C in the table: %+v", p)
					}
				}
				return nil
			})
		}
		sctx, cancel := context.WithTimeout(ctx, scale(5*time.Second))
		defer cancel()
		if s, err := c.Host().NewStream(sctx, a.ID(), RosterProtocol); err == nil {
			_ = s.SetDeadline(time.Now().Add(scale(2 * time.Second)))
			var buf [1]byte
			if _, rerr := s.Read(buf[:]); rerr == nil {
				t.Error("a revoked peer got an answer")
			}
			s.Reset()
		}
	})

	t.Run("restart", func(t *testing.T) {
		seq, head := b.Roster().Head()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		b2 := start(t, dirB)
		if b2.ID() != idB {
			t.Fatalf("peer ID %s after restart, was %s", b2.ID(), idB)
		}
		if s2, h2 := b2.Roster().Head(); s2 != seq || h2 != head {
			t.Fatalf("roster head %d after restart, was %d", s2, seq)
		}
		if b2.allowed(c.ID()) {
			t.Fatal("revocation lost in the restart")
		}
		// B dials A again from its address book, and they see each other.
		eventually(t, 10*time.Second, "B back in A's table", func() error {
			if a.Host().Network().Connectedness(idB) != network.Connected {
				return fmt.Errorf("A not connected to B")
			}
			return livePeers(a, map[peer.ID]roster.Zone{idB: "z1"})
		})
		eventually(t, 10*time.Second, "A back in B's table", func() error {
			return livePeers(b2, map[peer.ID]roster.Zone{a.ID(): "z0"})
		})
	})
}

// TestRosterFork: two nodes whose logs hold different entries at one seq
// both report the fork and keep their own branch.
func TestRosterFork(t *testing.T) {
	ctx := context.Background()
	dirA, dirB := t.TempDir(), t.TempDir()
	if _, err := CreateMesh(ctx, dirA, testConfig(), "z0"); err != nil {
		t.Fatal(err)
	}
	op, err := LoadOperatorKey(dirA)
	if err != nil {
		t.Fatal(err)
	}
	a := start(t, dirA)
	idB, _ := PeerIDOf(dirB)
	if _, err := a.AdmitPeer(op, idB, "z1", roster.RoleStorage); err != nil {
		t.Fatal(err)
	}
	forked, err := roster.Decode(a.Roster().Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forked.Admit(op, roster.Admission{Peer: "12D3KooWForkedPeerY", Zone: "zy", Role: roster.RoleStorage}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := WriteRoster(ctx, dirB, forked); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AdmitPeer(op, "12D3KooWForkedPeerX", "zx", roster.RoleStorage); err != nil {
		t.Fatal(err)
	}
	headA, _ := a.Roster().Head()
	b := start(t, dirB)
	if err := b.Connect(ctx, a.AddrInfo()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{a, b} {
		eventually(t, 5*time.Second, shortID(n.ID())+" reports the fork", func() error {
			f := n.Fork()
			if f == nil {
				return fmt.Errorf("no fork reported")
			}
			if f.Seq != headA {
				return fmt.Errorf("fork at %d, want %d", f.Seq, headA)
			}
			return nil
		})
		if s, _ := n.Roster().Head(); s != headA {
			t.Fatalf("%s: head %d, want %d", shortID(n.ID()), s, headA)
		}
	}
	if a.Roster().Allowed("12D3KooWForkedPeerY", time.Now()) || !b.Roster().Allowed("12D3KooWForkedPeerY", time.Now()) {
		t.Fatal("a branch was taken over")
	}
	if st, _ := b.Status(ctx); st.RosterFork == "" {
		t.Fatal("status does not show the fork")
	}
}
