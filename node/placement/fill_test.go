package placement

import (
	"errors"
	"slices"
	"testing"

	"respaldo/node/mesh"
)

func TestFill(t *testing.T) {
	peers := stores(12, 4)
	s := stripeN(42)
	plan, err := Place(s, p42, shard, "", peers)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("nil pins is Place", func(t *testing.T) {
		got, err := Fill(s, p42, shard, "", peers, nil)
		if err != nil || !equalPlans(got, plan) {
			t.Fatalf("%+v, %v", got, err)
		}
	})
	t.Run("all pinned needs no peers", func(t *testing.T) {
		got, err := Fill(s, p42, shard, "", nil, plan.Holders)
		if err != nil || !slices.Equal(got.Holders, plan.Holders) || got.ToleratesLosses != 2 {
			t.Fatalf("%+v, %v", got, err)
		}
		if got.ZoneSafe {
			t.Error("zones unknown without candidates, yet zone-safe") // all in zone ""
		}
	})
	t.Run("a dead holder's shard moves and nothing else", func(t *testing.T) {
		lost := plan.Holders[2]
		dead := with(peers, func(c *Candidate) {
			if c.ID == lost {
				c.Live = false
			}
		})
		pinned := slices.Clone(plan.Holders)
		pinned[2] = ""
		got, err := Fill(s, p42, shard, "", dead, pinned)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range got.Holders {
			if i != 2 && h != plan.Holders[i] {
				t.Errorf("shard %d moved from %s to %s", i, plan.Holders[i], h)
			}
		}
		if got.Holders[2] == lost || counts(got)[got.Holders[2]] != 1 || !got.ZoneSafe || got.ToleratesLosses != 2 {
			t.Errorf("replacement %+v", got)
		}
		if slices.Equal(pinned, got.Holders) || pinned[2] != "" {
			t.Error("Fill modified its pinned argument")
		}
	})
	t.Run("an underplaced stripe spreads out as peers join", func(t *testing.T) {
		three := stores(3, 3)
		old, err := Place(s, p42, shard, "", three)
		if err != nil || !old.Underplaced {
			t.Fatalf("%+v, %v", old, err)
		}
		// Repair drops each peer's second shard and fills on six peers.
		pinned := slices.Clone(old.Holders)
		seen := map[mesh.PeerID]bool{}
		for i, h := range pinned {
			if seen[h] {
				pinned[i] = ""
			}
			seen[h] = true
		}
		got, err := Fill(s, p42, shard, "", stores(6, 3), pinned)
		if err != nil {
			t.Fatal(err)
		}
		if got.Underplaced || got.ToleratesLosses != 2 || !got.ZoneSafe || len(counts(got)) != 6 {
			t.Errorf("after the mesh grew: %+v", got)
		}
	})
	t.Run("pinned peers count towards the zone limit", func(t *testing.T) {
		// Two shards already sit in z0 (on peers now dead); z0 gets no more.
		ps := append(stores(9, 3), Candidate{ID: "old1", Zone: "z0"}, Candidate{ID: "old2", Zone: "z0"})
		got, err := Fill(s, p42, shard, "", ps, []mesh.PeerID{"old1", "old2", "", "", "", ""})
		if err != nil {
			t.Fatal(err)
		}
		if z := zoneCounts(got, ps); z["z0"] != 2 || z["z1"] != 2 || z["z2"] != 2 {
			t.Errorf("zones %v: %v", z, got.Holders)
		}
	})
	t.Run("wrong length", func(t *testing.T) {
		if _, err := Fill(s, p42, shard, "", peers, make([]mesh.PeerID, 5)); !errors.Is(err, ErrBadInput) {
			t.Fatal(err)
		}
	})
	t.Run("PerPeer", func(t *testing.T) {
		pp := Plan{Holders: []mesh.PeerID{"a", "b", "a", ""}}.PerPeer()
		if len(pp) != 2 || !slices.Equal(pp["a"], []int{0, 2}) || !slices.Equal(pp["b"], []int{1}) {
			t.Errorf("%v", pp)
		}
	})
}
