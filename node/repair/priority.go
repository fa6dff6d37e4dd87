package repair

import (
	"bytes"
	"cmp"
	"slices"
)

// Compare orders stripes for the repair loop, most endangered first:
//
//  1. stripes that can be repaired before Lost ones (which cannot be
//     rebuilt; they are reported, most nearly readable first);
//  2. the fewest live shards above k (Health.Margin) first: at risk, then
//     one above k, and so on;
//  3. then the underplaced ones;
//  4. then the fewest tolerated peer losses, then those not zone-safe;
//  5. then by stripe ID, so the order is total.
//
// Use it with slices.SortFunc.
func Compare(a, b Health) int {
	if al, bl := a.State == Lost, b.State == Lost; al != bl {
		if al {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.Margin(), b.Margin()); c != 0 {
		if a.State == Lost {
			return -c // the lost stripe closest to readable first
		}
		return c
	}
	if a.Underplaced != b.Underplaced {
		if a.Underplaced {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.ToleratesLosses, b.ToleratesLosses); c != 0 {
		return c
	}
	if a.ZoneSafe != b.ZoneSafe {
		if a.ZoneSafe {
			return 1
		}
		return -1
	}
	return bytes.Compare(a.Stripe[:], b.Stripe[:])
}

// Queue sorts a node's plans for its repair loop: work holds the plans
// with something to do (Plan.Work: puts, for the leader, or drops, for the
// peers named) in Compare order; lost holds the Lost stripes, which no
// plan can help, for the report. Plans with nothing to do are left out.
// The input is not modified.
func Queue(plans []Plan) (work, lost []Plan) {
	for _, p := range plans {
		switch {
		case p.Health.State == Lost:
			lost = append(lost, p)
		case p.Work():
			work = append(work, p)
		}
	}
	byHealth := func(a, b Plan) int { return Compare(a.Health, b.Health) }
	slices.SortFunc(work, byHealth)
	slices.SortFunc(lost, byHealth)
	return work, lost
}
