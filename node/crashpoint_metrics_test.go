package node_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/testmesh"
)

// The member side's shard counters, as /metrics serves them: a backup
// adds what its Blobs sent, a second one of the same files only its
// snapshot and catalog.
func TestBackupShardMetrics(t *testing.T) {
	m := testmesh.Start(t, 7)
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(2*time.Minute))
	defer cancel()
	if _, err := node.SetupMember(m.Nodes[0].Dir, "laptop-metrics"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "docs")
	for name, size := range map[string]int{"a.bin": 3 << 20, "b.txt": 100} {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	be := m.Nodes[0].APIBackend()
	ms, ok := be.(api.MetricsSource)
	if !ok {
		t.Fatal("the node's API backend is not a MetricsSource")
	}
	counter := func(name string) float64 {
		t.Helper()
		fams, err := ms.Metrics().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == name {
				return f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	if v := counter("respaldo_backup_shard_bytes_total"); v != 0 {
		t.Fatalf("before any backup: %v shard bytes", v)
	}
	if _, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil); err != nil {
		t.Fatal(err)
	}
	first, puts, blobs := counter("respaldo_backup_shard_bytes_total"), counter("respaldo_backup_shard_puts_total"), counter("respaldo_backup_blob_bytes_total")
	// k+m = 4+2: the shards are about 1.5 times the blobs.
	if blobs < 3<<20 || first < 1.5*blobs || first > 1.5*blobs+float64(puts)*4 || puts < 6 {
		t.Fatalf("after a backup of 3 MiB: %v shard bytes in %v puts, %v blob bytes", first, puts, blobs)
	}
	if _, err := be.Backup(ctx, api.BackupRequest{Paths: []string{src}}, nil); err != nil {
		t.Fatal(err)
	}
	if d := counter("respaldo_backup_shard_bytes_total") - first; d <= 0 || d > 256<<10 {
		t.Fatalf("a second backup of the same files sent %v shard bytes", d)
	}
}
