package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"respaldo/node/store"
)

// testConcurrent runs writers, readers, deleters, listers and scrubbers at
// once (meant for -race), then checks the final state.
func testConcurrent(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	const writers = 6
	stripes := make([][]Stripe, writers)
	for w := range stripes {
		for range 4 {
			stripes[w] = append(stripes[w], NewStripe(t, 2, 1, 20_000))
		}
	}
	var wg, loops sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for _, st := range stripes[w] {
				for i, sh := range st.Shards {
					if err := s.Put(ctx, st.D, i, sh); err != nil {
						t.Errorf("Put: %v", err)
					}
					got, err := s.Get(ctx, st.Ref(i))
					if err != nil || len(got) != len(sh) {
						t.Errorf("Get own shard: %v", err)
					}
				}
				// Writers with an odd number delete their first shard of each stripe.
				if w%2 == 1 {
					if err := s.Delete(ctx, st.Ref(0)); err != nil {
						t.Errorf("Delete: %v", err)
					}
				}
			}
		})
	}
	for range 2 {
		loops.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := s.List(ctx, func(info store.ShardInfo) error {
					_, err := s.Get(ctx, info.Ref)
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("Get listed %v: %w", info.Ref, err)
					}
					return nil
				}); err != nil {
					t.Errorf("List: %v", err)
				}
				if _, err := s.Scrub(ctx, store.ScrubOptions{Quarantine: true}, func(ref store.ShardRef, err error) {
					t.Errorf("Scrub reported an intact shard %v: %v", ref, err)
				}); err != nil {
					t.Errorf("Scrub: %v", err)
				}
				if _, err := s.Usage(ctx); err != nil {
					t.Errorf("Usage: %v", err)
				}
				s.Records().Put(ctx, []byte("counter"), []byte("x"))
			}
		})
	}
	loops.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for w := range writers {
				for _, st := range stripes[w] {
					s.Has(ctx, st.Ref(0))
				}
			}
		}
	})
	wg.Wait()
	close(done)
	loops.Wait()

	want := 0
	for w := range writers {
		for _, st := range stripes[w] {
			for i, sh := range st.Shards {
				held := w%2 == 0 || i != 0
				mustHave(t, s, st.Ref(i), held)
				if held {
					mustGet(t, s, st.Ref(i), sh)
					want++
				}
			}
		}
	}
	if n := len(list(t, s)); n != want {
		t.Fatalf("List has %d shards, want %d", n, want)
	}
	if u := usage(t, s); u.Shards != want {
		t.Fatalf("Usage.Shards = %d, want %d", u.Shards, want)
	}
}

// testCloseWhileBusy closes a store under load: every call then fails with
// ErrClosed (or succeeds, if it came first), nothing panics or hangs.
func testCloseWhileBusy(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, 0)
	st := NewStripe(t, 4, 2, 40_000)
	putAll(t, s, st)
	var wg, started sync.WaitGroup
	started.Add(4)
	check := func(what string, err error) bool {
		if err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s while closing: %v", what, err)
		}
		return err != nil
	}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ref := st.Ref((w + i) % 6)
				var err error
				switch i % 5 {
				case 0:
					err = s.Put(ctx, st.D, ref.Index, st.Shards[ref.Index])
				case 1:
					_, err = s.Get(ctx, ref)
				case 2:
					err = s.List(ctx, func(info store.ShardInfo) error {
						_, err := s.Has(ctx, info.Ref)
						return err
					})
				case 3:
					_, err = s.Scrub(ctx, store.ScrubOptions{}, nil)
				case 4:
					err = s.Records().Put(ctx, []byte("k"), []byte("v"))
				}
				if i == 5 {
					started.Done()
				}
				if check(fmt.Sprint("op ", i%5), err) {
					if i < 5 {
						started.Done()
					}
					return
				}
			}
		})
	}
	started.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("Close under load: %v", err)
	}
	wg.Wait()
}

// testDescriptorRace deletes one shard of a stripe while another is put:
// the descriptor must stay while any shard of the stripe is held.
func testDescriptorRace(t *testing.T, open Opener) {
	ctx := context.Background()
	s := openStore(t, open, 0)
	for round := range 40 {
		st := NewStripe(t, 1, 1, 2000)
		putAll(t, s, st)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.Delete(ctx, st.Ref(0)); err != nil {
				t.Errorf("Delete: %v", err)
			}
		})
		wg.Go(func() {
			if err := s.Delete(ctx, st.Ref(1)); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if err := s.Put(ctx, st.D, 1, st.Shards[1]); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
		wg.Wait()
		if _, err := s.Descriptor(ctx, st.D.ID()); err != nil {
			t.Fatalf("round %d: Descriptor with shard 1 held: %v", round, err)
		}
	}
}
