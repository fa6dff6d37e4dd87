// Package storetest is the conformance suite of node/store: every Store
// implementation passes Run.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"respaldo/erasure"
	"respaldo/node/store"
)

// Opener returns a new, empty store that holds at most capacity bytes of
// shards (0: no configured limit). Run closes it; the Opener may also
// register its own cleanup.
type Opener func(t *testing.T, capacity int64) store.Store

// Damager is implemented, in tests, by stores whose stored shards the suite
// may damage behind their back. When a store does not implement it, the
// damage tests are skipped.
type Damager interface {
	// DamageShard flips one bit of the stored shard bytes of ref.
	DamageShard(ref store.ShardRef) error
}

// Run runs the conformance suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"PutGetHasDelete", testPutGetHasDelete},
		{"List", testList},
		{"Descriptor", testDescriptor},
		{"GetByCID", testGetByCID},
		{"PutVerifies", testPutVerifies},
		{"IdempotentPut", testIdempotentPut},
		{"DeleteFreesSpace", testDeleteFreesSpace},
		{"Capacity", testCapacity},
		{"Damage", testDamage},
		{"Scrub", testScrub},
		{"ScrubThrottle", testScrubThrottle},
		{"Blobs", testBlobs},
		{"Records", testRecords},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
		{"CloseWhileBusy", testCloseWhileBusy},
		{"DescriptorRace", testDescriptorRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// openStore opens a store closed at the end of the test.
func openStore(t *testing.T, open Opener, capacity int64) store.Store {
	t.Helper()
	s := open(t, capacity)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// Stripe is an erasure-coded random blob for tests.
type Stripe struct {
	D      *erasure.Descriptor
	Shards [][]byte
	Blob   []byte
}

// Ref returns the ref of shard i.
func (s Stripe) Ref(i int) store.ShardRef { return store.ShardRef{Stripe: s.D.ID(), Index: i} }

// NewStripe codes size random bytes with k+m.
func NewStripe(t testing.TB, k, m, size int) Stripe {
	t.Helper()
	blob := make([]byte, size)
	rand.Read(blob)
	return stripeOf(t, blob, k, m)
}

func stripeOf(t testing.TB, blob []byte, k, m int) Stripe {
	t.Helper()
	var s erasure.Secrets
	rand.Read(s.Nonce[:])
	rand.Read(s.DeleteKey[:])
	rand.Read(s.ReadKey[:])
	d, shards, err := erasure.Encode(blob, erasure.Params{K: k, M: m}, s)
	if err != nil {
		t.Fatalf("erasure.Encode: %v", err)
	}
	for i, sh := range shards {
		// As a holder receives them (shard.Handler): in aligned buffers,
		// which a DiskStore writes with direct I/O.
		shards[i] = append(store.AlignedBuffer(len(sh))[:0], sh...)
	}
	return Stripe{D: d, Shards: shards, Blob: blob}
}

// putAll stores every shard of st.
func putAll(t *testing.T, s store.Store, st Stripe) {
	t.Helper()
	for i, sh := range st.Shards {
		if err := s.Put(context.Background(), st.D, i, sh); err != nil {
			t.Fatalf("Put %v: %v", st.Ref(i), err)
		}
	}
}

func mustGet(t *testing.T, s store.Store, ref store.ShardRef, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), ref)
	if err != nil {
		t.Fatalf("Get %v: %v", ref, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get %v: wrong bytes", ref)
	}
}

func mustHave(t *testing.T, s store.Store, ref store.ShardRef, want bool) {
	t.Helper()
	got, err := s.Has(context.Background(), ref)
	if err != nil || got != want {
		t.Fatalf("Has %v = %v, %v; want %v", ref, got, err, want)
	}
}

func usage(t *testing.T, s store.Store) store.Usage {
	t.Helper()
	u, err := s.Usage(context.Background())
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return u
}

func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: error %v, want %v", what, err, target)
		}
	}
}
