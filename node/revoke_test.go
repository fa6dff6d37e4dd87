package node_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/roster"
	"respaldo/node/shard"
	"respaldo/node/store"
	"respaldo/node/testmesh"
)

// healthyWithout is healthy over the running nodes other than skip: every
// stripe of want has each index on exactly one of them, none with two.
func healthyWithout(t *testing.T, ctx context.Context, m *testmesh.Mesh, want []erasure.StripeID, skip int) error {
	got := goodCopies(t, ctx, m)
	for _, id := range want {
		v := got[id]
		if v == nil {
			return fmt.Errorf("stripe %.8s: no shard on a running node", id)
		}
		per := map[int]int{}
		for i, holders := range v {
			holders = slices.DeleteFunc(slices.Clone(holders), func(h int) bool { return h == skip })
			if len(holders) != 1 {
				return fmt.Errorf("stripe %.8s: shard %d on nodes %v (not counting node %d)", id, i, holders, skip)
			}
			if per[holders[0]]++; per[holders[0]] > 1 {
				return fmt.Errorf("stripe %.8s: node %d holds two shards", id, holders[0])
			}
		}
	}
	return nil
}

// statusOKWithout is statusOK over the running nodes from 1 on but skip.
func statusOKWithout(ctx context.Context, m *testmesh.Mesh, skip int) error {
	for i, x := range m.Nodes {
		if i == 0 || i == skip || x.Node == nil {
			continue
		}
		st, err := x.Status(ctx)
		if err != nil {
			return err
		}
		held := map[erasure.StripeID]bool{}
		x.Store().List(ctx, func(si store.ShardInfo) error { held[si.Ref.Stripe] = true; return nil })
		s := st.Stripes
		if s.Healthy != len(held) || s.Degraded+s.AtRisk+s.Lost != 0 || st.RepairQueue != 0 || st.ToleratesLosses != 2 {
			return fmt.Errorf("node %d holds shards of %d stripes; status %+v, queue %d, tolerates %d",
				i, len(held), s, st.RepairQueue, st.ToleratesLosses)
		}
	}
	return nil
}

// mostLoaded returns the storage node (not node 0) that holds the most
// shards, and how many.
func mostLoaded(t *testing.T, ctx context.Context, m *testmesh.Mesh) (int, int) {
	t.Helper()
	load := map[int]int{}
	for _, v := range goodCopies(t, ctx, m) {
		for _, hs := range v {
			for _, h := range hs {
				load[h]++
			}
		}
	}
	best := 0
	for i := 1; i < len(m.Nodes); i++ {
		if load[i] > load[best] || best == 0 {
			best = i
		}
	}
	return best, load[best]
}

// A running storage node that holds shards is revoked from node 0 (the
// operator's). Every node disconnects it at once and refuses it after,
// and its stripes are whole again without it long before the repair grace
// (1 h here) could matter.
func TestRevokeRebuildsAtOnce(t *testing.T) {
	m := testmesh.StartWith(t, 8, func(i int, c *node.Config) {
		repairConfig(time.Hour, 0, 0)(i, c)
		c.Heartbeat = time.Second          // no node looks gone under -race (see TestRepairAuthorizer)
		c.RepairInterval = 3 * time.Second // long enough to see that the revocation wakes the loop
	})
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	backupTree(t, ctx, m)
	stripes := stripesOf(t, ctx, m)
	v, held := mostLoaded(t, ctx, m)
	victim := m.Nodes[v]
	t.Logf("%d stripes; revoking node %d, which holds %d shards", len(stripes), v, held)

	start := time.Now()
	res, err := m.Nodes[0].APIBackend().Revoke(ctx, api.RevokeRequest{PeerID: victim.ID.String(), Reason: "seized"})
	if err != nil || res.Revoked != victim.ID.String() {
		t.Fatalf("revoke: %+v %v", res, err)
	}

	// Every node learns it and drops every connection to it at once
	// (that the change wakes the repair loop: TestRosterChangeWakesRepair).
	for i, x := range m.Nodes {
		if i == v {
			continue
		}
		waitUntil(t, 5*time.Second, fmt.Sprintf("node %d drops the revoked node", i), func() error {
			if _, st := x.Roster().Member(roster.PeerID(victim.ID.String()), time.Now()); st != roster.Revoked {
				return fmt.Errorf("roster says %v", st)
			}
			if c := x.Host().Network().ConnsToPeer(victim.ID); len(c) > 0 {
				return fmt.Errorf("%d connections to it", len(c))
			}
			if c := victim.Host().Network().ConnsToPeer(x.ID); len(c) > 0 {
				return fmt.Errorf("it has %d connections to the node", len(c))
			}
			return nil
		})
	}
	// It cannot come back: its dials are refused (or the connection dropped
	// at once), and no protocol answers it.
	for _, i := range []int{0, 1, 2} {
		if i == v {
			continue
		}
		x := m.Nodes[i]
		cctx, ccancel := context.WithTimeout(ctx, testmesh.Scale(5*time.Second))
		_ = victim.Connect(cctx, peer.AddrInfo{ID: x.ID, Addrs: x.Host().Addrs()})
		if s, err := victim.Host().NewStream(cctx, x.ID, shard.ProtocolID); err == nil {
			id, _ := pickShard(t, ctx, m, i)
			if _, err := shard.Has(cctx, s, id, 0); err == nil {
				t.Errorf("node %d answered the revoked node", i)
			}
			s.Reset()
		}
		ccancel()
		waitUntil(t, 5*time.Second, "no connection from the revoked node", func() error {
			if x.Host().Network().Connectedness(victim.ID) == network.Connected {
				return fmt.Errorf("node %d is connected to it", i)
			}
			return nil
		})
	}

	waitUntil(t, 90*time.Second, "every stripe whole without the revoked node", func() error {
		return healthyWithout(t, ctx, m, stripes, v)
	})
	took := time.Since(start)
	t.Logf("rebuilt without the revoked node in %v (grace %v)", took.Round(time.Millisecond), m.Config(1).RepairGrace)
	waitUntil(t, 30*time.Second, "status without the revoked node", func() error { return statusOKWithout(ctx, m, v) })
	var rebuilt int64
	for i, x := range m.Nodes {
		if i != v {
			rebuilt += node.RepairStatsOf(x.Node).Rebuilt
		}
	}
	if rebuilt < int64(held) {
		t.Errorf("%d shards rebuilt; the revoked node held %d", rebuilt, held)
	}
}

// The --force brake: in a 4+2 mesh, a third storage node revoked within
// 24 h is refused without Force, accepted with it; revocations older than
// 24 h do not count. And each refusal of respaldo revoke is one line with
// its API error kind.
func TestRevokeForceAndRefusals(t *testing.T) {
	var skew atomic.Int64 // node 0's clock runs ahead by this much
	m := testmesh.StartWith(t, 7, func(i int, c *node.Config) {
		if i == 0 {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(time.Minute))
	defer cancel()
	b := m.Nodes[0].APIBackend()
	revoke := func(i int, force bool) error {
		_, err := b.Revoke(ctx, api.RevokeRequest{PeerID: m.Nodes[i].ID.String(), Force: force})
		return err
	}
	oneLine := func(what string, err error, want error, subs ...string) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
			return
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: not one line: %q", what, err)
		}
		for _, s := range subs {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", what, err, s)
			}
		}
	}

	// Refusals.
	key, _, err := lcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Revoke(ctx, api.RevokeRequest{PeerID: stranger.String()})
	oneLine("unknown peer", err, api.ErrNotFound, "no peer", stranger.String())
	_, err = b.Revoke(ctx, api.RevokeRequest{PeerID: "not-a-peer-id"})
	oneLine("malformed ID", err, api.ErrBadRequest, "not a peer ID")
	_, err = b.Revoke(ctx, api.RevokeRequest{PeerID: m.Nodes[0].ID.String()})
	oneLine("itself", err, api.ErrBadRequest, "this node")
	_, err = m.Nodes[1].APIBackend().Revoke(ctx, api.RevokeRequest{PeerID: m.Nodes[2].ID.String()})
	oneLine("no operator key", err, api.ErrNeedsOperatorKey, "operator key")

	// Two storage nodes: fine (m = 2). A third: refused, naming the count
	// and the flag; nothing is appended.
	for _, i := range []int{1, 2} {
		if err := revoke(i, false); err != nil {
			t.Fatalf("revoke node %d: %v", i, err)
		}
	}
	_, err = b.Revoke(ctx, api.RevokeRequest{PeerID: m.Nodes[1].ID.String()})
	oneLine("already revoked", err, api.ErrConflict, "already revoked")
	seq, _ := m.Nodes[0].Roster().Head()
	err = revoke(3, false)
	oneLine("a third within a day", err, api.ErrForbidden, "number 3", "m = 2", "--force")
	if !errors.Is(err, node.ErrRevokeStorm) {
		t.Errorf("third revocation: %v is not ErrRevokeStorm", err)
	}
	if s, _ := m.Nodes[0].Roster().Head(); s != seq {
		t.Fatalf("a refused revocation appended %d entries", s-seq)
	}
	if !m.Nodes[0].Roster().Allowed(roster.PeerID(m.Nodes[3].ID.String()), time.Now()) {
		t.Fatal("refused, but node 3 is not allowed any more")
	}
	if err := revoke(3, true); err != nil {
		t.Fatalf("a third with --force: %v", err)
	}
	err = revoke(4, false)
	oneLine("a fourth within a day", err, api.ErrForbidden, "number 4", "--force")

	// A day later the three no longer count.
	skew.Store(int64(node.RevokeWindow + time.Minute))
	if err := revoke(4, false); err != nil {
		t.Fatalf("a day later: %v", err)
	}
	if err := revoke(5, false); err != nil {
		t.Fatalf("a day later, the second: %v", err)
	}
	err = revoke(6, false)
	oneLine("a day later, the third", err, api.ErrForbidden, "number 3")
}
