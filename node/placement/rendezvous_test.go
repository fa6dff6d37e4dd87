package placement

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"testing"

	"respaldo/node/mesh"
)

func TestRendezvousHashIsSHA256OfStripeAndPeer(t *testing.T) {
	s := stripeN(7)
	want := sha256.Sum256(append(s[:], "peer-1"...))
	if rhash(s, "peer-1") != want {
		t.Fatal("rhash is not SHA-256(stripe || peer)")
	}
	for _, h := range [][32]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if u := unit(h); !(u > 0 && u < 1) || math.IsInf(score(1, h), 0) || score(1, h) <= 0 {
			t.Errorf("unit(%x) = %v, score %v", h[:8], u, score(1, h))
		}
	}
}

func TestRendezvousOrder(t *testing.T) {
	var ids []mesh.PeerID
	for i := range 20 {
		ids = append(ids, mesh.PeerID(fmt.Sprintf("peer-%d", i)))
	}
	s := stripeN(3)
	order := RendezvousOrder(s, ids)
	if len(order) != len(ids) {
		t.Fatalf("order has %d peers", len(order))
	}
	for i := 1; i < len(order); i++ {
		a, b := rhash(s, order[i-1]), rhash(s, order[i])
		if slices.Compare(a[:], b[:]) < 0 {
			t.Fatalf("not by descending hash at %d", i)
		}
	}
	// Input order and duplicates do not matter; removing a peer leaves the
	// others' order alone.
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	if got := RendezvousOrder(s, append(rev, ids[:5]...)); !slices.Equal(got, order) {
		t.Errorf("order depends on the input: %v", got)
	}
	less := RendezvousOrder(s, slices.Delete(slices.Clone(ids), 4, 5))
	if want := slices.DeleteFunc(slices.Clone(order), func(id mesh.PeerID) bool { return id == ids[4] }); !slices.Equal(less, want) {
		t.Errorf("removing one peer reordered the others")
	}
	// With equal weights, Place picks in this order.
	peers := make([]Candidate, len(ids))
	for i, id := range ids {
		peers[i] = store(id, mesh.Zone(id))
	}
	plan, err := Place(s, p42, shard, "", peers)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Holders, order[:6]) {
		t.Errorf("equal weights: plan %v, order %v", plan.Holders, order[:6])
	}
	if RendezvousOrder(s, nil) == nil || len(RendezvousOrder(s, nil)) != 0 {
		t.Error("empty order should be an empty, non-nil slice")
	}
}
