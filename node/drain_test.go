package node_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/mesh"
	"respaldo/node/testmesh"
)

// shardsOf is how many shards node i's store holds.
func shardsOf(t *testing.T, ctx context.Context, m *testmesh.Mesh, i int) int {
	t.Helper()
	u, err := m.Nodes[i].Store().Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return u.Shards
}

// A storage node drains: every shard it held moves to another node (one
// shard per node and stripe, k+m live holders each), it advertises no
// space so a later backup places nothing on it, the member's check and
// every other node's status say healthy, and with the drained node
// stopped, and one more, the snapshot restores byte for byte.
func TestDrain(t *testing.T) {
	m := testmesh.StartWith(t, 8, func(i int, c *node.Config) {
		repairConfig(time.Hour, 0, 0)(i, c)
		c.Heartbeat = time.Second // no node looks gone under -race (see TestRepairAuthorizer)
	})
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(4*time.Minute))
	defer cancel()
	src, rk := backupTree(t, ctx, m)
	stripes := stripesOf(t, ctx, m)
	d, held := mostLoaded(t, ctx, m)
	t.Logf("%d stripes; draining node %d, which holds %d shards", len(stripes), d, held)

	res, err := m.Nodes[d].APIBackend().Drain(ctx)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if res.Moved != int64(held) || res.Remaining != 0 || res.Why != "" {
		t.Fatalf("drain: %+v, want %d moved and none remaining", res, held)
	}
	if k := shardsOf(t, ctx, m, d); k != 0 {
		t.Fatalf("the drained node holds %d shards", k)
	}
	if !m.Nodes[d].Draining() {
		t.Fatal("not draining after a drain")
	}
	if err := healthy(t, ctx, m, stripes, true); err != nil {
		t.Fatalf("after the drain: %v", err)
	}

	// It offers no space, so the member's next backup puts nothing there.
	dID := mesh.PeerID(m.Nodes[d].ID.String())
	waitUntil(t, 10*time.Second, "node 0 sees the drained node offer nothing", func() error {
		for _, p := range m.Nodes[0].Peers() {
			if p.ID == dID && (!p.Live || p.FreeBytes != 0) {
				return fmt.Errorf("%+v", p.PeerState)
			}
		}
		return nil
	})
	src2 := filepath.Join(t.TempDir(), "more")
	writeTree(t, src2)
	if _, err := m.Nodes[0].APIBackend().Backup(ctx, api.BackupRequest{Paths: []string{src2}}, nil); err != nil {
		t.Fatalf("backup after the drain: %v", err)
	}
	if k := shardsOf(t, ctx, m, d); k != 0 {
		t.Fatalf("a backup after the drain placed %d shards on the drained node", k)
	}
	stripes = stripesOf(t, ctx, m)

	// The member's check and every storage node's status: healthy.
	waitUntil(t, 60*time.Second, "check on the member's node", func() error {
		c, err := m.Nodes[0].APIBackend().Check(ctx, api.CheckRequest{})
		if err != nil {
			return err
		}
		if c.Stripes == 0 || c.Healthy != c.Stripes || c.ToleratesLosses != 2 {
			return fmt.Errorf("%+v", c)
		}
		return nil
	})
	waitUntil(t, 60*time.Second, "status everywhere", func() error { return statusOK(ctx, m, 1) })
	if k := shardsOf(t, ctx, m, d); k != 0 {
		t.Fatalf("the drained node holds %d shards again", k)
	}

	// Taken down, and another node lost: every snapshot restores.
	m.Stop(d)
	other := 1
	if d == 1 {
		other = 2
	}
	m.Stop(other)
	for _, s := range []string{src, src2} {
		snaps, err := m.Nodes[0].APIBackend().Snapshots(ctx, api.SnapshotsRequest{RecoveryKey: api.NewRecoveryKey(rk)})
		if err != nil {
			t.Fatal(err)
		}
		var id string
		for _, sn := range snaps {
			if len(sn.Paths) == 1 && sn.Paths[0] == s {
				id = sn.ID
			}
		}
		target := t.TempDir()
		if _, err := m.Nodes[0].APIBackend().Restore(ctx, api.RestoreRequest{Snapshot: id, Target: target,
			RecoveryKey: api.NewRecoveryKey(rk)}); err != nil {
			t.Fatalf("restore of %s with the drained node and node %d stopped: %v", s, other, err)
		}
		sameTree(t, s, filepath.Join(target, filepath.Base(s)))
	}
}

// A drain that finds no other peer with room moves nothing, deletes
// nothing, and says how many shards remain and why.
func TestDrainNowhereToGo(t *testing.T) {
	m := testmesh.StartWith(t, 3, func(i int, c *node.Config) {
		if i == 0 {
			c.CapacityBytes = 1 // the member's node offers no room
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(2*time.Minute))
	defer cancel()
	backupTree(t, ctx, m)
	held := shardsOf(t, ctx, m, 1)
	if held == 0 {
		t.Fatal("node 1 holds nothing")
	}
	m.Stop(2)
	waitUntil(t, 10*time.Second, "node 1 sees node 2 gone", func() error {
		for _, p := range m.Nodes[1].Peers() {
			if p.ID == mesh.PeerID(m.Nodes[2].ID.String()) && p.Live {
				return fmt.Errorf("live")
			}
		}
		return nil
	})
	res, err := m.Nodes[1].APIBackend().Drain(ctx)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if res.Moved != 0 || res.Remaining != int64(held) || res.Why == "" || strings.Contains(res.Why, "\n") {
		t.Fatalf("drain with nowhere to go: %+v, want 0 moved, %d remaining, and why", res, held)
	}
	t.Logf("why: %s", res.Why)
	if k := shardsOf(t, ctx, m, 1); k != held {
		t.Fatalf("node 1 holds %d shards, held %d", k, held)
	}
}
