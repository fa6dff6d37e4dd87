package meshblobs

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"respaldo/node/shard"
)

// A Put under an upload limit of R sends its shard bytes no faster than R
// at any moment (bucket burst aside), so it takes at least about bytes/R;
// a Blobs without a limit is not slowed.
func TestUploadLimit(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, sixZones, nil)
	wk := writeKeys(t)
	const size, limit = 1 << 20, 4 << 20 // 1 MiB at 4 MiB/s: 1.5 MiB of shards, ≥ ~0.37 s

	// Without a limit (connections dialled first): the best of three puts.
	free := m.blobs(m.config(nil))
	if free.up != nil {
		t.Fatal("a Blobs without UploadLimit has a throttle")
	}
	if _, err := free.Put(ctx, randBlob(1, 4<<10), secrets(t, wk)); err != nil {
		t.Fatal(err)
	}
	best := time.Hour
	for i := range 3 {
		start := time.Now()
		if _, err := free.Put(ctx, randBlob(uint64(10+i), size), secrets(t, wk)); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}

	c := m.config(nil)
	c.UploadLimit = limit
	lim := m.blobs(c)
	before := m.sent.Load()
	start := time.Now()
	// Sample the bytes on the wire while the put runs: by t after start,
	// at most the burst plus limit×t may have gone out.
	var worst atomic.Int64 // bytes over the bound, at worst
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			sent := m.sent.Load() - before
			bound := uploadChunk + int64(time.Since(start).Seconds()*limit)
			if over := sent - bound; over > worst.Load() {
				worst.Store(over)
			}
		}
	}()
	id, err := lim.Put(ctx, randBlob(2, size), secrets(t, wk))
	elapsed := time.Since(start)
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	sent := m.sent.Load() - before
	floor := time.Duration(float64(sent-uploadChunk) / limit * float64(time.Second))
	t.Logf("%d bytes sent in %v under %d B/s (floor %v); unlimited best %v", sent, elapsed, limit, floor, best)
	if sent < size*3/2 {
		t.Fatalf("only %d bytes sent for a %d-byte blob at 4+2", sent, size)
	}
	if elapsed < floor {
		t.Errorf("limited put took %v, under the %v its %d bytes need at %d B/s", elapsed, floor, sent, limit)
	}
	if w := worst.Load(); w > 0 {
		t.Errorf("%d bytes on the wire beyond burst + limit×elapsed: not smoothed", w)
	}
	if ok, err := lim.Has(ctx, id); err != nil || !ok {
		t.Fatalf("Has after a limited put: %v, %v", ok, err)
	}
	if best >= floor {
		t.Errorf("an unlimited put of the same size took %v at best, not less than the limited floor %v", best, floor)
	}
}

func TestUploadLimitConfig(t *testing.T) {
	if MinUploadLimit != 2*shard.DefaultLimits().MinRate {
		t.Fatalf("MinUploadLimit %d is not twice the rate holders cut uploads off under (%d)", MinUploadLimit, shard.DefaultLimits().MinRate)
	}
	m := newTestMesh(t, sixZones[:1], nil)
	for _, bad := range []int64{-1, 1, MinUploadLimit - 1} {
		c := m.config(nil)
		c.UploadLimit = bad
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("UploadLimit %d: %v", bad, err)
		}
	}
	for _, tc := range []struct {
		limit    int64
		slots    int
		perShard int64
	}{
		{MinUploadLimit, 1, MinUploadLimit},
		{MinUploadLimit*2 - 1, 1, MinUploadLimit*2 - 1},
		{4 << 20, 32, MinUploadLimit},
		{5 << 20 / 2, 20, 5 << 20 / 2 / 20},
	} {
		u := newUploader(tc.limit)
		if cap(u.slots) != tc.slots || u.perShard != tc.perShard || u.perShard < MinUploadLimit {
			t.Errorf("limit %d: %d slots at %d B/s, want %d at %d", tc.limit, cap(u.slots), u.perShard, tc.slots, tc.perShard)
		}
	}
	// A shard's put timeout leaves room for the shard at the limited rate.
	c := m.config(nil)
	c.UploadLimit = MinUploadLimit
	b := m.blobs(c)
	if got, want := b.putTimeout(2<<20), c.ShardTimeout+16*time.Second; got != want {
		t.Errorf("put timeout of 2 MiB at %d B/s: %v, want %v", MinUploadLimit, got, want)
	}
	c.UploadLimit = 0
	if b := m.blobs(c); b.putTimeout(2<<20) != c.transferTimeout(2<<20) {
		t.Errorf("unlimited put timeout %v, want %v", b.putTimeout(2<<20), c.transferTimeout(2<<20))
	}
}
