package store_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"respaldo/node/store"
	"respaldo/node/store/storetest"
)

// TestDiskModel applies random puts, deletes, reopens, rebuilds and losses
// of the database to a DiskStore and a MemStore, and checks after every step
// that both agree with a naive model of which shards are held.
func TestDiskModel(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var stripes []storetest.Stripe
	for range 3 {
		stripes = append(stripes, storetest.NewStripe(t, 4, 2, 12_000))
	}
	disk := openDisk(t, t.TempDir(), 0)
	t.Cleanup(func() { disk.Close() })
	mem := store.NewMemStore(0)
	model := map[store.ShardRef]bool{}
	for step := range 300 {
		st := stripes[rng.IntN(len(stripes))]
		i := rng.IntN(6)
		ref := st.Ref(i)
		switch op := rng.IntN(20); {
		case op < 9:
			for _, s := range []store.Store{disk, mem} {
				if err := s.Put(ctx, st.D, i, st.Shards[i]); err != nil {
					t.Fatalf("step %d: Put: %v", step, err)
				}
			}
			model[ref] = true
		case op < 17:
			for _, s := range []store.Store{disk, mem} {
				if err := s.Delete(ctx, ref); (err == nil) != model[ref] || (err != nil && !errors.Is(err, store.ErrNotFound)) {
					t.Fatalf("step %d: Delete %v (held %v): %v", step, ref, model[ref], err)
				}
			}
			delete(model, ref)
		case op == 17:
			disk = reopen(t, disk)
		case op == 18:
			if err := disk.Rebuild(ctx); err != nil {
				t.Fatalf("step %d: Rebuild: %v", step, err)
			}
		default:
			dir := disk.Dir()
			disk.Close()
			if err := removeDB(dir); err != nil {
				t.Fatal(err)
			}
			disk = openDisk(t, dir, 0)
			t.Cleanup(func() { disk.Close() })
		}
		for _, s := range []store.Store{disk, mem} {
			n := 0
			for _, st := range stripes {
				for i := range 6 {
					held := model[st.Ref(i)]
					got, err := s.Get(ctx, st.Ref(i))
					if held != (err == nil) || (held && !bytes.Equal(got, st.Shards[i])) {
						t.Fatalf("step %d: %T Get %v (held %v): %v", step, s, st.Ref(i), held, err)
					}
					if held {
						n++
					}
				}
			}
			if u, _ := s.Usage(ctx); u.Shards != n || len(stateOf(t, s).list) != n {
				t.Fatalf("step %d: %T shows %d shards (usage %+v), model %d", step, s, len(stateOf(t, s).list), u, n)
			}
		}
	}
}
