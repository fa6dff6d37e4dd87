package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/shard"
	"respaldo/node/store"
	"respaldo/node/testmesh"
)

// waitFor polls cond until it returns nil or d (scaled) passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(testmesh.Scale(d))
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, testmesh.Scale(d), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// repairConfig: fast repair passes and a short grace; audits and scrubs
// as given (0: effectively never during a test).
func repairConfig(grace, audit, scrub time.Duration) func(int, *node.Config) {
	return func(_ int, c *node.Config) {
		c.RepairGrace = testmesh.Scale(grace)
		c.RepairInterval = 300 * time.Millisecond
		c.AuditInterval, c.ScrubInterval = time.Hour, time.Hour
		if audit > 0 {
			c.AuditInterval = audit
		}
		if scrub > 0 {
			c.ScrubInterval = scrub
		}
	}
}

// backupTree sets node 0 up as a member's node and backs a small tree up;
// it returns the source folder and the recovery key.
func backupTree(t *testing.T, ctx context.Context, m *testmesh.Mesh) (string, crypto.RecoveryKey) {
	t.Helper()
	rk, err := node.SetupMember(m.Nodes[0].Dir, "laptop-repair")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "docs")
	writeTree(t, src)
	if _, err := m.Nodes[0].APIBackend().Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil); err != nil {
		t.Fatalf("backup: %v", err)
	}
	return src, rk
}

// goodCopies counts, for every stripe found in the running nodes' stores,
// the copies of each shard index that read back good (the store checks
// them against their CID), and which node holds them.
func goodCopies(t *testing.T, ctx context.Context, m *testmesh.Mesh) map[erasure.StripeID][][]int {
	t.Helper()
	out := map[erasure.StripeID][][]int{}
	for ni, x := range m.Nodes {
		if x.Node == nil {
			continue
		}
		s := x.Store()
		err := s.List(ctx, func(si store.ShardInfo) error {
			if _, err := s.Get(ctx, si.Ref); err != nil {
				return nil // damaged: not a good copy
			}
			d, err := s.Descriptor(ctx, si.Ref.Stripe)
			if err != nil {
				return nil
			}
			v := out[si.Ref.Stripe]
			if v == nil {
				v = make([][]int, len(d.Shards))
				out[si.Ref.Stripe] = v
			}
			v[si.Ref.Index] = append(v[si.Ref.Index], ni)
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrClosed) {
			t.Fatal(err)
		}
	}
	return out
}

// healthy reports nil when every stripe of want has each index on exactly
// one running node (exact) or on at least one, and no running node holds
// two shards of one stripe.
func healthy(t *testing.T, ctx context.Context, m *testmesh.Mesh, want []erasure.StripeID, exact bool) error {
	got := goodCopies(t, ctx, m)
	for _, id := range want {
		v := got[id]
		if v == nil {
			return fmt.Errorf("stripe %.8s: no shard on a running node", id)
		}
		per := map[int]int{}
		for i, holders := range v {
			if len(holders) == 0 || exact && len(holders) != 1 {
				return fmt.Errorf("stripe %.8s: shard %d on nodes %v", id, i, holders)
			}
			for _, h := range holders {
				if per[h]++; per[h] > 1 {
					return fmt.Errorf("stripe %.8s: node %d holds two shards: %v", id, h, v)
				}
			}
		}
	}
	return nil
}

func stripesOf(t *testing.T, ctx context.Context, m *testmesh.Mesh) []erasure.StripeID {
	t.Helper()
	var ids []erasure.StripeID
	for id := range goodCopies(t, ctx, m) {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		t.Fatal("no stripes stored")
	}
	return ids
}

// statusOK: every running storage node's status counts its stripes as
// healthy, with an empty repair queue.
func statusOK(ctx context.Context, m *testmesh.Mesh, from int) error {
	for i, x := range m.Nodes[from:] {
		if x.Node == nil {
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
				i+from, len(held), s, st.RepairQueue, st.ToleratesLosses)
		}
	}
	return nil
}

// Two storage nodes of eight go for good: after the grace every stripe has
// all six shards on live nodes again, one per node, and status says so.
// One of them comes back: its copies are surplus, counted once, and
// dropped (by whichever side the plan says) until each shard is held once.
// Then two more go and the snapshot still restores byte for byte.
func TestRepairAfterLosses(t *testing.T) {
	m := testmesh.StartWith(t, 9, repairConfig(3*time.Second, 0, 0))
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(5*time.Minute))
	defer cancel()
	src, rk := backupTree(t, ctx, m)
	stripes := stripesOf(t, ctx, m)
	if err := healthy(t, ctx, m, stripes, true); err != nil {
		t.Fatalf("after the backup: %v", err)
	}
	waitUntil(t, 30*time.Second, "status after the backup", func() error { return statusOK(ctx, m, 1) })

	// The two storage nodes that hold the most shards go.
	load := map[int]int{}
	for _, v := range goodCopies(t, ctx, m) {
		for _, hs := range v {
			for _, h := range hs {
				load[h]++
			}
		}
	}
	order := []int{1, 2, 3, 4, 5, 6, 7, 8}
	slices.SortStableFunc(order, func(a, b int) int { return load[b] - load[a] })
	gone := order[:2]
	t.Logf("%d stripes; stopping nodes %v (holding %d and %d shards)", len(stripes), gone, load[gone[0]], load[gone[1]])
	start := time.Now()
	for _, i := range gone {
		m.Stop(i)
	}
	waitUntil(t, 90*time.Second, "every stripe whole again on live nodes", func() error {
		return healthy(t, ctx, m, stripes, false)
	})
	t.Logf("repaired in %v", time.Since(start).Round(time.Millisecond))
	waitUntil(t, 30*time.Second, "status after repair", func() error { return statusOK(ctx, m, 1) })
	var rebuilt int64
	for _, x := range m.Nodes {
		if x.Node != nil {
			rebuilt += node.RepairStatsOf(x.Node).Rebuilt
		}
	}
	if rebuilt < int64(load[gone[0]]+load[gone[1]]) {
		t.Errorf("%d shards rebuilt; the two nodes held %d", rebuilt, load[gone[0]]+load[gone[1]])
	}
	var metric, healthyGauge float64
	for _, x := range m.Nodes[1:] {
		if x.Node != nil {
			metric += metricValue(t, x, "respaldo_repair_shards_rebuilt_total")
			healthyGauge += metricValue(t, x, "respaldo_repair_stripes_healthy")
		}
	}
	if int64(metric) < rebuilt-int64(node.RepairStatsOf(m.Nodes[0].Node).Rebuilt) || healthyGauge == 0 {
		t.Errorf("/metrics: %v shards rebuilt by the storage nodes, %v healthy stripes", metric, healthyGauge)
	}

	// One comes back after its shards were rebuilt elsewhere.
	back := gone[0]
	m.Restart(back)
	m.WaitLive(10 * time.Second)
	waitUntil(t, 60*time.Second, "surplus copies dropped", func() error {
		err := healthy(t, ctx, m, stripes, true)
		if err != nil {
			for _, id := range stripes {
				for i, x := range m.Nodes {
					if x.Node != nil {
						t.Logf("node %d %s: %s", i, x.ID, node.RepairPlanOf(x.Node, id))
					}
				}
			}
		}
		return err
	})
	var seen, drops int64
	for _, x := range m.Nodes {
		if x.Node != nil {
			c := node.RepairStatsOf(x.Node)
			seen, drops = seen+c.SurplusSeen, drops+c.Drops
		}
	}
	if seen == 0 || drops < int64(load[back]) {
		t.Errorf("surplus seen %d times, %d copies dropped; the node that came back held %d", seen, drops, load[back])
	}
	waitUntil(t, 30*time.Second, "status with surplus gone", func() error { return statusOK(ctx, m, 1) })

	// Two more go (the returned one and another); restore byte for byte.
	m.Stop(back)
	m.Stop(order[2])
	target := t.TempDir()
	if _, err := m.Nodes[0].APIBackend().Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target,
		RecoveryKey: api.NewRecoveryKey(rk)}); err != nil {
		t.Fatalf("restore after four losses with repair between: %v", err)
	}
	sameTree(t, src, filepath.Join(target, "docs"))
}

// metricValue reads one gauge or counter of x's /metrics.
func metricValue(t *testing.T, x *testmesh.Member, name string) float64 {
	t.Helper()
	fams, err := x.APIBackend().(api.MetricsSource).Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			m := f.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// getAs asks holder, from node from's host, for a shard with no read
// proof, as a repairing co-holder would.
func getAs(ctx context.Context, from, holder *testmesh.Member, d *erasure.Descriptor, i int) error {
	s, err := from.Host().NewStream(ctx, holder.ID, shard.ProtocolID)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = shard.GetAuthorized(ctx, s, d, i)
	return err
}

// A holder serves no shard without a read proof to a node that holds
// nothing of the stripe, nor to a co-holder while the stripe is healthy;
// it does serve the co-holder that leads the stripe's repair (what the
// repair test shows working end to end).
func TestRepairAuthorizer(t *testing.T) {
	m := testmesh.StartWith(t, 8, func(i int, c *node.Config) {
		repairConfig(time.Hour, 0, 0)(i, c)
		// Slow heartbeats: under -race, 200 ms ones arrive late enough for
		// two peers to look gone, which makes a stripe due at once (at k).
		c.Heartbeat = time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	backupTree(t, ctx, m)
	var asked, denied int
	for id, v := range goodCopies(t, ctx, m) {
		d, err := m.Nodes[v[0][0]].Store().Descriptor(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for i, hs := range v {
			holder := m.Nodes[hs[0]]
			for j, x := range m.Nodes {
				if j == hs[0] {
					continue
				}
				asked++
				err := getAs(ctx, x, holder, d, i)
				if errors.Is(err, shard.ErrDenied) {
					denied++
				} else {
					t.Errorf("node %d (holds %v of the stripe) got shard %d from node %d: %v", j,
						func() (idx []int) {
							for k, h := range v {
								if slices.Contains(h, j) {
									idx = append(idx, k)
								}
							}
							return
						}(), i, hs[0], err)
				}
			}
		}
	}
	if asked == 0 || denied != asked {
		t.Fatalf("%d of %d requests denied", denied, asked)
	}
}

// damage flips the last byte of node x's file of shard i of stripe id; its
// size stays, so has still answers held.
func damage(t *testing.T, x *testmesh.Member, id erasure.StripeID, i int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(x.Dir, node.StoreDir, "shards", "*", fmt.Sprintf("*-%s-%d*", id, i)))
	if err != nil || len(files) != 1 {
		t.Fatalf("shard file of %v/%d: %v %v", id, i, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// pickShard returns a stripe and index that node j holds.
func pickShard(t *testing.T, ctx context.Context, m *testmesh.Mesh, j int) (erasure.StripeID, int) {
	t.Helper()
	for id, v := range goodCopies(t, ctx, m) {
		for i, hs := range v {
			if slices.Contains(hs, j) {
				return id, i
			}
		}
	}
	t.Fatalf("node %d holds nothing", j)
	return erasure.StripeID{}, 0
}

// A shard whose bytes rot on one node's disk is found by that node's
// scrub, dropped, and rebuilt (here or elsewhere) by the stripe's holders.
func TestRepairAfterScrub(t *testing.T) {
	m := testmesh.StartWith(t, 8, func(i int, c *node.Config) {
		repairConfig(time.Hour, 0, 0)(i, c)
		if i == 3 {
			c.ScrubInterval = 500 * time.Millisecond
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	backupTree(t, ctx, m)
	stripes := stripesOf(t, ctx, m)
	id, i := pickShard(t, ctx, m, 3)
	damage(t, m.Nodes[3], id, i)
	if err := healthy(t, ctx, m, stripes, false); err == nil {
		t.Fatal("a damaged copy still reads back good")
	}
	waitUntil(t, 60*time.Second, "the damaged shard rebuilt", func() error { return healthy(t, ctx, m, stripes, true) })
	if c := node.RepairStatsOf(m.Nodes[3].Node); c.ScrubBad == 0 {
		t.Errorf("node 3's scrub found nothing: %+v", c)
	}
	waitUntil(t, 30*time.Second, "status", func() error { return statusOK(ctx, m, 1) })
}

// A holder that lost a shard's bytes but still answers has (no scrub runs
// there) is caught by its co-holders' audits and the shard is rebuilt on
// another node.
func TestRepairAfterAudit(t *testing.T) {
	m := testmesh.StartWith(t, 8, repairConfig(time.Hour, 500*time.Millisecond, 0))
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	backupTree(t, ctx, m)
	stripes := stripesOf(t, ctx, m)
	id, i := pickShard(t, ctx, m, 4)
	damage(t, m.Nodes[4], id, i)
	s, err := m.Nodes[1].Host().NewStream(ctx, m.Nodes[4].ID, shard.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	held, err := shard.Has(ctx, s, id, i)
	s.Close()
	if err != nil || !held {
		t.Fatalf("has of the damaged shard: %v %v", held, err)
	}
	waitUntil(t, 60*time.Second, "the shard rebuilt elsewhere", func() error {
		v := goodCopies(t, ctx, m)[id]
		if len(v) == 0 || len(v[i]) == 0 {
			return fmt.Errorf("shard %d has no good copy: %v", i, v)
		}
		return healthy(t, ctx, m, stripes, false)
	})
	var failures int64
	for _, x := range m.Nodes {
		failures += node.RepairStatsOf(x.Node).AuditFailures
	}
	if failures == 0 {
		t.Error("no audit failed")
	}
}
