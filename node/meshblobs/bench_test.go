package meshblobs

import (
	"context"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

// BenchmarkPutGet8MiB puts and gets 8 MiB blobs (a pack) from a member into
// 6 storage nodes on loopback, all in this process on the same cores. It
// reports the blob throughput of each and the bytes the member's streams
// sent per blob byte on puts (headers included; (k+m)/k = 1.5 is the floor).
func BenchmarkPutGet8MiB(b *testing.B) {
	ctx := context.Background()
	m := newTestMesh(b, sixZones, nil)
	bl := m.blobs(m.config(memberKeys()))
	wk := writeKeys(b)
	blob := randBlob(1, 8<<20)
	var putT, getT time.Duration
	var sent int64
	b.SetBytes(int64(len(blob)))
	b.ResetTimer()
	for range b.N {
		s := secrets(b, wk)
		before := m.sent.Load()
		start := time.Now()
		id, err := bl.Put(ctx, blob, s)
		if err != nil {
			b.Fatal(err)
		}
		putT += time.Since(start)
		sent += m.sent.Load() - before
		start = time.Now()
		if _, err := bl.Get(ctx, id); err != nil {
			b.Fatal(err)
		}
		getT += time.Since(start)
		b.StopTimer()
		for _, n := range m.nodes { // keep memory flat
			for i := range erasure.DefaultParams.Total() {
				_ = n.st.Delete(ctx, store.ShardRef{Stripe: id, Index: i})
			}
		}
		b.StartTimer()
	}
	total := float64(b.N) * float64(len(blob))
	b.ReportMetric(total/putT.Seconds()/1e6, "put-MB/s")
	b.ReportMetric(total/getT.Seconds()/1e6, "get-MB/s")
	b.ReportMetric(float64(sent)/total, "wire/blob")
}
