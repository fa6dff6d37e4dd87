package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"respaldo/erasure"
)

// encodeHeaderV1 is the header of a version 1 shard file, which stores
// written before version 2 still hold.
func encodeHeaderV1(desc []byte, index int) []byte {
	h := []byte(fileMagic)
	h = binary.BigEndian.AppendUint16(h, 1)
	h = binary.BigEndian.AppendUint16(h, uint16(index))
	h = binary.BigEndian.AppendUint32(h, uint32(len(desc)))
	return append(h, desc...)
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
		v1 := append(encodeHeaderV1(d.Marshal(), 1), shards[1]...)
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
		want := int64(len(v1) + 2*(headerLen(2, len(d.Marshal()))+len(shards[0])))
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
// data, whatever the length of the last block.
func TestWriteDirect(t *testing.T) {
	dir := t.TempDir()
	header := alignedBytes(fileAlign)
	copy(header, "header")
	for _, n := range []int{minDirect, minDirect + 1, 1<<20 + 4095, 2 << 20} {
		data := alignedBytes(n)
		rand.Read(data)
		name := "f" + string(rune('a'+n%26))
		ok, err := writeFileAtomic(dir, name, header, data, true)
		if err != nil || !ok {
			t.Fatalf("%d bytes: ok %v, %v", n, ok, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, append(append([]byte{}, header...), data...)) {
			t.Fatalf("%d bytes: file differs (%d bytes, %v)", n, len(got), err)
		}
		for _, direct := range []bool{true, false} {
			for _, buf := range [][]byte{nil, make([]byte, n+fileAlign+1)[1:], alignedBytes(n + 2*fileAlign)} {
				b, ok, err := readFileInto(filepath.Join(dir, name), buf, direct)
				if err != nil || !ok || !bytes.Equal(b, got) {
					t.Fatalf("%d bytes, direct %v: readFileInto: %d bytes, ok %v, %v", n, direct, len(b), ok, err)
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

// TestWriteDirectRefused: when direct I/O fails (here: data not aligned
// in memory, which the kernel refuses with EINVAL) the file is written
// through the page cache, whole, and the caller is told.
func TestWriteDirectRefused(t *testing.T) {
	if openDirect == 0 {
		t.Skip("no direct I/O on this system")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := alignedBytes(fileAlign)
	copy(header, "header")
	data := alignedBytes(1<<20 + 1)[1:]
	rand.Read(data)
	ok, err := writeDirect(f, header, data)
	if err != nil || ok {
		t.Fatalf("writeDirect of unaligned data: ok %v, %v; want false, nil", ok, err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, append(append([]byte{}, header...), data...)) {
		t.Fatalf("file differs after the fallback (%d bytes, %v)", len(got), err)
	}
}

// TestDirectStore: a store on this file system keeps direct I/O on through
// puts and reads of large shards, and a PageCache store holds the same.
func TestDirectStore(t *testing.T) {
	if openDirect == 0 {
		t.Skip("no direct I/O on this system")
	}
	ctx := context.Background()
	d, shards := randomStripe(t, 4<<20+123, 4, 2)
	var files [2][]byte
	for j, pageCache := range []bool{false, true} {
		opts := DefaultOptions()
		opts.PageCache = pageCache
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
				t.Fatalf("PageCache %v: Get %d: %v", pageCache, i, err)
			}
		}
		if s.direct.Load() == pageCache {
			t.Fatalf("PageCache %v: direct I/O %v", pageCache, s.direct.Load())
		}
		files[j], err = os.ReadFile(s.path(d.Shards[3], ShardRef{Stripe: d.ID(), Index: 3}))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("direct and page-cache stores wrote different files")
	}
}
