package node_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/roster"
	"respaldo/node/shard"
	"respaldo/node/testmesh"
)

// joinFor invites a client node to m through node 0 with a membership of
// term, joins it from a new dir, runs it until the test ends, and returns
// it.
func joinFor(t *testing.T, ctx context.Context, m *testmesh.Mesh, term time.Duration) *node.Node {
	t.Helper()
	inv, err := m.Nodes[0].InviteMember(ctx, m.Operator, "laptops", "client", time.Minute, term)
	if err != nil {
		t.Fatal(err)
	}
	if inv, err = node.ParseInvite(inv.String()); err != nil {
		t.Fatal(err)
	}
	n, err := node.Join(ctx, t.TempDir(), testmesh.Config(), inv, nil)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(rctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = n.Close()
	})
	return n
}

// connected reports an error unless every running node of m and x are
// connected (want) or none is (!want).
func connectedTo(m *testmesh.Mesh, x *node.Node, want bool) error {
	for i, y := range m.Nodes {
		if y.Node == nil {
			continue
		}
		if got := len(y.Host().Network().ConnsToPeer(x.ID())) > 0; got != want {
			return fmt.Errorf("node %d connected to %s: %v", i, x.ID(), got)
		}
	}
	return nil
}

// askShard asks node 0, from x, whether it holds a shard (of no stripe):
// nil when node 0 answers, an error when it refuses x.
func askShard(ctx context.Context, m *testmesh.Mesh, x *node.Node) error {
	y := m.Nodes[0]
	cctx, cancel := context.WithTimeout(ctx, testmesh.Scale(3*time.Second))
	defer cancel()
	_ = x.Connect(cctx, peer.AddrInfo{ID: y.ID, Addrs: y.Host().Addrs()})
	s, err := x.Host().NewStream(cctx, y.ID, shard.ProtocolID)
	if err != nil {
		return err
	}
	defer s.Reset()
	_, err = shard.Has(cctx, s, erasure.StripeID{1}, 0)
	return err
}

// A node admitted through an invite with --expires is a member until then:
// at its expiry every node closes its connections and refuses it; one
// renewed before its expiry stays; an expired one renewed is let in again.
// renew refuses what it cannot do, in one line with its error kind.
func TestMembershipExpiry(t *testing.T) {
	m := testmesh.Start(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(2*time.Minute))
	defer cancel()
	term := testmesh.Scale(6 * time.Second)
	x := joinFor(t, ctx, m, term) // left to expire
	y := joinFor(t, ctx, m, term) // renewed in time
	l := m.Nodes[0].Roster()
	mx, st := l.Member(roster.PeerID(x.ID().String()), time.Now())
	if st != roster.Admitted || mx.Expiry.IsZero() || mx.Expiry.Sub(mx.Admitted) != term.Truncate(time.Millisecond) {
		t.Fatalf("x: %v, admitted %v until %v; want a term of %v", st, mx.Admitted, mx.Expiry, term)
	}
	for _, n := range []*node.Node{x, y} {
		waitUntil(t, 10*time.Second, "the new nodes connected", func() error { return connectedTo(m, n, true) })
	}

	b := m.Nodes[0].APIBackend()
	res, err := b.Renew(ctx, api.RenewRequest{PeerID: y.ID().String(), For: api.Duration(time.Hour)})
	if err != nil || res.Renewed != y.ID().String() || time.Until(res.Expires) < 59*time.Minute {
		t.Fatalf("renew y: %+v %v", res, err)
	}
	for _, c := range []struct {
		name string
		req  api.RenewRequest
		want error
	}{
		{"a member with no end", api.RenewRequest{PeerID: m.Nodes[1].ID.String(), For: api.Duration(time.Hour)}, api.ErrConflict},
		{"shorter", api.RenewRequest{PeerID: y.ID().String(), For: api.Duration(time.Minute)}, api.ErrConflict},
		{"malformed", api.RenewRequest{PeerID: "nobody", For: api.Duration(time.Hour)}, api.ErrBadRequest},
		{"itself unknown", api.RenewRequest{PeerID: "12D3KooWQ7kgbCgL7spkUgRgY8N1qPfsSkGWweemhmixyXbozHPU", For: api.Duration(time.Hour)}, api.ErrNotFound},
	} {
		if _, err := b.Renew(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("renew %s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := m.Nodes[1].APIBackend().Renew(ctx, api.RenewRequest{PeerID: x.ID().String(), For: api.Duration(time.Hour)}); !errors.Is(err, api.ErrNeedsOperatorKey) {
		t.Errorf("renew without an operator key: %v", err)
	}
	// The renewal reaches node 1.
	waitUntil(t, 5*time.Second, "the renewal reaches node 1", func() error {
		if ym, _ := m.Nodes[1].Roster().Member(roster.PeerID(y.ID().String()), time.Now()); ym.Expiry.Before(res.Expires) {
			return fmt.Errorf("node 1 has y until %v", ym.Expiry)
		}
		return nil
	})

	// x's membership ends: every node closes its connections within a
	// heartbeat or two, and refuses it after.
	time.Sleep(time.Until(mx.Expiry))
	for i, n := range m.Nodes {
		if n.Roster().Allowed(roster.PeerID(x.ID().String()), time.Now()) {
			t.Errorf("node %d still allows x after its expiry", i)
		}
	}
	waitUntil(t, 2*time.Second, "x disconnected at its expiry", func() error { return connectedTo(m, x, false) })
	if err := askShard(ctx, m, x); err == nil {
		t.Errorf("expired x got an answer")
	}
	if err := connectedTo(m, y, true); err != nil {
		t.Errorf("y, renewed in time: %v", err)
	}
	if err := askShard(ctx, m, y); err != nil {
		t.Errorf("y, renewed in time, refused: %v", err)
	}

	// An expired member may be renewed: x is let in again.
	if _, err := b.Renew(ctx, api.RenewRequest{PeerID: x.ID().String(), For: api.Duration(time.Hour)}); err != nil {
		t.Fatalf("renew x after its expiry: %v", err)
	}
	waitUntil(t, 10*time.Second, "x back", func() error {
		return askShard(ctx, m, x)
	})
}
