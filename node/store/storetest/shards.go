package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"respaldo/erasure"
	"respaldo/node/store"
)

func testPutGetHasDelete(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	st := NewStripe(t, 4, 2, 100_000)
	mustHave(t, s, st.Ref(0), false)
	_, err := s.Get(ctx, st.Ref(0))
	wantErr(t, "Get before Put", err, store.ErrNotFound)
	putAll(t, s, st)
	for i, sh := range st.Shards {
		mustHave(t, s, st.Ref(i), true)
		mustGet(t, s, st.Ref(i), sh)
	}
	got, _ := s.Get(ctx, st.Ref(1))
	got[0] ^= 0xff // the caller owns returned bytes
	mustGet(t, s, st.Ref(1), st.Shards[1])

	if err := s.Delete(ctx, st.Ref(2)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustHave(t, s, st.Ref(2), false)
	_, err = s.Get(ctx, st.Ref(2))
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
	wantErr(t, "Delete twice", s.Delete(ctx, st.Ref(2)), store.ErrNotFound)
	mustGet(t, s, st.Ref(3), st.Shards[3])
	if u := usage(t, s); u.Shards != 5 {
		t.Fatalf("Usage.Shards = %d, want 5", u.Shards)
	}
	_, err = s.Get(ctx, store.ShardRef{Stripe: st.D.ID(), Index: 9})
	wantErr(t, "Get bad index", err, store.ErrNotFound)
}

func testList(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	var want []store.ShardInfo
	for range 3 {
		st := NewStripe(t, 2, 1, 10_000)
		putAll(t, s, st)
		for i := range st.Shards {
			want = append(want, store.ShardInfo{Ref: st.Ref(i), CID: st.D.Shards[i], Size: st.D.ShardSize})
		}
	}
	slices.SortFunc(want, func(a, b store.ShardInfo) int { return compareRefs(a.Ref, b.Ref) })
	got := list(t, s)
	if !slices.EqualFunc(got, want, func(a, b store.ShardInfo) bool {
		return a.Ref == b.Ref && a.CID.Equals(b.CID) && a.Size == b.Size
	}) {
		t.Fatalf("List = %v\nwant %v", got, want)
	}
	stop := errors.New("stop")
	n := 0
	err := s.List(ctx, func(store.ShardInfo) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("List with failing fn: %v after %d calls", err, n)
	}
	// fn may call back into the store.
	err = s.List(ctx, func(info store.ShardInfo) error { return s.Delete(ctx, info.Ref) })
	if err != nil {
		t.Fatalf("List deleting: %v", err)
	}
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("List after deleting all: %v", got)
	}
}

// List returns everything s lists.
func list(t *testing.T, s store.Store) []store.ShardInfo {
	t.Helper()
	var got []store.ShardInfo
	if err := s.List(context.Background(), func(i store.ShardInfo) error {
		got = append(got, i)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	return got
}

func compareRefs(a, b store.ShardRef) int {
	if c := bytes.Compare(a.Stripe[:], b.Stripe[:]); c != 0 {
		return c
	}
	return a.Index - b.Index
}

func testDescriptor(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	st := NewStripe(t, 2, 1, 5000)
	_, err := s.Descriptor(ctx, st.D.ID())
	wantErr(t, "Descriptor before Put", err, store.ErrNotFound)
	putAll(t, s, st)
	d, err := s.Descriptor(ctx, st.D.ID())
	if err != nil {
		t.Fatalf("Descriptor: %v", err)
	}
	if !bytes.Equal(d.Marshal(), st.D.Marshal()) {
		t.Fatal("Descriptor differs from the one put")
	}
	for i := range st.Shards {
		if err := s.Delete(ctx, st.Ref(i)); err != nil {
			t.Fatal(err)
		}
		_, err := s.Descriptor(ctx, st.D.ID())
		if last := i == len(st.Shards)-1; last != errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Descriptor after deleting %d of %d shards: %v", i+1, len(st.Shards), err)
		}
	}
}

func testGetByCID(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	st := NewStripe(t, 4, 2, 40_000)
	putAll(t, s, st)
	for i, c := range st.D.Shards {
		ref, data, err := s.GetByCID(ctx, c)
		if err != nil || ref != st.Ref(i) || !bytes.Equal(data, st.Shards[i]) {
			t.Fatalf("GetByCID shard %d: %v, %v", i, ref, err)
		}
	}
	_, _, err := s.GetByCID(ctx, NewStripe(t, 1, 1, 10).D.Shards[0])
	wantErr(t, "GetByCID unknown", err, store.ErrNotFound)

	// Two stripes of a zero blob: every shard of both has one CID.
	a, b := stripeOf(t, make([]byte, 4096), 2, 1), stripeOf(t, make([]byte, 4096), 2, 1)
	c := a.D.Shards[0]
	if !b.D.Shards[1].Equals(c) || a.D.ID() == b.D.ID() {
		t.Fatal("test setup: want distinct stripes with identical shards")
	}
	if err := s.Put(ctx, a.D, 0, a.Shards[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, b.D, 1, b.Shards[1]); err != nil {
		t.Fatal(err)
	}
	mustHave(t, s, a.Ref(0), true)
	mustHave(t, s, b.Ref(1), true)
	mustHave(t, s, a.Ref(1), false)
	ref, _, err := s.GetByCID(ctx, c)
	if err != nil || (ref != a.Ref(0) && ref != b.Ref(1)) {
		t.Fatalf("GetByCID shared: %v, %v", ref, err)
	}
	if err := s.Delete(ctx, a.Ref(0)); err != nil {
		t.Fatal(err)
	}
	ref, data, err := s.GetByCID(ctx, c)
	if err != nil || ref != b.Ref(1) || !bytes.Equal(data, b.Shards[1]) {
		t.Fatalf("GetByCID after deleting one holder: %v, %v", ref, err)
	}
}

func testPutVerifies(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	st := NewStripe(t, 4, 2, 50_000)
	bad := bytes.Clone(st.Shards[0])
	bad[len(bad)/2] ^= 1
	wantErr(t, "Put flipped bit", s.Put(ctx, st.D, 0, bad), erasure.ErrShardMismatch)
	wantErr(t, "Put other shard", s.Put(ctx, st.D, 0, st.Shards[1]), erasure.ErrShardMismatch)
	wantErr(t, "Put short", s.Put(ctx, st.D, 0, st.Shards[0][1:]), erasure.ErrShardMismatch)
	wantErr(t, "Put long", s.Put(ctx, st.D, 0, append(bytes.Clone(st.Shards[0]), 0)), erasure.ErrShardMismatch)
	if err := s.Put(ctx, st.D, 6, st.Shards[0]); err == nil {
		t.Fatal("Put index 6 of 4+2 accepted")
	}
	if err := s.Put(ctx, st.D, -1, st.Shards[0]); err == nil {
		t.Fatal("Put index -1 accepted")
	}
	if err := s.Put(ctx, nil, 0, st.Shards[0]); err == nil {
		t.Fatal("Put nil descriptor accepted")
	}
	d := *st.D
	d.Size = -5
	wantErr(t, "Put invalid descriptor", s.Put(ctx, &d, 0, st.Shards[0]), erasure.ErrBadDescriptor)
	mustHave(t, s, st.Ref(0), false)
	if u := usage(t, s); u.Shards != 0 || u.UsedBytes != 0 {
		t.Fatalf("refused Puts changed usage: %+v", u)
	}
	data := bytes.Clone(st.Shards[2])
	if err := s.Put(ctx, st.D, 2, data); err != nil {
		t.Fatal(err)
	}
	data[0] ^= 0xff // the store must not retain the caller's slice
	mustGet(t, s, st.Ref(2), st.Shards[2])
}

func testIdempotentPut(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	st := NewStripe(t, 2, 1, 30_000)
	putAll(t, s, st)
	u1 := usage(t, s)
	putAll(t, s, st)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.Put(ctx, st.D, 0, st.Shards[0]); err != nil {
				t.Errorf("concurrent re-Put: %v", err)
			}
		})
	}
	other := NewStripe(t, 2, 1, 30_000)
	for range 8 {
		wg.Go(func() {
			if err := s.Put(ctx, other.D, 1, other.Shards[1]); err != nil {
				t.Errorf("concurrent first Put: %v", err)
			}
		})
	}
	wg.Wait()
	u2 := usage(t, s)
	if u2.Shards != u1.Shards+1 || u2.UsedBytes <= u1.UsedBytes || u2.UsedBytes-u1.UsedBytes > u1.UsedBytes/3+4096 {
		t.Fatalf("usage after re-Puts: %+v, before %+v", u2, u1)
	}
	if n := len(list(t, s)); n != 4 {
		t.Fatalf("List has %d shards, want 4", n)
	}
	mustGet(t, s, other.Ref(1), other.Shards[1])
}

func testDeleteFreesSpace(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	u0 := usage(t, s)
	st := NewStripe(t, 4, 2, 400_000)
	putAll(t, s, st)
	u1 := usage(t, s)
	if u1.Shards != 6 || u1.UsedBytes < 6*st.D.ShardSize {
		t.Fatalf("usage after 6 Puts: %+v (shard size %d)", u1, st.D.ShardSize)
	}
	if err := s.Delete(ctx, st.Ref(0)); err != nil {
		t.Fatal(err)
	}
	u2 := usage(t, s)
	if u2.Shards != 5 || u1.UsedBytes-u2.UsedBytes < st.D.ShardSize {
		t.Fatalf("usage after Delete: %+v, before %+v", u2, u1)
	}
	for i := 1; i < 6; i++ {
		if err := s.Delete(ctx, st.Ref(i)); err != nil {
			t.Fatal(err)
		}
	}
	if u3 := usage(t, s); u3.Shards != u0.Shards || u3.UsedBytes != u0.UsedBytes {
		t.Fatalf("usage after deleting all: %+v, at start %+v", u3, u0)
	}
}

func testCapacity(t *testing.T, open Opener) {
	ctx := context.Background()
	st := NewStripe(t, 4, 2, 4*64<<10)
	size := st.D.ShardSize
	s := openStore(t, open, 2*size+size/2)
	if u := usage(t, s); u.CapacityBytes != 2*size+size/2 || u.FreeBytes > u.CapacityBytes {
		t.Fatalf("Usage of an empty store: %+v", u)
	}
	for i := range 2 {
		if err := s.Put(ctx, st.D, i, st.Shards[i]); err != nil {
			t.Fatalf("Put %d within capacity: %v", i, err)
		}
	}
	wantErr(t, "Put beyond capacity", s.Put(ctx, st.D, 2, st.Shards[2]), store.ErrNoSpace)
	mustHave(t, s, st.Ref(2), false)
	u := usage(t, s)
	if u.Shards != 2 || u.UsedBytes > u.CapacityBytes || u.FreeBytes >= size || u.FreeBytes > u.CapacityBytes-u.UsedBytes {
		t.Fatalf("Usage when full: %+v", u)
	}
	if err := s.Put(ctx, st.D, 1, st.Shards[1]); err != nil {
		t.Fatalf("re-Put of a held shard when full: %v", err)
	}
	if err := s.Delete(ctx, st.Ref(0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, st.D, 2, st.Shards[2]); err != nil {
		t.Fatalf("Put after Delete freed space: %v", err)
	}
}

func testClosed(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, 0)
	st := NewStripe(t, 2, 1, 1000)
	putAll(t, s, st)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.Get(ctx, st.Ref(0))
	wantErr(t, "Get after Close", err, store.ErrClosed)
	wantErr(t, "Put after Close", s.Put(ctx, st.D, 0, st.Shards[0]), store.ErrClosed)
	_, err = s.Usage(ctx)
	wantErr(t, "Usage after Close", err, store.ErrClosed)
	_, err = s.Records().Get(ctx, []byte("k"))
	wantErr(t, "Records.Get after Close", err, store.ErrClosed)
}
