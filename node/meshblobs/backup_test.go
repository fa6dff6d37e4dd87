package meshblobs

import (
	"path/filepath"
	"testing"
	"time"

	"respaldo/node/backup"
	"respaldo/node/store"
	"respaldo/scripts/gendata"
)

// The backup code runs on the mesh unchanged: back up a generated tree into
// 6 storage nodes (two on disk), restore it through the writer's Blobs and
// through a fresh one with no hints and no index (a restore from nothing
// but the keys and the snapshot ID), and compare.
func TestBackupRoundTrip(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if _, err := gendata.Generate(src, 6<<20, 42, gendata.DefaultMix); err != nil {
		t.Fatal(err)
	}
	m := newTestMesh(t, sixZones, func(i int, s store.Store) store.Store {
		if i >= 2 {
			return s
		}
		ds, err := store.Open(filepath.Join(dir, "node", string(rune('a'+i))), store.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ds.Close() })
		return ds
	})
	c := m.config(nil) // the member's node writes with the write keys only
	c.NotFound = backup.ErrNotFound
	w := m.blobs(c)
	kv := backup.NewMemKV()
	wr, err := backup.NewWriter(w, kv, writeKeys(t), backup.Options{Host: "meshtest"})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := wr.Backup(ctx, []string{src}, backup.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	t.Logf("backup: %d files, %d bytes, %d stored in %d stripes; %d shard bytes sent, %.4f per stored byte",
		sum.Files, sum.Bytes, sum.StoredBytes, st.Puts, st.ShardBytesPut, float64(m.sent.Load())/float64(st.BlobBytesPut))
	if pl, ok := w.LastPlacement(); !ok || pl.ToleratesLosses != 2 || st.MinToleratesLosses != 2 {
		t.Errorf("placement %+v, stats %+v", pl, st)
	}

	for name, b := range map[string]*Blobs{
		"hints": m.blobs(func() Config { c := m.config(memberKeys()); c.Hints = w.cfg.Hints; return c }()),
		"fresh": m.blobs(m.config(memberKeys())),
	} {
		target := filepath.Join(dir, "restore-"+name)
		r := backup.NewReader(b, nil, memberKeys())
		if _, err := r.Restore(ctx, sum.SnapshotID, target, backup.RestoreOptions{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		diffs, err := gendata.Compare(src, filepath.Join(target, "src"))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			t.Errorf("%s: %s", name, d)
		}
		st := b.Stats()
		t.Logf("%s restore: %d blobs, %d has probes, %d locates, %d shard gets", name, st.Gets, st.HasProbes, st.Locates, st.ShardGets)
	}
}
