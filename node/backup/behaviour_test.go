package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"respaldo/erasure"
)

func listAll(t *testing.T, r *Reader, snap erasure.StripeID) []string {
	t.Helper()
	var out []string
	if err := r.Walk(context.Background(), snap, func(e Entry) error { out = append(out, e.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSkippedFilesAreListed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "ok.txt"), []byte("fine"), 0o644)
	mustWrite(t, filepath.Join(src, "locked.txt"), []byte("nope"), 0o644)
	defer func(f func(string) (*os.File, error)) { openForBackup = f }(openForBackup)
	openForBackup = func(p string) (*os.File, error) {
		if filepath.Base(p) == "locked.txt" {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
		return openFile(p)
	}
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	if len(sum.Skipped) != 1 || sum.Skipped[0].Path != filepath.Join(src, "locked.txt") || sum.Files != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if got := listAll(t, e.r, sum.SnapshotID); !slices.Equal(got, []string{"src", "src/ok.txt"}) {
		t.Fatalf("snapshot holds %q", got)
	}
}

func TestExcludesAndIgnoreFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for _, p := range []string{"a.txt", "b.bin", "keep/c.txt", "keep/d.log", "keep/cache/e.txt", "keep/deep/cache/f.txt", "keep/x/y/z.log"} {
		mustWrite(t, filepath.Join(src, p), []byte(p), 0o644)
	}
	mustWrite(t, filepath.Join(src, "keep", IgnoreFile), []byte("# comment\n*.log\ncache/\n/x/y\n"), 0o644)
	e := newEnv(t, Options{})
	sum, err := e.w.Backup(context.Background(), []string{src}, BackupOptions{Exclude: []string{"*.bin"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"src", "src/a.txt", "src/keep", "src/keep/" + IgnoreFile, "src/keep/c.txt", "src/keep/deep", "src/keep/x"}
	if got := listAll(t, e.r, sum.SnapshotID); !slices.Equal(got, want) {
		t.Fatalf("snapshot holds %q, want %q", got, want)
	}
}

func TestRestoreInclude(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	target := filepath.Join(dir, "t")
	rs, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{Include: []string{"src/small/f00?.txt", "src/a/b"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(target, p)
		got = append(got, filepath.ToSlash(rel))
		return err
	})
	want := []string{".", "src", "src/a", "src/a/b", "src/a/b/c", "src/a/b/c/deep.txt", "src/small"}
	for i := range 10 {
		want = append(want, fmt.Sprintf("src/small/f%03d.txt", i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("restored %q\nwant %q", got, want)
	}
	if rs.Files != 11 {
		t.Errorf("summary %+v", rs)
	}
	sameTree(t, filepath.Join(src, "a"), filepath.Join(target, "src/a"))
}

func TestProgressIsReported(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	var mu sync.Mutex
	var calls []Progress
	e := newEnv(t, Options{ProgressEvery: time.Millisecond, Progress: func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, p)
	}})
	sum := e.backup(t, src)
	mu.Lock()
	defer mu.Unlock()
	last := calls[len(calls)-1]
	if !last.Done || last.Files != sum.Files || last.Bytes != sum.Bytes || last.TotalFiles != sum.Files {
		t.Fatalf("last progress %+v, summary %+v", last, sum)
	}
	for _, c := range calls[:len(calls)-1] {
		if c.Done {
			t.Fatalf("Done before the end: %+v", c)
		}
	}
}

func TestCatalogsOfTwoDevicesMerge(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	store := NewMemBlobs()
	kvA, kvB := NewMemKV(), NewMemKV()
	wa, _ := NewWriter(store, kvA, writeKeys(t, "laptop"), Options{})
	wb, _ := NewWriter(store, kvB, writeKeys(t, "desktop"), Options{})
	ctx := context.Background()
	sa, err := wa.Backup(ctx, []string{src}, BackupOptions{Tags: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	// The desktop learns the laptop's catalog from a reader (member keys).
	seen, err := NewReader(store, kvA, memberKeys(t)).Snapshots(ctx)
	if err != nil || len(seen) != 1 {
		t.Fatalf("laptop's snapshots: %v %v", seen, err)
	}
	if err := wb.MergeCatalog(ctx, seen); err != nil {
		t.Fatal(err)
	}
	sb, err := wb.Backup(ctx, []string{src}, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The desktop's head alone lists both.
	all, err := NewReader(store, kvB, memberKeys(t)).Snapshots(ctx)
	if err != nil || len(all) != 2 || all[0].ID != sa.SnapshotID || all[1].ID != sb.SnapshotID || all[0].Device != "laptop" {
		t.Fatalf("desktop's snapshots: %+v %v", all, err)
	}
	// The write side lists them too, without member keys.
	if own, _ := wb.Snapshots(ctx); len(own) != 2 {
		t.Fatalf("write side knows %v", own)
	}
	latest, err := NewReader(store, kvB, memberKeys(t)).Find(ctx, "latest")
	if err != nil || latest.ID != sb.SnapshotID {
		t.Fatalf("latest: %v %v", latest, err)
	}
	byPrefix, err := NewReader(store, kvB, memberKeys(t)).Find(ctx, sa.SnapshotID.String()[:8])
	if err != nil || byPrefix.ID != sa.SnapshotID {
		t.Fatalf("by prefix: %v %v", byPrefix, err)
	}
}

// failingStore fails every Put after the first n.
type failingStore struct {
	*MemBlobs
	n atomic.Int64
}

func (f *failingStore) Put(ctx context.Context, b []byte, s erasure.Secrets) (erasure.StripeID, error) {
	if f.n.Add(-1) < 0 {
		return erasure.StripeID{}, errors.New("disk on fire")
	}
	return f.MemBlobs.Put(ctx, b, s)
}

func TestFailedBackupResumes(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	fs := &failingStore{MemBlobs: NewMemBlobs()}
	fs.n.Store(2)
	kv := NewMemKV()
	w, _ := NewWriter(fs, kv, writeKeys(t, "laptop"), Options{PackSize: 1 << 20, Uploads: 1})
	ctx := context.Background()
	if _, err := w.Backup(ctx, []string{src}, BackupOptions{}); err == nil {
		t.Fatal("backup with a failing store succeeded")
	}
	if _, err := w.Head(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed backup moved the head: %v", err)
	}
	fs.n.Store(1 << 30)
	before := fs.Puts()
	sum, err := w.Backup(ctx, []string{src}, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := newEnv(t, Options{PackSize: 1 << 20})
	full := fresh.backup(t, src)
	if sum.NewBytes >= full.NewBytes || fs.Puts()-before >= fresh.store.Puts() {
		t.Errorf("resumed run stored %d new bytes in %d blobs; a fresh one %d in %d", sum.NewBytes, fs.Puts()-before, full.NewBytes, fresh.store.Puts())
	}
	target := filepath.Join(dir, "t")
	if _, err := NewReader(fs, kv, memberKeys(t)).Restore(ctx, sum.SnapshotID, target, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, filepath.Join(target, "src"))
}

func TestManyBackupsKeepOldSnapshotsRestorable(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	e := newEnv(t, Options{})
	var snaps []erasure.StripeID
	for i := range 12 {
		mustWrite(t, filepath.Join(src, fmt.Sprintf("f%02d.txt", i)), []byte(fmt.Sprintf("version %d", i)), 0o644)
		mustWrite(t, filepath.Join(src, "changing.txt"), []byte(fmt.Sprintf("now %d", i)), 0o644)
		snaps = append(snaps, e.backup(t, src).SnapshotID)
	}
	c, err := loadCache(context.Background(), e.kv, e.store)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.man.Segments) > 5 || len(c.pending) != 0 {
		t.Errorf("%d segments, %d pending entries", len(c.man.Segments), len(c.pending))
	}
	for _, i := range []int{0, 5, 11} {
		target := filepath.Join(dir, fmt.Sprint("t", i))
		if _, err := NewReader(e.store, nil, memberKeys(t)).Restore(context.Background(), snaps[i], target, RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(target, "src", "changing.txt"))
		if err != nil || string(b) != fmt.Sprintf("now %d", i) {
			t.Errorf("snapshot %d: changing.txt = %q, %v", i, b, err)
		}
		if _, err := os.Stat(filepath.Join(target, "src", fmt.Sprintf("f%02d.txt", i+1))); err == nil {
			t.Errorf("snapshot %d holds a later file", i)
		}
	}
}

func TestCancelledBackupPublishesNothing(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	e := newEnv(t, Options{})
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	e.w.opts.Progress = func(Progress) { cancel() }
	e.w.opts.ProgressEvery = time.Millisecond
	_, err := e.w.Backup(ctx, []string{src}, BackupOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := e.w.Head(context.Background()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("head moved: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left behind", runtime.NumGoroutine()-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBackupOfFilesAndSameNames(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "x/docs/a"), []byte("1"), 0o644)
	mustWrite(t, filepath.Join(dir, "y/docs/b"), []byte("2"), 0o644)
	mustWrite(t, filepath.Join(dir, "single.txt"), []byte("3"), 0o640)
	e := newEnv(t, Options{})
	sum := e.backup(t, filepath.Join(dir, "x/docs"), filepath.Join(dir, "y/docs"), filepath.Join(dir, "single.txt"))
	want := []string{"docs", "docs/a", "docs-2", "docs-2/b", "single.txt"}
	if got := listAll(t, e.r, sum.SnapshotID); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := e.w.Backup(context.Background(), []string{filepath.Join(dir, "missing")}, BackupOptions{}); err == nil {
		t.Fatal("backup of a missing path succeeded")
	}
}

func TestRestoreOverwriteReplacesWhatIsInTheWay(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "d/f"), []byte("file"), 0o644)
	mustWrite(t, filepath.Join(src, "g"), []byte("g"), 0o644)
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	target := filepath.Join(dir, "t")
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(filepath.Join(target, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink where a directory goes must not be followed.
	if err := os.Symlink(outside, filepath.Join(target, "src", "d")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(target, "src", "g"), []byte("old"), 0o600)
	if _, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, filepath.Join(target, "src"))
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("restore wrote through a symlink: %v", ents)
	}
	// A directory where a file goes is an error, and leaves no temporary.
	if err := os.Remove(filepath.Join(target, "src", "g")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(target, "src", "g"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{Overwrite: true}); err == nil {
		t.Fatal("restore replaced a directory with a file")
	}
	filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if filepath.Ext(p) == ".part" {
			t.Errorf("temporary left behind: %s", p)
		}
		return nil
	})
}

func TestLostPendingPackIsStoredAgain(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	fs := &failingStore{MemBlobs: NewMemBlobs()}
	fs.n.Store(3)
	kv := NewMemKV()
	w, _ := NewWriter(fs, kv, writeKeys(t, "laptop"), Options{PackSize: 1 << 20, Uploads: 1})
	ctx := context.Background()
	if _, err := w.Backup(ctx, []string{src}, BackupOptions{}); err == nil {
		t.Fatal("backup with a failing store succeeded")
	}
	for _, id := range fs.IDs() {
		fs.Delete(id) // the packs put before the failure are lost
	}
	fs.n.Store(1 << 30)
	sum, err := w.Backup(ctx, []string{src}, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "t")
	if _, err := NewReader(fs, kv, memberKeys(t)).Restore(ctx, sum.SnapshotID, target, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, filepath.Join(target, "src"))
}

func TestBackupStdin(t *testing.T) {
	dir := t.TempDir()
	data := textBytes(newRand(), 3<<20)
	e := newEnv(t, Options{})
	sum, err := e.w.Backup(context.Background(), nil, BackupOptions{Stdin: bytes.NewReader(data), StdinName: "db.sql"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Files != 1 || sum.Bytes != int64(len(data)) {
		t.Fatalf("summary %+v", sum)
	}
	target := filepath.Join(dir, "t")
	if _, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "db.sql")); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("restored %d bytes, %v", len(b), err)
	}
	_, err = e.w.Backup(context.Background(), nil, BackupOptions{Stdin: iotest.ErrReader(errors.New("dump failed")), StdinName: "db.sql"})
	if err == nil {
		t.Fatal("a failing standard input made a snapshot")
	}
}
