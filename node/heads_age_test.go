package node_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"respaldo/dht"
	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/testmesh"
)

// A head outlives its member's machine: with the DHT's record age set to a
// minute (less if -timeout is short), the member's node gone and every other node restarted, after ten
// record ages a node that never saw the member still finds the snapshots
// and restores them with the recovery key alone. The nodes keep the head
// records they store and put them back every few seconds.
func TestHeadOutlivesRecordAge(t *testing.T) {
	if testing.Short() {
		t.Skip("waits ten record ages (10 min)")
	}
	t.Parallel()
	// A minute, and ten of them; shorter when go test's -timeout leaves
	// less room (the default 10 min; CI gives 45 min).
	age := time.Minute
	if dl, ok := t.Deadline(); ok {
		room := time.Until(dl) - 4*time.Minute
		if room < 10*15*time.Second {
			t.Skipf("-timeout leaves %v: not enough to wait ten record ages", time.Until(dl))
		}
		age = min(age, room/10)
	}
	m := testmesh.StartWith(t, 7, func(_ int, c *node.Config) {
		c.RecordAge, c.HeadRepublish = age, age/6
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*age+testmesh.Scale(5*time.Minute))
	defer cancel()
	rk, err := node.SetupMember(m.Nodes[0].Dir, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "docs")
	writeTree(t, src)
	res, err := m.Nodes[0].APIBackend().Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wk, err := node.LoadMember(m.Nodes[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	headKey := dht.KeyFor(wk.HeadVerifier())
	m.Stop(0)
	for i := 1; i < len(m.Nodes); i++ {
		m.Restart(i)
	}
	wait := 10 * age
	t.Logf("record age %v: waiting %v (ten record ages) with the member's node gone", age, wait)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	// Through the DHT itself: a record older than its age is dropped, so
	// only republishing keeps it.
	if rec, err := m.Nodes[2].DHT().SearchHead(ctx, headKey); err != nil || rec.Seq != 1 {
		t.Fatalf("the head in the DHT after ten record ages: %+v, %v", rec, err)
	}
	key := api.NewRecoveryKey(rk)
	be := m.Nodes[2].APIBackend()
	snaps, err := be.Snapshots(ctx, api.SnapshotsRequest{RecoveryKey: key})
	if err != nil || len(snaps) != 1 || snaps[0].ID != res.SnapshotID {
		t.Fatalf("snapshots after ten record ages: %+v, %v", snaps, err)
	}
	target := t.TempDir()
	if _, err := be.Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target, RecoveryKey: key}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, filepath.Join(target, "docs"))
}
