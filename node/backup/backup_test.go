package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"respaldo/crypto"
	"respaldo/erasure"
)

func TestRoundTripTrickyTree(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	if len(sum.Skipped) != 0 {
		t.Fatalf("skipped: %v", sum.Skipped)
	}
	if sum.Files != 311 || sum.Packs == 0 {
		t.Errorf("summary: %+v", sum)
	}
	ctx := context.Background()
	snaps, err := e.r.Snapshots(ctx)
	if err != nil || len(snaps) != 1 || snaps[0].ID != sum.SnapshotID {
		t.Fatalf("snapshots: %v, %v", snaps, err)
	}
	target := filepath.Join(dir, "restore")
	rs, err := e.r.Restore(ctx, sum.SnapshotID, target, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Files != sum.Files || rs.Bytes != sum.Bytes {
		t.Errorf("restored %+v, backed up %+v", rs, sum)
	}
	sameTree(t, src, filepath.Join(target, "src"))

	ls, err := e.r.List(ctx, sum.SnapshotID, "src/a/b")
	if err != nil || len(ls) != 1 || ls[0].Path != "src/a/b/c" || ls[0].Type != NodeDir {
		t.Errorf("List: %+v, %v", ls, err)
	}
}

func TestSecondBackupWritesNoPack(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	e := newEnv(t, Options{})
	first := e.backup(t, src)
	before := e.store.Puts()
	second := e.backup(t, src)
	if second.Packs != 0 || second.NewBytes != 0 {
		t.Errorf("second backup: %d packs, %d new bytes", second.Packs, second.NewBytes)
	}
	if got := e.store.Puts() - before; got != 2 {
		t.Errorf("second backup put %d blobs, want 2 (snapshot and catalog)", got)
	}
	if second.SnapshotID == first.SnapshotID || second.Head.Seq != first.Head.Seq+1 {
		t.Errorf("heads: %+v then %+v", first.Head, second.Head)
	}
	snaps, err := e.r.Snapshots(context.Background())
	if err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots: %v, %v", snaps, err)
	}
	// Both restore from nothing but the store and the keys.
	for i, s := range []*Summary{first, second} {
		r := NewReader(e.store, nil, memberKeys(t))
		target := filepath.Join(dir, "r", string(rune('a'+i)))
		if _, err := r.Restore(context.Background(), s.SnapshotID, target, RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		sameTree(t, src, filepath.Join(target, "src"))
	}
}

func TestRestoreRefusesNonEmptyTarget(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "a.txt"), []byte("new"), 0o644)
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	target := filepath.Join(dir, "t")
	mustWrite(t, filepath.Join(target, "src/a.txt"), []byte("old"), 0o644)
	_, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{})
	if !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("got %v, want ErrTargetNotEmpty", err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "src/a.txt")); string(b) != "old" {
		t.Fatalf("target changed: %q", b)
	}
	if _, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "src/a.txt")); string(b) != "new" {
		t.Fatalf("not overwritten: %q", b)
	}
}

func TestWrongMemberKey(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "a.txt"), []byte("hello"), 0o644)
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	other, err := crypto.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(e.store, e.kv, other.Member())
	if _, err := r.Snapshots(context.Background()); !errors.Is(err, crypto.ErrWrongKey) {
		t.Errorf("Snapshots: %v, want ErrWrongKey", err)
	}
	_, err = r.Restore(context.Background(), sum.SnapshotID, filepath.Join(dir, "t"), RestoreOptions{})
	if !errors.Is(err, crypto.ErrWrongKey) {
		t.Errorf("Restore: %v, want ErrWrongKey", err)
	}
}

func TestFlippedBitInPack(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "a.txt"), textBytes(newRand(), 200<<10), 0o644)
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	// Flip a bit in the middle of every blob but the snapshot and catalog.
	s, err := e.r.Snapshot(context.Background(), sum.SnapshotID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range e.store.IDs() {
		if id == sum.SnapshotID || id == sum.Head.Catalog {
			continue
		}
		e.store.Mutate(id, func(b []byte) []byte { b[len(b)-100] ^= 0x10; return b })
	}
	r := NewReader(e.store, e.kv, memberKeys(t))
	_, err = r.Restore(context.Background(), s.ID, filepath.Join(dir, "t"), RestoreOptions{})
	if !errors.Is(err, crypto.ErrTampered) {
		t.Fatalf("Restore: %v, want ErrTampered", err)
	}
	t.Logf("error: %v", err)
}

// lendingBlobs is a MemBlobs that rebuilds blobs in the caller's buffer
// (BlobGetterInto), filled with garbage first as a reused one would be.
type lendingBlobs struct {
	*MemBlobs
	offered, used atomic.Int64
}

func (l *lendingBlobs) GetInto(ctx context.Context, id erasure.StripeID, buf []byte) ([]byte, error) {
	b, err := l.MemBlobs.Get(ctx, id)
	if err != nil || buf == nil {
		return b, err
	}
	l.offered.Add(1)
	buf = buf[:cap(buf)]
	for i := range buf {
		buf[i] = 0xa5
	}
	if len(buf) < len(b) {
		return b, nil
	}
	l.used.Add(1)
	return buf[:copy(buf, b)], nil
}

// TestRestoreReusesBuffers: a restore of many packs through a store that
// takes lent buffers reuses them, and every file still comes back right.
func TestRestoreReusesBuffers(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	rng := newRand()
	for i := range 40 {
		mustWrite(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), append(randBytes(rng, 20_000+rng.IntN(90_000)), textBytes(rng, rng.IntN(50_000))...), 0o644)
	}
	e := newEnv(t, Options{PackSize: 64 << 10})
	sum := e.backup(t, src)
	if sum.Packs < 20 {
		t.Fatalf("backup wrote %d packs; the test wants many", sum.Packs)
	}
	l := &lendingBlobs{MemBlobs: e.store}
	r := NewReader(l, nil, memberKeys(t))
	target := filepath.Join(dir, "restore")
	if _, err := r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, filepath.Join(target, "src"))
	t.Logf("%d packs: buffers offered %d times, used %d times", sum.Packs, l.offered.Load(), l.used.Load())
	if l.used.Load() < int64(sum.Packs)/2 {
		t.Errorf("%d packs: buffers offered %d times, used %d times", sum.Packs, l.offered.Load(), l.used.Load())
	}
}
