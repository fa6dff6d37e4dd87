package meshblobs

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/backup"
	"respaldo/node/mesh"
	"respaldo/node/store"
)

// BlobStore is what the backup code runs on.
var _ backup.BlobStore = (*Blobs)(nil)

var sixZones = []mesh.Zone{"a", "a", "b", "b", "c", "c"}

// lyingStore serves shards with one bit flipped (as a holder that lies, or
// whose disk rots under a store that does not check).
type lyingStore struct{ store.Store }

func (s lyingStore) Get(ctx context.Context, ref store.ShardRef) ([]byte, error) {
	b, err := s.Store.Get(ctx, ref)
	if err == nil && len(b) > 0 {
		b[len(b)/2] ^= 0x10
	}
	return b, err
}

// slowStore takes delay to read a shard.
type slowStore struct {
	store.Store
	delay time.Duration
}

func (s slowStore) Get(ctx context.Context, ref store.ShardRef) ([]byte, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.Get(ctx, ref)
}

// putUntil puts random blobs until the stripe has a data shard on node
// bad, and returns it with its bytes.
func putUntil(t *testing.T, ctx context.Context, m *testMesh, b *Blobs, bad int) (erasure.StripeID, []byte) {
	t.Helper()
	wk := writeKeys(t)
	for seed := range uint64(40) {
		blob := randBlob(seed, 1<<20+int(seed))
		id, err := b.Put(ctx, blob, secrets(t, wk))
		if err != nil {
			t.Fatal(err)
		}
		for i, hs := range m.holdersOf(ctx, id, erasure.DefaultParams.Total()) {
			if i < erasure.DefaultParams.K && slices.Contains(hs, m.nodes[bad]) {
				return id, blob
			}
		}
	}
	t.Fatal("no stripe put a data shard on the chosen node")
	return erasure.StripeID{}, nil
}

func TestLyingHolderIsSkipped(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	const liar = 3
	m := newTestMesh(t, sixZones, func(i int, s store.Store) store.Store {
		if i == liar {
			return lyingStore{s}
		}
		return s
	})
	b := m.blobs(m.config(memberKeys()))
	id, blob := putUntil(t, ctx, m, b, liar)
	for name, r := range map[string]*Blobs{"hints": b, "fresh": m.blobs(m.config(memberKeys()))} {
		got, err := r.Get(ctx, id)
		if err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("%s: Get: %v", name, err)
		}
		if st := r.Stats(); st.WrongShards != 1 {
			t.Errorf("%s: %d wrong shards seen, want 1", name, st.WrongShards)
		}
	}
}

func TestSlowHolderIsHedged(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	const slow = 1
	m := newTestMesh(t, sixZones, func(i int, s store.Store) store.Store {
		if i == slow {
			return slowStore{s, scaled(20 * time.Second)}
		}
		return s
	})
	c := m.config(memberKeys())
	c.HedgeAfter, c.HedgeRate = 300*time.Millisecond, 1<<30
	b := m.blobs(c)
	id, blob := putUntil(t, ctx, m, b, slow)
	start := time.Now()
	got, err := b.Get(ctx, id)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get: %v", err)
	}
	if took := time.Since(start); took > scaled(10*time.Second) {
		t.Errorf("Get took %v: it waited for the slow holder", took)
	}
	if st := b.Stats(); st.Hedges < 1 {
		t.Errorf("no hedge: %+v", st)
	}
}

func TestPutPlacesAroundFailingHolders(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	zones := []mesh.Zone{"a", "a", "a", "b", "b", "b", "c", "c"}
	const full, dead = 2, 5
	m := newTestMesh(t, zones, func(i int, s store.Store) store.Store {
		if i == full {
			return store.NewMemStore(1) // claims space in its heartbeats, has none
		}
		return s
	})
	m.nodes[dead].stop() // still live in the member's table
	b := m.blobs(m.config(memberKeys()))
	wk := writeKeys(t)
	for seed := range uint64(6) {
		blob := randBlob(seed, 100_000)
		id, err := b.Put(ctx, blob, secrets(t, wk))
		if err != nil {
			t.Fatal(err)
		}
		checkPlacement(t, ctx, m, id, len(blob))
		pl, _ := b.LastPlacement()
		for _, h := range pl.Holders {
			if h == m.nodes[full].id() || h == m.nodes[dead].id() {
				t.Errorf("placement names %s, which failed", h)
			}
		}
		if pl.ToleratesLosses != 2 {
			t.Errorf("tolerates %d", pl.ToleratesLosses)
		}
		got, err := b.Get(ctx, id)
		if err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("Get: %v", err)
		}
	}
	if st := b.Stats(); st.ShardPutRetries == 0 {
		t.Errorf("no retries, yet two nodes fail: %+v", st)
	}
}

func TestPutFailsWithoutEnoughHolders(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, []mesh.Zone{"a", "b"}, nil)
	m.nodes[0].stop()
	m.nodes[1].stop()
	c := m.config(memberKeys())
	c.MaxAttempts = 3
	b := m.blobs(c)
	if _, err := b.Put(ctx, []byte("hello"), secrets(t, writeKeys(t))); err == nil {
		t.Fatal("Put succeeded with every holder down")
	}
}

func TestWriteOnlyNode(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, sixZones, nil)
	w := m.blobs(m.config(nil))
	blob := randBlob(1, 200_000)
	id, err := w.Put(ctx, blob, secrets(t, writeKeys(t)))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := w.Has(ctx, id); err != nil || !ok {
		t.Errorf("Has = %v, %v", ok, err)
	}
	if _, err := w.Get(ctx, id); !errors.Is(err, ErrNeedsRecoveryKey) {
		t.Fatalf("Get on a write-only node: %v, want ErrNeedsRecoveryKey", err)
	}
	// The member, with the recovery key, reads it from anywhere.
	r := m.blobs(m.config(memberKeys()))
	if got, err := r.Get(ctx, id); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get with the keys: %v", err)
	}
}

func TestUnknownStripe(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, sixZones, nil)
	c := m.config(memberKeys())
	c.NotFound = backup.ErrNotFound
	b := m.blobs(c)
	id := erasure.StripeID{1, 2, 3}
	if _, err := b.Get(ctx, id); !errors.Is(err, ErrNotFound) || !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("Get: %v, want ErrNotFound and backup.ErrNotFound", err)
	}
	if ok, err := b.Has(ctx, id); ok || err != nil {
		t.Errorf("Has = %v, %v", ok, err)
	}
	// Without a way to fetch descriptors, and without a hint, as well.
	c.Locate = nil
	b = m.blobs(c)
	if _, err := b.Get(ctx, id); !errors.Is(err, backup.ErrNotFound) {
		t.Errorf("Get without Locate: %v", err)
	}
	if ok, err := b.Has(ctx, id); ok || err != nil {
		t.Errorf("Has without Locate = %v, %v", ok, err)
	}
}

func TestAllHoldersGone(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, sixZones, nil)
	b := m.blobs(m.config(memberKeys()))
	id, err := b.Put(ctx, randBlob(2, 5000), secrets(t, writeKeys(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.nodes[:3] {
		n.stop()
	}
	if _, err := b.Get(ctx, id); !errors.Is(err, ErrTooFewShards) {
		t.Errorf("Get with 3 of 6 holders gone: %v, want ErrTooFewShards", err)
	}
	if ok, err := b.Has(ctx, id); ok || err != nil {
		t.Errorf("Has = %v, %v", ok, err)
	}
}

// rotFirstStore serves the first shard asked of it with a bit flipped (a
// copy that rotted), the others intact.
type rotFirstStore struct {
	store.Store
	done *atomic.Bool
}

func (s rotFirstStore) Get(ctx context.Context, ref store.ShardRef) ([]byte, error) {
	b, err := s.Store.Get(ctx, ref)
	if err == nil && len(b) > 0 && s.done.CompareAndSwap(false, true) {
		b[len(b)/2] ^= 0x10
	}
	return b, err
}

// With fewer storage peers than shards each peer holds two shards of a
// stripe; two of them serve one damaged copy each. Their other copies are
// still asked for: the blob reads back.
func TestDamagedCopyDoesNotCondemnItsHolder(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, []mesh.Zone{"a", "b", "c"}, func(i int, s store.Store) store.Store {
		if i < 2 {
			return rotFirstStore{s, new(atomic.Bool)}
		}
		return s
	})
	b := m.blobs(m.config(memberKeys()))
	blob := randBlob(77, 2<<20+3)
	id, err := b.Put(ctx, blob, secrets(t, writeKeys(t)))
	if err != nil {
		t.Fatal(err)
	}
	for i, hs := range m.holdersOf(ctx, id, erasure.DefaultParams.Total()) {
		if len(hs) != 1 {
			t.Fatalf("shard %d has %d holders, want 1", i, len(hs))
		}
	}
	r := m.blobs(m.config(memberKeys()))
	got, err := r.Get(ctx, id)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get: %v", err)
	}
	if st := r.Stats(); st.WrongShards != 2 {
		t.Errorf("%d wrong shards seen, want 2", st.WrongShards)
	}
}
