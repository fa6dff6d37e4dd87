package node_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/mesh"
	"respaldo/node/testmesh"
)

// A backup's tolerates_losses covers every stripe its snapshot needs, not
// only those it put: with two of six storage nodes gone, a backup of
// nothing new (it puts only its snapshot and catalog, on the four left)
// still reports what its data, placed on all six, can lose now: nothing.
func TestBackupToleranceCoversReusedStripes(t *testing.T) {
	m := testmesh.Start(t, 7)
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	if _, err := node.SetupMember(m.Nodes[0].Dir, "laptop-test"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "docs")
	writeTree(t, src)
	be := m.Nodes[0].APIBackend()
	first, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.ToleratesLosses != 2 || again.ToleratesLosses != 2 || again.NewBytes != 0 {
		t.Fatalf("with every node up: first %+v, second (nothing new) %+v; want tolerates_losses 2", first, again)
	}

	m.Stop(2)
	m.Stop(4)
	deadline := time.Now().Add(testmesh.Scale(20 * time.Second))
	for live := 6; live != 4; {
		if time.Now().After(deadline) {
			t.Fatalf("node 0 sees %d storage peers live, want 4", live)
		}
		time.Sleep(100 * time.Millisecond)
		live = 0
		for _, p := range m.Nodes[0].Peers() {
			if p.Live && p.Role == mesh.RoleStorage {
				live++
			}
		}
	}
	third, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.NewBytes != 0 || third.ToleratesLosses != 0 {
		t.Fatalf("two of six storage nodes down, nothing new: %+v; want tolerates_losses 0 (4 of 6 holders left, k 4)", third)
	}
}
