package backup

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"respaldo/crypto"
	"respaldo/erasure"
)

func chunkSizes(t *testing.T, key crypto.ChunkerKey, data []byte) []int {
	t.Helper()
	c, err := newChunker(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.reset(bytes.NewReader(data))
	var sizes []int
	for {
		b, err := c.next()
		if err == io.EOF {
			return sizes
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(b))
	}
}

func TestChunkerSizesAndKeys(t *testing.T) {
	data := randBytes(rand.New(rand.NewPCG(3, 4)), 96<<20)
	k1 := crypto.ChunkerKey{1}
	s1 := chunkSizes(t, k1, data)
	total := 0
	for i, s := range s1 {
		total += s
		if s > ChunkMax || (s < ChunkMin && i != len(s1)-1) {
			t.Errorf("chunk %d: %d bytes", i, s)
		}
	}
	if total != len(data) {
		t.Fatalf("chunks sum to %d, want %d", total, len(data))
	}
	avg := float64(total) / float64(len(s1))
	t.Logf("%d chunks, average %.0f KiB", len(s1), avg/1024)
	if avg < 0.75*ChunkAvg || avg > 1.4*ChunkAvg {
		t.Errorf("average chunk %.0f bytes, want about %d", avg, ChunkAvg)
	}
	s2 := chunkSizes(t, crypto.ChunkerKey{2}, data)
	if len(s1) == len(s2) && s1[0] == s2[0] && s1[1] == s2[1] {
		t.Errorf("two keys gave the same boundaries")
	}
	// Same key, same boundaries; and boundaries resynchronise after an edit.
	if s := chunkSizes(t, k1, data); len(s) != len(s1) || s[3] != s1[3] {
		t.Errorf("not deterministic")
	}
	edited := append(append([]byte{}, data[:1000]...), data[1003:]...)
	s3 := chunkSizes(t, k1, edited)
	if s3[len(s3)-1] != s1[len(s1)-1] || s3[5] != s1[5] {
		t.Errorf("boundaries do not resynchronise after a small edit")
	}
}

func TestEmptyStreamGivesNoChunk(t *testing.T) {
	if s := chunkSizes(t, crypto.ChunkerKey{}, nil); len(s) != 0 {
		t.Fatalf("empty stream gave chunks %v", s)
	}
	if s := chunkSizes(t, crypto.ChunkerKey{}, []byte("x")); len(s) != 1 || s[0] != 1 {
		t.Fatalf("one byte gave chunks %v", s)
	}
}

func TestPaddingClasses(t *testing.T) {
	padClass(0)
	if classes[0] != minClass {
		t.Fatalf("first class %d", classes[0])
	}
	for i := 1; i < len(classes); i++ {
		a, b := classes[i-1], classes[i]
		if b <= a || float64(b) > 1.03*float64(a) {
			t.Fatalf("classes %d and %d are more than 3%% apart", a, b)
		}
	}
	if classes[len(classes)-1] < maxPlaintext {
		t.Fatalf("classes stop at %d", classes[len(classes)-1])
	}
	t.Logf("%d classes up to %d", len(classes), classes[len(classes)-1])
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		n := rng.IntN(maxPlaintext)
		c := padClass(n)
		if c < n || !isClass(c) || (n > minClass && float64(c) > 1.03*float64(n)) {
			t.Fatalf("padClass(%d) = %d", n, c)
		}
	}
}

// TestEveryBlobIsPadded opens every blob a backup put and checks that its
// plaintext is exactly a padding class long.
func TestEveryBlobIsPadded(t *testing.T) {
	dir := t.TempDir()
	src := trickyTree(t, dir)
	e := newEnv(t, Options{PackSize: 2 << 20})
	e.backup(t, src)
	ident := memberIdentity(memberKeys(t))
	kinds := map[string]int{}
	for _, id := range e.store.IDs() {
		b, err := e.store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		p, err := crypto.Open(b, ident)
		if err != nil {
			t.Fatal(err)
		}
		if !isClass(len(p)) {
			t.Errorf("blob %v: plaintext of %d bytes is not a class", id, len(p))
		}
		kinds[string(p[:4])]++
		if string(p[:4]) == packMagic {
			if _, _, err := parsePack(p); err != nil {
				t.Errorf("blob %v: %v", id, err)
			}
		}
	}
	if kinds[packMagic] < 3 || kinds[snapshotMagic] != 1 || kinds[catalogMagic] != 1 {
		t.Errorf("blobs by kind: %v", kinds)
	}
}

func TestPackRoundTrip(t *testing.T) {
	b := newPlainPack(nil)
	enc := newEncoder(1)
	var want [][]byte
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 20 {
		raw := textBytes(rng, 1+rng.IntN(100<<10))
		if i%3 == 0 {
			raw = randBytes(rng, 1+rng.IntN(100<<10))
		}
		body := storedBody(enc, raw)
		b.add(crypto.ChunkIDKey{}.Sum(raw), ChunkData, body, len(raw))
		want = append(want, raw)
	}
	p, _, _, err := b.finish()
	if err != nil {
		t.Fatal(err)
	}
	es, end, err := parsePack(p)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reader{idKey: crypto.ChunkIDKey{}}
	r.hashers.New = func() any { return newIDHasher(r.idKey) }
	op := &openedPack{plain: p, entries: es, end: end}
	for i, e := range es {
		got, err := r.chunkFrom(op, e, nil)
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
}

func TestCatalogMergeIsUnion(t *testing.T) {
	a := []CatalogEntry{{ID: erasure.StripeID{1}, Host: "a"}, {ID: erasure.StripeID{2}, Host: "a"}}
	b := []CatalogEntry{{ID: erasure.StripeID{2}, Host: "b"}, {ID: erasure.StripeID{3}, Host: "b"}}
	m := mergeCatalog(a, b)
	if len(m) != 3 {
		t.Fatalf("merged %v", m)
	}
	rec := catalogOf(m)
	enc, err := marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeCatalog(enc)
	if err != nil || len(back) != 3 || back[2].ID != (erasure.StripeID{3}) {
		t.Fatalf("decoded %v, %v", back, err)
	}
}

func TestPlanMergeKeepsFewSegments(t *testing.T) {
	var segs []segment
	rewritten := uint64(0)
	total := uint64(0)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 2000 {
		n := uint64(1 + rng.IntN(50))
		keep := planMerge(segs, n)
		for _, s := range segs[keep:] {
			n += s.Entries
			rewritten += s.Entries
		}
		total += uint64(1 + rng.IntN(50))
		segs = append(segs[:keep], segment{N: uint64(i), Entries: n})
		if len(segs) > 24 {
			t.Fatalf("after %d runs, %d segments", i, len(segs))
		}
	}
	t.Logf("%d segments; entries rewritten %.1f times each", len(segs), float64(rewritten)/float64(total))
}

func TestIDHasherMatchesCrypto(t *testing.T) {
	k := writeKeys(t, "laptop").ChunkIDKey()
	h := newIDHasher(k)
	rng := rand.New(rand.NewPCG(1, 5))
	for _, n := range []int{0, 1, 64, 1024, 1025, 8192, 1 << 20} {
		b := randBytes(rng, n)
		if h.sum(b) != k.Sum(b) {
			t.Fatalf("%d bytes: idHasher and crypto.ChunkIDKey.Sum differ", n)
		}
	}
}
