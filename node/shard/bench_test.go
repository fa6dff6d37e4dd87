package shard

import (
	"bytes"
	"context"
	"testing"
	"time"

	"respaldo/node/store"
)

// BenchmarkPutGet2MiB: a 2 MiB shard put, then got back by its owner with a
// proof, over net.Pipe to a handler with a MemStore. MB/s counts both ways.
func BenchmarkPutGet2MiB(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, 4*2<<20) // 8 MiB at 4+2: 2 MiB shards
	e := newEnv(b, store.NewMemStore(0))
	b.SetBytes(2 * f.d.ShardSize)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		idx := i % len(f.shards)
		cerr, serr := e.run(otherPeer, func(s Stream) error { return Put(ctx, s, f.d, idx, f.shards[idx]) })
		if cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
		var data []byte
		cerr, serr = e.run(ownerID, func(s Stream) (err error) {
			data, err = Get(ctx, s, ownerID, holderID, f.d, idx, f.read, time.Now())
			return err
		})
		if cerr != nil || serr != nil || !bytes.Equal(data, f.shards[idx]) {
			b.Fatal(cerr, serr)
		}
	}
}
