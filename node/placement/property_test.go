package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"respaldo/erasure"
	"respaldo/node/mesh"
)

// world is a random placement input.
type world struct {
	stripe erasure.StripeID
	p      erasure.Params
	self   mesh.PeerID
	peers  []Candidate
}

func (w world) String() string {
	return fmt.Sprintf("stripe %s %s self %q peers %+v", w.stripe, w.p, w.self, w.peers)
}

// randomWorld: up to maxPeers candidates in up to five zones, mostly live
// storage peers, with clients, strangers, dead and full peers, uneven free
// space (sometimes a petabyte claim) and availability.
func randomWorld(r *rand.Rand, minPeers, maxPeers int) world {
	w := world{p: erasure.Params{K: 1 + r.IntN(6), M: r.IntN(4)}, self: "me"}
	for i := range w.stripe {
		w.stripe[i] = byte(r.Uint32())
	}
	zones := 1 + r.IntN(5)
	n := minPeers + r.IntN(maxPeers-minPeers+1)
	for i := range n {
		c := Candidate{
			ID:           mesh.PeerID(fmt.Sprintf("n%02d", i)),
			Zone:         mesh.Zone(fmt.Sprintf("z%d", r.IntN(zones))),
			Role:         mesh.RoleStorage,
			Live:         r.IntN(8) > 0,
			FreeBytes:    TB + r.Int64N(TB),
			Availability: 1,
		}
		switch r.IntN(12) {
		case 0:
			c.Role = mesh.RoleClient
		case 1:
			c.Role = ""
		}
		switch r.IntN(10) {
		case 0:
			c.FreeBytes = r.Int64N(4 * shard) // room for 0 to 3 shards
		case 1:
			c.FreeBytes = PB
		}
		if r.IntN(3) == 0 {
			c.Availability = r.Float64()
		}
		w.peers = append(w.peers, c)
	}
	if n > 0 && r.IntN(2) == 0 {
		w.self = w.peers[r.IntN(n)].ID
	}
	return w
}

func (w world) place() (Plan, error) { return Place(w.stripe, w.p, shard, w.self, w.peers) }

// naive restates the rules directly: the eligible peers, ⌈n/N⌉, each
// one's capacity, and the least per-zone maximum any valid plan can have.
type naive struct {
	eligible    map[mesh.PeerID]Candidate
	anyLive     bool
	perPeer     int
	capacity    int
	zoneMin     int // least t with Σ_zones min(t, zone capacity) >= n
	zoneCapable bool
}

func naiveRules(w world) naive {
	nv := naive{eligible: map[mesh.PeerID]Candidate{}}
	for _, c := range w.peers {
		if c.Live && c.Role == mesh.RoleStorage && c.ID != w.self {
			nv.anyLive = true
			if c.FreeBytes >= shard {
				nv.eligible[c.ID] = c
			}
		}
	}
	n := w.p.Total()
	if len(nv.eligible) == 0 {
		return nv
	}
	nv.perPeer = (n + len(nv.eligible) - 1) / len(nv.eligible)
	zoneCap := map[mesh.Zone]int{}
	for _, c := range nv.eligible {
		k := int(min(int64(nv.perPeer), c.FreeBytes/shard))
		nv.capacity += k
		zoneCap[c.Zone] += k
	}
	fit := func(t int) int {
		s := 0
		for _, c := range zoneCap {
			s += min(t, c)
		}
		return s
	}
	for nv.zoneMin = 1; fit(nv.zoneMin) < n && nv.zoneMin < n; nv.zoneMin++ {
	}
	nv.zoneCapable = fit(w.p.M) >= n
	return nv
}

// TestPlaceProperties checks Place on random worlds against the rules
// restated naively, plus determinism and independence of input order.
func TestPlaceProperties(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	var ok, small, zoneUnsafe int
	for trial := range 3000 {
		w := randomWorld(r, 0, 16)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d trial %d: %s\n%v", seed, trial, fmt.Sprintf(format, args...), w)
		}
		plan, err := w.place()
		nv := naiveRules(w)
		n := w.p.Total()
		switch {
		case !nv.anyLive:
			if !errors.Is(err, ErrNoPeers) {
				fail("want ErrNoPeers, got %v", err)
			}
			continue
		case len(nv.eligible) == 0 || nv.capacity < n:
			if !errors.Is(err, ErrNoSpace) {
				fail("want ErrNoSpace, got %v", err)
			}
			continue
		case err != nil:
			fail("%v", err)
		}
		ok++
		// Determinism, whatever the input order.
		shuffled := w
		shuffled.peers = slices.Clone(w.peers)
		r.Shuffle(len(shuffled.peers), func(i, j int) {
			shuffled.peers[i], shuffled.peers[j] = shuffled.peers[j], shuffled.peers[i]
		})
		if again, err := shuffled.place(); err != nil || !equalPlans(plan, again) {
			fail("shuffled input gave %+v, %v; first %+v", again, err, plan)
		}
		// Only eligible peers, at most ⌈n/N⌉ each, distinct when N >= n.
		c := counts(plan)
		for id, k := range c {
			e, isElig := nv.eligible[id]
			if !isElig {
				fail("%q is not eligible but holds %d shards", id, k)
			}
			if k > nv.perPeer || int64(k) > e.FreeBytes/shard {
				fail("%q holds %d shards (limit %d, room %d)", id, k, nv.perPeer, e.FreeBytes/shard)
			}
		}
		if len(nv.eligible) >= n && len(c) != n {
			fail("%d eligible peers but only %d distinct holders", len(nv.eligible), len(c))
		}
		if plan.Underplaced != (len(nv.eligible) < n) {
			fail("underplaced %v with %d eligible", plan.Underplaced, len(nv.eligible))
		}
		if len(nv.eligible) < n {
			small++
		}
		// At most m per zone whenever achievable; otherwise the least
		// maximum achievable; ZoneSafe says which.
		mz := maxOf(zoneCounts(plan, w.peers))
		if nv.zoneCapable && mz > w.p.M {
			fail("a zone holds %d > m shards though the peers allow %d", mz, w.p.M)
		}
		if !nv.zoneCapable && mz != nv.zoneMin {
			fail("zones cannot keep to m: max per zone %d, want the least achievable %d", mz, nv.zoneMin)
		}
		if plan.ZoneSafe != (mz <= w.p.M) {
			fail("zone-safe %v with %d in one zone", plan.ZoneSafe, mz)
		}
		if !plan.ZoneSafe {
			zoneUnsafe++
		}
		if want := bruteTolerance(plan.Holders, w.p.K); plan.ToleratesLosses != want {
			fail("tolerates %d, brute force says %d", plan.ToleratesLosses, want)
		}
	}
	t.Logf("%d plans (%d underplaced, %d not zone-safe)", ok, small, zoneUnsafe)
	if ok < 1000 {
		t.Errorf("only %d of the random worlds gave a plan", ok)
	}
}

// TestPlaceStability: removing a peer changes nothing for the others
// unless it changes what the rules see of them (a capped weight follows the
// median; the zone limit follows which zones can be filled). Whenever every
// remaining peer's score, the one-shard-per-peer limit and the zone limit
// are unchanged:
//   - removing a peer that holds nothing leaves the plan exactly as it was;
//   - removing a holder X changes the set of holders by X out and one peer
//     in, and Fill around the other holders (what repair does) gives that
//     same peer exactly X's shards and moves nothing else.
func TestPlaceStability(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 3))
	var unchosen, chosen, skipped int
	for trial := range 3000 {
		w := randomWorld(r, 8, 24)
		for i := range w.peers {
			if w.peers[i].FreeBytes == PB && r.IntN(4) > 0 {
				w.peers[i].FreeBytes = TB // keep some capped weights, not most
			}
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d trial %d: %s\n%v", seed, trial, fmt.Sprintf(format, args...), w)
		}
		plan, err := w.place()
		if err != nil || plan.Underplaced {
			continue
		}
		gone := w.peers[r.IntN(len(w.peers))]
		less := w
		less.peers = slices.DeleteFunc(slices.Clone(w.peers), func(c Candidate) bool { return c.ID == gone.ID })
		if !sameView(w, less, gone.ID) {
			skipped++
			continue
		}
		after, err := less.place()
		if err != nil {
			fail("without %s: %v", gone.ID, err)
		}
		c := counts(plan)
		if c[gone.ID] == 0 {
			unchosen++
			if !equalPlans(plan, after) {
				fail("removing %s, which held nothing, changed %v into %v", gone.ID, plan.Holders, after.Holders)
			}
			continue
		}
		chosen++
		var in []mesh.PeerID
		ca := counts(after)
		for id := range ca {
			if c[id] == 0 {
				in = append(in, id)
			}
		}
		for id := range c {
			if id != gone.ID && ca[id] == 0 {
				fail("removing %s also dropped %s: %v into %v", gone.ID, id, plan.Holders, after.Holders)
			}
		}
		if len(in) != 1 {
			fail("removing %s brought in %v", gone.ID, in)
		}
		pinned := slices.Clone(plan.Holders)
		for i, h := range pinned {
			if h == gone.ID {
				pinned[i] = ""
			}
		}
		filled, err := Fill(less.stripe, less.p, shard, less.self, less.peers, pinned)
		if err != nil {
			fail("Fill: %v", err)
		}
		for i, h := range filled.Holders {
			want := plan.Holders[i]
			if want == gone.ID {
				want = in[0]
			}
			if h != want {
				fail("Fill without %s: %v, want %v with %s in its place", gone.ID, filled.Holders, plan.Holders, in[0])
			}
		}
	}
	t.Logf("removed %d unchosen and %d chosen peers; %d removals changed the rules' view and were skipped", unchosen, chosen, skipped)
	if unchosen < 500 || chosen < 300 {
		t.Errorf("too few cases exercised: %d unchosen, %d chosen", unchosen, chosen)
	}
}

// sameView: removing gone leaves every other eligible peer's score, the
// per-peer limit (1) and the zone limit as they were.
func sameView(w, less world, gone mesh.PeerID) bool {
	before := eligible(w.stripe, shard, w.self, w.peers)
	after := eligible(less.stripe, shard, less.self, less.peers)
	scores := map[mesh.PeerID]float64{}
	for _, c := range before {
		scores[c.id] = c.score
	}
	for _, c := range after {
		if scores[c.id] != c.score {
			return false
		}
	}
	zoneOf := func(w world) map[mesh.PeerID]mesh.Zone {
		z := map[mesh.PeerID]mesh.Zone{}
		for _, c := range w.peers {
			z[c.ID] = c.Zone
		}
		return z
	}
	n := w.p.Total()
	lb, err1 := newState(n, zoneOf(w), nil).limits(before, w.p.M)
	la, err2 := newState(n, zoneOf(less), nil).limits(after, w.p.M)
	return err1 == nil && err2 == nil && lb.perPeer == 1 && la.perPeer == 1 && lb.zoneCap == la.zoneCap
}
