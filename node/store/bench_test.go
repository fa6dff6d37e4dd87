package store_test

import (
	"context"
	"testing"

	"respaldo/node/store/storetest"
)

const benchShard = 2 << 20

// BenchmarkDiskPut puts 2 MiB shards (CID and Merkle root check, temp file,
// two fsyncs, rename, badger commit). Erasure coding is not timed.
func BenchmarkDiskPut(b *testing.B) {
	ctx := context.Background()
	s := openDisk(b, b.TempDir(), 0)
	defer s.Close()
	b.SetBytes(benchShard)
	var st storetest.Stripe
	for i := 0; i < b.N; i++ {
		if i%6 == 0 {
			b.StopTimer()
			st = storetest.NewStripe(b, 4, 2, 4*benchShard)
			b.StartTimer()
		}
		if err := s.Put(ctx, st.D, i%6, st.Shards[i%6]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiskGet reads and verifies 2 MiB shards (page cache warm).
func BenchmarkDiskGet(b *testing.B) {
	ctx := context.Background()
	s := openDisk(b, b.TempDir(), 0)
	defer s.Close()
	st := storetest.NewStripe(b, 4, 2, 4*benchShard)
	putStripe(b, s, st)
	b.SetBytes(benchShard)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ctx, st.Ref(i%6)); err != nil {
			b.Fatal(err)
		}
	}
}
