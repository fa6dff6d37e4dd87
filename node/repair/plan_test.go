package repair

import (
	"errors"
	"slices"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
)

func TestHealthyStripeNeedsNothing(t *testing.T) {
	w := newWorld(t, 1, stores(12, 3))
	p := w.plan()
	h := p.Health
	if h.State != Healthy || h.Live != 6 || h.Waiting != 0 || h.Missing != 0 || h.Surplus != 0 ||
		h.Underplaced || h.ToleratesLosses != 2 || !h.ZoneSafe || h.Margin() != 2 {
		t.Fatalf("health %+v", h)
	}
	if p.Work() || p.Due || p.Leader != "" || p.IsLeader || p.Sources != nil || !p.WaitUntil.IsZero() || p.Blocked != nil {
		t.Fatalf("a healthy stripe has work: %+v", p)
	}
	for i := range 6 {
		if p.Holders[i] != w.holder(i) || p.Shards[i] != Present || p.After.Holders[i] != w.holder(i) {
			t.Fatalf("shard %d: %+v", i, p)
		}
	}
}

// TestTriggers is the table of what makes a shard missing, and when.
func TestTriggers(t *testing.T) {
	const grace = 24 * time.Hour
	cases := []struct {
		name   string
		setup  func(w *world)
		state  State
		status map[int]ShardStatus // the others are Present
		put    []int               // indexes rebuilt now
	}{
		{
			name:   "unseen for an hour: wait",
			setup:  func(w *world) { w.gone(w.holder(2), time.Hour) },
			state:  Degraded,
			status: map[int]ShardStatus{2: Waiting},
		},
		{
			name:   "unseen for exactly the grace: still wait",
			setup:  func(w *world) { w.gone(w.holder(2), grace) },
			state:  Degraded,
			status: map[int]ShardStatus{2: Waiting},
		},
		{
			name:   "unseen for longer than the grace: rebuild",
			setup:  func(w *world) { w.gone(w.holder(2), grace+time.Second) },
			state:  Degraded,
			status: map[int]ShardStatus{2: MissingAbsent},
			put:    []int{2},
		},
		{
			name: "one gone for good, one rebooting: down to k, both rebuilt",
			setup: func(w *world) {
				w.gone(w.holder(1), 3*grace)
				w.gone(w.holder(4), time.Minute)
			},
			state:  AtRisk,
			status: map[int]ShardStatus{1: MissingAbsent, 4: MissingAtK},
			put:    []int{1, 4},
		},
		{
			name: "down to exactly k: rebuild at once, whatever the grace",
			setup: func(w *world) {
				w.gone(w.holder(0), time.Minute)
				w.gone(w.holder(5), 30*time.Second)
			},
			state:  AtRisk,
			status: map[int]ShardStatus{0: MissingAtK, 5: MissingAtK},
			put:    []int{0, 5},
		},
		{
			name:   "revoked while still live: rebuild at once",
			setup:  func(w *world) { w.edit(w.holder(3), func(c *Copy) { c.Revoked = true }) },
			state:  Degraded,
			status: map[int]ShardStatus{3: MissingRevoked},
			put:    []int{3},
		},
		{
			name: "revoked and unseen for a minute: no grace",
			setup: func(w *world) {
				w.gone(w.holder(3), time.Minute)
				w.edit(w.holder(3), func(c *Copy) { c.Revoked = true })
			},
			state:  Degraded,
			status: map[int]ShardStatus{3: MissingRevoked},
			put:    []int{3},
		},
		{
			name:   "failed its audit: rebuild at once",
			setup:  func(w *world) { w.in.Shards[4][0].FailedAudit = true },
			state:  Degraded,
			status: map[int]ShardStatus{4: MissingFailed},
			put:    []int{4},
		},
		{
			name:   "nobody known to hold it",
			setup:  func(w *world) { w.in.Shards[1] = nil },
			state:  Degraded,
			status: map[int]ShardStatus{1: MissingNoHolder},
			put:    []int{1},
		},
		{
			name: "a restarted node waits a full grace for peers it never saw",
			setup: func(w *world) {
				w.gone(w.holder(2), 0)
				w.in.Shards[2][0].LastSeen = time.Time{}
				w.in.WatchingSince = t0.Add(-time.Hour)
			},
			state:  Degraded,
			status: map[int]ShardStatus{2: Waiting},
		},
		{
			name: "without WatchingSince a peer never seen counts as gone",
			setup: func(w *world) {
				w.gone(w.holder(2), 0)
				w.in.Shards[2][0].LastSeen = time.Time{}
			},
			state:  Degraded,
			status: map[int]ShardStatus{2: MissingAbsent},
			put:    []int{2},
		},
		{
			name: "a restarted node rebuilds once the grace has passed since it started",
			setup: func(w *world) {
				w.gone(w.holder(2), 0)
				w.in.Shards[2][0].LastSeen = time.Time{}
				w.in.WatchingSince = t0.Add(-grace - time.Minute)
			},
			state:  Degraded,
			status: map[int]ShardStatus{2: MissingAbsent},
			put:    []int{2},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 7, stores(12, 3))
			w.in.Grace = grace
			tc.setup(w)
			p := w.plan()
			if p.Health.State != tc.state {
				t.Errorf("state %v, want %v", p.Health.State, tc.state)
			}
			for i, s := range p.Shards {
				want, ok := tc.status[i]
				if !ok {
					want = Present
				}
				if s != want {
					t.Errorf("shard %d: %v, want %v", i, s, want)
				}
			}
			if got := putIndexes(p); !slices.Equal(got, tc.put) {
				t.Errorf("puts %v, want %v", got, tc.put)
			}
			if p.Due != (len(tc.put) > 0) || p.Health.Missing != len(tc.put) || p.Shortfall != 0 || p.Blocked != nil {
				t.Errorf("due %v missing %d shortfall %d blocked %v", p.Due, p.Health.Missing, p.Shortfall, p.Blocked)
			}
			for _, put := range p.Put {
				if put.From != "" || w.peers[put.To] == nil || !w.peers[put.To].Live {
					t.Errorf("put %+v", put)
				}
				for _, c := range w.in.Shards[put.Index] {
					if c.Peer == put.To {
						t.Errorf("shard %d rebuilt onto %s, which held it", put.Index, put.To)
					}
				}
				if perPeer(p.After.Holders)[put.To] != 1 {
					t.Errorf("%s ends with two shards: %v", put.To, p.After.Holders)
				}
			}
			// Holders that stay, stay.
			for i, h := range p.After.Holders {
				if !p.Shards[i].Missing() && h != w.holder(i) {
					t.Errorf("shard %d moved from %s to %s", i, w.holder(i), h)
				}
			}
		})
	}
}

// With 4+3, two holders away leave k+1: one gone for good is rebuilt, the
// one within its grace waits.
func TestGraceDefaultAndWaitUntil(t *testing.T) {
	w := newWorldP(t, 3, erasure.Params{K: 4, M: 3}, stores(9, 3))
	w.gone(w.holder(1), 23*time.Hour)
	w.gone(w.holder(3), 20*time.Hour)
	p := w.plan() // Grace 0: the default, 24 h
	if p.Health.State != Degraded || p.Health.Waiting != 2 || p.Work() {
		t.Fatalf("%+v", p)
	}
	if want := t0.Add(time.Hour); !p.WaitUntil.Equal(want) {
		t.Errorf("wait until %v, want %v", p.WaitUntil, want)
	}
	w.in.Now = p.WaitUntil.Add(time.Second)
	p = w.plan()
	if got := putIndexes(p); !slices.Equal(got, []int{1}) || p.Shards[3] != Waiting {
		t.Errorf("after the first grace ran out: puts %v, shards %v", got, p.Shards)
	}
}

func TestLostStripeHasNoPlan(t *testing.T) {
	w := newWorld(t, 5, stores(12, 3))
	for _, i := range []int{0, 2, 4} {
		w.gone(w.holder(i), 72*time.Hour)
	}
	w.add(1, "p11") // a surplus copy: kept, not dropped, on a lost stripe
	p := w.plan()
	if p.Health.State != Lost || p.Health.Live != 3 || p.Health.Missing != 3 || p.Health.ToleratesLosses != -1 || p.Health.Margin() != -1 {
		t.Fatalf("health %+v", p.Health)
	}
	if p.Work() || p.Due || p.Sources != nil || p.Leader != "" || p.Drop != nil || p.Health.Surplus != 0 {
		t.Fatalf("a lost stripe got a plan: %+v", p)
	}
	// Still lost while the holders may come back.
	w = newWorld(t, 5, stores(12, 3))
	for _, i := range []int{0, 2, 4} {
		w.gone(w.holder(i), time.Minute)
	}
	p = w.plan()
	if p.Health.State != Lost || p.Health.Waiting != 3 || p.Work() || p.WaitUntil.IsZero() {
		t.Fatalf("%+v", p)
	}
}

func TestRevokedAndFailedPeersGetNothing(t *testing.T) {
	w := newWorld(t, 11, stores(8, 4))
	bad, failed := w.holder(0), w.holder(1)
	w.edit(bad, func(c *Copy) { c.Revoked = true })
	w.in.Shards[1][0].FailedAudit = true
	w.in.Shards[2] = append(w.in.Shards[2], Copy{Peer: failed, Live: true, LastSeen: t0}) // failed holds 2 as well
	p := w.plan()
	if p.Health.Live != 4 || p.Health.State != AtRisk {
		t.Fatalf("health %+v", p.Health)
	}
	// Only 8 peers: two barred, four kept; the two others take 0 and 1.
	for _, put := range p.Put {
		if put.To == bad || put.To == failed {
			t.Errorf("put %+v onto a barred peer", put)
		}
	}
	if len(p.Put) != 2 {
		t.Fatalf("puts %+v", p.Put)
	}
	for _, s := range append(slices.Clone(p.Sources), p.Spares...) {
		if s.Peer == bad || (s.Peer == failed && s.Index == 1) {
			t.Errorf("source %+v", s)
		}
	}
	// failed still holds a good copy of shard 2, so it may lead; bad may not.
	if slices.Contains(p.Leaders, bad) || !slices.Contains(p.Leaders, failed) {
		t.Errorf("leaders %v", p.Leaders)
	}
	// Only the failed copy of 2 is barred from being a source.
	w.in.Shards[2][1].FailedAudit = true
	w.in.Shards[2] = w.in.Shards[2][1:]
	p = w.plan()
	if p.Health.State != Lost {
		t.Errorf("with 2's only copy failed: %+v", p.Health)
	}
}

func TestAvoid(t *testing.T) {
	w := newWorld(t, 13, stores(12, 3))
	w.gone(w.holder(3), 48*time.Hour)
	first := w.plan().Put[0].To
	w.in.Avoid = []mesh.PeerID{first}
	p := w.plan()
	if len(p.Put) != 1 || p.Put[0].To == first {
		t.Fatalf("avoided %s, got %+v", first, p.Put)
	}
}

func TestSources(t *testing.T) {
	w := newWorld(t, 17, stores(12, 3))
	w.gone(w.holder(1), 48*time.Hour)
	w.in.Self = w.holder(5) // holds a parity shard
	w.add(0, "p-extra")     // not in the table: not live
	w.in.Shards[0][1].Live = false
	w.in.Shards[0][1].LastSeen = t0.Add(-time.Minute)
	w.add(2, w.holder(4)) // a surplus copy of 2
	p := w.plan()
	want := []Source{{5, w.holder(5)}, {0, w.holder(0)}, {2, p.Holders[2]}, {3, w.holder(3)}}
	if !slices.Equal(p.Sources, want) {
		t.Fatalf("sources %v, want %v", p.Sources, want)
	}
	for _, s := range p.Spares {
		if s.Peer == "p-extra" || s.Peer == w.holder(1) {
			t.Errorf("spare %+v is not live", s)
		}
	}
	if len(p.Spares) != 2 { // shard 4, and the other copy of 2
		t.Errorf("spares %v", p.Spares)
	}
	// Without a copy of its own, data shards first.
	w.in.Self = "p-none"
	p = w.plan()
	for j, s := range p.Sources {
		if s.Index != []int{0, 2, 3, 4}[j] {
			t.Errorf("sources %v", p.Sources)
		}
	}
}

func TestSurplusCopies(t *testing.T) {
	peers := stores(12, 3)
	w := newWorld(t, 19, peers)
	returning := w.holder(2)
	w.gone(returning, 30*time.Hour)
	p := w.plan()
	if len(p.Put) != 1 {
		t.Fatalf("%+v", p.Put)
	}
	w.apply(p)
	rebuilt := p.Put[0].To
	// The peer comes back: index 2 has two live copies.
	w.peers[returning].Live = true
	w.edit(returning, func(c *Copy) { c.Live, c.LastSeen = true, t0 })
	p = w.plan()
	if p.Health.State != Healthy || p.Health.Live != 6 || p.Health.Surplus != 1 || p.Health.Underplaced {
		t.Fatalf("surplus counted twice? %+v", p.Health)
	}
	if len(p.Drop) != 1 || p.Drop[0].Index != 2 || p.Put != nil || p.Due {
		t.Fatalf("drops %+v puts %+v", p.Drop, p.Put)
	}
	d := p.Drop[0]
	if !(d.Peer == returning && d.Keeper == rebuilt || d.Peer == rebuilt && d.Keeper == returning) || p.Holders[2] != d.Keeper {
		t.Fatalf("drop %+v", d)
	}
	// Every holder agrees, whichever it is and in whatever order it lists
	// the copies: the two never drop each other's copy.
	for _, self := range []mesh.PeerID{returning, rebuilt, w.holder(0)} {
		w.in.Self = self
		slices.Reverse(w.in.Shards[2])
		q := w.plan()
		if !slices.Equal(q.Drop, p.Drop) {
			t.Errorf("as %s: drops %+v, want %+v", self, q.Drop, p.Drop)
		}
		if self == d.Peer && len(q.MyDrops(self)) != 1 || self != d.Peer && q.MyDrops(self) != nil {
			t.Errorf("as %s: my drops %+v", self, q.MyDrops(self))
		}
	}
	w.apply(p)
	if p = w.plan(); p.Work() || p.Health.Surplus != 0 {
		t.Errorf("after the drop: %+v", p)
	}
}

// A peer returning to a small mesh after its shards were rebuilt on the
// others keeps them, and the others drop their second copies: the
// stripe spreads out again.
func TestSurplusSpreadsOut(t *testing.T) {
	three := stores(3, 3)
	w := newWorld(t, 23, three)
	if p := w.plan(); !p.Health.Underplaced || p.Health.State != Healthy || p.Work() || p.Health.ToleratesLosses != 1 {
		t.Fatalf("three peers: %+v", p)
	}
	away := w.holder(0)
	w.gone(away, 10*time.Minute) // 4 live of 4+2: at once
	p := w.plan()
	if p.Health.State != AtRisk || len(p.Put) != 2 || p.After.ToleratesLosses != 0 || !p.After.Underplaced {
		t.Fatalf("%+v", p)
	}
	w.apply(p)
	w.peers[away].Live = true
	w.edit(away, func(c *Copy) { c.Live, c.LastSeen = true, t0 })
	p = w.plan()
	if p.Health.Surplus != 2 || len(p.Drop) != 2 || p.Put != nil {
		t.Fatalf("%+v", p)
	}
	for _, d := range p.Drop {
		if d.Keeper != away {
			t.Errorf("drop %+v: the returning peer should keep its shards", d)
		}
	}
	if c := perPeer(p.Holders); c[away] != 2 || len(c) != 3 || p.Health.ToleratesLosses != 1 {
		t.Errorf("kept %v", p.Holders)
	}
}

func TestZoneCapOnNewHolders(t *testing.T) {
	// z0: a0 (holds 0), b0 (holds 1, gone), c0 (free, poorly available);
	// z1: a1, b1 (hold 2, 3), c1, d1 (free, always up); z2: a2, b2 (hold 4, 5).
	// Weights prefer c1 and d1, but z1 already holds m = 2 shards.
	peers := []placement.Candidate{
		store("a0", "z0"), store("b0", "z0"), store("c0", "z0"),
		store("a1", "z1"), store("b1", "z1"), store("c1", "z1"), store("d1", "z1"),
		store("a2", "z2"), store("b2", "z2"),
	}
	peers[2].Availability = 0.05
	st := Stripe{ID: stripeN(29), Params: p42, ShardSize: shardSize}
	w := worldOn(t, st, peers, []mesh.PeerID{"a0", "b0", "a1", "b1", "a2", "b2"})
	w.gone("b0", 48*time.Hour)
	p := w.plan()
	if len(p.Put) != 1 || p.Put[0] != (Put{Index: 1, To: "c0"}) || !p.After.ZoneSafe {
		t.Fatalf("%+v", p)
	}
	// Without c0, z0 cannot take it: the smallest zone maximum that fits.
	w.peers["c0"].Live = false
	p = w.plan()
	if len(p.Put) != 1 || (p.Put[0].To != "c1" && p.Put[0].To != "d1") || p.After.ZoneSafe {
		t.Fatalf("%+v", p)
	}
}

func TestZoneCapProperty(t *testing.T) {
	// Random losses over meshes of at least three zones with room in each:
	// no zone ends with more than m shards.
	for s := range 200 {
		w := newWorld(t, 1000+s, stores(15, 3+s%3))
		for i := range s % 3 {
			w.gone(w.holder((s+i*2)%6), 48*time.Hour)
		}
		p := w.plan()
		zones := map[mesh.Zone]int{}
		for _, h := range p.After.Holders {
			if h != "" {
				zones[w.peers[h].Zone]++
			}
		}
		for z, c := range zones {
			if c > 2 {
				t.Fatalf("stripe %d: zone %s holds %d: %v", s, z, c, p.After.Holders)
			}
		}
	}
}

func TestSmallMeshes(t *testing.T) {
	for n := 1; n <= 5; n++ {
		w := newWorld(t, 31, stores(n, n))
		p := w.plan()
		if p.Health.State != Healthy || !p.Health.Underplaced || p.Work() {
			t.Fatalf("%d peers: %+v", n, p)
		}
		// A new shard lost for good is still rebuilt on what there is.
		w.in.Shards[0][0].FailedAudit = true
		p = w.plan()
		switch n {
		case 1: // the only peer holds the failed copy: nowhere to put it
			if p.Put != nil || !errors.Is(p.Blocked, placement.ErrNoPeers) || p.Shortfall != 1 || p.Due {
				t.Fatalf("1 peer: %+v", p)
			}
			continue
		case 2, 3: // the peer whose copy failed gets nothing; the others hold ⌈6/n⌉
			if p.Put != nil || !errors.Is(p.Blocked, placement.ErrNoSpace) || p.Shortfall != 1 || p.Due {
				t.Fatalf("%d peers: %+v", n, p)
			}
			// Once its copy is gone (quarantined by its scrub), it may take
			// the shard again.
			w.in.Shards[0] = nil
			p = w.plan()
			if len(p.Put) != 1 || p.Shortfall != 0 || perPeer(p.After.Holders)[p.Put[0].To] > (6+n-1)/n {
				t.Fatalf("%d peers, failed copy gone: %+v", n, p)
			}
			continue
		}
		if len(p.Put) != 1 || !p.After.Underplaced || p.Shortfall != 0 || p.After.Holders[0] == w.holder(0) {
			t.Fatalf("%d peers: %+v", n, p)
		}
		if got, want := perPeer(p.After.Holders)[p.Put[0].To], (6+n-1)/n; got > want {
			t.Errorf("%d peers: %s holds %d > ⌈6/%d⌉", n, p.Put[0].To, got, n)
		}
	}
}

// An underplaced stripe spreads out once the mesh has grown: shards move
// off the peers holding two, and once they are in place the old copies
// are dropped.
func TestUnderplacedSpreadsAsPeersJoin(t *testing.T) {
	st := Stripe{ID: stripeN(37), Params: p42, ShardSize: shardSize}
	plan, err := placement.Place(st.ID, st.Params, shardSize, "", stores(3, 3))
	if err != nil {
		t.Fatal(err)
	}
	w := worldOn(t, st, stores(7, 3), plan.Holders)
	p := w.plan()
	if p.Health.State != Healthy || !p.Health.Underplaced || len(p.Put) != 3 || !p.Due {
		t.Fatalf("%+v", p)
	}
	for _, put := range p.Put {
		if put.From != plan.Holders[put.Index] || perPeer(plan.Holders)[put.To] != 0 {
			t.Errorf("move %+v", put)
		}
	}
	if p.After.Underplaced || p.After.ToleratesLosses != 2 || !p.After.ZoneSafe {
		t.Errorf("after: %+v", p.After)
	}
	w.apply(p)
	q := w.plan()
	if q.Put != nil || len(q.Drop) != 3 || q.Health.Underplaced || q.Health.Surplus != 3 {
		t.Fatalf("second round: %+v", q)
	}
	for _, d := range q.Drop {
		if d.Peer != plan.Holders[d.Index] || d.Keeper != p.After.Holders[d.Index] {
			t.Errorf("drop %+v", d)
		}
	}
	w.apply(q)
	if r := w.plan(); r.Work() || r.Health.Underplaced || r.Health.ToleratesLosses != 2 {
		t.Errorf("third round: %+v", r)
	}
	// With four peers, 2+2+1+1 is already the limit: nothing moves.
	w = worldOn(t, st, stores(4, 3), plan.Holders)
	if p := w.plan(); p.Work() {
		t.Errorf("four peers: %+v", p)
	}
}

func TestBlocked(t *testing.T) {
	t.Run("no live storage peer to take it", func(t *testing.T) {
		// The holders stay live, but the table now lists them as clients.
		w := newWorld(t, 41, stores(6, 3))
		for i := range w.in.Peers {
			w.in.Peers[i].Role = mesh.RoleClient
		}
		w.gone(w.holder(0), 48*time.Hour)
		p := w.plan()
		if p.Put != nil || p.Due || !errors.Is(p.Blocked, placement.ErrNoPeers) || p.Shortfall != 1 || p.Leader != "" {
			t.Fatalf("%+v", p)
		}
		if p.Health.State != Degraded || p.Health.Missing != 1 {
			t.Fatalf("%+v", p.Health)
		}
	})
	t.Run("room for one of two", func(t *testing.T) {
		peers := with(stores(7, 3), func(c *placement.Candidate) { c.FreeBytes = 0 })
		st := Stripe{ID: stripeN(43), Params: p42, ShardSize: shardSize}
		holders := []mesh.PeerID{"p00", "p01", "p02", "p03", "p04", "p05"}
		w := worldOn(t, st, peers, holders)
		w.peers["p06"].FreeBytes = shardSize
		w.gone("p04", 48*time.Hour)
		w.gone("p05", 48*time.Hour)
		p := w.plan()
		if len(p.Put) != 1 || p.Put[0] != (Put{Index: 4, To: "p06"}) || p.Shortfall != 1 || !errors.Is(p.Blocked, placement.ErrNoSpace) {
			t.Fatalf("%+v", p)
		}
		if !p.Due || p.After.Holders[5] != "" {
			t.Fatalf("%+v", p)
		}
	})
}

func TestEmptyBlob(t *testing.T) {
	st := Stripe{ID: stripeN(47), Params: p42}
	w := worldOn(t, st, stores(8, 3), []mesh.PeerID{"p00", "p01", "p02", "p03", "p04", "p05"})
	w.in.Shards[3][0].FailedAudit = true
	p := w.plan()
	if len(p.Put) != 1 || p.Put[0].Index != 3 {
		t.Fatalf("%+v", p)
	}
}

func TestDuplicateCopiesMerge(t *testing.T) {
	w := newWorld(t, 53, stores(12, 3))
	h := w.holder(2)
	// The holder map and a locate answer both name h for 2: one copy.
	w.in.Shards[2] = append(w.in.Shards[2], Copy{Peer: h, LastSeen: t0.Add(-time.Hour)})
	if p := w.plan(); p.Health.Surplus != 0 || p.Work() || p.Shards[2] != Present {
		t.Fatalf("%+v", p)
	}
	// A failed flag on either listing sticks.
	w.in.Shards[2][1].FailedAudit = true
	if p := w.plan(); p.Shards[2] != MissingFailed {
		t.Fatalf("%+v", p.Shards)
	}
}

func TestBadInput(t *testing.T) {
	ok := newWorld(t, 59, stores(8, 3)).in
	cases := map[string]func(in *Input){
		"bad params":        func(in *Input) { in.Stripe.Params = erasure.Params{K: 0, M: 2} },
		"short holder view": func(in *Input) { in.Shards = in.Shards[:5] },
		"negative size":     func(in *Input) { in.Stripe.ShardSize = -1 },
		"peer listed twice": func(in *Input) { in.Peers = append(in.Peers, in.Peers[0]) },
		"copy without peer": func(in *Input) { in.Shards[1] = append(in.Shards[1], Copy{Live: true}) },
	}
	for name, edit := range cases {
		in := ok
		in.Shards = slices.Clone(ok.Shards)
		in.Shards[1] = slices.Clone(ok.Shards[1])
		in.Peers = slices.Clone(ok.Peers)
		edit(&in)
		if _, err := PlanStripe(in); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := PlanStripe(ok); err != nil {
		t.Fatal(err)
	}
}

func TestStripeOf(t *testing.T) {
	d, _, err := erasure.Encode(make([]byte, 1000), p42, erasure.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	st := StripeOf(d)
	if st.ID != d.ID() || st.Params != p42 || st.ShardSize != 250 {
		t.Fatalf("%+v", st)
	}
}

func TestStrings(t *testing.T) {
	for s, want := range map[State]string{Healthy: "healthy", Degraded: "degraded", AtRisk: "at_risk", Lost: "lost", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
	for s := Present; s <= MissingAtK+1; s++ {
		if s.String() == "" || s.Missing() != (s >= MissingNoHolder) {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

// Surplus copies are kept so that no peer keeps two shards when another
// holder of one of them keeps none: the greedy choice is evened out.
func TestKeepersEvenOut(t *testing.T) {
	st := Stripe{ID: stripeN(79), Params: p42, ShardSize: shardSize}
	var names []mesh.PeerID
	for _, c := range stores(7, 1) {
		names = append(names, c.ID)
	}
	o := placement.RendezvousOrder(st.ID, names) // P, Q, R ranked first
	P, Q, R, S, T, U := o[0], o[1], o[2], o[3], o[4], o[5]
	w := worldOn(t, st, stores(7, 1), []mesh.PeerID{P, P, S, T, U, R})
	w.add(0, Q) // index 0 on P and Q: a tie, P ranks first
	w.add(1, R) // index 1 on P and R: a tie again (R holds 5), P again
	p := w.plan()
	if !slices.Equal(p.Holders, []mesh.PeerID{Q, P, S, T, U, R}) || p.Health.Underplaced || p.Health.Surplus != 2 {
		t.Fatalf("kept %v, %+v", p.Holders, p.Health)
	}
	if want := []Drop{{0, P, Q}, {1, R, P}}; !slices.Equal(p.Drop, want) || p.Put != nil {
		t.Fatalf("drops %v, want %v; puts %v", p.Drop, want, p.Put)
	}
}
