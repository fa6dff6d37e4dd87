package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/shard"
	"respaldo/node/store"
	"respaldo/node/testmesh"
)

// writeTree makes a small tree: files of mixed sizes (one spanning several
// chunks), an empty file, a subfolder and a symlink.
func writeTree(t *testing.T, root string) {
	t.Helper()
	files := map[string]int{"a.txt": 10, "empty": 0, "sub/b.bin": 3 << 20, "sub/deeper/c.bin": 200 << 10}
	for name, size := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		_, _ = rand.Read(b)
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
}

// sameTree fails unless every file and symlink under want is under got
// with the same bytes, mode and target.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		wi, _ := d.Info()
		gi, err := os.Lstat(q)
		if err != nil {
			return err
		}
		if wi.Mode() != gi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		switch {
		case wi.Mode()&fs.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(q)
			if a != b {
				t.Errorf("%s: link to %q, want %q", rel, b, a)
			}
		case wi.Mode().IsRegular():
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(q)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: contents differ", rel)
			}
			if !wi.ModTime().Equal(gi.ModTime()) {
				t.Errorf("%s: mtime %v, want %v", rel, gi.ModTime(), wi.ModTime())
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("compared only %d entries", n)
	}
}

// A member's node backs up into six storage nodes through the API; the
// write side alone lists its snapshots but cannot read them; with the
// recovery key they restore byte for byte with two storage nodes stopped,
// and, with the member's own node stopped too, through a node that has
// never seen the member (heads from the mesh, restore from nothing).
func TestBackupRestoreThroughNode(t *testing.T) {
	m := testmesh.Start(t, 7)
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(3*time.Minute))
	defer cancel()
	rk, err := node.SetupMember(m.Nodes[0].Dir, "laptop-test")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "docs")
	writeTree(t, src)
	be := m.Nodes[0].APIBackend()

	var lines int
	res, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}, Tags: []string{"t1"}}, func(api.Progress) { lines++ })
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if res.Files != 4 || res.SnapshotID == "" || res.ToleratesLosses != 2 || lines == 0 {
		t.Fatalf("backup result %+v, %d progress lines", res, lines)
	}
	again, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.NewBytes != 0 {
		t.Errorf("second backup of unchanged files: new_bytes %d", again.NewBytes)
	}

	// Each holder keeps the stripe's holder map, which names it at the index
	// it holds.
	var checked int
	err = m.Nodes[1].Store().List(ctx, func(si store.ShardInfo) error {
		hs, err := shard.HolderMap(ctx, m.Nodes[1].Store().Records(), si.Ref.Stripe)
		if err != nil {
			return err
		}
		if len(hs) != 6 || hs[si.Ref.Index] != m.Nodes[1].ID.String() {
			t.Errorf("holder map of %v: %v; node 1 holds index %d", si.Ref.Stripe, hs, si.Ref.Index)
		}
		checked++
		return nil
	})
	if err != nil || checked == 0 {
		t.Fatalf("holder maps: %v (%d checked)", err, checked)
	}

	snaps, err := be.Snapshots(ctx, api.SnapshotsRequest{})
	if err != nil || len(snaps) != 2 || snaps[0].ID != res.SnapshotID || snaps[0].Tags[0] != "t1" {
		t.Fatalf("snapshots without the key: %+v, %v", snaps, err)
	}
	if _, err := be.Ls(ctx, api.LsRequest{Snapshot: "latest"}); !errors.Is(err, api.ErrNeedsRecoveryKey) {
		t.Fatalf("ls without the key: %v", err)
	}
	other, err := crypto.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := be.Ls(ctx, api.LsRequest{Snapshot: "latest", RecoveryKey: api.NewRecoveryKey(other)}); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("ls with another member's key: %v", err)
	}
	key := api.NewRecoveryKey(rk)
	ls, err := be.Ls(ctx, api.LsRequest{Snapshot: res.SnapshotID[:12], Path: "docs", RecoveryKey: key})
	if err != nil || len(ls) != 4 {
		t.Fatalf("ls: %+v, %v", ls, err)
	}
	if _, err := be.Ls(ctx, api.LsRequest{Snapshot: "ffffffffffff", RecoveryKey: key}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("ls of a snapshot that does not exist: %v", err)
	}

	chk, err := be.Check(ctx, api.CheckRequest{ReadData: true, RecoveryKey: key})
	if err != nil || chk.Stripes == 0 || chk.Healthy != chk.Stripes || chk.ReadErrors != 0 || chk.ToleratesLosses != 2 {
		t.Fatalf("check --read-data with every node up: %+v, %v", chk, err)
	}
	if _, err := be.Check(ctx, api.CheckRequest{ReadData: true}); !errors.Is(err, api.ErrNeedsRecoveryKey) {
		t.Fatalf("check --read-data without the key: %v", err)
	}

	m.Stop(3)
	m.Stop(5)
	// 4 of 6 shards left: at risk, until the repair loop (which starts at
	// once for a stripe down to k) has rebuilt some: degraded, then healthy.
	chk, err = be.Check(ctx, api.CheckRequest{})
	if err != nil || chk.Lost != 0 || chk.Healthy+chk.Degraded+chk.AtRisk != chk.Stripes || chk.Healthy == chk.Stripes && chk.ToleratesLosses != 2 {
		t.Fatalf("check with two storage nodes stopped: %+v, %v", chk, err)
	}
	t.Logf("check with two storage nodes stopped: %d at risk, %d degraded, %d healthy (repair under way)", chk.AtRisk, chk.Degraded, chk.Healthy)
	target := t.TempDir()
	rr, err := be.Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target, RecoveryKey: key})
	if err != nil {
		t.Fatalf("restore with two storage nodes stopped: %v", err)
	}
	if rr.Files != 4 {
		t.Errorf("restore result %+v", rr)
	}
	sameTree(t, src, filepath.Join(target, "docs"))
	if _, err := be.Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target, RecoveryKey: key}); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("restore into a non-empty target: %v", err)
	}

	// From nothing: the member's node is gone; node 1 has no member and
	// finds the heads in the mesh.
	m.Stop(0)
	be1 := m.Nodes[1].APIBackend()
	snaps1, err := be1.Snapshots(ctx, api.SnapshotsRequest{RecoveryKey: key})
	if err != nil || len(snaps1) != 2 {
		t.Fatalf("snapshots from another node with the key: %+v, %v", snaps1, err)
	}
	target1 := t.TempDir()
	if _, err := be1.Restore(ctx, api.RestoreRequest{Snapshot: res.SnapshotID, Target: target1, RecoveryKey: key}); err != nil {
		t.Fatalf("restore from nothing: %v", err)
	}
	sameTree(t, src, filepath.Join(target1, "docs"))
}
