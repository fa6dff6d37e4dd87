package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/testmesh"
)

// shardCount sums the shards the storage nodes hold.
func shardCount(t *testing.T, m *testmesh.Mesh) int {
	t.Helper()
	total := 0
	for _, x := range m.Nodes[1:] {
		if x.Node == nil {
			continue // stopped
		}
		u, err := x.Store().Usage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += u.Shards
	}
	return total
}

// forget keeps what the policy says and makes tombstones of the rest;
// forget --prune needs the recovery key, marks what no kept snapshot needs,
// and deletes it from the holders once the grace has passed; the kept
// snapshot still restores, and a backup after the prune does not
// deduplicate against deleted packs.
// pruneMesh starts seven nodes with a prune grace of grace and a member on
// node 0; src is a folder path to back up (not created).
func pruneMesh(t *testing.T, grace time.Duration) (m *testmesh.Mesh, ctx context.Context, be api.Backend, key api.RecoveryKey, src string) {
	m = testmesh.StartWith(t, 7, func(_ int, c *node.Config) { c.PruneGrace = grace })
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	t.Cleanup(cancel)
	rk, err := node.SetupMember(m.Nodes[0].Dir, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	return m, ctx, m.Nodes[0].APIBackend(), api.NewRecoveryKey(rk), filepath.Join(t.TempDir(), "docs")
}

func TestForgetPrune(t *testing.T) {
	const grace = 300 * time.Millisecond
	m, ctx, be, key, src := pruneMesh(t, grace)
	writeTree(t, src)
	first, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another tree at the same path: the first tree's chunks are only in
	// the first snapshot. The first tree is kept aside for later.
	kept := filepath.Join(t.TempDir(), "first")
	if err := os.Rename(src, kept); err != nil {
		t.Fatal(err)
	}
	writeTree(t, src)
	second, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := shardCount(t, m)

	if _, err := be.Forget(ctx, api.ForgetRequest{}); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("forget with a policy that keeps nothing: %v", err)
	}
	if _, err := be.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true}); !errors.Is(err, api.ErrNeedsRecoveryKey) {
		t.Fatalf("prune without the key: %v", err)
	}
	res, err := be.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true, RecoveryKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != first.SnapshotID || len(res.Kept) != 1 || res.Kept[0] != second.SnapshotID {
		t.Fatalf("forget: %+v", res)
	}
	snaps, err := be.Snapshots(ctx, api.SnapshotsRequest{RecoveryKey: key})
	if err != nil || len(snaps) != 1 || snaps[0].ID != second.SnapshotID {
		t.Fatalf("snapshots after forget: %+v, %v", snaps, err)
	}
	if got := shardCount(t, m); got < before {
		t.Fatalf("the first prune (marking only) deleted shards: %d → %d", before, got)
	}
	time.Sleep(grace)
	if _, err := be.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true, RecoveryKey: key}); err != nil {
		t.Fatal(err)
	}
	after := shardCount(t, m)
	if after >= before {
		t.Fatalf("prune after the grace deleted nothing: %d → %d shards", before, after)
	}
	t.Logf("shards: %d before, %d after the prune", before, after)

	target := t.TempDir()
	if _, err := be.Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target, RecoveryKey: key}); err != nil {
		t.Fatalf("restore the kept snapshot after the prune: %v", err)
	}
	sameTree(t, src, filepath.Join(target, "docs"))
	if _, err := be.Ls(ctx, api.LsRequest{Snapshot: first.SnapshotID, RecoveryKey: key}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("ls of the forgotten snapshot: %v", err)
	}
	chk, err := be.Check(ctx, api.CheckRequest{})
	if err != nil || chk.Lost != 0 || chk.Healthy != chk.Stripes {
		t.Fatalf("check after the prune: %+v, %v", chk, err)
	}

	// Back up the first tree again: the writer must not deduplicate against
	// the pruned packs, so its chunks are put anew and the snapshot restores.
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(kept, src); err != nil {
		t.Fatal(err)
	}
	third, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.NewBytes < 3<<20 {
		t.Errorf("backing up the pruned tree again sent %d new bytes: it deduplicated against deleted packs", third.NewBytes)
	}
	target = t.TempDir()
	if _, err := be.Restore(ctx, api.RestoreRequest{Snapshot: third.SnapshotID, Target: target, RecoveryKey: key}); err != nil {
		t.Fatalf("restore after backing up again: %v", err)
	}
	sameTree(t, src, filepath.Join(target, "docs"))
}

// A schedule's retention forgets, among the snapshots of exactly its paths,
// those its policy does not keep, and leaves other snapshots alone.
func TestScheduleRetention(t *testing.T) {
	m := testmesh.Start(t, 7)
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	if _, err := node.SetupMember(m.Nodes[0].Dir, "laptop"); err != nil {
		t.Fatal(err)
	}
	be := m.Nodes[0].APIBackend()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeTree(t, a)
	writeTree(t, b)
	var ofA []string
	for range 3 {
		r, err := be.Backup(ctx, api.BackupRequest{Paths: []string{a}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ofA = append(ofA, r.SnapshotID)
	}
	rb, err := be.Backup(ctx, api.BackupRequest{Paths: []string{b}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := node.Schedule{Name: "a", Paths: []string{a + "/"}, Interval: time.Hour, KeepLast: 1}
	if err := node.ApplyRetention(ctx, m.Nodes[0].Node, s); err != nil {
		t.Fatal(err)
	}
	snaps, err := be.Snapshots(ctx, api.SnapshotsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range snaps {
		got[x.ID] = true
	}
	if len(snaps) != 2 || !got[ofA[2]] || !got[rb.SnapshotID] {
		t.Fatalf("after retention keep_last 1 of %s: %+v", a, snaps)
	}
}

// A prune that could not finish deleting a garbage stripe (a holder was
// away, as after a crash half-way through the deletes) leaves it with
// shards on a few holders: that is garbage on its way out, not a loss, so
// check does not count it lost; the next prune, with the holder back,
// finishes it.
func TestCheckAfterPruneCutOff(t *testing.T) {
	const grace = 300 * time.Millisecond
	m, ctx, be, key, src := pruneMesh(t, grace)
	for range 2 { // two trees at one path: the first one's packs become garbage
		if err := os.RemoveAll(src); err != nil {
			t.Fatal(err)
		}
		writeTree(t, src)
		if _, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := be.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true, RecoveryKey: key}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(grace)
	const away = 3
	m.Stop(away)
	before := shardCount(t, m)
	if _, err := be.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true, RecoveryKey: key}); err != nil {
		t.Fatal(err)
	}
	if after := shardCount(t, m); after >= before {
		t.Fatalf("the prune deleted nothing: %d → %d shards", before, after)
	}
	chk, err := be.Check(ctx, api.CheckRequest{})
	if err != nil || chk.Lost != 0 {
		t.Fatalf("check after a prune cut off by a holder away: %+v, %v", chk, err)
	}
	m.Restart(away)
	m.WaitLive(30 * time.Second)
	if _, err := be.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true, RecoveryKey: key}); err != nil {
		t.Fatal(err)
	}
	chk, err = be.Check(ctx, api.CheckRequest{})
	if err != nil || chk.Lost != 0 || chk.Healthy != chk.Stripes {
		t.Fatalf("check after the next prune: %+v, %v", chk, err)
	}
	target := t.TempDir()
	if _, err := be.Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target, RecoveryKey: key}); err != nil {
		t.Fatalf("restore the kept snapshot: %v", err)
	}
	sameTree(t, src, filepath.Join(target, "docs"))
}
