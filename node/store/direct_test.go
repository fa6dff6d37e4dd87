package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"respaldo/erasure"
)

// directHere skips t unless direct I/O works in its temp dirs.
func directHere(t *testing.T) {
	t.Helper()
	if openDirect == 0 {
		t.Skip("no direct I/O on this system")
	}
	if ok, why := probeDirect(t.TempDir()); !ok {
		t.Skip(why)
	}
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "probe"), os.O_CREATE|os.O_WRONLY|openDirect, 0o600)
	if err != nil {
		t.Skipf("no direct I/O in the temp dir: %v", err)
	}
	f.Close()
}

func randomStripe(t *testing.T, size, k, m int) (*erasure.Descriptor, [][]byte) {
	t.Helper()
	blob := make([]byte, size)
	rand.Read(blob)
	var sec erasure.Secrets
	rand.Read(sec.Nonce[:])
	d, shards, err := erasure.Encode(blob, erasure.Params{K: k, M: m}, sec)
	if err != nil {
		t.Fatal(err)
	}
	for i, sh := range shards {
		shards[i] = append(alignedBytes(len(sh))[:0], sh...)
	}
	return d, shards
}

// TestVersion1Files: a store keeps reading the shard files of version 1,
// with and without its index.
func TestVersion1Files(t *testing.T) {
	ctx := context.Background()
	for _, dropIndex := range []bool{false, true} {
		dir := t.TempDir()
		s, err := Open(dir, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		d, shards := randomStripe(t, 300_000, 2, 1)
		for i, sh := range shards {
			if err := s.Put(ctx, d, i, sh); err != nil {
				t.Fatal(err)
			}
		}
		ref := ShardRef{Stripe: d.ID(), Index: 1}
		path := s.path(d.Shards[1], ref)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		v1 := append(encodeHeader(1, d.Marshal(), 1), shards[1]...)
		if err := os.WriteFile(path, v1, 0o600); err != nil {
			t.Fatal(err)
		}
		if dropIndex {
			os.RemoveAll(filepath.Join(dir, "db"))
		}
		s, err = Open(dir, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, ref)
		if err != nil || !bytes.Equal(got, shards[1]) {
			t.Fatalf("dropIndex %v: Get of a version 1 file: %d bytes, %v", dropIndex, len(got), err)
		}
		lent, release, err := s.ReadLent(ctx, ref)
		if err != nil || !bytes.Equal(lent, shards[1]) {
			t.Fatalf("dropIndex %v: ReadLent of a version 1 file: %d bytes, %v", dropIndex, len(lent), err)
		}
		release()
		u, err := s.Usage(ctx)
		version := 1 // as the other two were written
		if s.direct.Load() {
			version = 2
		}
		want := int64(len(v1) + 2*(headerLen(version, len(d.Marshal()))+len(shards[0])))
		if err != nil || u.UsedBytes != want || u.Shards != 3 {
			t.Fatalf("dropIndex %v: usage %+v, %v; want %d bytes in 3 shards", dropIndex, u, err, want)
		}
		stats, err := s.Scrub(ctx, ScrubOptions{}, func(ref ShardRef, err error) { t.Errorf("scrub: %v: %v", ref, err) })
		if err != nil || stats.Bad != 0 {
			t.Fatalf("scrub: %+v, %v", stats, err)
		}
		s.Close()
	}
}

// TestWriteDirect: files written with direct I/O hold exactly header and
// data, whatever the length of the last block, and read back the same with
// and without it, into any buffer.
func TestWriteDirect(t *testing.T) {
	directHere(t)
	dir := t.TempDir()
	header := alignedBytes(fileAlign)
	copy(header, "header")
	for _, n := range []int{minDirect, minDirect + 1, 1<<20 + 4095, 2 << 20} {
		data := alignedBytes(n)
		rand.Read(data)
		name := fmt.Sprint("f", n)
		refused, err := writeFileAtomic(dir, name, header, data, true)
		if err != nil || refused {
			t.Fatalf("%d bytes: refused %v, %v", n, refused, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, append(append([]byte{}, header...), data...)) {
			t.Fatalf("%d bytes: file differs (%d bytes, %v)", n, len(got), err)
		}
	}
	// Reads of files of any size, small ones included.
	for _, n := range []int{0, 1, 4095, 4096, 4097, 1<<20 + 3} {
		want := make([]byte, n)
		rand.Read(want)
		path := filepath.Join(dir, fmt.Sprint("r", n))
		if err := os.WriteFile(path, want, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, direct := range []bool{true, false} {
			for _, buf := range [][]byte{nil, make([]byte, n+fileAlign+1)[1:], alignedBytes(n + 2*fileAlign)} {
				b, refused, err := readFileInto(path, buf, direct)
				if err != nil || refused || !bytes.Equal(b, want) {
					t.Fatalf("%d bytes, direct %v: readFileInto: %d bytes, refused %v, %v", n, direct, len(b), refused, err)
				}
				if direct && n > 0 && !isAligned(b) {
					t.Fatalf("%d bytes: a direct read into an unaligned buffer", n)
				}
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temp file %s left", e.Name())
		}
	}
}

// TestWriteDirectFails: when a direct write fails after the first transfer
// (here: data not aligned in memory, which the kernel refuses with EINVAL)
// the file is written again through the page cache, whole, and direct I/O
// is not reported refused: the next file may well take it.
func TestWriteDirectFails(t *testing.T) {
	directHere(t)
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := alignedBytes(fileAlign)
	copy(header, "header")
	data := alignedBytes(1<<20 + 1)[1:]
	rand.Read(data)
	refused, err := writeDirect(f, header, data)
	if err != nil || refused {
		t.Fatalf("writeDirect of unaligned data: refused %v, %v; want false, nil", refused, err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, append(append([]byte{}, header...), data...)) {
		t.Fatalf("file differs after the fallback (%d bytes, %v)", len(got), err)
	}
	// An unaligned header fails at the first transfer: refused.
	g, err := os.CreateTemp(t.TempDir(), "y")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	bad := alignedBytes(2 * fileAlign)[1 : fileAlign+1]
	refused, err = writeDirect(g, bad, alignedBytes(minDirect))
	if err != nil || !refused {
		t.Fatalf("writeDirect of an unaligned header: refused %v, %v; want true, nil", refused, err)
	}
	if fi, err := g.Stat(); err != nil || fi.Size() != fileAlign+minDirect {
		t.Fatalf("file after the fallback: %v, %v", fi, err)
	}
}

// TestDirectStore: a store on this file system keeps direct I/O on through
// puts and reads of large shards and writes them as version 2 files; a
// PageCache store, and any store for small shards, writes version 1.
func TestDirectStore(t *testing.T) {
	directHere(t)
	ctx := context.Background()
	for _, c := range []struct {
		pageCache bool
		size      int
		version   int
	}{
		{false, 4<<20 + 123, 2},
		{true, 4<<20 + 123, 1},
		{false, 4 * (minDirect - 1), 1},
	} {
		d, shards := randomStripe(t, c.size, 4, 2)
		opts := DefaultOptions()
		opts.PageCache = c.pageCache
		s, err := Open(t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, sh := range shards {
			if err := s.Put(ctx, d, i, sh); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, ShardRef{Stripe: d.ID(), Index: i})
			if err != nil || !bytes.Equal(got, sh) {
				t.Fatalf("%+v: Get %d: %v", c, i, err)
			}
			lent, release, err := s.ReadLent(ctx, ShardRef{Stripe: d.ID(), Index: i})
			if err != nil || !bytes.Equal(lent, sh) {
				t.Fatalf("%+v: ReadLent %d: %v", c, i, err)
			}
			release()
		}
		if s.direct.Load() == c.pageCache {
			t.Fatalf("%+v: direct I/O %v", c, s.direct.Load())
		}
		b, err := os.ReadFile(s.path(d.Shards[3], ShardRef{Stripe: d.ID(), Index: 3}))
		if err != nil {
			t.Fatal(err)
		}
		if v := int(b[9]); v != c.version || len(b) != headerLen(v, len(d.Marshal()))+len(shards[3]) {
			t.Fatalf("%+v: a version %d file of %d bytes", c, v, len(b))
		}
		if u, _ := s.Usage(ctx); u.UsedBytes != 6*int64(len(b)) {
			t.Fatalf("%+v: %d bytes used, want 6 files of %d", c, u.UsedBytes, len(b))
		}
		s.Close()
	}
}
