package placement

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"respaldo/erasure"
	"respaldo/node/mesh"
)

// TestPlaceRules: one row per rule of Place. Each row is placed for 200
// stripes, so a row holds whatever the hash draws.
func TestPlaceRules(t *testing.T) {
	type row struct {
		name  string
		p     erasure.Params
		self  mesh.PeerID
		peers []Candidate
		err   error
		// Checked on every plan (zero values skip a check):
		never       []mesh.PeerID // may not hold a shard
		perPeer     []int         // per-peer shard counts, sorted descending
		zones       []int         // per-zone shard counts, sorted descending
		maxZone     int           // no zone holds more
		underplaced bool
		tolerates   int
		zoneSafe    bool
		// Checked on all the plans together.
		all func(t *testing.T, plans []Plan)
	}
	rows := []row{
		{name: "self is excluded", self: "p03", peers: stores(7, 7),
			never: []mesh.PeerID{"p03"}, perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true},
		{name: "self alone is no peer", self: "p00", peers: stores(1, 1), err: ErrNoPeers},
		{name: "client role is excluded",
			peers: append(stores(6, 3), Candidate{ID: "laptop", Zone: "z0", Role: mesh.RoleClient, Live: true, FreeBytes: PB, Availability: 1}),
			never: []mesh.PeerID{"laptop"}, perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true},
		{name: "a peer without a role (not in the roster) is excluded",
			peers: append(stores(6, 3), Candidate{ID: "stranger", Live: true, FreeBytes: PB, Availability: 1}),
			never: []mesh.PeerID{"stranger"}, perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true},
		{name: "dead peers are excluded",
			peers: append(stores(6, 3), Candidate{ID: "dead", Zone: "z1", Role: mesh.RoleStorage, FreeBytes: PB, Availability: 1}),
			never: []mesh.PeerID{"dead"}, perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true},
		{name: "a peer without room for a shard is skipped",
			peers: append(stores(6, 3), Candidate{ID: "full", Zone: "z1", Role: mesh.RoleStorage, Live: true, FreeBytes: shard - 1, Availability: 1}),
			never: []mesh.PeerID{"full"}, perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true},
		{name: "never two shards on one peer with k+m peers", peers: stores(6, 6),
			perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true},
		{name: "zone cap with 3 zones", peers: stores(12, 3),
			perPeer: []int{1, 1, 1, 1, 1, 1}, zones: []int{2, 2, 2}, tolerates: 2, zoneSafe: true},
		{name: "zone cap with 4 zones", peers: stores(12, 4),
			perPeer: []int{1, 1, 1, 1, 1, 1}, maxZone: 2, tolerates: 2, zoneSafe: true},
		{name: "zone cap holds against a big, always-up zone",
			peers: append(with(stores(10, 1), func(c *Candidate) { c.Zone = "big" }),
				with(stores(4, 2), func(c *Candidate) { c.ID += "x"; c.Availability = 0.2; c.FreeBytes = shard })...),
			perPeer: []int{1, 1, 1, 1, 1, 1}, zones: []int{2, 2, 2}, tolerates: 2, zoneSafe: true},
		{name: "two zones: as even as possible, reported", peers: stores(12, 2),
			perPeer: []int{1, 1, 1, 1, 1, 1}, zones: []int{3, 3}, tolerates: 2, zoneSafe: false},
		{name: "lopsided zones: distinct peers first, then as even as possible",
			peers: append(with(stores(10, 1), func(c *Candidate) { c.Zone = "big" }),
				store("b", "small1"), store("c", "small2")),
			perPeer: []int{1, 1, 1, 1, 1, 1}, zones: []int{4, 1, 1}, tolerates: 2, zoneSafe: false},
		{name: "one zone", peers: stores(8, 1),
			perPeer: []int{1, 1, 1, 1, 1, 1}, zones: []int{6}, tolerates: 2, zoneSafe: false},
		{name: "weight cap against a petabyte claimer",
			peers:   append(stores(11, 11), store("liar", "z99")),
			perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true,
			all: func(t *testing.T, plans []Plan) {
				// Uncapped, the liar would be in ~every plan; capped at 2x the
				// median it is in well under nine in ten (about seven).
				n := 0
				for _, p := range plans {
					n += counts(p)["liar"]
				}
				if n > len(plans)*85/100 {
					t.Errorf("the petabyte claimer holds a shard of %d of %d stripes", n, len(plans))
				}
			}},
		{name: "higher availability is preferred",
			peers:   append(stores(6, 6), with(stores(6, 6), func(c *Candidate) { c.ID += "-flaky"; c.Availability = 0.3 })...),
			perPeer: []int{1, 1, 1, 1, 1, 1}, tolerates: 2, zoneSafe: true,
			all: func(t *testing.T, plans []Plan) {
				flaky := 0
				for _, p := range plans {
					for _, h := range p.Holders {
						if strings.HasSuffix(string(h), "-flaky") {
							flaky++
						}
					}
				}
				// weight 0.09 against 1: about 1 shard in 9 at most.
				if total := 6 * len(plans); flaky*6 > total {
					t.Errorf("flaky peers hold %d of %d shards", flaky, total)
				}
			}},
		// Small meshes at 4+2: ⌈6/N⌉ per peer, spread round-robin.
		{name: "1 peer", peers: stores(1, 1), perPeer: []int{6}, underplaced: true, tolerates: 0},
		{name: "2 peers", peers: stores(2, 2), perPeer: []int{3, 3}, underplaced: true, tolerates: 0},
		{name: "3 peers", peers: stores(3, 3), perPeer: []int{2, 2, 2}, zones: []int{2, 2, 2}, underplaced: true, tolerates: 1, zoneSafe: true},
		{name: "4 peers", peers: stores(4, 4), perPeer: []int{2, 2, 1, 1}, underplaced: true, tolerates: 1, zoneSafe: true},
		{name: "5 peers", peers: stores(5, 5), perPeer: []int{2, 1, 1, 1, 1}, underplaced: true, tolerates: 1, zoneSafe: true},
		{name: "5 peers plus self, a client and a dead one", self: "p05",
			peers: append(stores(6, 3), Candidate{ID: "c", Role: mesh.RoleClient, Live: true, FreeBytes: TB},
				Candidate{ID: "d", Role: mesh.RoleStorage, FreeBytes: TB}),
			never: []mesh.PeerID{"p05", "c", "d"}, perPeer: []int{2, 1, 1, 1, 1}, maxZone: 2, underplaced: true, tolerates: 1, zoneSafe: true},
		{name: "4 peers in 2 zones", peers: stores(4, 2), perPeer: []int{2, 2, 1, 1}, zones: []int{3, 3}, underplaced: true, tolerates: 1},
		{name: "small mesh: a peer with room for one shard takes one",
			peers:   append(stores(3, 3), Candidate{ID: "tight", Zone: "z9", Role: mesh.RoleStorage, Live: true, FreeBytes: shard, Availability: 1}),
			perPeer: []int{2, 2, 1, 1}, underplaced: true, tolerates: 1, zoneSafe: true},
		{name: "no space for ⌈(k+m)/N⌉ per peer",
			peers: with(stores(2, 2), func(c *Candidate) { c.FreeBytes = 2 * shard }), err: ErrNoSpace},
		{name: "every live storage peer full",
			peers: with(stores(8, 2), func(c *Candidate) { c.FreeBytes = shard / 2 }), err: ErrNoSpace},
		{name: "no peers", err: ErrNoPeers},
		{name: "only dead, client and self", self: "p00",
			peers: append(stores(1, 1), Candidate{ID: "c", Role: mesh.RoleClient, Live: true, FreeBytes: TB},
				Candidate{ID: "d", Role: mesh.RoleStorage, FreeBytes: TB}), err: ErrNoPeers},
		{name: "a peer listed twice", peers: append(stores(6, 6), store("p01", "z1")), err: ErrBadInput},
		{name: "bad params", p: erasure.Params{K: 0, M: 2}, peers: stores(6, 6), err: ErrBadInput},
		{name: "10+4 over 5 zones", p: erasure.Params{K: 10, M: 4}, peers: stores(20, 5),
			perPeer: slices.Repeat([]int{1}, 14), maxZone: 4, tolerates: 4, zoneSafe: true},
		{name: "1+0 on one peer", p: erasure.Params{K: 1}, peers: stores(3, 3), perPeer: []int{1}, tolerates: 0},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := r.p
			if p == (erasure.Params{}) {
				p = p42
			}
			var plans []Plan
			for i := range 200 {
				plan, err := Place(stripeN(i), p, shard, r.self, r.peers)
				if r.err != nil {
					if !errors.Is(err, r.err) {
						t.Fatalf("stripe %d: error %v, want %v", i, err, r.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("stripe %d: %v", i, err)
				}
				if len(plan.Holders) != p.Total() || slices.Contains(plan.Holders, "") {
					t.Fatalf("stripe %d: holders %v", i, plan.Holders)
				}
				c, z := counts(plan), zoneCounts(plan, r.peers)
				for _, id := range r.never {
					if c[id] > 0 {
						t.Fatalf("stripe %d: %s holds %d shards", i, id, c[id])
					}
				}
				if got := sortedDesc(c); r.perPeer != nil && !slices.Equal(got, r.perPeer) {
					t.Fatalf("stripe %d: per-peer counts %v, want %v", i, got, r.perPeer)
				}
				zs := make(map[mesh.PeerID]int, len(z))
				for k, v := range z {
					zs[mesh.PeerID(k)] = v
				}
				if got := sortedDesc(zs); r.zones != nil && !slices.Equal(got, r.zones) {
					t.Fatalf("stripe %d: per-zone counts %v, want %v", i, got, r.zones)
				}
				if r.maxZone > 0 && maxOf(z) > r.maxZone {
					t.Fatalf("stripe %d: a zone holds %d shards: %v", i, maxOf(z), z)
				}
				if plan.Underplaced != r.underplaced || plan.ToleratesLosses != r.tolerates || plan.ZoneSafe != r.zoneSafe {
					t.Fatalf("stripe %d: underplaced %v tolerates %d zone-safe %v, want %v %d %v",
						i, plan.Underplaced, plan.ToleratesLosses, plan.ZoneSafe, r.underplaced, r.tolerates, r.zoneSafe)
				}
				plans = append(plans, plan)
			}
			if r.all != nil {
				r.all(t, plans)
			}
		})
	}
}

func TestPlaceBadShardSize(t *testing.T) {
	for _, s := range []int64{0, -1} {
		if _, err := Place(stripeN(0), p42, s, "", stores(6, 6)); !errors.Is(err, ErrBadInput) {
			t.Errorf("shard size %d: %v", s, err)
		}
	}
}

func TestWeightCap(t *testing.T) {
	free := []float64{TB, TB, TB, 2 * TB, 3 * TB, PB}
	w := weights(free, []float64{1, 1, 1, 1, 1, 1})
	// median 1.5 TB: the cap is 3 TB.
	want := []float64{TB, TB, TB, 2 * TB, 3 * TB, 3 * TB}
	if !slices.Equal(w, want) {
		t.Errorf("weights %v, want %v", w, want)
	}
	for _, c := range []struct{ a, f float64 }{{1, 1}, {0.5, 0.25}, {2, 1}, {0, 0.0025}, {-1, 0.0025}} {
		if got := availabilityFactor(c.a); math.Abs(got-c.f) > 1e-12 {
			t.Errorf("availabilityFactor(%v) = %v, want %v", c.a, got, c.f)
		}
	}
	if got := availabilityFactor(math.NaN()); math.Abs(got-0.0025) > 1e-12 {
		t.Errorf("availabilityFactor(NaN) = %v", got)
	}
}

func TestFromMesh(t *testing.T) {
	got := FromMesh([]mesh.PeerState{
		{ID: "a", Member: true, Zone: "z", Role: mesh.RoleStorage, Live: true, FreeBytes: 7, Availability: 0.9},
		{ID: "b", Role: mesh.RoleStorage, Live: true, FreeBytes: 7}, // a stranger, however it got here
	})
	want := []Candidate{
		{ID: "a", Zone: "z", Role: mesh.RoleStorage, Live: true, FreeBytes: 7, Availability: 0.9},
		{ID: "b", FreeBytes: 7},
	}
	if !slices.Equal(got, want) {
		t.Errorf("FromMesh = %+v", got)
	}
}

func ExamplePlace() {
	peers := []Candidate{
		{ID: "a", Zone: "north", Role: mesh.RoleStorage, Live: true, FreeBytes: 1 << 40, Availability: 1},
		{ID: "b", Zone: "south", Role: mesh.RoleStorage, Live: true, FreeBytes: 1 << 40, Availability: 1},
		{ID: "c", Zone: "east", Role: mesh.RoleStorage, Live: true, FreeBytes: 1 << 40, Availability: 1},
		{ID: "me", Zone: "east", Role: mesh.RoleStorage, Live: true, FreeBytes: 1 << 40, Availability: 1},
	}
	plan, err := Place(stripeN(1), erasure.Params{K: 4, M: 2}, 1<<20, "me", peers)
	fmt.Println(err, len(plan.Holders), plan.Underplaced, plan.ToleratesLosses, plan.ZoneSafe)
	// Output: <nil> 6 true 1 true
}
