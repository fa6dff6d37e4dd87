package repair

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
)

// randomInput is a random mesh and stripe: up to 16 peers in up to four
// zones (storage mostly, some clients and strangers, some full), each
// live, away within the grace, away for longer, or revoked; a few holders
// the table does not know; 0 to 3 copies of each shard, some failed.
func randomInput(r *rand.Rand) Input {
	const grace = 24 * time.Hour
	p := erasure.Params{K: 1 + r.IntN(6), M: r.IntN(4)}
	in := Input{
		Stripe: Stripe{Params: p, ShardSize: shardSize},
		Now:    t0.Add(time.Duration(r.Int64N(int64(time.Hour)))),
		Grace:  grace,
	}
	for i := range in.Stripe.ID {
		in.Stripe.ID[i] = byte(r.Uint32())
	}
	if r.IntN(10) == 0 {
		in.Stripe.ShardSize = 0
	}
	type state struct {
		live, revoked bool
		seen          time.Time
	}
	states := map[mesh.PeerID]state{}
	var ids []mesh.PeerID
	zones := 1 + r.IntN(4)
	for i := range r.IntN(17) {
		id := mesh.PeerID(fmt.Sprintf("p%02d", i))
		s := state{live: true, seen: in.Now}
		switch r.IntN(8) {
		case 0:
			s = state{seen: in.Now.Add(-time.Duration(r.Int64N(int64(grace))))}
		case 1:
			s = state{seen: in.Now.Add(-grace - time.Duration(1+r.Int64N(int64(grace))))}
		case 2:
			s = state{revoked: true, live: r.IntN(2) == 0, seen: in.Now.Add(-time.Duration(r.Int64N(int64(grace))))}
		}
		c := placement.Candidate{
			ID: id, Zone: mesh.Zone(fmt.Sprintf("z%d", r.IntN(zones))), Role: mesh.RoleStorage,
			Live: s.live, FreeBytes: TB, Availability: r.Float64(),
		}
		switch r.IntN(12) {
		case 0:
			c.Role = mesh.RoleClient
		case 1:
			c.Role, c.Live = "", false
		}
		if r.IntN(8) == 0 {
			c.FreeBytes = r.Int64N(4 * shardSize)
		}
		states[id] = s
		ids = append(ids, id)
		in.Peers = append(in.Peers, c)
	}
	for i := range r.IntN(3) { // holders the table does not list
		id := mesh.PeerID(fmt.Sprintf("ghost%d", i))
		states[id] = state{live: r.IntN(3) == 0, seen: in.Now.Add(-time.Duration(r.Int64N(int64(3 * grace))))}
		ids = append(ids, id)
	}
	in.Shards = make([][]Copy, p.Total())
	if len(ids) > 0 {
		for i := range in.Shards {
			copies := 1 + r.IntN(3)
			if r.IntN(8) == 0 {
				copies = 0
			}
			for range copies {
				id := ids[r.IntN(len(ids))]
				s := states[id]
				in.Shards[i] = append(in.Shards[i], Copy{
					Peer: id, Live: s.live, LastSeen: s.seen, Revoked: s.revoked, FailedAudit: r.IntN(10) == 0,
				})
			}
		}
		if r.IntN(4) == 0 {
			in.Avoid = []mesh.PeerID{ids[r.IntN(len(ids))]}
		}
		in.Self = ids[r.IntN(len(ids))]
	}
	if r.IntN(3) == 0 {
		in.WatchingSince = in.Now.Add(-time.Duration(r.Int64N(int64(2 * grace))))
	}
	if r.IntN(2) == 0 {
		in.DueSince = in.Now.Add(-time.Duration(r.Int64N(int64(3 * time.Hour))))
	}
	in.LeaderTimeout = time.Duration(1+r.IntN(30)) * time.Minute
	return in
}

// goodCopy: peer holds a live, good copy of index i in the input.
func goodCopy(in Input, i int, peer mesh.PeerID) bool {
	live := false
	for _, c := range in.Shards[i] {
		if c.Peer == peer {
			if c.Revoked || c.FailedAudit {
				return false
			}
			live = live || c.Live
		}
	}
	return live
}

// barred: peers that may receive nothing of the stripe.
func barred(in Input) map[mesh.PeerID]bool {
	b := map[mesh.PeerID]bool{}
	for _, id := range in.Avoid {
		b[id] = true
	}
	for _, cs := range in.Shards {
		for _, c := range cs {
			if c.Revoked || c.FailedAudit {
				b[c.Peer] = true
			}
		}
	}
	return b
}

// checkPlan restates the rules the plan must keep.
func checkPlan(t *testing.T, in Input, p Plan) {
	t.Helper()
	n, k := in.Stripe.Params.Total(), in.Stripe.Params.K
	h := p.Health
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\ninput %+v\nplan %+v", fmt.Sprintf(format, args...), in, p)
	}
	if len(p.Shards) != n || len(p.Holders) != n || h.Live+h.Waiting+h.Missing != n || h.State != stateOf(in.Stripe.Params, h.Live) {
		fail("health %+v", h)
	}
	for i, s := range p.Shards {
		anyGood := false
		for _, c := range in.Shards[i] {
			anyGood = anyGood || goodCopy(in, i, c.Peer)
		}
		if (s == Present) != anyGood {
			fail("shard %d is %v", i, s)
		}
		if s == Present && !goodCopy(in, i, p.Holders[i]) {
			fail("shard %d kept on %s, which has no good live copy", i, p.Holders[i])
		}
		if s.Missing() != (p.Holders[i] == "") {
			fail("shard %d: %v, kept on %q", i, s, p.Holders[i])
		}
		if s == Waiting && h.Live == k {
			fail("shard %d waits on a stripe at k", i)
		}
	}
	if h.State == Lost {
		if p.Work() || p.Due || p.Sources != nil || p.Leader != "" || p.IsLeader {
			fail("a lost stripe got a plan")
		}
		return
	}

	// New holders: live storage peers with room, not barred, one put per
	// index, onto a peer other than the one it moves from.
	cands := map[mesh.PeerID]placement.Candidate{}
	for _, c := range in.Peers {
		cands[c.ID] = c
	}
	bar := barred(in)
	size := max(in.Stripe.ShardSize, 1)
	rebuilt, seen := 0, map[int]bool{}
	for _, put := range p.Put {
		c, ok := cands[put.To]
		if !ok || !c.Live || c.Role != mesh.RoleStorage || c.FreeBytes < size || bar[put.To] {
			fail("put %+v onto an ineligible peer %+v", put, c)
		}
		if seen[put.Index] || put.To == put.From || goodCopy(in, put.Index, put.To) {
			fail("put %+v: a repeated index, or onto a peer that holds it", put)
		}
		seen[put.Index] = true
		switch {
		case put.From == "" && p.Shards[put.Index].Missing():
			rebuilt++
		case put.From != "" && p.Shards[put.Index] == Present && p.Holders[put.Index] == put.From:
		default:
			fail("put %+v of a %v shard", put, p.Shards[put.Index])
		}
		if p.After.Holders[put.Index] != put.To {
			fail("put %+v not in After", put)
		}
	}
	if rebuilt+p.Shortfall != h.Missing || (p.Shortfall > 0) != (p.Blocked != nil) {
		fail("%d rebuilt, shortfall %d of %d missing, blocked %v", rebuilt, p.Shortfall, h.Missing, p.Blocked)
	}
	for i, a := range p.After.Holders {
		if !seen[i] && a != p.Holders[i] {
			fail("shard %d moved without a put", i)
		}
	}
	// Enough peers: nobody that takes a shard, and no live holder, ends
	// with two.
	peers := map[mesh.PeerID]bool{}
	for _, hd := range p.Holders {
		if hd != "" {
			peers[hd] = true
		}
	}
	for id, c := range cands {
		if c.Live && c.Role == mesh.RoleStorage && c.FreeBytes >= size && !bar[id] {
			peers[id] = true
		}
	}
	if len(peers) >= n && p.Blocked == nil {
		after := perPeer(p.After.Holders)
		for i, a := range p.After.Holders {
			if a != "" && after[a] > 1 && p.Shards[i] != Waiting {
				fail("enough peers (%d), yet %s ends with %d shards", len(peers), a, after[a])
			}
		}
	}

	// Sources: k distinct Present indexes, from live good copies.
	if p.Due != (len(p.Put) > 0) {
		fail("due %v with %d puts", p.Due, len(p.Put))
	}
	if p.Due && len(p.Sources) != k {
		fail("%d sources", len(p.Sources))
	}
	got := map[Source]bool{}
	srcIdx := map[int]bool{}
	for j, s := range append(slices.Clone(p.Sources), p.Spares...) {
		if got[s] || !goodCopy(in, s.Index, s.Peer) || p.Shards[s.Index] != Present {
			fail("source %+v", s)
		}
		got[s] = true
		if j < len(p.Sources) {
			if srcIdx[s.Index] {
				fail("index %d fetched twice", s.Index)
			}
			srcIdx[s.Index] = true
		}
	}

	// Drops: a surplus live good copy, its index kept on another live peer.
	for _, d := range p.Drop {
		if d.Peer == d.Keeper || d.Keeper != p.Holders[d.Index] || !goodCopy(in, d.Index, d.Peer) || !goodCopy(in, d.Index, d.Keeper) {
			fail("drop %+v", d)
		}
	}
	if h.Surplus != len(p.Drop) {
		fail("surplus %d, drops %d", h.Surplus, len(p.Drop))
	}

	// Leaders: the peers with a live good copy, in rendezvous order.
	var holders []mesh.PeerID
	for i, cs := range in.Shards {
		for _, c := range cs {
			if goodCopy(in, i, c.Peer) {
				holders = append(holders, c.Peer)
			}
		}
	}
	if p.Due && (!slices.Equal(p.Leaders, placement.RendezvousOrder(in.Stripe.ID, holders)) || !slices.Contains(p.Leaders, p.Leader) || !p.TurnEnds.After(in.Now)) {
		fail("leaders %v leader %s", p.Leaders, p.Leader)
	}
}

// samePlan: what every holder must agree on (all but Sources, Spares and
// IsLeader, which depend on Self).
func samePlan(a, b Plan) bool {
	return a.Health == b.Health && slices.Equal(a.Shards, b.Shards) && slices.Equal(a.Holders, b.Holders) &&
		slices.Equal(a.Put, b.Put) && slices.Equal(a.Drop, b.Drop) && a.Shortfall == b.Shortfall &&
		slices.Equal(a.After.Holders, b.After.Holders) && a.Due == b.Due && slices.Equal(a.Leaders, b.Leaders) &&
		a.Leader == b.Leader && a.TurnEnds.Equal(b.TurnEnds) && a.WaitUntil.Equal(b.WaitUntil)
}

func TestPlanProperties(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 0x7265706169))
	due, lost, blocked, moved := 0, 0, 0, 0
	for iter := range 3000 {
		in := randomInput(r)
		p, err := PlanStripe(in)
		if err != nil {
			t.Fatalf("iteration %d: %v\n%+v", iter, err, in)
		}
		checkPlan(t, in, p)
		if p.Due {
			due++
		}
		if p.Health.State == Lost {
			lost++
		}
		if p.Blocked != nil {
			blocked++
		}
		for _, put := range p.Put {
			if put.From != "" {
				moved++
			}
		}

		// Exactly one live holder considers itself leader, and every
		// node computes the same plan otherwise.
		selves := []mesh.PeerID{"nobody"}
		for _, c := range in.Peers {
			selves = append(selves, c.ID)
		}
		for _, cs := range in.Shards {
			for _, c := range cs {
				selves = append(selves, c.Peer)
			}
		}
		leaders := map[mesh.PeerID]bool{}
		for _, self := range selves {
			in2 := in
			in2.Self = self
			q, err := PlanStripe(in2)
			if err != nil {
				t.Fatal(err)
			}
			if !samePlan(p, q) {
				t.Fatalf("as %s the plan differs:\n%+v\n%+v", self, p, q)
			}
			if q.IsLeader {
				leaders[self] = true
				if !slices.Contains(q.Leaders, self) {
					t.Fatalf("%s leads without a live good copy", self)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[p.Due]; len(leaders) != want {
			t.Fatalf("iteration %d: leaders %v, due %v", iter, leaders, p.Due)
		}

		// The order of peers and copies does not matter.
		shuffled := in
		shuffled.Peers = slices.Clone(in.Peers)
		r.Shuffle(len(shuffled.Peers), func(i, j int) {
			shuffled.Peers[i], shuffled.Peers[j] = shuffled.Peers[j], shuffled.Peers[i]
		})
		shuffled.Shards = make([][]Copy, len(in.Shards))
		for i, cs := range in.Shards {
			shuffled.Shards[i] = slices.Clone(cs)
			r.Shuffle(len(cs), func(a, b int) {
				shuffled.Shards[i][a], shuffled.Shards[i][b] = shuffled.Shards[i][b], shuffled.Shards[i][a]
			})
		}
		q, err := PlanStripe(shuffled)
		if err != nil || !samePlan(p, q) || !slices.Equal(p.Sources, q.Sources) || !slices.Equal(p.Spares, q.Spares) {
			t.Fatalf("iteration %d: order matters:\n%+v\n%+v", iter, p, q)
		}
	}
	t.Logf("due %d, lost %d, blocked %d, moved shards %d", due, lost, blocked, moved)
	if due < 300 || lost < 100 || blocked < 10 || moved < 10 {
		t.Errorf("the random meshes miss cases: due %d, lost %d, blocked %d, moved %d", due, lost, blocked, moved)
	}
}

// TestOneLeaderOverTime walks a due stripe's clock forward: at every
// instant exactly one live holder leads, and each gets its turn.
func TestOneLeaderOverTime(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	for iter := 0; iter < 200; {
		in := randomInput(r)
		in.DueSince = in.Now
		p, err := PlanStripe(in)
		if err != nil || !p.Due {
			continue
		}
		iter++
		turns, stayed := map[mesh.PeerID]bool{}, true
		for step := range 3 * len(p.Leaders) {
			in.Now = in.DueSince.Add(time.Duration(step)*in.LeaderTimeout + time.Duration(r.Int64N(int64(in.LeaderTimeout))))
			count := 0
			for _, self := range p.Leaders {
				in.Self = self
				q, err := PlanStripe(in)
				if err != nil {
					t.Fatal(err)
				}
				if !q.Due || !slices.Equal(q.Leaders, p.Leaders) {
					stayed = false // a holder's grace ran out and the plan changed
					break
				}
				if q.IsLeader {
					count++
					turns[self] = true
				}
			}
			if !stayed {
				break
			}
			if count != 1 {
				t.Fatalf("%d leaders at %v", count, in.Now)
			}
		}
		if stayed && len(turns) != len(p.Leaders) {
			t.Fatalf("turns %v of %v", turns, p.Leaders)
		}
	}
}
