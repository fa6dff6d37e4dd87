package erasure

import (
	"math/rand/v2"
	"testing"
)

const benchSize = 8 << 20

func BenchmarkEncode8MiB(b *testing.B) {
	blob := randBlob(rand.New(rand.NewPCG(1, 2)), benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Encode(blob, DefaultParams, Secrets{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReconstruct8MiB: two data shards lost; the four left are checked,
// the two rebuilt and checked.
func BenchmarkReconstruct8MiB(b *testing.B) {
	d, shards := mustEncode(b, randBlob(rand.New(rand.NewPCG(1, 2)), benchSize), DefaultParams)
	in := make([][]byte, len(shards))
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		copy(in, shards)
		in[0], in[2] = nil, nil
		if err := Reconstruct(d, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJoin8MiB: all shards present (data shards checked and copied).
func BenchmarkJoin8MiB(b *testing.B) {
	d, shards := mustEncode(b, randBlob(rand.New(rand.NewPCG(1, 2)), benchSize), DefaultParams)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Join(d, shards); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJoinDegraded8MiB: two data shards lost.
func BenchmarkJoinDegraded8MiB(b *testing.B) {
	d, shards := mustEncode(b, randBlob(rand.New(rand.NewPCG(1, 2)), benchSize), DefaultParams)
	in := append([][]byte(nil), shards...)
	in[0], in[2] = nil, nil
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Join(d, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShardCID2MiB: the CID (the Merkle root) of one 2 MiB shard, one
// core.
func BenchmarkShardCID2MiB(b *testing.B) {
	s := randBlob(rand.New(rand.NewPCG(1, 2)), 2<<20)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		ShardCID(s)
	}
}
