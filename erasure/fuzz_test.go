package erasure

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzDecodeDescriptor: outside bytes never panic; whatever decodes is valid,
// re-marshals to exactly the same bytes, and opens under its own ID.
func FuzzDecodeDescriptor(f *testing.F) {
	for _, p := range []Params{{4, 2}, {1, 0}, {3, 1}, {10, 4}} {
		for _, n := range []int{0, 1, 1000, 3*PieceSize + 7} {
			d := mustDescriptor(f, make([]byte, n), p)
			f.Add(d.Marshal())
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{0xf6})
	f.Add([]byte{0xbf, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDescriptor(b)
		if err != nil {
			if d != nil || !errors.Is(err, ErrBadDescriptor) {
				t.Fatalf("error %v with descriptor %v", err, d)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("decoded an invalid descriptor: %v", err)
		}
		if !bytes.Equal(d.Marshal(), b) {
			t.Fatalf("re-marshal differs:\n in %x\nout %x", b, d.Marshal())
		}
		if _, err := OpenDescriptor(b, d.ID()); err != nil {
			t.Fatal(err)
		}
		_ = d.VerifyShard(0, nil)
		_ = d.VerifyPiece(d.K+d.M-1, d.Pieces()-1, nil, nil)
	})
}

// FuzzJoin: shards are shuffled, dropped, truncated, extended and corrupted;
// Join gives either the exact blob or a clean ErrTooFewShards, and succeeds
// whenever k shards are intact and in place. Reconstruct then rebuilds every
// shard exactly. The blob is pattern repeated to size bytes (so inputs stay
// small and minimise quickly, and repetitive blobs give identical shards);
// seed drives the damage.
func FuzzJoin(f *testing.F) {
	f.Add([]byte("hello, stripes"), uint16(14), uint8(4), uint8(2), uint64(1))
	f.Add([]byte{0}, uint16(3000), uint8(3), uint8(3), uint64(2))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7}, uint16(40000), uint8(4), uint8(2), uint64(3))
	f.Add([]byte{}, uint16(0), uint8(1), uint8(0), uint64(4))
	f.Add([]byte{7}, uint16(1), uint8(9), uint8(4), uint64(5))
	f.Fuzz(func(t *testing.T, pattern []byte, size uint16, k, m uint8, seed uint64) {
		var blob []byte
		if len(pattern) > 0 {
			blob = make([]byte, size)
			for i := range blob {
				blob[i] = pattern[i%len(pattern)]
			}
		}
		p := Params{K: 1 + int(k%10), M: int(m % 5)}
		d, orig, err := Encode(blob, p, Secrets{})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(seed, seed>>32))
		n := p.Total()
		shards := cloneShards(orig)
		for range r.IntN(2 * n) {
			i := r.IntN(n)
			switch r.IntN(6) {
			case 0:
				shards[i] = nil
			case 1:
				j := r.IntN(n)
				shards[i], shards[j] = shards[j], shards[i]
			case 2:
				if len(shards[i]) > 0 {
					shards[i] = shards[i][:r.IntN(len(shards[i]))]
				}
			case 3:
				shards[i] = append(shards[i], byte(r.Uint32()))
			case 4, 5:
				if len(shards[i]) > 0 {
					shards[i] = bytes.Clone(shards[i])
					shards[i][r.IntN(len(shards[i]))] ^= byte(1 + r.IntN(255))
				}
			}
		}
		intact := 0
		for i := range shards {
			if shards[i] != nil && bytes.Equal(shards[i], orig[i]) {
				intact++
			}
		}
		snapshot := cloneShards(shards)
		got, err := Join(d, shards)
		switch {
		case err == nil:
			if !bytes.Equal(got, blob) {
				t.Fatalf("%v: Join returned wrong bytes", p)
			}
		case !errors.Is(err, ErrTooFewShards):
			t.Fatalf("%v: unexpected error %v", p, err)
		case intact >= p.K:
			t.Fatalf("%v: %d intact shards, yet %v", p, intact, err)
		}
		for i := range shards {
			if !bytes.Equal(shards[i], snapshot[i]) || (shards[i] == nil) != (snapshot[i] == nil) {
				t.Fatalf("Join modified shard %d", i)
			}
		}
		if err := Reconstruct(d, shards); err != nil {
			if !errors.Is(err, ErrTooFewShards) || intact >= p.K {
				t.Fatalf("%v: Reconstruct with %d intact: %v", p, intact, err)
			}
			return
		}
		for i := range shards {
			if !bytes.Equal(shards[i], orig[i]) || shards[i] == nil {
				t.Fatalf("%v: Reconstruct: shard %d differs", p, i)
			}
		}
	})
}
