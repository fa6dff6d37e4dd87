package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"respaldo/erasure"
	"respaldo/node/store"
	"respaldo/node/store/storetest"
)

func openDisk(t testing.TB, dir string, capacity int64) *store.DiskStore {
	t.Helper()
	opts := store.DefaultOptions()
	opts.CapacityBytes = capacity
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := store.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// reopen closes s and opens its directory again; the new store is closed at
// the end of the test.
func reopen(t *testing.T, s *store.DiskStore) *store.DiskStore {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, s.Dir(), 0)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDiskStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, capacity int64) store.Store {
		return openDisk(t, t.TempDir(), capacity)
	})
}

// state is what a store shows: its List and its usage.
type state struct {
	list  []store.ShardInfo
	usage store.Usage
}

func stateOf(t *testing.T, s store.Store) state {
	t.Helper()
	var st state
	if err := s.List(context.Background(), func(i store.ShardInfo) error {
		st.list = append(st.list, i)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u, err := s.Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.usage = u
	return st
}

func sameState(t *testing.T, got, want state) {
	t.Helper()
	if !slices.EqualFunc(got.list, want.list, func(a, b store.ShardInfo) bool {
		return a.Ref == b.Ref && a.CID.Equals(b.CID) && a.Size == b.Size
	}) {
		t.Fatalf("List = %v\nwant %v", got.list, want.list)
	}
	if got.usage.Shards != want.usage.Shards || got.usage.UsedBytes != want.usage.UsedBytes {
		t.Fatalf("Usage = %+v, want %+v", got.usage, want.usage)
	}
}

func putStripe(t testing.TB, s store.Store, st storetest.Stripe, idx ...int) {
	t.Helper()
	if idx == nil {
		for i := range st.Shards {
			idx = append(idx, i)
		}
	}
	for _, i := range idx {
		if err := s.Put(context.Background(), st.D, i, st.Shards[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func shardPath(t *testing.T, s *store.DiskStore, ref store.ShardRef) string {
	t.Helper()
	p, err := s.ShardPath(ref)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func has(t *testing.T, s store.Store, ref store.ShardRef) bool {
	t.Helper()
	ok, err := s.Has(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestDiskFileFormat(t *testing.T) {
	// Small shards are written through the page cache as version 1 files;
	// large ones (64 KiB and more, in aligned buffers) with direct I/O as
	// version 2, whose shard bytes start at 4096.
	for _, size := range []int{10_000, 4 * 80_000} {
		s := openDisk(t, t.TempDir(), 0)
		defer s.Close()
		st := storetest.NewStripe(t, 4, 2, size)
		putStripe(t, s, st, 5)
		path := shardPath(t, s, st.Ref(5))
		c := st.D.Shards[5]
		wantName := c.String() + "-" + st.D.ID().String() + "-5.shard"
		if filepath.Base(path) != wantName {
			t.Fatalf("file name %s, want %s", filepath.Base(path), wantName)
		}
		digest := c.Hash()[5:] // shard multihash: code 80 80 c0 01, length 0x20, digest (the Merkle root)
		if root := st.D.Root(5); string(digest) != string(root[:]) {
			t.Fatalf("CID digest %x, want the Merkle root %x", digest, root)
		}
		if fan := filepath.Base(filepath.Dir(path)); fan != strings.ToLower(string("0123456789abcdef"[digest[0]>>4])+string("0123456789abcdef"[digest[0]&15])) {
			t.Fatalf("fan-out directory %s for digest %x", fan, digest[:1])
		}
		if got := filepath.Dir(filepath.Dir(path)); got != filepath.Join(s.Dir(), "shards") {
			t.Fatalf("shard directory %s", got)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		version := uint16(1)
		if size > 10_000 && s.Direct() {
			version = 2
		}
		desc := st.D.Marshal()
		want := []byte("RSPSHARD")
		want = binary.BigEndian.AppendUint16(want, version)
		want = binary.BigEndian.AppendUint16(want, 5)
		want = binary.BigEndian.AppendUint32(want, uint32(len(desc)))
		want = append(want, desc...)
		if version == 2 {
			want = append(want, make([]byte, 4096-len(want))...) // zeros up to the shard bytes at 4096
		}
		want = append(want, st.Shards[5]...)
		if !bytes.Equal(b, want) {
			t.Fatalf("version %d: file is\n%x\nwant\n%x", version, b[:min(len(b), 64)], want[:64])
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Fatalf("file mode %v", st.Mode())
		}
	}
}

func TestDiskReopen(t *testing.T) {
	s := openDisk(t, t.TempDir(), 0)
	a, b := storetest.NewStripe(t, 4, 2, 50_000), storetest.NewStripe(t, 2, 1, 7_000)
	putStripe(t, s, a)
	putStripe(t, s, b, 0, 2)
	s.Records().Put(context.Background(), []byte("roster/1"), []byte("entry"))
	before := stateOf(t, s)
	s = reopen(t, s)
	sameState(t, stateOf(t, s), before)
	if v, err := s.Records().Get(context.Background(), []byte("roster/1")); err != nil || string(v) != "entry" {
		t.Fatalf("record after reopen: %q, %v", v, err)
	}
	got, err := s.Get(context.Background(), b.Ref(2))
	if err != nil || !bytes.Equal(got, b.Shards[2]) {
		t.Fatalf("Get after reopen: %v", err)
	}
}

// TestDiskCrash simulates what a power cut can leave behind and checks that
// Open shows no half-written shard and keeps files and index in step.
func TestDiskCrash(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), 0)
	a := storetest.NewStripe(t, 4, 2, 50_000)
	putStripe(t, s, a)
	before := stateOf(t, s)

	// Shards of stripe b exist as files in another store; copies of them
	// stand for files whose rename hit the disk before the index commit.
	other := openDisk(t, t.TempDir(), 0)
	b := storetest.NewStripe(t, 2, 1, 30_000)
	putStripe(t, other, b)
	rel := func(ref store.ShardRef) string {
		p := shardPath(t, other, ref)
		r, _ := filepath.Rel(other.Dir(), p)
		return r
	}
	files := map[store.ShardRef][]byte{}
	rels := map[store.ShardRef]string{}
	for i := range 3 {
		files[b.Ref(i)], _ = os.ReadFile(shardPath(t, other, b.Ref(i)))
		rels[b.Ref(i)] = rel(b.Ref(i))
	}
	other.Close()
	rel = func(ref store.ShardRef) string { return rels[ref] }

	aPath := shardPath(t, s, a.Ref(0))
	gone := shardPath(t, s, a.Ref(5))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// 1. A crash while writing: temp files, one half-written, one empty.
	aFile, _ := os.ReadFile(aPath)
	write(filepath.Join(filepath.Dir(aPath), ".tmp-123456"), aFile[:len(aFile)/2])
	write(filepath.Join("shards", "00", ".tmp-7"), nil)
	// 2. A crash after the rename of b/0, before its index entry.
	write(rel(b.Ref(0)), files[b.Ref(0)])
	// 3. A half-written file under a final name (a filesystem that broke
	// its promise): must be quarantined, never shown.
	write(rel(b.Ref(1)), files[b.Ref(1)][:len(files[b.Ref(1)])-100])
	// 4. A crash between a Delete's file removal and its index update.
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	// 5. A stranger's file is left alone.
	write(filepath.Join("shards", "ab", "README"), []byte("hello"))

	s = openDisk(t, dir, 0)
	defer s.Close()
	for _, tmp := range []string{filepath.Join(filepath.Dir(aPath), ".tmp-123456"), filepath.Join(dir, "shards", "00", ".tmp-7")} {
		if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("temp file %s survived Open: %v", tmp, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "shards", "ab", "README")); err != nil {
		t.Errorf("unknown file removed: %v", err)
	}
	if !has(t, s, b.Ref(0)) || has(t, s, b.Ref(1)) || has(t, s, b.Ref(2)) || has(t, s, a.Ref(5)) {
		t.Fatal("Has after the crash: want b/0 adopted, b/1 quarantined, b/2 absent, a/5 gone")
	}
	got, err := s.Get(ctx, b.Ref(0))
	if err != nil || !bytes.Equal(got, b.Shards[0]) {
		t.Fatalf("Get adopted shard: %v", err)
	}
	q, _ := os.ReadDir(filepath.Join(dir, "quarantine"))
	if len(q) != 1 || !strings.HasPrefix(q[0].Name(), filepath.Base(rel(b.Ref(1)))) {
		t.Fatalf("quarantine holds %v", q)
	}
	after := stateOf(t, s)
	aFileSize := int64(len(aFile))
	bFileSize := int64(len(files[b.Ref(0)]))
	if after.usage.Shards != before.usage.Shards || after.usage.UsedBytes != before.usage.UsedBytes-aFileSize+bFileSize {
		t.Fatalf("usage after the crash %+v, before %+v", after.usage, before.usage)
	}
	if len(after.list) != 6 {
		t.Fatalf("List after the crash: %v", after.list)
	}
	if _, err := s.Descriptor(ctx, b.D.ID()); err != nil {
		t.Fatalf("Descriptor of an adopted shard: %v", err)
	}
}

// TestDiskLostDatabase deletes DIR/db and checks that Open rebuilds the
// index from the shard files, with an identical List.
func TestDiskLostDatabase(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), 0)
	var stripes []storetest.Stripe
	for i := range 4 {
		st := storetest.NewStripe(t, 4, 2, 20_000*(i+1))
		putStripe(t, s, st, 0, i+1, 5)
		stripes = append(stripes, st)
	}
	zero := storetest.NewStripe(t, 2, 1, 0) // an empty blob: empty shards
	putStripe(t, s, zero)
	before := stateOf(t, s)
	s.Close()
	if err := os.RemoveAll(filepath.Join(s.Dir(), "db")); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, s.Dir(), 0)
	defer s.Close()
	sameState(t, stateOf(t, s), before)
	for _, st := range stripes {
		d, err := s.Descriptor(ctx, st.D.ID())
		if err != nil || !bytes.Equal(d.Marshal(), st.D.Marshal()) {
			t.Fatalf("Descriptor after rebuild: %v", err)
		}
		for _, i := range []int{0, 5} {
			got, err := s.Get(ctx, st.Ref(i))
			if err != nil || !bytes.Equal(got, st.Shards[i]) {
				t.Fatalf("Get after rebuild: %v", err)
			}
		}
		if _, _, err := s.GetByCID(ctx, st.D.Shards[5]); err != nil {
			t.Fatalf("GetByCID after rebuild: %v", err)
		}
	}
	if got, err := s.Get(ctx, zero.Ref(1)); err != nil || len(got) != 0 {
		t.Fatalf("Get empty shard after rebuild: %q, %v", got, err)
	}
}

func TestDiskRebuild(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), 0)
	defer s.Close()
	a, b := storetest.NewStripe(t, 4, 2, 20_000), storetest.NewStripe(t, 3, 3, 20_000)
	putStripe(t, s, a)
	putStripe(t, s, b, 1, 3)
	s.Records().Put(ctx, []byte("head/x"), []byte("1"))
	before := stateOf(t, s)
	if err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	sameState(t, stateOf(t, s), before)
	if _, err := s.Records().Get(ctx, []byte("head/x")); err != nil {
		t.Fatalf("Rebuild lost a record: %v", err)
	}
	if err := s.Delete(ctx, b.Ref(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, b.Ref(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Descriptor(ctx, b.D.ID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Descriptor after deleting a rebuilt stripe: %v", err)
	}
}

// TestDiskDamage damages shard files in the ways a disk does and checks that
// Get reports ErrCorrupt and Scrub finds and quarantines every one.
func TestDiskDamage(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), 0)
	defer s.Close()
	st := storetest.NewStripe(t, 5, 2, 400_000) // shards of 80 000 bytes: version 2 files
	putStripe(t, s, st)
	hdr := store.HeaderLen(len(st.D.Marshal()))
	descEnd := 16 + len(st.D.Marshal())
	edit := func(i int, f func(b []byte) []byte) {
		p := shardPath(t, s, st.Ref(i))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	damages := []struct {
		name string
		f    func([]byte) []byte
		want error
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, erasure.ErrShardMismatch},
		{"bit flipped in the data", func(b []byte) []byte { b[len(b)-7] ^= 4; return b }, erasure.ErrShardMismatch},
		{"bit flipped in the descriptor", func(b []byte) []byte { b[descEnd-3] ^= 1; return b }, erasure.ErrStripeIDMismatch},
		{"bit set in the padding", func(b []byte) []byte { b[hdr-1] ^= 1; return b }, store.ErrCorrupt},
		{"truncated into the header", func(b []byte) []byte { return b[:hdr/2] }, store.ErrCorrupt},
		{"wrong index in the header", func(b []byte) []byte { b[11] ^= 1; return b }, store.ErrCorrupt},
		{"grown by a byte", func(b []byte) []byte { return append(b, 0) }, erasure.ErrShardMismatch},
	}
	for i, d := range damages {
		edit(i, d.f)
		got, err := s.Get(ctx, st.Ref(i))
		if got != nil || !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, d.want) {
			t.Errorf("%s: Get = %d bytes, %v; want ErrCorrupt and %v", d.name, len(got), err, d.want)
		}
		// ReadLent does not hash: it lends damaged data bytes (the reader
		// checks them) and finds every other damage.
		got, release, err := s.ReadLent(ctx, st.Ref(i))
		if d.name == "bit flipped in the data" {
			if err != nil || len(got) != len(st.Shards[i]) || bytes.Equal(got, st.Shards[i]) {
				t.Errorf("%s: ReadLent = %d bytes, %v; want the damaged bytes", d.name, len(got), err)
			}
			if release != nil {
				release()
			}
		} else if got != nil || release != nil || !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, d.want) {
			t.Errorf("%s: ReadLent = %d bytes, %v; want ErrCorrupt and %v", d.name, len(got), err, d.want)
		}
	}
	var bad []store.ShardRef
	stats, err := s.Scrub(ctx, store.ScrubOptions{Quarantine: true}, func(ref store.ShardRef, err error) {
		bad = append(bad, ref)
	})
	if err != nil || stats.Bad != 7 || stats.Quarantined != 7 || len(bad) != 7 {
		t.Fatalf("Scrub: %+v, %v, bad %v", stats, err, bad)
	}
	q, _ := os.ReadDir(filepath.Join(s.Dir(), "quarantine"))
	if len(q) != 7 {
		t.Fatalf("quarantine holds %d files, want 7", len(q))
	}
	if u, _ := s.Usage(ctx); u.Shards != 0 || u.UsedBytes != 0 {
		t.Fatalf("usage after quarantining everything: %+v", u)
	}
	if _, err := s.Descriptor(ctx, st.D.ID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Descriptor after quarantining every shard: %v", err)
	}
	// A file removed behind the store's back is reported missing.
	putStripe(t, s, st, 0)
	os.Remove(shardPath(t, s, st.Ref(0)))
	_, err = s.Get(ctx, st.Ref(0))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a vanished file: %v", err)
	}
	stats, err = s.Scrub(ctx, store.ScrubOptions{}, func(ref store.ShardRef, err error) {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Scrub reported %v for a vanished file", err)
		}
	})
	if err != nil || stats.Bad != 1 {
		t.Fatalf("Scrub of a vanished file: %+v, %v", stats, err)
	}
	// Put repairs it.
	putStripe(t, s, st, 0)
	if got, err := s.Get(ctx, st.Ref(0)); err != nil || !bytes.Equal(got, st.Shards[0]) {
		t.Fatalf("Get after re-Put: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, 0)
	defer s.Close()
	// badger's directory lock keeps a second process (or Open) out.
	if s2, err := store.Open(dir, store.DefaultOptions()); err == nil {
		s2.Close()
		t.Fatal("a second Open of one directory succeeded")
	}
	if _, err := store.Open(t.TempDir(), store.Options{CapacityBytes: -1}); err == nil {
		t.Fatal("negative capacity accepted")
	}
}

func removeDB(dir string) error { return os.RemoveAll(filepath.Join(dir, "db")) }

func TestDiskMissingDescriptorEntry(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), 0)
	st := storetest.NewStripe(t, 4, 2, 20_000)
	putStripe(t, s, st, 1, 4)
	if err := s.DropDescriptorEntry(st.D.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, st.Ref(4)); err != nil {
		t.Fatalf("Get without a descriptor entry (the header has it): %v", err)
	}
	s = reopen(t, s)
	d, err := s.Descriptor(ctx, st.D.ID())
	if err != nil || !bytes.Equal(d.Marshal(), st.D.Marshal()) {
		t.Fatalf("Descriptor after reopen: %v", err)
	}
}

// TestDiskReadLent: shards of several sizes lent in turn from reused
// buffers (a small shard after a large one, and the other way round) come
// back whole and right.
func TestDiskReadLent(t *testing.T) {
	ctx := context.Background()
	s := openDisk(t, t.TempDir(), 0)
	defer s.Close()
	var stripes []storetest.Stripe
	for _, n := range []int{300_000, 1000, 2 << 20, 70_000} {
		st := storetest.NewStripe(t, 4, 2, n)
		putStripe(t, s, st)
		stripes = append(stripes, st)
	}
	for round := range 3 {
		for _, st := range stripes {
			for i := range st.Shards {
				got, release, err := s.ReadLent(ctx, st.Ref(i))
				if err != nil || !bytes.Equal(got, st.Shards[i]) {
					t.Fatalf("round %d: ReadLent(%v) = %d bytes, %v; want %d bytes", round, st.Ref(i), len(got), err, len(st.Shards[i]))
				}
				release()
			}
		}
	}
	// Through the helper, and for a shard not held.
	if _, release, err := store.ReadLent(ctx, s, store.ShardRef{Stripe: stripes[0].D.ID(), Index: 9}); !errors.Is(err, store.ErrNotFound) || release != nil {
		t.Fatalf("ReadLent of a shard not held: %v", err)
	}
	mem := store.NewMemStore(0)
	got, release, err := store.ReadLent(ctx, mem, stripes[0].Ref(0))
	if !errors.Is(err, store.ErrNotFound) || got != nil || release != nil {
		t.Fatalf("ReadLent on a store that lends nothing: %v", err)
	}
	putStripe(t, mem, stripes[1])
	got, release, err = store.ReadLent(ctx, mem, stripes[1].Ref(2))
	if err != nil || !bytes.Equal(got, stripes[1].Shards[2]) {
		t.Fatalf("ReadLent on a store that lends nothing: %d bytes, %v", len(got), err)
	}
	release()
}
