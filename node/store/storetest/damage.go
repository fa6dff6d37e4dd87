package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

// damager returns s as a Damager, or skips the test.
func damager(t *testing.T, s store.Store) Damager {
	t.Helper()
	d, ok := s.(Damager)
	if !ok {
		t.Skipf("%T does not implement storetest.Damager", s)
	}
	return d
}

func damage(t *testing.T, s store.Store, ref store.ShardRef) {
	t.Helper()
	if err := damager(t, s).DamageShard(ref); err != nil {
		t.Fatalf("DamageShard %v: %v", ref, err)
	}
}

func testDamage(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	damager(t, s)
	st := NewStripe(t, 4, 2, 100_000)
	putAll(t, s, st)
	damage(t, s, st.Ref(3))
	data, err := s.Get(ctx, st.Ref(3))
	wantErr(t, "Get damaged", err, store.ErrCorrupt, erasure.ErrShardMismatch)
	if data != nil {
		t.Fatal("Get of a damaged shard returned data")
	}
	_, data, err = s.GetByCID(ctx, st.D.Shards[3])
	wantErr(t, "GetByCID damaged", err, store.ErrCorrupt)
	if data != nil {
		t.Fatal("GetByCID of a damaged shard returned data")
	}
	mustGet(t, s, st.Ref(2), st.Shards[2])
	mustHave(t, s, st.Ref(3), true) // Has does not read the bytes
	// Delete then Put repairs it.
	if err := s.Delete(ctx, st.Ref(3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, st.D, 3, st.Shards[3]); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, st.Ref(3), st.Shards[3])
}

func testScrub(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	damager(t, s)
	a, b := NewStripe(t, 4, 2, 60_000), NewStripe(t, 2, 2, 60_000)
	putAll(t, s, a)
	putAll(t, s, b)
	stats, err := s.Scrub(ctx, store.ScrubOptions{}, func(ref store.ShardRef, err error) {
		t.Errorf("Scrub of an intact store reported %v: %v", ref, err)
	})
	if err != nil || stats.Shards != 10 || stats.Bad != 0 || stats.Bytes < 6*a.D.ShardSize+4*b.D.ShardSize {
		t.Fatalf("Scrub: %+v, %v", stats, err)
	}
	damage(t, s, a.Ref(1))
	damage(t, s, b.Ref(3))
	var mu sync.Mutex
	bad := map[store.ShardRef]error{}
	report := func(ref store.ShardRef, err error) {
		mu.Lock()
		defer mu.Unlock()
		bad[ref] = err
	}
	stats, err = s.Scrub(ctx, store.ScrubOptions{}, report)
	if err != nil || stats.Shards != 10 || stats.Bad != 2 || stats.Quarantined != 0 || len(bad) != 2 {
		t.Fatalf("Scrub: %+v, %v, reported %v", stats, err, bad)
	}
	for _, ref := range []store.ShardRef{a.Ref(1), b.Ref(3)} {
		wantErr(t, "Scrub report", bad[ref], store.ErrCorrupt)
		mustHave(t, s, ref, true)
	}
	u1 := usage(t, s)
	clear(bad)
	stats, err = s.Scrub(ctx, store.ScrubOptions{Quarantine: true}, report)
	if err != nil || stats.Bad != 2 || stats.Quarantined != 2 || len(bad) != 2 {
		t.Fatalf("Scrub with quarantine: %+v, %v, reported %v", stats, err, bad)
	}
	mustHave(t, s, a.Ref(1), false)
	mustHave(t, s, b.Ref(3), false)
	if u2 := usage(t, s); u2.Shards != 8 || u2.UsedBytes >= u1.UsedBytes {
		t.Fatalf("usage after quarantine: %+v, before %+v", u2, u1)
	}
	stats, err = s.Scrub(ctx, store.ScrubOptions{}, report)
	if err != nil || stats.Shards != 8 || stats.Bad != 0 {
		t.Fatalf("Scrub after quarantine: %+v, %v", stats, err)
	}
	if err := s.Put(ctx, a.D, 1, a.Shards[1]); err != nil {
		t.Fatalf("Put after quarantine: %v", err)
	}
	mustGet(t, s, a.Ref(1), a.Shards[1])
}

func testScrubThrottle(t *testing.T, open Opener) {
	s := openStore(t, open, 0)
	st := NewStripe(t, 4, 2, 4*32<<10)
	putAll(t, s, st)
	total := 6 * st.D.ShardSize
	start := time.Now()
	stats, err := s.Scrub(context.Background(), store.ScrubOptions{BytesPerSec: total * 5}, nil)
	if err != nil || stats.Shards != 6 {
		t.Fatalf("throttled Scrub: %+v, %v", stats, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("Scrub at 5 stores per second took %v, want about 200ms", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stats, err = s.Scrub(ctx, store.ScrubOptions{BytesPerSec: total / 10}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || stats.Shards == 6 {
		t.Fatalf("cancelled Scrub: %+v, %v", stats, err)
	}
}

func testBlobs(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	b := store.NewLocalBlobs(s, erasure.Params{K: 4, M: 2})
	blob := bytes.Repeat([]byte("respaldo "), 50_000)
	var sec erasure.Secrets
	sec.Nonce[0] = 1
	id, err := b.Put(ctx, blob, sec)
	if err != nil {
		t.Fatalf("LocalBlobs.Put: %v", err)
	}
	if ok, err := b.Has(ctx, id); !ok || err != nil {
		t.Fatalf("LocalBlobs.Has = %v, %v", ok, err)
	}
	if id2, err := b.Put(ctx, blob, sec); err != nil || id2 != id {
		t.Fatalf("LocalBlobs.Put again: %v, %v", id2, err)
	}
	got, err := b.Get(ctx, id)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("LocalBlobs.Get: %v", err)
	}
	ref := func(i int) store.ShardRef { return store.ShardRef{Stripe: id, Index: i} }
	if err := s.Delete(ctx, ref(0)); err != nil {
		t.Fatal(err)
	}
	// A damaged data shard: LocalBlobs reads data shards unverified and
	// leaves the check to erasure.Join, which must then turn to parity.
	if _, ok := s.(Damager); ok {
		damage(t, s, ref(1))
	} else if err := s.Delete(ctx, ref(1)); err != nil {
		t.Fatal(err)
	}
	got, err = b.Get(ctx, id)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("LocalBlobs.Get with 2 shards lost: %v", err)
	}
	if err := s.Delete(ctx, ref(2)); err != nil {
		t.Fatal(err)
	}
	_, err = b.Get(ctx, id)
	wantErr(t, "LocalBlobs.Get with 3 shards lost", err, erasure.ErrTooFewShards)
	var unknown erasure.StripeID
	if ok, err := b.Has(ctx, unknown); ok || err != nil {
		t.Fatalf("LocalBlobs.Has unknown = %v, %v", ok, err)
	}
	_, err = b.Get(ctx, unknown)
	wantErr(t, "LocalBlobs.Get unknown", err, store.ErrNotFound)
}
