package repair

import (
	"slices"
	"testing"
	"time"

	"respaldo/node/mesh"
	"respaldo/node/placement"
)

func TestLeaderTurns(t *testing.T) {
	w := newWorld(t, 61, stores(12, 3))
	gone := w.holder(2)
	w.gone(gone, 48*time.Hour)
	var live []mesh.PeerID
	for i := range 6 {
		if i != 2 {
			live = append(live, w.holder(i))
		}
	}
	order := placement.RendezvousOrder(w.in.Stripe.ID, live)
	p := w.plan()
	if !slices.Equal(p.Leaders, order) || p.Leader != order[0] || !p.TurnEnds.Equal(t0.Add(DefaultLeaderTimeout)) {
		t.Fatalf("leaders %v leader %s turn ends %v; want %v", p.Leaders, p.Leader, p.TurnEnds, order)
	}
	const timeout = 10 * time.Minute
	w.in.LeaderTimeout = timeout
	cases := []struct {
		name     string
		since    time.Time
		leader   mesh.PeerID
		turnEnds time.Time
	}{
		{"due now", time.Time{}, order[0], t0.Add(timeout)},
		{"due since a minute", t0.Add(-time.Minute), order[0], t0.Add(9 * time.Minute)},
		{"first leader's time is up", t0.Add(-timeout), order[1], t0.Add(timeout)},
		{"second leader's time is up", t0.Add(-2*timeout - time.Second), order[2], t0.Add(timeout - time.Second)},
		{"every leader had a turn: the first again", t0.Add(-5 * timeout), order[0], t0.Add(timeout)},
		{"a week later", t0.Add(-7 * 24 * time.Hour), order[(7*24*6)%5], t0.Add(timeout)},
		{"due in the future (clock skew): due now", t0.Add(time.Hour), order[0], t0.Add(timeout)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.in.DueSince = tc.since
			leaders := 0
			for _, self := range append(slices.Clone(order), gone, "p-stranger") {
				w.in.Self = self
				p := w.plan()
				if p.Leader != tc.leader || !p.TurnEnds.Equal(tc.turnEnds) {
					t.Fatalf("as %s: leader %s until %v, want %s until %v", self, p.Leader, p.TurnEnds, tc.leader, tc.turnEnds)
				}
				if p.IsLeader {
					leaders++
					if self != tc.leader {
						t.Errorf("%s thinks it leads", self)
					}
				}
			}
			if leaders != 1 {
				t.Errorf("%d leaders", leaders)
			}
		})
	}
}

func TestLeaderCandidates(t *testing.T) {
	w := newWorld(t, 67, stores(12, 3))
	failedOnly := w.holder(1)
	w.in.Shards[1][0].FailedAudit = true
	w.add(3, "p-surplus") // a live surplus copy: its peer may lead
	w.peers["p-surplus"] = &placement.Candidate{ID: "p-surplus", Live: true}
	p := w.plan()
	if !p.Due || slices.Contains(p.Leaders, failedOnly) || !slices.Contains(p.Leaders, "p-surplus") || len(p.Leaders) != 6 {
		t.Fatalf("leaders %v", p.Leaders)
	}
	// No repair due: nobody leads.
	w = newWorld(t, 67, stores(12, 3))
	w.gone(w.holder(1), time.Hour)
	for i := range 6 {
		w.in.Self = w.holder(i)
		if p := w.plan(); p.Due || p.IsLeader || p.Leader != "" || p.Leaders != nil || !p.TurnEnds.IsZero() {
			t.Fatalf("%+v", p)
		}
	}
}
