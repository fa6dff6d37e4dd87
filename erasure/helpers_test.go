package erasure

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// randBlob returns n pseudo-random bytes drawn from r's stream.
func randBlob(r *rand.Rand, n int) []byte {
	var seed [32]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(seed[8*i:], r.Uint64())
	}
	b := make([]byte, n)
	rand.NewChaCha8(seed).Read(b)
	return b
}

// cloneShards deep-copies shards (nil stays nil).
func cloneShards(shards [][]byte) [][]byte {
	out := make([][]byte, len(shards))
	for i, s := range shards {
		if s != nil {
			out[i] = bytes.Clone(s)
		}
	}
	return out
}

func mustEncode(t testing.TB, blob []byte, p Params) (*Descriptor, [][]byte) {
	t.Helper()
	d, shards, err := Encode(blob, p, Secrets{})
	if err != nil {
		t.Fatalf("Encode(%d bytes, %v): %v", len(blob), p, err)
	}
	return d, shards
}

// choose returns all subsets of {0..n-1} of size k, as index lists.
func choose(n, k int) [][]int {
	var out [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			out = append(out, append([]int(nil), cur...))
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
	return out
}

// keep returns a view of shards with only the entries in idx present.
func keep(shards [][]byte, idx []int) [][]byte {
	out := make([][]byte, len(shards))
	for _, i := range idx {
		out[i] = shards[i]
	}
	return out
}
