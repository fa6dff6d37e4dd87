package backup

import (
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Fuzz targets for every decoder of bytes read back from a store or a KV.
// None may panic, whatever the input; what they accept must re-encode.

func seedTree(f *testing.F) {
	b, _ := encodeTree([]node{
		{Name: []byte("\xff\xfe.bin"), Type: NodeFile, Mode: 0o644, MTime: 1, Size: 3, Chunks: make([]byte, 32)},
		{Name: []byte("d"), Type: NodeDir, Mode: 0o755, MTime: -5, Tree: make([]byte, 32), UID: 1000, GID: 1000},
		{Name: []byte("l"), Type: NodeSymlink, Mode: 0o777, Target: []byte("../x")},
	})
	f.Add(b)
	e, _ := encodeTree(nil)
	f.Add(e)
}

func FuzzDecodeTree(f *testing.F) {
	seedTree(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		nodes, err := decodeTree(b)
		if err != nil {
			return
		}
		for i := range nodes {
			_ = nodes[i].chunkIDs()
			_ = nodes[i].subtree()
			_ = entryOf("x", &nodes[i])
		}
		if _, err := encodeTree(nodes); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodePack(f *testing.F) {
	b := newPlainPack(nil)
	b.add(crypto.ChunkID{1}, ChunkData, []byte("hello"), 5)
	enc := newEncoder(1)
	raw := []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	body := storedBody(enc, raw)
	b.add(crypto.ChunkIDKey{}.Sum(raw), ChunkTree, body, len(raw))
	p, _, _, _ := b.finish()
	f.Add(p)
	f.Add([]byte("rpk1\x04\x00\x00\x00\x00\x00\x00\x00"))
	r := &Reader{idKey: crypto.ChunkIDKey{}}
	r.hashers.New = func() any { return newIDHasher(r.idKey) }
	f.Fuzz(func(t *testing.T, p []byte) {
		es, end, err := parsePack(p)
		if err != nil {
			return
		}
		op := &openedPack{plain: p, entries: es, end: end}
		for _, e := range es {
			r.chunkFrom(op, e, nil)
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	enc := newEncoder(1)
	raw := []byte("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	body := storedBody(enc, raw)
	f.Add(body, uint32(len(raw)))
	f.Fuzz(func(t *testing.T, body []byte, raw uint32) {
		if raw > maxChunkRaw || int(raw) < len(body) {
			return // rejected by packEntry.check before decoding
		}
		out, err := decodeBody(body, int(raw), nil)
		if err == nil && len(out) != int(raw) {
			t.Fatalf("got %d bytes, want %d", len(out), raw)
		}
	})
}

func FuzzDecodeIndex(f *testing.F) {
	parts, _ := encodeIndex([]indexPack{{Pack: erasure.StripeID{9}, Entries: []packEntry{{ID: crypto.ChunkID{1}, Type: ChunkData, Off: 4, Len: 10, Raw: 20}}}})
	for _, p := range parts {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := decodeIndex(b)
		if err != nil {
			return
		}
		x := newIndex()
		for _, p := range ps {
			x.add(p.Pack, p.Entries)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	s := &Snapshot{Time: time.Unix(0, 12345), Host: "h", Device: "d", Paths: []string{"/a\xff"}, Tags: []string{"t"},
		Files: 1, Dirs: 2, Bytes: 3, IndexPacks: []erasure.StripeID{{1}}}
	rec := s.record()
	b, _ := marshal(&rec)
	f.Add(padRecord(snapshotMagic, b))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := unpadRecord(snapshotMagic, p)
		if err != nil {
			return
		}
		if s, err := decodeSnapshot(b); err == nil {
			_ = s.entry()
		}
	})
}

func FuzzDecodeCatalog(f *testing.F) {
	rec := catalogOf([]CatalogEntry{{ID: erasure.StripeID{1}, Time: time.Unix(5, 0), Host: "h", Paths: []string{"/x"}}})
	b, _ := marshal(&rec)
	f.Add(padRecord(catalogMagic, b))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := unpadRecord(catalogMagic, p)
		if err != nil {
			return
		}
		if es, err := decodeCatalog(b); err == nil {
			_, _ = findSnapshot(es, "latest")
		}
	})
}

func FuzzDecodeHeadAndManifest(f *testing.F) {
	h, _ := marshal(headRecord{V: headVersion, Device: "d", Seq: 3})
	m, _ := marshal(&manifestRecord{V: manifestVersion, Next: 2, Segments: []segment{{N: 1, Entries: 3, Parts: 1, Packs: []erasure.StripeID{{1}}}}})
	f.Add(h)
	f.Add(m)
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeHead(b)
		var man manifestRecord
		if unmarshal("manifest", b, &man) == nil {
			_ = man.indexPacks()
		}
	})
}
