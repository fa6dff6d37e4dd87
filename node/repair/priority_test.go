package repair

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"respaldo/erasure"
)

func TestCompare(t *testing.T) {
	h := func(id int, s State, live int, under bool, tol int, zoneSafe bool) Health {
		return Health{Stripe: stripeN(id), Params: p42, State: s, Live: live, Underplaced: under, ToleratesLosses: tol, ZoneSafe: zoneSafe}
	}
	want := []Health{
		h(1, AtRisk, 4, false, 0, false),
		h(2, Degraded, 5, true, 0, false),
		h(3, Degraded, 5, false, 0, false),
		h(4, Degraded, 5, false, 1, false),
		h(5, Degraded, 5, false, 1, true),
		h(6, Healthy, 6, true, 1, false),
		h(7, Healthy, 6, false, 2, false),
		h(8, Healthy, 6, false, 2, true),
		h(9, Lost, 3, false, -1, false),
		h(10, Lost, 0, false, -1, false),
	}
	// A 2+1 stripe at k sorts with the at-risk ones: margins, not counts.
	want = slices.Insert(want, 1, Health{Stripe: stripeN(11), Params: erasure.Params{K: 2, M: 1}, State: AtRisk, Live: 2, ZoneSafe: true})
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		got := slices.Clone(want)
		r.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		slices.SortFunc(got, Compare)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("position %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	// Equal health: by stripe ID, a total order.
	a, b := h(1, Healthy, 6, false, 2, true), h(2, Healthy, 6, false, 2, true)
	if Compare(a, b) == 0 || Compare(a, b) != -Compare(b, a) || Compare(a, a) != 0 {
		t.Error("not a total order")
	}
}

func TestQueue(t *testing.T) {
	var plans []Plan
	healthy := newWorld(t, 71, stores(12, 3)).plan()
	waiting := newWorld(t, 72, stores(12, 3))
	waiting.gone(waiting.holder(0), time.Hour)
	degraded := newWorld(t, 73, stores(12, 3))
	degraded.gone(degraded.holder(0), 48*time.Hour)
	atRisk := newWorld(t, 74, stores(12, 3))
	atRisk.gone(atRisk.holder(0), time.Minute)
	atRisk.gone(atRisk.holder(1), time.Minute)
	lost := newWorld(t, 75, stores(12, 3))
	for i := range 3 {
		lost.gone(lost.holder(i), time.Minute)
	}
	surplus := newWorld(t, 76, stores(12, 3))
	surplus.add(0, "p-spare")
	plans = append(plans, healthy, waiting.plan(), surplus.plan(), degraded.plan(), lost.plan(), atRisk.plan())
	work, gone := Queue(plans)
	if len(work) != 3 || work[0].Health.State != AtRisk || work[1].Health.State != Degraded || len(work[2].Drop) != 1 {
		t.Fatalf("work %+v", work)
	}
	if len(gone) != 1 || gone[0].Health.State != Lost {
		t.Fatalf("lost %+v", gone)
	}
	if plans[0].Health.Stripe != healthy.Health.Stripe {
		t.Error("Queue reordered its input")
	}
}
